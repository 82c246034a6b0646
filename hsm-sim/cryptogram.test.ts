/**
 * Token cryptograms: the per-token key derivation against the published pyemv examples of
 * EMV option A, the layout of the MACed transaction data, and that every input moves the
 * cryptogram.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeCryptogram, cryptogramData, deriveIccMasterKeyOptionA, type CryptogramInput } from './cryptogram.js';
import type { StoredKey } from './keystore.js';
import { kcvTdes } from './primitives.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const ISSUER_MK = hex('0123456789ABCDEFFEDCBA9876543210');

describe('EMV option A per-token key derivation', () => {
  it('matches the pyemv examples (issuer MK 0123..3210, KCV 08D7)', () => {
    expect(kcvTdes(ISSUER_MK).slice(0, 4)).toBe('08D7');
    expect(deriveIccMasterKeyOptionA(ISSUER_MK, '99012345678901234', '45').toString('hex').toUpperCase()).toBe('67F8292358083E5EA7AB7FDA58D53B6B');
    expect(kcvTdes(deriveIccMasterKeyOptionA(ISSUER_MK, '12345678901234567', '45')).slice(0, 4)).toBe('FF08');
  });
});

describe('cryptogram', () => {
  const input: CryptogramInput = { tokenPan: '4895370012345678', amount: '000000001999', currency: '978', date: '261124', unpredictableNumber: hex('A1B2C3D4'), atc: hex('0007') };

  it('MACs token PAN n19, amount n12, currency n4, date n6, UN and ATC as 27 bytes', () => {
    expect(cryptogramData(input).toString('hex')).toBe('4895370012345678ffff' + '000000001999' + '0978' + '261124' + 'a1b2c3d4' + '0007');
  });

  it('changes with every input, for TDES and AES master keys', () => {
    for (const master of [{ algorithm: 'T', clear: ISSUER_MK }, { algorithm: 'A', clear: Buffer.alloc(32, 9) }] as unknown as StoredKey[]) {
      const reference = computeCryptogram(master, input);
      fc.assert(fc.property(fc.constantFrom<keyof CryptogramInput>('tokenPan', 'amount', 'currency', 'date', 'unpredictableNumber', 'atc'), fc.nat(), (field, seed) => {
        const changed = { ...input };
        if (field === 'unpredictableNumber' || field === 'atc') {
          const bytes = Buffer.from(input[field]);
          bytes[seed % bytes.length] = (bytes[seed % bytes.length] ?? 0) ^ (1 + (seed % 255));
          changed[field] = bytes;
        } else {
          const text = input[field];
          const at = seed % text.length;
          const digit = String((Number(text[at]) + 1 + (seed % 9)) % 10);
          changed[field] = text.slice(0, at) + digit + text.slice(at + 1);
        }
        expect(computeCryptogram(master, changed).equals(reference)).toBe(false);
      }), { numRuns: 200 });
    }
  });
});
