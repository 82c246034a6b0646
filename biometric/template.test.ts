/**
 * Goal: templates compare correctly and stay protected — Hamming distance between
 * orientation codes equals angular distance, matching tolerates shifts, the keyed transform
 * keeps distances exactly (so protected matching equals clear matching) while unlinking two
 * deployments, re-keying equals enrolling under the new key, and serialised templates
 * survive a round trip while corrupt ones are refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BiometricError } from './errors.js';
import { deriveTransform, retransform, type TemplateKeyProvider } from './protection.js';
import { createHmac } from 'node:crypto';
import {
  bestDistance, bestDistanceJs, codeGrid, deserialiseTemplate, matcherFor, IDENTITY, packedDistance, packGrid, packHash, probeVariants,
  serialiseTemplate, shiftGrid, upperMedian, type CodeGrid, type Template, type TemplateTransform,
} from './template.js';
import { seeded } from './random.js';

/** A software keyed hash with a key held by the test (sealing is exercised against hsm-sim in gallery.test.ts). */
const softwareKeys = (secret: string): TemplateKeyProvider => ({
  keyedHash: (_keyId, data) => Promise.resolve(createHmac('sha256', secret).update(data).digest()),
  seal: () => Promise.reject(new Error('not used here')),
  open: () => Promise.reject(new Error('not used here')),
});

function randomGrid(cells: number, seed: number): CodeGrid {
  const random = seeded(seed);
  const code = Uint8Array.from({ length: cells * cells }, () => Math.floor(random() * 6));
  return codeGrid(cells, code, Float32Array.from({ length: cells * cells }, () => random()));
}

function template(grid: CodeGrid, vein: CodeGrid, hash: Float32Array, t: TemplateTransform): Template {
  return { palm: packGrid(grid, t.palm), vein: packGrid(vein, t.vein), hash: packHash(hash, t.hash) };
}

describe('templates', () => {
  it('orientation bit patterns: Hamming distance = angular distance', () => {
    for (let a = 0; a < 6; a += 1) for (let b = 0; b < 6; b += 1) {
      const ga: CodeGrid = { cells: 1, code: Uint8Array.of(a), valid: Uint8Array.of(1) };
      const gb: CodeGrid = { cells: 1, code: Uint8Array.of(b), valid: Uint8Array.of(1) };
      const d = packedDistance(packGrid(ga, { permutation: Uint16Array.of(0), pad: new Uint32Array(3) }), packGrid(gb, { permutation: Uint16Array.of(0), pad: new Uint32Array(3) }));
      expect(d.distance * 3).toBe(Math.min(Math.abs(a - b), 6 - Math.abs(a - b)));
    }
  });

  it('masks the weaker half of the cells and finds a shifted copy', () => {
    const grid = randomGrid(32, 7);
    expect(grid.valid.reduce((s, v) => s + v, 0)).toBeGreaterThan(400);
    const shifted = shiftGrid(grid, 2, -1);
    expect(bestDistance(probeVariants(shifted, IDENTITY.palm, 3), packGrid(grid, IDENTITY.palm), 1)).toBe(0);
    expect(bestDistance(probeVariants(randomGrid(32, 8), IDENTITY.palm, 3), packGrid(grid, IDENTITY.palm), 1)).toBeGreaterThan(0.35);
  });

  it('probe variants are the shifted grid of each offset, packed, under any transform (property)', async () => {
    const keyed = await deriveTransform(softwareKeys('deployment-a'), 'perm', 1);
    fc.assert(fc.property(fc.constantFrom(32, 16), fc.integer(), fc.boolean(), (cells, seed, useKey) => {
      const grid = randomGrid(cells, seed);
      const t = useKey ? (cells === 32 ? keyed.palm : keyed.vein) : (cells === 32 ? IDENTITY.palm : IDENTITY.vein);
      const variants = probeVariants(grid, t, 3, 2);
      let k = 0;
      for (let dy = -2; dy <= 2; dy += 1) for (let dx = -3; dx <= 3; dx += 1) expect(variants[k++]!.words).toEqual(packGrid(shiftGrid(grid, dx, dy), t).words);
      expect(variants.length).toBe(k);
    }), { numRuns: 40 });
  });

  it('the median of the mask floor is the sorted middle element (property)', () => {
    fc.assert(fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 300 }), (values) => {
      const f = Float32Array.from(values);
      // + 0 turns -0 into 0: the sort orders -0 before 0, the partition holds them equal, and the
      // floor is only used in a > comparison, where they are the same number.
      expect(Object.is(upperMedian(f) + 0, Float32Array.from(f).sort()[f.length >> 1]! + 0)).toBe(true);
    }), { numRuns: 300 });
    expect(upperMedian(Float32Array.of(3, Number.NaN, 1))).toBe(3);
    expect(upperMedian(Float32Array.of(-0, 0, -0)) + 0).toBe(0);
  });

  it('the WebAssembly matcher gives the JavaScript comparison bit for bit, winner included (property)', () => {
    fc.assert(fc.property(fc.constantFrom(32, 16), fc.integer(), fc.integer({ min: 0, max: 4 }), fc.constantFrom(1, 120, 500), (cells, seed, shift, typical) => {
      const t = cells === 32 ? IDENTITY.palm : IDENTITY.vein;
      const probe = randomGrid(cells, seed);
      // Sparse masks too (down to no overlap at all), where the normalisation and the bits === 0 case matter.
      if (shift === 4) probe.valid.fill(0);
      else for (let i = 0; i < probe.valid.length; i += 1) if ((i * 7 + seed) % (shift + 2) !== 0) probe.valid[i] = 0;
      const variants = probeVariants(probe, t, shift, 2);
      const enrolled = packGrid(shift % 2 ? shiftGrid(probe, 1, 0) : randomGrid(cells, seed ^ 0x55), t);
      const matcher = matcherFor(cells)!;
      expect(Object.is(matcher.best(variants, enrolled.words, 0, typical), bestDistanceJs(variants, enrolled, typical))).toBe(true);
      let first = 0;
      let best = 2;
      variants.forEach((v, i) => { const d = bestDistanceJs([v], enrolled, typical); if (d < best) { best = d; first = i; } });
      expect(matcher.argmin).toBe(first);
    }), { numRuns: 200 });
  });

  it('keyed transform preserves every distance and re-keying equals enrolling under the new key', async () => {
    const t1 = await deriveTransform(softwareKeys('deployment-a'), 'perm', 1);
    const t2 = await deriveTransform(softwareKeys('deployment-a'), 'perm', 2);
    await fc.assert(fc.asyncProperty(fc.integer(), fc.integer(), async (s1, s2) => {
      const a = randomGrid(32, s1);
      const b = randomGrid(32, s2);
      const clear = packedDistance(packGrid(a, IDENTITY.palm), packGrid(b, IDENTITY.palm));
      const protectedD = packedDistance(packGrid(a, t1.palm), packGrid(b, t1.palm));
      expect(protectedD).toEqual(clear);
      const hash = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * (s1 | 1)));
      const enrolledUnderT1 = template(a, randomGrid(16, s2), hash, t1);
      expect(retransform(enrolledUnderT1, t1, t2)).toEqual(template(a, randomGrid(16, s2), hash, t2));
      await Promise.resolve();
    }), { numRuns: 25 });
  });

  it('two deployments cannot link a palm: same code under different keys looks like an impostor', async () => {
    const a = await deriveTransform(softwareKeys('deployment-a'), 'perm', 1);
    const b = await deriveTransform(softwareKeys('deployment-b'), 'perm', 1);
    const grid = randomGrid(32, 99);
    const linked = packedDistance(packGrid(grid, a.palm), packGrid(grid, b.palm)).distance;
    expect(linked).toBeGreaterThan(0.4);
    expect(packedDistance(packGrid(grid, a.palm), packGrid(grid, a.palm)).distance).toBe(0);
  });

  it('serialises and refuses corrupt templates (fuzz)', () => {
    const t = template(randomGrid(32, 1), randomGrid(16, 2), new Float32Array(256).fill(1), IDENTITY);
    const bytes = serialiseTemplate(t, 3);
    expect(bytes.length).toBe(8 + 512 + 32 + 128);
    const back = deserialiseTemplate(bytes);
    expect(back.keyVersion).toBe(3);
    expect(back.template).toEqual(t);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 800 }), (junk) => {
      try { deserialiseTemplate(junk); } catch (error) { expect(error).toBeInstanceOf(BiometricError); }
    }), { numRuns: 300 });
  });
});
