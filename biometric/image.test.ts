/**
 * Goal: the inlined bilinear warp is `sample`, pixel for pixel and bit for bit (the ROI every
 * feature comes from is made by it), for maps that rotate, scale, shift and leave the frame;
 * and halving an image (four bytes at a time when its rows are word-aligned) is the rounded
 * mean of each 2x2 block, whatever the alignment; and the box blur (columns four at a time)
 * is the original one-sums-array form bit for bit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxBlurInto, downsample, sample, warpAffine, type Affine, type GrayImage } from './image.js';

const source = fc.record({ width: fc.integer({ min: 1, max: 40 }), height: fc.integer({ min: 1, max: 40 }), seed: fc.integer() })
  .map(({ width, height, seed }): GrayImage => {
    const data = new Uint8Array(width * height);
    let state = seed >>> 0;
    for (let i = 0; i < data.length; i += 1) { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; data[i] = state >>> 24; }
    return { width, height, data };
  });

const map = fc.record({ angle: fc.double({ min: -Math.PI, max: Math.PI, noNaN: true }), scale: fc.double({ min: 0.05, max: 3, noNaN: true }), c: fc.double({ min: -30, max: 60, noNaN: true }), f: fc.double({ min: -30, max: 60, noNaN: true }) })
  .map(({ angle, scale, c, f }): Affine => ({ a: Math.cos(angle) * scale, b: -Math.sin(angle) * scale, c, d: Math.sin(angle) * scale, e: Math.cos(angle) * scale, f }));

describe('warpAffine', () => {
  it('equals sample() at every output pixel, inside, at the edges and outside the frame', () => {
    fc.assert(fc.property(source, map, fc.integer({ min: 1, max: 24 }), fc.constantFrom(0, 255), (image, m, side, outside) => {
      const warped = warpAffine(image, side, side + 1, m, outside).data;
      const expected = new Float32Array(side * (side + 1));
      for (let v = 0; v < side + 1; v += 1) for (let u = 0; u < side; u += 1) expected[v * side + u] = sample(image, m.a * u + m.b * v + m.c, m.d * u + m.e * v + m.f, outside);
      expect(new Uint32Array(warped.buffer)).toEqual(new Uint32Array(expected.buffer));
    }), { numRuns: 500 });
  });

  it('equals sample() when whole rows fall inside the frame (the unclamped row path) and at its edges', () => {
    const inside = fc.record({ angle: fc.double({ min: -Math.PI, max: Math.PI, noNaN: true }), scale: fc.double({ min: 0, max: 0.08, noNaN: true }), cx: fc.double({ min: 0, max: 1, noNaN: true }), cy: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(fc.property(source, inside, fc.integer({ min: 1, max: 24 }), ({ width, height, data }, { angle, scale, cx, cy }, side) => {
      const image = { width: width + 1, height: height + 1, data: new Uint8Array((width + 1) * (height + 1)).map((_, i) => data[i % data.length]!) };
      // Centred anywhere in the frame, corners included (there some rows leave it).
      const m: Affine = { a: Math.cos(angle) * scale, b: -Math.sin(angle) * scale, c: cx * width, d: Math.sin(angle) * scale, e: Math.cos(angle) * scale, f: cy * height };
      const warped = warpAffine(image, side, side, m).data;
      const expected = new Float32Array(side * side);
      for (let v = 0; v < side; v += 1) for (let u = 0; u < side; u += 1) expected[v * side + u] = sample(image, m.a * u + m.b * v + m.c, m.d * u + m.e * v + m.f, 0);
      expect(new Uint32Array(warped.buffer)).toEqual(new Uint32Array(expected.buffer));
    }), { numRuns: 500 });
  });
});

describe('downsample by two', () => {
  it('is Math.round of each 2x2 block mean, for aligned and unaligned rows and offsets', () => {
    const frame = fc.record({ width: fc.integer({ min: 2, max: 50 }), height: fc.integer({ min: 2, max: 30 }), offset: fc.integer({ min: 0, max: 3 }), seed: fc.integer(), bright: fc.boolean() });
    fc.assert(fc.property(frame, ({ width, height, offset, seed, bright }) => {
      const backing = new Uint8Array(offset + width * height);
      let state = seed >>> 0;
      // Bright frames push every lane sum to its maximum (4 x 255 + 2).
      for (let i = 0; i < backing.length; i += 1) { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; backing[i] = bright ? 255 - (state >>> 30) : state >>> 24; }
      const image: GrayImage = { width, height, data: backing.subarray(offset) };
      const half = downsample(image, 2);
      expect([half.width, half.height]).toEqual([Math.floor(width / 2), Math.floor(height / 2)]);
      const expected = new Uint8Array(half.width * half.height);
      for (let y = 0; y < half.height; y += 1) for (let x = 0; x < half.width; x += 1) {
        const p = 2 * y * width + 2 * x;
        expected[y * half.width + x] = Math.round((image.data[p]! + image.data[p + 1]! + image.data[p + width]! + image.data[p + width + 1]!) / 4);
      }
      expect(half.data).toEqual(expected);
    }), { numRuns: 500 });
  });
});

/** The original separable blur: rows with running float64 sums, then one sums array across the columns. */
function referenceBoxBlur(src: Float32Array, width: number, height: number, radius: number): Float32Array {
  const norm = 1 / (2 * radius + 1);
  const tmp = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const start = y * width;
    const last = start + width - 1;
    let sum = 0;
    for (let i = -radius; i <= radius; i += 1) sum += src[i < 0 ? start : i >= width ? last : start + i]!;
    for (let i = 0; i < width; i += 1) {
      tmp[start + i] = sum * norm;
      const add = i + radius + 1;
      const drop = i - radius;
      sum += src[add >= width ? last : start + add]! - src[drop < 0 ? start : start + drop]!;
    }
  }
  const out = new Float32Array(width * height);
  const sums = new Float64Array(width);
  const lastRow = (height - 1) * width;
  for (let i = -radius; i <= radius; i += 1) {
    const row = i < 0 ? 0 : i >= height ? lastRow : i * width;
    for (let x = 0; x < width; x += 1) sums[x] = sums[x]! + tmp[row + x]!;
  }
  for (let y = 0; y < height; y += 1) {
    const add = y + radius + 1;
    const drop = y - radius;
    const addRow = add >= height ? lastRow : add * width;
    const dropRow = drop < 0 ? 0 : drop * width;
    for (let x = 0; x < width; x += 1) {
      out[y * width + x] = sums[x]! * norm;
      sums[x] = sums[x]! + (tmp[addRow + x]! - tmp[dropRow + x]!);
    }
  }
  return out;
}

describe('box blur', () => {
  it('equals the original form bit for bit (random sizes, radii, values)', () => {
    // Grey levels, and grey levels with rare huge spikes: a running float64 sum that adds and
    // drops a spike rounds, so any change in the order of additions shows after it.
    const plane = fc.record({ width: fc.integer({ min: 1, max: 45 }), height: fc.integer({ min: 1, max: 45 }), seed: fc.integer(), spiky: fc.boolean() })
      .map(({ width, height, seed, spiky }) => {
        let state = seed >>> 0;
        const next = (): number => { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; return state; };
        const data = new Float32Array(width * height).map(() => (spiky && next() % 20 === 0 ? (next() / 2 ** 32 - 0.5) * 1e12 : (next() >>> 16) / 256));
        return { width, height, data };
      });
    fc.assert(fc.property(plane, fc.integer({ min: 1, max: 30 }), ({ width, height, data }, radius) => {
      const blurred = boxBlurInto(data, width, height, radius, new Float32Array(width * height));
      expect(new Uint32Array(blurred.buffer)).toEqual(new Uint32Array(referenceBoxBlur(data, width, height, radius).buffer));
    }), { numRuns: 400 });
  });
});
