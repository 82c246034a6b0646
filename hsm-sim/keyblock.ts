/**
 * TR-31 (ANSI X9.143) key blocks, key derivation binding method: version D under an AES
 * key-block protection key (KBPK) and version B under a TDES one. The 16-character header
 * binds usage, algorithm, mode of use, key version and exportability; the block MAC covers
 * the header and the clear payload, and doubles as the CBC IV of the encrypted payload
 * (TR-31:2018 §5.3.2). A changed header or payload byte fails the MAC.
 */
import { randomBytes } from 'node:crypto';
import { assert } from '../core/index.js';
import { HsmError } from './errors.js';
import { cmac, decryptBlocks, encryptBlocks, macMatches, type BlockAlgorithm } from './primitives.js';

export const KEY_BLOCK_HEADER_CHARS = 16;
export const KEY_BLOCK_CHARS_MAX = 9_999;
const OPTIONAL_BLOCKS_MAX = 8;

export type KeyBlockVersion = 'B' | 'D';

export interface KeyBlockHeader {
  readonly version: KeyBlockVersion;
  readonly usage: string;
  readonly algorithm: string;
  readonly modeOfUse: string;
  readonly keyVersion: string;
  readonly exportability: string;
  readonly optionalBlocks: readonly { id: string; data: string }[];
}

interface VersionSpec {
  readonly cipher: BlockAlgorithm;
  readonly block: number;
  readonly macBytes: number;
}

const VERSIONS: Record<KeyBlockVersion, VersionSpec> = {
  B: { cipher: 'tdes', block: 8, macBytes: 8 },
  D: { cipher: 'aes', block: 16, macBytes: 16 },
};

export function versionForKbpk(kbpkAlgorithm: 'A' | 'T'): KeyBlockVersion {
  return kbpkAlgorithm === 'A' ? 'D' : 'B';
}

/** SP 800-108 counter-mode KDF with CMAC, inputs as TR-31:2018 §5.3.2.1 (B) and X9.143 (D) lay them out. */
function deriveBindingKeys(version: KeyBlockVersion, kbpk: Uint8Array): { encryption: Buffer; authentication: Buffer } {
  const spec = VERSIONS[version];
  const algorithmIndicator = spec.cipher === 'tdes' ? (kbpk.length === 16 ? 0x0000 : 0x0001) : { 16: 0x0002, 24: 0x0003, 32: 0x0004 }[kbpk.length];
  assert(algorithmIndicator !== undefined, `KBPK length ${kbpk.length} not supported for version ${version}`);
  const derive = (usageIndicator: number): Buffer => {
    const parts: Buffer[] = [];
    for (let counter = 1; parts.length * spec.block < kbpk.length; counter += 1) {
      const input = Buffer.from([counter, 0x00, usageIndicator, 0x00, algorithmIndicator >> 8, algorithmIndicator & 0xff, (kbpk.length * 8) >> 8, (kbpk.length * 8) & 0xff]);
      parts.push(cmac(spec.cipher, kbpk, input));
    }
    return Buffer.concat(parts).subarray(0, kbpk.length);
  };
  return { encryption: derive(0x00), authentication: derive(0x01) };
}

export function formatHeader(header: KeyBlockHeader, totalChars: number): string {
  const optional = header.optionalBlocks.map((b) => b.id + (b.data.length + 4).toString(16).toUpperCase().padStart(2, '0') + b.data).join('');
  const text = header.version + String(totalChars).padStart(4, '0') + header.usage + header.algorithm + header.modeOfUse +
    header.keyVersion + header.exportability + String(header.optionalBlocks.length).padStart(2, '0') + '00' + optional;
  assert(text.length >= KEY_BLOCK_HEADER_CHARS, 'header too short');
  return text;
}

/** Parses the header (and optional blocks) of a key block; returns it and its length in characters. */
export function parseHeader(block: string): { header: KeyBlockHeader; headerChars: number } {
  const invalid = (why: string): HsmError => new HsmError('hsm_key_block_header_invalid', `key block header invalid: ${why}`);
  if (block.length < KEY_BLOCK_HEADER_CHARS || !/^[\x20-\x7e]+$/.test(block)) throw invalid('too short or not printable');
  const version = block[0];
  if (version !== 'B' && version !== 'D') throw invalid(`version ${JSON.stringify(version)} not supported (B, D)`);
  const length = block.slice(1, 5);
  if (!/^\d{4}$/.test(length) || Number(length) !== block.length) throw invalid('length field does not match the block');
  const count = block.slice(12, 14);
  if (!/^\d{2}$/.test(count) || Number(count) > OPTIONAL_BLOCKS_MAX) throw invalid('optional block count');
  const optionalBlocks: { id: string; data: string }[] = [];
  let at = KEY_BLOCK_HEADER_CHARS;
  for (let i = 0; i < Number(count); i += 1) {
    const lengthHex = block.slice(at + 2, at + 4);
    const blockChars = /^[0-9A-F]{2}$/.test(lengthHex) ? parseInt(lengthHex, 16) : 0;
    if (blockChars < 4 || at + blockChars > block.length) throw invalid('optional block length');
    optionalBlocks.push({ id: block.slice(at, at + 2), data: block.slice(at + 4, at + blockChars) });
    at += blockChars;
  }
  const header: KeyBlockHeader = {
    version, usage: block.slice(5, 7), algorithm: block.slice(7, 8), modeOfUse: block.slice(8, 9),
    keyVersion: block.slice(9, 11), exportability: block.slice(11, 12), optionalBlocks,
  };
  return { header, headerChars: at };
}

/** Wraps `key` under `kbpk` into a key block with `header` (version must match the KBPK's algorithm). */
export function wrapKeyBlock(kbpk: Uint8Array, header: KeyBlockHeader, key: Uint8Array): string {
  const spec = VERSIONS[header.version];
  assert(key.length > 0 && key.length <= 64, 'key length out of range');
  const clearLength = 2 + key.length;
  const payloadLength = Math.ceil(clearLength / spec.block) * spec.block;
  const payload = Buffer.concat([Buffer.from([(key.length * 8) >> 8, (key.length * 8) & 0xff]), key, randomBytes(payloadLength - clearLength)]);
  const headerOnly = formatHeader(header, 0);
  const totalChars = headerOnly.length + 2 * (payloadLength + spec.macBytes);
  assert(totalChars <= KEY_BLOCK_CHARS_MAX, 'key block too long');
  const headerText = formatHeader(header, totalChars);
  const { encryption, authentication } = deriveBindingKeys(header.version, kbpk);
  const mac = cmac(spec.cipher, authentication, Buffer.concat([Buffer.from(headerText, 'ascii'), payload])).subarray(0, spec.macBytes);
  const encrypted = encryptBlocks(spec.cipher, encryption, payload, mac);
  payload.fill(0);
  return headerText + encrypted.toString('hex').toUpperCase() + mac.toString('hex').toUpperCase();
}

/** Verifies and opens a key block; a wrong KBPK or any changed character gives `hsm_key_block_tampered`. */
export function unwrapKeyBlock(kbpk: Uint8Array, block: string): { header: KeyBlockHeader; key: Buffer } {
  const { header, headerChars } = parseHeader(block);
  const spec = VERSIONS[header.version];
  const body = block.slice(headerChars);
  const bodyBytes = body.length / 2;
  if (!/^[0-9A-F]*$/.test(body) || body.length % 2 !== 0 || bodyBytes < spec.block + spec.macBytes || (bodyBytes - spec.macBytes) % spec.block !== 0) {
    throw new HsmError('hsm_key_block_header_invalid', 'key block body is not whole hex blocks');
  }
  const raw = Buffer.from(body, 'hex');
  const mac = raw.subarray(raw.length - spec.macBytes);
  const { encryption, authentication } = deriveBindingKeys(header.version, kbpk);
  const payload = decryptBlocks(spec.cipher, encryption, raw.subarray(0, raw.length - spec.macBytes), mac);
  const expected = cmac(spec.cipher, authentication, Buffer.concat([Buffer.from(block.slice(0, headerChars), 'ascii'), payload]));
  if (!macMatches(expected.subarray(0, spec.macBytes), mac)) throw new HsmError('hsm_key_block_tampered');
  const keyBits = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
  if (keyBits === 0 || keyBits % 8 !== 0 || keyBits / 8 > payload.length - 2) throw new HsmError('hsm_key_block_tampered', 'key length in payload is impossible');
  const key = Buffer.from(payload.subarray(2, 2 + keyBits / 8));
  payload.fill(0);
  return { header, key };
}
