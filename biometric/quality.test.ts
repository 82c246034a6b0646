/**
 * Goal: the focus measure (and so the out-of-focus decision) is the original one bit for bit
 * now that its blur goes into a reused plane and `assessQuality` passes the deviation it has.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxBlur, meanStd, type FloatImage } from './image.js';
import { assessQuality, focusMeasure } from './quality.js';

function referenceFocus(roi: FloatImage): number {
  const smooth = boxBlur(roi, 1);
  let detail = 0;
  for (let i = 0; i < roi.data.length; i += 1) { const fine = roi.data[i]! - smooth.data[i]!; detail += fine * fine; }
  return Math.sqrt(detail / roi.data.length) / Math.max(1, meanStd(roi.data).std);
}

const roi = fc.record({ width: fc.integer({ min: 1, max: 60 }), height: fc.integer({ min: 1, max: 60 }), seed: fc.integer(), spread: fc.double({ min: 0, max: 255, noNaN: true }) })
  .map(({ width, height, seed, spread }): FloatImage => {
    let state = seed >>> 0;
    const data = new Float32Array(width * height).map(() => { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; return 128 + ((state >>> 8) / 2 ** 24 - 0.5) * spread; });
    return { width, height, data };
  });

describe('focus', () => {
  it('equals the reference, alone and inside assessQuality, call after call at changing sizes', () => {
    fc.assert(fc.property(fc.array(roi, { minLength: 1, maxLength: 4 }), (rois) => {
      for (const image of rois) {
        const expected = referenceFocus(image);
        expect(Object.is(focusMeasure(image), expected)).toBe(true);
        expect(Object.is(assessQuality(image, 0).focus, expected)).toBe(true);
      }
    }), { numRuns: 200 });
  });
});
