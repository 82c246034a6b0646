/**
 * Goal: the fused contrast normalisation is the unfused one, bit for bit. The feature codes
 * (and so every calibrated score and the held-out accuracy) come from its output, so "close"
 * is not enough: the reference below is the original form (two `boxBlurInto` blurs, a squares
 * plane, a final pass), and every output element must have the same float32 bits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseContrast } from './features.js';
import { boxBlurInto, type FloatImage } from './image.js';

function referenceNormalise(roi: FloatImage, radius: number): Float32Array {
  const { width, height, data } = roi;
  const n = data.length;
  const mean = boxBlurInto(data, width, height, radius, new Float32Array(n));
  const squared = new Float32Array(n);
  for (let i = 0; i < n; i += 1) squared[i] = data[i]! * data[i]!;
  const meanSq = boxBlurInto(squared, width, height, radius, new Float32Array(n));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const m = mean[i]!;
    const std = Math.sqrt(Math.max(0, meanSq[i]! - m * m));
    out[i] = (data[i]! - m) / (std + 4);
  }
  return out;
}

const bits = (plane: Float32Array): Uint32Array => new Uint32Array(plane.buffer, plane.byteOffset, plane.length);

const image = fc.record({ width: fc.integer({ min: 1, max: 48 }), height: fc.integer({ min: 1, max: 48 }), seed: fc.integer(), kind: fc.constantFrom('bytes', 'warped', 'wide', 'spiky') })
  .map(({ width, height, seed, kind }): FloatImage => {
    const data = new Float32Array(width * height);
    let state = seed >>> 0;
    for (let i = 0; i < data.length; i += 1) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      const unit = state / 2 ** 32;
      // Whole grey levels, bilinear-warp-like fractions, a wide signed range, and fractions with
      // rare huge spikes (a running float64 sum that adds and drops one rounds, so a change in
      // the order of additions shows).
      data[i] = kind === 'bytes' ? Math.floor(unit * 256) : kind === 'warped' ? unit * 255 : kind === 'wide' ? (unit - 0.4) * 1e5
        : i % 17 === seed % 17 && unit < 0.3 ? (unit - 0.15) * 1e14 : unit * 255;
    }
    return { width, height, data };
  });

describe('normaliseContrast', () => {
  it('equals the unfused reference bit for bit (random sizes, radii and values)', () => {
    fc.assert(fc.property(image, fc.integer({ min: 1, max: 30 }), (roi, radius) => {
      expect(bits(normaliseContrast(roi, radius))).toEqual(bits(referenceNormalise(roi, radius)));
    }), { numRuns: 400 });
  });

  it('equals the reference on canonical ROIs at both radii the models use, one after another', () => {
    // Alternating sizes also checks that the reused planes carry nothing from a previous call.
    for (const [side, radius] of [[128, 8], [128, 12], [37, 8], [128, 8]] as const) {
      const data = new Float32Array(side * side);
      for (let i = 0; i < data.length; i += 1) data[i] = 128 + 100 * Math.sin(i * 0.37) * Math.cos(i * 0.011);
      const roi = { width: side, height: side, data };
      expect(bits(normaliseContrast(roi, radius))).toEqual(bits(referenceNormalise(roi, radius)));
    }
  });

  it('normalises: a flat image becomes zero, a step keeps its sign', () => {
    const flat = normaliseContrast({ width: 20, height: 20, data: new Float32Array(400).fill(90) }, 3);
    expect(Math.max(...flat.map(Math.abs))).toBe(0);
    const step = new Float32Array(400).map((_, i) => (i % 20 < 10 ? 50 : 200));
    const out = normaliseContrast({ width: 20, height: 20, data: step }, 3);
    expect(out[10 * 20 + 8]!).toBeLessThan(0);
    expect(out[10 * 20 + 11]!).toBeGreaterThan(0);
  });
});
