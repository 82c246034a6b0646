/**
 * TR-31 key blocks: the public TR-31:2018 Annex A examples (versions B and D) and
 * Thales payShield 10k examples published with the openemv/tr31 project open to the right
 * key and KCV; our own blocks round-trip; any changed character is refused.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HsmError } from './errors.js';
import { parseHeader, unwrapKeyBlock, wrapKeyBlock, type KeyBlockHeader } from './keyblock.js';
import { kcvAes, kcvTdes } from './primitives.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

const EXAMPLES = [
  { name: 'TR-31:2018 A.7.2.2 (version B, TDES KBPK)', kbpk: 'DD7515F2BFC17F85CE48F3CA25CB21F6',
    block: 'B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E', key: '3F419E1CB7079442AA37474C2EFBF8B8', kcv: '57C409', aes: false },
  { name: 'TR-31:2018 A.7.4 (version D, AES-256 KBPK, AES key)', kbpk: '88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6',
    block: 'D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F7425509593D03A457DC34', key: '3F419E1CB7079442AA37474C2EFBF8B8', kcv: '08793E', aes: true },
  { name: 'payShield 10k example (version D, TDES key B0)', kbpk: '41'.repeat(32),
    block: 'D0112B0TN00N000037DB9B046B7B0048785690759580ABC3B9842AB4BB7717B49E92528E575785D8123559376A2553B27BE94F054F4E971C', key: '1FA1F7CEC798D91545DA8AE0C7796BD9', kcv: 'FF5087', aes: false },
  { name: 'payShield 10k example (version D, AES-256 key D0)', kbpk: '41'.repeat(32),
    block: 'D0144D0AN00N0000127862F945C2DED04530FAF7CDBC8B0BA10C7AA79BD5E0C2C5D6AC173BF588E4B19ACF1357178D50EA0AB193228E13958304FC6149632DFDCADF3A5B3D57E814', key: 'BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC', kcv: '0A00E3', aes: true },
];

describe('TR-31 published examples', () => {
  it.each(EXAMPLES)('$name opens to the published key and KCV', async (example) => {
    const { header, key } = unwrapKeyBlock(hex(example.kbpk), example.block);
    expect(key.toString('hex').toUpperCase()).toBe(example.key);
    expect(example.aes ? await kcvAes(key) : kcvTdes(key)).toBe(example.kcv);
    expect(header.usage).toBe(example.block.slice(5, 7));
  });

  it.each(EXAMPLES)('$name: a flipped character in header, payload or MAC is refused', (example) => {
    for (const at of [6, 20, example.block.length - 1]) {
      const original = example.block[at] ?? '0';
      const flipped = example.block.slice(0, at) + (original === 'A' ? 'B' : 'A') + example.block.slice(at + 1);
      expect(() => unwrapKeyBlock(hex(example.kbpk), flipped)).toThrow(HsmError);
    }
  });
});

describe('our key blocks', () => {
  const header = (version: 'B' | 'D'): KeyBlockHeader => ({ version, usage: 'M3', algorithm: 'T', modeOfUse: 'C', keyVersion: '00', exportability: 'E', optionalBlocks: [] });

  it('round-trip under AES (D) and TDES (B) KBPKs for any key', () => {
    fc.assert(fc.property(fc.constantFrom<'B' | 'D'>('B', 'D'), fc.uint8Array({ minLength: 8, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (version, key, kbpkBytes) => {
      const kbpk = version === 'D' ? kbpkBytes : kbpkBytes.subarray(0, 16);
      const block = wrapKeyBlock(kbpk, header(version), key);
      expect(block.length).toBe(Number(block.slice(1, 5)));
      const opened = unwrapKeyBlock(kbpk, block);
      expect(opened.key.equals(Buffer.from(key))).toBe(true);
      expect(opened.header).toEqual(header(version));
    }), { numRuns: 200 });
  });

  it('is refused under a different KBPK, with tampered code', () => {
    const block = wrapKeyBlock(Buffer.alloc(32, 1), header('D'), Buffer.alloc(16, 2));
    try {
      unwrapKeyBlock(Buffer.alloc(32, 3), block);
      expect.unreachable();
    } catch (error) {
      expect((error as HsmError).code).toBe('hsm_key_block_tampered');
    }
  });

  it('parses optional blocks and never throws anything but HsmError on junk', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (junk) => {
      try {
        parseHeader(junk);
      } catch (error) {
        expect(error).toBeInstanceOf(HsmError);
      }
    }), { numRuns: 500 });
    const withOptional = wrapKeyBlock(Buffer.alloc(32, 1), { ...header('D'), optionalBlocks: [{ id: 'KS', data: '00604B120F9292800000' }] }, Buffer.alloc(16, 2));
    expect(unwrapKeyBlock(Buffer.alloc(32, 1), withOptional).header.optionalBlocks).toEqual([{ id: 'KS', data: '00604B120F9292800000' }]);
  });
});
