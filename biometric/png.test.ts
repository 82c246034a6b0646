/**
 * Goal: the PNG decoder returns exactly what the encoder wrote, and every hostile or corrupt
 * file (huge dimensions, decompression bombs, bad CRCs, truncation, random mutations) ends in a
 * typed BiometricError before pixels are allocated — never another exception, never a hang.
 */
import { deflateSync, crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BiometricError } from './errors.js';
import { decodePng, encodePng } from './png.js';

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

function rawPng(width: number, height: number, bitDepth: number, colourType: number, idat: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

const codeOf = (f: () => unknown): string => {
  try { f(); } catch (error) { if (error instanceof BiometricError) return error.code; throw error; }
  return 'ok';
};

describe('png codec', () => {
  it('round-trips any gray image (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (width, height, seed) => {
      const data = Uint8Array.from({ length: width * height }, (_, i) => (Math.imul(i + 1, seed | 1) >>> 8) & 0xff);
      const decoded = decodePng(encodePng({ width, height, data }));
      expect(decoded.width).toBe(width);
      expect(decoded.height).toBe(height);
      expect(Buffer.from(decoded.data).equals(Buffer.from(data))).toBe(true);
    }), { numRuns: 60 });
  });

  it('decodes every row filter (sub, up, average, paeth) and converts RGB to gray', () => {
    const width = 3;
    const rows = [[0, 10, 20, 30, 40, 50, 60, 70, 80, 90], [1, 10, 20, 30, 1, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1, 1, 1, 1, 1], [3, 5, 5, 5, 5, 5, 5, 5, 5, 5], [4, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
    const image = decodePng(rawPng(width, rows.length, 8, 2, deflateSync(Buffer.from(rows.flat()))));
    expect(image.width).toBe(3);
    expect(image.data.length).toBe(15);
    expect(image.data[0]).toBe(Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30));
  });

  it('refuses huge dimensions from the header alone', () => {
    expect(codeOf(() => decodePng(rawPng(65535, 65535, 8, 0, deflateSync(Buffer.alloc(10)))))).toBe('image_too_large');
    expect(codeOf(() => decodePng(rawPng(0, 10, 8, 0, deflateSync(Buffer.alloc(10)))))).toBe('image_invalid');
  });

  it('refuses 16-bit, palette and interlaced images as unsupported', () => {
    expect(codeOf(() => decodePng(rawPng(2, 2, 16, 0, deflateSync(Buffer.alloc(10)))))).toBe('image_unsupported');
    expect(codeOf(() => decodePng(rawPng(2, 2, 8, 3, deflateSync(Buffer.alloc(10)))))).toBe('image_unsupported');
  });

  it('stops a decompression bomb at the size the header allows', () => {
    const bomb = deflateSync(Buffer.alloc(50 * 1024 * 1024));
    expect(codeOf(() => decodePng(rawPng(16, 16, 8, 0, bomb)))).toBe('image_invalid');
  });

  it('refuses bad CRCs, truncation, missing IDAT and oversize files', () => {
    const good = Buffer.from(encodePng({ width: 8, height: 8, data: new Uint8Array(64).fill(7) }));
    const badCrc = Buffer.from(good);
    badCrc[good.length - 20] = (badCrc[good.length - 20] ?? 0) ^ 0xff;
    expect(codeOf(() => decodePng(badCrc))).toBe('image_invalid');
    expect(codeOf(() => decodePng(good.subarray(0, good.length - 15)))).toBe('image_invalid');
    expect(codeOf(() => decodePng(good.subarray(0, 7)))).toBe('image_invalid');
    expect(codeOf(() => decodePng(new Uint8Array(9 * 1024 * 1024)))).toBe('image_too_large');
  });

  it('fuzz: random mutations of a valid file give a typed error or a correct-size image', () => {
    const valid = Buffer.from(encodePng({ width: 24, height: 20, data: Uint8Array.from({ length: 480 }, (_, i) => (i * 37) & 0xff) }));
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(valid.length), (edits, cut) => {
      const mutated = Buffer.from(valid.subarray(0, Math.max(8, cut)));
      for (const [at, value] of edits) if (at < mutated.length) mutated[at] = value;
      const outcome = codeOf(() => {
        const image = decodePng(mutated);
        expect(image.data.length).toBe(image.width * image.height);
      });
      expect(['ok', 'image_invalid', 'image_too_large', 'image_unsupported']).toContain(outcome);
    }), { numRuns: 400 });
  });

  it('fuzz: arbitrary bytes behind a PNG signature never escape as untyped errors', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (tail) => {
      const bytes = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), tail]);
      expect(codeOf(() => decodePng(bytes))).not.toBe('ok');
    }), { numRuns: 300 });
  });
});
