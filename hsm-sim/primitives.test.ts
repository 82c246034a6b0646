/**
 * Known-answer tests from published vectors: RFC 4493 AES-CMAC, ISO 9797-1:2011 Annex B
 * (MAC algorithms 1 and 3 with DES and padding methods 1 and 2), the Bouncy Castle X9.19
 * vector, and TDES/AES key check values taken from the TR-31:2018 Annex A examples.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aesCmac, cmac, CmacContext, kcvAes, kcvTdes, MacContext, macAlgorithm1, macMatches, padIso9797, retailMac, withOddParity, hasOddParity } from './primitives.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string): Buffer => Buffer.from(text, 'ascii');

describe('AES-CMAC (RFC 4493 §4 examples)', () => {
  const key = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
  const message = hex('6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710');
  const cases: [number, string][] = [
    [0, 'bb1d6929 e9593728 7fa37d12 9b756746'],
    [16, '070a16b4 6b4d4144 f79bdd9d d04a287c'],
    [40, 'dfa66747 de9ae630 30ca3261 1497c827'],
    [64, '51f0bebf 7e3b9d92 fc497417 79363cfe'],
  ];
  it.each(cases)('message of %i bytes through @peculiar/webcrypto and our SP 800-38B CMAC', async (length, tag) => {
    expect((await aesCmac(key, message.subarray(0, length))).toString('hex')).toBe(tag.replace(/ /g, ''));
    expect(cmac('aes', key, message.subarray(0, length)).toString('hex')).toBe(tag.replace(/ /g, ''));
    expect(new CmacContext(key).mac(message.subarray(0, length)).toString('hex')).toBe(tag.replace(/ /g, ''));
  });

  it('our CMAC (one-shot and kept context) agrees with webcrypto on random keys and message sequences', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(16, 24, 32), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 8 }), async (length, keyBytes, messages) => {
      const k = keyBytes.subarray(0, length);
      const context = new CmacContext(k);
      for (const m of messages) {
        const reference = await aesCmac(k, m);
        expect(cmac('aes', k, m).equals(reference)).toBe(true);
        expect(context.mac(m).equals(reference)).toBe(true);
      }
    }), { numRuns: 100 });
  });
});

describe('ISO 9797-1:2011 Annex B with DES key 0123456789ABCDEF', () => {
  const k = hex('0123456789ABCDEF');
  const data1 = ascii('Now is the time for all ');
  const data2 = ascii('Now is the time for it');
  it('MAC algorithm 1, padding methods 1 and 2 (B.2)', () => {
    expect(macAlgorithm1(k, data1, 1).toString('hex').toUpperCase()).toBe('70A30640CC76DD8B');
    expect(macAlgorithm1(k, data1, 2).subarray(0, 4).toString('hex').toUpperCase()).toBe('10E1F0F1');
    expect(macAlgorithm1(k, data2, 1).subarray(0, 4).toString('hex').toUpperCase()).toBe('E45B3AD2');
    expect(macAlgorithm1(k, data2, 2).subarray(0, 4).toString('hex').toUpperCase()).toBe('A924C721');
  });
  it('MAC algorithm 3 (X9.19 retail MAC), padding method 1 (B.4)', () => {
    const k2 = hex('0123456789ABCDEF FEDCBA9876543210');
    expect(retailMac(k2, data1).subarray(0, 4).toString('hex').toUpperCase()).toBe('A1C72E74');
    expect(retailMac(k2, data2).subarray(0, 4).toString('hex').toUpperCase()).toBe('2E2B1428');
  });
  it('MAC algorithm 3, Bouncy Castle ISO9797Alg3MacTest vector', () => {
    expect(retailMac(hex('7CA110454A1A6E570131D9619DC1376E'), ascii('Hello World !!!!')).toString('hex').toUpperCase()).toBe('F09B856213BAB83B');
  });
  it('retail MAC with K1 = K2 degenerates to single-DES CBC-MAC (algorithm 1)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (k1, m) => {
      expect(retailMac(Buffer.concat([k1, k1]), m).equals(macAlgorithm1(k1, m))).toBe(true);
    }), { numRuns: 100 });
  });
});

describe('MacContext (cipher objects kept across messages)', () => {
  it('gives the same MACs as the one-shot functions over any sequence of messages', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.tuple(fc.uint8Array({ maxLength: 100 }), fc.constantFrom<1 | 2>(1, 2)), { maxLength: 20 }), (key, messages) => {
      const context = new MacContext(key);
      for (const [message, padding] of messages) {
        expect(context.retail(message, padding).equals(retailMac(key, message, padding))).toBe(true);
        expect(context.algorithm1(message, padding).equals(macAlgorithm1(key, message, padding))).toBe(true);
      }
    }), { numRuns: 100 });
  });

  it('matches the ISO 9797-1 B.4 vector after other messages went through it', () => {
    const context = new MacContext(hex('0123456789ABCDEF FEDCBA9876543210'));
    context.retail(ascii('something else first, longer than one block'));
    expect(context.retail(ascii('Now is the time for all ')).subarray(0, 4).toString('hex').toUpperCase()).toBe('A1C72E74');
  });
});

describe('key check values', () => {
  it('TDES: first 3 bytes of E(K, 0^64) — ISO 9797-1 key and TR-31:2018 A.7 keys', () => {
    expect(kcvTdes(hex('0123456789ABCDEF'))).toBe('D5D44F');
    expect(kcvTdes(hex('F039121BEC83D26B169BDCD5B22AAF8F'))).toBe('CB9DEA');
    expect(kcvTdes(hex('3F419E1CB7079442AA37474C2EFBF8B8'))).toBe('57C409');
    expect(kcvTdes(hex('1FA1F7CEC798D91545DA8AE0C7796BD9'))).toBe('FF5087');
  });
  it('AES: first 3 bytes of CMAC(K, 0^128) — TR-31:2018 A.7.4 and payShield examples', async () => {
    expect(await kcvAes(hex('3F419E1CB7079442AA37474C2EFBF8B8'))).toBe('08793E');
    expect(await kcvAes(hex('BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC'))).toBe('0A00E3');
  });
});

describe('helpers', () => {
  it('padding method 2 always adds at least one byte; method 1 keeps whole blocks', () => {
    expect(padIso9797(Buffer.alloc(8, 1), 2, 8).length).toBe(16);
    expect(padIso9797(Buffer.alloc(8, 1), 1, 8).length).toBe(8);
    expect(padIso9797(Buffer.alloc(0), 1, 8).length).toBe(8);
  });
  it('odd parity is idempotent and detected', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (k) => {
      const fixed = withOddParity(k);
      expect(hasOddParity(fixed)).toBe(true);
      expect(withOddParity(fixed).equals(fixed)).toBe(true);
    }));
  });
  it('a truncated MAC matches only its prefix; empty or longer never match', () => {
    const mac = hex('0102030405060708');
    expect(macMatches(mac, mac.subarray(0, 4))).toBe(true);
    expect(macMatches(mac, hex('01020304050607FF'))).toBe(false);
    expect(macMatches(mac, Buffer.alloc(0))).toBe(false);
    expect(macMatches(mac, Buffer.concat([mac, mac]))).toBe(false);
  });
});
