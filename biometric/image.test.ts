/**
 * Goal: the inlined bilinear warp is `sample`, pixel for pixel and bit for bit (the ROI every
 * feature comes from is made by it), for maps that rotate, scale, shift and leave the frame.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sample, warpAffine, type Affine, type GrayImage } from './image.js';

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
});
