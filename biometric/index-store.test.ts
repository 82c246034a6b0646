/**
 * Goal: the two-stage index finds what a brute-force comparison finds. The WebAssembly scan
 * agrees bit for bit with a JavaScript popcount, hints narrow the search, deletion removes a
 * palm from every later search, and re-ranking puts the true mate first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coarse_pool_per_candidate, cohort_members_min, cohort_rank_first, cohort_rank_last, cohortShift, kthSmallest, PalmIndex } from './index-store.js';
import { addSyntheticPalms } from './synthetic-gallery.js';
import { instantiatePrefilter } from './popcount-wasm.js';
import { seeded } from './random.js';
import { codeGrid, hashDistance, IDENTITY, packGrid, probeVariants, shiftGrid, type CodeGrid, type Template } from './template.js';
import type { Probe } from './score.js';

function randomGrid(cells: number, seed: number): CodeGrid {
  const random = seeded(seed);
  return codeGrid(cells, Uint8Array.from({ length: cells * cells }, () => Math.floor(random() * 6)), Float32Array.from({ length: cells * cells }, () => random()));
}
const randomHash = (seed: number): Uint32Array => { const r = seeded(seed); return Uint32Array.from({ length: 8 }, () => Math.floor(r() * 2 ** 32)); };
const templateOf = (seed: number): Template => ({ palm: packGrid(randomGrid(32, seed), IDENTITY.palm), hash: randomHash(seed) });
const probeOf = (seed: number, dx = 0): Probe => ({ palm: probeVariants(shiftGrid(randomGrid(32, seed), dx, 0), IDENTITY.palm, 3), hash: randomHash(seed), keyVersion: 0 });

describe('prefilter kernel (WebAssembly)', () => {
  it('matches a JavaScript popcount on random codes (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer(), (count, seed) => {
      const kernel = instantiatePrefilter(4);
      const query = randomHash(seed);
      const memory = new Uint32Array(kernel.memory.buffer);
      memory.set(query, 0);
      const codes = Array.from({ length: count }, (_, i) => randomHash(seed + i + 1));
      codes.forEach((c, i) => memory.set(c, 64 / 4 + i * 8));
      const out = 64 + count * 32;
      const histogram = (out + count * 2 + 64) & ~7;
      new Uint32Array(kernel.memory.buffer, histogram, 257).fill(0);
      kernel.scan(0, 64, count, out, histogram);
      const distances = new Uint16Array(kernel.memory.buffer, out, count);
      codes.forEach((c, i) => expect(distances[i]).toBe(hashDistance(query, c)));
      const hist = new Uint32Array(kernel.memory.buffer, histogram, 257);
      expect(hist.reduce((a, b) => a + b, 0)).toBe(count);
      const cutoff = 128;
      const results = histogram + 257 * 4;
      const found = kernel.collect(out, count, cutoff, results, count);
      expect(found).toBe(codes.filter((c) => hashDistance(query, c) <= cutoff).length);
    }), { numRuns: 40 });
  });

  it('scanMin keeps the smaller distance of two queries and counts the folded ones (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer(), (count, seed) => {
      const kernel = instantiatePrefilter(4);
      const [first, second] = [randomHash(seed), randomHash(seed ^ 0x5a5a)];
      const memory = new Uint32Array(kernel.memory.buffer);
      const codes = Array.from({ length: count }, (_, i) => randomHash(seed + i + 1));
      codes.forEach((c, i) => memory.set(c, 64 / 4 + i * 8));
      const out = 64 + count * 32;
      const histogram = (out + count * 2 + 64) & ~7;
      memory.set(first, 0);
      kernel.scan(0, 64, count, out, histogram);
      memory.set(second, 0);
      new Uint32Array(kernel.memory.buffer, histogram, 257).fill(0);
      kernel.scanMin(0, 64, count, out, histogram);
      const distances = new Uint16Array(kernel.memory.buffer, out, count);
      const expected = codes.map((c) => Math.min(hashDistance(first, c), hashDistance(second, c)));
      codes.forEach((_, i) => expect(distances[i]).toBe(expected[i]));
      const hist = new Uint32Array(kernel.memory.buffer, histogram, 257);
      for (let d = 0; d <= 256; d += 1) expect(hist[d]).toBe(expected.filter((e) => e === d).length);
    }), { numRuns: 40 });
  });
});

describe('PalmIndex', () => {
  it('re-ranks the true mate first, honours hints and regions, and forgets deleted palms', () => {
    const index = new PalmIndex(4);
    for (let i = 0; i < 300; i += 1) index.add(BigInt(i), templateOf(i), i % 3);
    expect(index.size).toBe(300);
    const results = index.search(probeOf(42, 2), { candidates: 300 });
    expect(results[0]?.id).toBe(42n);
    expect(results[0]!.palmDistance).toBeLessThan(0.05);
    expect(results[1]!.palmDistance).toBeGreaterThan(0.3);
    expect(index.search(probeOf(42), { hints: { identities: [7n, 42n, 9999n] } }).map((r) => r.id)).toEqual([42n, 7n]);
    expect(index.search(probeOf(42), { hints: { region: 0 } }).every((r) => Number(r.id) % 3 === 0)).toBe(true);
    expect(index.verify(42n, probeOf(42))?.palmDistance).toBeLessThan(0.05);
    expect(index.remove(42n)).toBe(true);
    expect(index.remove(42n)).toBe(false);
    expect(index.search(probeOf(42), { candidates: 300 }).some((r) => r.id === 42n)).toBe(false);
    // the palm moved into the hole is still found
    expect(index.search(probeOf(299), { candidates: 300 })[0]?.id).toBe(299n);
    expect(() => index.add(7n, templateOf(7))).toThrow(/already/);
  });

  it('the vein stage narrows a hash pool of 32 x the compared candidates: a mate whose hash is the farthest of 6,000 palms is found', () => {
    expect(coarse_pool_per_candidate).toBe(32);
    const index = new PalmIndex();
    addSyntheticPalms(index, { firstId: 10_000n, count: 6_000, seed: 5 });
    const palm = randomGrid(32, 77);
    const vein = randomGrid(16, 78);
    const hash = randomHash(77);
    // Every hash bit flipped: the largest possible distance, behind all 6,000 others in the hash ranking.
    index.add(1n, { palm: packGrid(palm, IDENTITY.palm), vein: packGrid(vein, IDENTITY.vein), hash: hash.map((w) => ~w >>> 0) });
    const probe: Probe = { palm: probeVariants(shiftGrid(palm, 1, 0), IDENTITY.palm, 3, 4), vein: probeVariants(shiftGrid(vein, 0, 1), IDENTITY.vein, 2), hash, keyVersion: 0 };
    expect(index.search(probe)[0]?.id).toBe(1n);
    // The former pool (16 x 256) drops it before the vein stage.
    expect(index.search(probe, { pool: 4_096 }).some((c) => c.id === 1n)).toBe(false);
  });

  it('prefilter keeps the nearest hashes', () => {
    const index = new PalmIndex();
    for (let i = 0; i < 1000; i += 1) index.add(BigInt(i), templateOf(i));
    const slots = index.prefilter(randomHash(500), 10);
    expect(slots).toContain(500);
    expect(slots.length).toBeGreaterThanOrEqual(10);
  });
});

describe('cohort-relative search scores', () => {
  it('subtracts the mean of ranks 11-256 (never below zero), and nothing with fewer than 64 cohort members', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -8, max: 12, noNaN: true }), { maxLength: 400 }), (scores) => {
      const descending = [...scores].sort((a, b) => b - a);
      const members = descending.slice(cohort_rank_first - 1, cohort_rank_last);
      const expected = members.length < cohort_members_min ? 0 : Math.max(0, members.reduce((a, b) => a + b, 0) / members.length);
      expect(cohortShift(descending)).toBeCloseTo(expected, 9);
    }));
  });

  it('gives every candidate of a search the same shift, the cohort of its own comparison scores', () => {
    const index = new PalmIndex();
    addSyntheticPalms(index, { firstId: 1n, count: 2_000, seed: 5 });
    for (const seed of [11, 12, 13]) {
      const found = index.search(probeOf(seed));
      expect(found.length).toBeGreaterThanOrEqual(cohort_rank_last);
      const shift = cohortShift(found.map((c) => c.comparisonScore));
      for (const c of found) expect(c.comparisonScore - c.score).toBeCloseTo(shift, 9);
      for (let k = 1; k < found.length; k += 1) expect(found[k]!.comparisonScore).toBeLessThanOrEqual(found[k - 1]!.comparisonScore);
    }
    // A young gallery has no cohort: scores are the comparisons' own.
    const young = new PalmIndex();
    addSyntheticPalms(young, { firstId: 1n, count: cohort_rank_first - 1 + cohort_members_min - 1, seed: 6 });
    for (const c of young.search(probeOf(21))) expect(c.score).toBe(c.comparisonScore);
  });
});

describe('kthSmallest', () => {
  // Few distinct values (many ties, as saturated vein codes give), signed zeros, infinities and
  // wide ranges: every k agrees with sorting.
  const value = fc.oneof(fc.integer({ min: 0, max: 6 }).map((v) => v / 8), fc.constantFrom(0, -0, Infinity, -Infinity), fc.double({ noNaN: true }));
  it('gives the value sorting puts at k', () => {
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), fc.nat(), (list, at) => {
      const values = Float64Array.from(list);
      const k = at % values.length;
      // Compared with ===, as the vein stage compares its cutoff: -0 and 0 are the same cutoff.
      expect(kthSmallest(values, k) === values.slice().sort()[k]).toBe(true);
      expect(Array.from(values)).toEqual(list.map((v) => v));
    }), { numRuns: 2_000 });
  });

  it('refuses NaN and a k outside the values', () => {
    expect(() => kthSmallest(Float64Array.of(1, Number.NaN), 0)).toThrow(/NaN/);
    expect(() => kthSmallest(Float64Array.of(1, 2), 2)).toThrow(/k indexes/);
    expect(() => kthSmallest(new Float64Array(0), 0)).toThrow(/k indexes/);
  });
});
