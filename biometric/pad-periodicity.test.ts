/**
 * Goal: the PAD cues are still the ones the PAD model was calibrated on, bit for bit, now that
 * `periodicity` computes its lag sums four at a time and the cues work on reused planes. The
 * references are the original forms (one lag at a time; fresh planes per call); random frames,
 * sizes (including ones smaller than the crop, where lags overlap nothing) and centres, and ROIs
 * of changing sizes one after another (nothing may carry over between calls).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxBlur, meanStd, type FloatImage, type GrayImage } from './image.js';
import { padFeatures, periodicity } from './pad.js';

function referencePeriodicity(image: GrayImage, centre: { x: number; y: number }): number {
  const crop_pixels = 64;
  const lag_max = 6;
  const half = crop_pixels / 2;
  const x0 = Math.max(0, Math.min(image.width - crop_pixels, Math.round(centre.x - half)));
  const y0 = Math.max(0, Math.min(image.height - crop_pixels, Math.round(centre.y - half)));
  const size = Math.min(crop_pixels, image.width, image.height);
  const crop = new Float32Array(size * size);
  for (let y = 0; y < size; y += 1) for (let x = 0; x < size; x += 1) crop[y * size + x] = image.data[(y0 + y) * image.width + x0 + x] ?? 0;
  const smooth = boxBlur({ width: size, height: size, data: crop }, 2).data;
  const detail = new Float32Array(crop.length);
  for (let i = 0; i < detail.length; i += 1) detail[i] = crop[i]! - smooth[i]!;
  let energy = 0;
  for (const v of detail) energy += v * v;
  let best = 0;
  for (let dy = 0; dy <= lag_max; dy += 1) {
    for (let dx = -lag_max; dx <= lag_max; dx += 1) {
      if (dx * dx + dy * dy < 4 || (dy === 0 && dx < 0)) continue;
      let sum = 0;
      const lag = dy * size + dx;
      for (let y = Math.max(0, -dy); y < size - Math.max(0, dy); y += 1) {
        const row = y * size;
        for (let x = Math.max(0, -dx); x < size - Math.max(0, dx); x += 1) sum += detail[row + x]! * detail[row + x + lag]!;
      }
      best = Math.max(best, sum / Math.max(1e-6, energy));
    }
  }
  return best;
}

const frame = fc.record({ width: fc.integer({ min: 1, max: 90 }), height: fc.integer({ min: 1, max: 90 }), seed: fc.integer(), period: fc.integer({ min: 0, max: 7 }) })
  .map(({ width, height, seed, period }): GrayImage => {
    const data = new Uint8Array(width * height);
    let state = seed >>> 0;
    for (let i = 0; i < data.length; i += 1) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      // Noise, optionally over a pixel grid (a screen's moire) so the best lag is not always tiny.
      const grid = period > 1 && (i % width) % period === 0 ? 60 : 0;
      data[i] = Math.min(255, (state >>> 25) + 40 + grid);
    }
    return { width, height, data };
  });

describe('periodicity', () => {
  it('equals the one-lag-at-a-time reference exactly', () => {
    fc.assert(fc.property(frame, fc.double({ min: -20, max: 120, noNaN: true }), fc.double({ min: -20, max: 120, noNaN: true }), (image, x, y) => {
      expect(Object.is(periodicity(image, { x, y }), referencePeriodicity(image, { x, y }))).toBe(true);
    }), { numRuns: 300 });
  });

  it('sees a pixel grid: a 4-pixel column pattern correlates at lag 4 far above noise', () => {
    let state = 7;
    const noise: GrayImage = { width: 80, height: 80, data: new Uint8Array(6400).map(() => { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; return 100 + (state >>> 28); }) };
    const grid: GrayImage = { ...noise, data: noise.data.map((v, i) => (i % 80) % 4 === 0 ? v + 80 : v) };
    expect(periodicity(grid, { x: 40, y: 40 })).toBeGreaterThan(0.5);
    expect(periodicity(noise, { x: 40, y: 40 })).toBeLessThan(0.3);
  });
});

function referencePrintCorrelation(roi: FloatImage, nirRoi: FloatImage): number {
  const highPass = (image: FloatImage): Float32Array => {
    const smooth = boxBlur(image, 3).data;
    return image.data.map((v, i) => v - smooth[i]!);
  };
  const a = highPass(roi);
  const b = highPass(nirRoi);
  const ma = meanStd(a);
  const mb = meanStd(b);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += (a[i]! - ma.mean) * (b[i]! - mb.mean);
  return sum / (a.length * Math.max(1e-6, ma.std * mb.std));
}

const roiPair = fc.record({ side: fc.integer({ min: 1, max: 70 }), seed: fc.integer() }).map(({ side, seed }) => {
  let state = seed >>> 0;
  const plane = (): FloatImage => ({ width: side, height: side, data: new Float32Array(side * side).map(() => { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; return (state >>> 8) / 65_536; }) });
  return { roi: plane(), nirRoi: plane(), frame: { width: side, height: side, data: new Uint8Array(side * side).map(() => { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; return state >>> 24; }) } };
});

describe('padFeatures', () => {
  it('gives the reference print correlation and NIR ratio, call after call at changing sizes', () => {
    fc.assert(fc.property(fc.array(roiPair, { minLength: 1, maxLength: 4 }), (pairs) => {
      for (const { roi, nirRoi, frame } of pairs) {
        const features = padFeatures(roi, nirRoi, frame, { x: frame.width / 2, y: frame.height / 2 });
        expect(Object.is(features.printCorrelation, referencePrintCorrelation(roi, nirRoi))).toBe(true);
        expect(Object.is(features.nirRatio, meanStd(nirRoi.data).mean / Math.max(1, meanStd(roi.data).mean))).toBe(true);
        expect(Object.is(features.periodicity, referencePeriodicity(frame, { x: frame.width / 2, y: frame.height / 2 }))).toBe(true);
      }
    }), { numRuns: 150 });
  });
});
