/**
 * Goal: the search tail gives the per-comparison threshold of a known impostor distribution from
 * the tops of searches alone — empirically where the recorded comparisons reach, by a cautious
 * extrapolation beyond — and never reads a level that a truncated search may be missing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalQuantile, SearchTail, search_tail_scores_max, thresholdForGallery, ImpostorReservoir } from './calibration.js';
import { gaussian, seeded } from './random.js';

/** `searches` non-mated searches of `n` standard-normal impostor scores; the search returns its best 32. */
function recordSearches(tail: SearchTail, searches: number, n: number, seed: number): void {
  const random = seeded(seed);
  for (let s = 0; s < searches; s += 1) {
    const scores = Array.from({ length: n }, () => gaussian(random));
    tail.record(n, scores.sort((a, b) => b - a).slice(0, 32));
  }
}

describe('SearchTail', () => {
  it('finds the normal quantile where the recorded comparisons reach, and extrapolates above it beyond', () => {
    const tail = new SearchTail();
    recordSearches(tail, 300, 2_000, 0x7a11);
    expect(tail.recordedComparisons).toBe(600_000);
    for (const fmr of [1e-4, 3e-5, 1e-5]) {
      const threshold = tail.thresholdForFmr(fmr);
      expect(threshold).toBeDefined();
      expect(Math.abs(threshold! - normalQuantile(1 - fmr))).toBeLessThan(0.15);
    }
    // Beyond the data (0.18 exceedances expected): an exponential over a lighter tail errs high, not low.
    const deep = tail.thresholdForFmr(3e-7)!;
    expect(deep).toBeGreaterThan(normalQuantile(1 - 3e-7) - 0.1);
    expect(deep).toBeLessThan(normalQuantile(1 - 3e-7) + 1.0);
    // More than a decade beyond: not this estimate's to give.
    expect(tail.thresholdForFmr(1e-7)).toBeUndefined();
  });

  it('leaves to the reservoir what lies below its recorded tail, and has nothing to say without data', () => {
    const tail = new SearchTail();
    expect(tail.thresholdForFmr(1e-6)).toBeUndefined();
    recordSearches(tail, 100, 1_000, 0x7a12);
    expect(tail.thresholdForFmr(0.1)).toBeUndefined();
    const reservoir = new ImpostorReservoir();
    const random = seeded(0x7a13);
    for (let i = 0; i < 5_000; i += 1) reservoir.add(gaussian(random));
    expect(thresholdForGallery(reservoir, 10, 1, 4, tail)).toBe(Math.max(reservoir.thresholdForFmr(0.1)!, normalQuantile(0.9)));
    expect(thresholdForGallery(reservoir, 100, 1e-3, 4, tail)).toBe(Math.max(tail.thresholdForFmr(1e-5)!, normalQuantile(1 - 1e-5)));
    expect(tail.thresholdForFmr(1e-5)).toBeDefined();
  });

  it('never sets the threshold below the normal quantile for the FMR, however few or low the samples', () => {
    // A young gallery: a handful of palms, a reservoir of low scores and zeros (as at 15 palms in the e2e bench).
    const reservoir = new ImpostorReservoir();
    for (let i = 0; i < 120; i += 1) reservoir.add(i % 3 === 0 ? 1.4 : 0);
    expect(reservoir.thresholdForFmr(1e-3 / 15)).toBeLessThan(normalQuantile(1 - 1e-3 / 15) - 0.5);
    expect(thresholdForGallery(reservoir, 15, 1e-3, 4)).toBeCloseTo(normalQuantile(1 - 1e-3 / 15), 12);
    expect(thresholdForGallery(new ImpostorReservoir(), 15, 1e-3, 4)).toBe(4);
  });

  it('does not read levels a truncated search may be missing', () => {
    const tail = new SearchTail();
    recordSearches(tail, 100, 1_000, 0x7a14);
    const before = tail.thresholdForFmr(1e-4);
    // A search whose 16 best scores are all 10: everything at or below 10 may be missing, so no level is valid.
    tail.record(1_000, Array.from({ length: 40 }, () => 10));
    expect(before).toBeDefined();
    expect(tail.thresholdForFmr(1e-4)).toBeUndefined();
  });

  it('stays within its bound and comes back the same from its state', () => {
    const tail = new SearchTail();
    recordSearches(tail, 600, 200, 0x7a15);
    const state = tail.state();
    expect(state.scores.length).toBeLessThanOrEqual(search_tail_scores_max);
    const again = new SearchTail();
    again.restore(JSON.parse(JSON.stringify({ ...state, floor: state.floor })) as typeof state);
    for (const fmr of [1e-4, 1e-6]) expect(again.thresholdForFmr(fmr)).toBe(tail.thresholdForFmr(fmr));
    expect(() => again.restore({ ...state, scores: [Number.NaN] })).toThrow();
  });
});

const search = fc.record({ size: fc.integer({ min: 1, max: 100_000 }), scores: fc.array(fc.double({ min: -5, max: 12, noNaN: true }), { maxLength: 24 }) });

describe('SearchTail.merge', () => {
  it('equals one tail that recorded both sets of searches', () => {
    fc.assert(fc.property(fc.array(search, { maxLength: 40 }), fc.array(search, { maxLength: 40 }), (a, b) => {
      const [one, two, both] = [new SearchTail(), new SearchTail(), new SearchTail()];
      for (const s of a) { one.record(s.size, s.scores); both.record(s.size, s.scores); }
      for (const s of b) { two.record(s.size, s.scores); both.record(s.size, s.scores); }
      expect(SearchTail.merge(one.state(), two.state())).toEqual(both.state());
    }), { numRuns: 200 });
  });

  it('equals one tail that recorded both, past the score bound (600 searches of 16 scores each side)', () => {
    let state = 7;
    const next = (): number => { state = (state * 1_103_515_245 + 12_345) % 2 ** 31; return state / 2 ** 31; };
    const [one, two, both] = [new SearchTail(), new SearchTail(), new SearchTail()];
    for (let i = 0; i < 1_200; i += 1) {
      const scores = Array.from({ length: 20 }, () => 8 * next() - 2);
      (i % 2 === 0 ? one : two).record(5_000, scores);
      both.record(5_000, scores);
    }
    expect(both.state().scores).toHaveLength(search_tail_scores_max);
    expect(SearchTail.merge(one.state(), two.state())).toEqual(both.state());
  });

  it('keeps the bound: a dropped score becomes the floor', () => {
    const many = (base: number) => ({ comparisons: 1e6, floor: -Infinity, scores: Array.from({ length: search_tail_scores_max }, (_, i) => base - i / 1e4) });
    const merged = SearchTail.merge(many(9), many(8.5));
    expect(merged.scores).toHaveLength(search_tail_scores_max);
    expect(merged.comparisons).toBe(2e6);
    expect(merged.floor).toBeGreaterThan(8.1);
    expect(merged.scores.every((score) => score >= merged.floor)).toBe(true);
  });
});
