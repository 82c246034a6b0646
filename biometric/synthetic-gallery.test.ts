/**
 * Goal: benchmark filler palms behave like enrolled impostors: deterministic per seed, the
 * right shapes, impostor-like distances to one another (near the engine's impostor mean, never
 * near a match), and a real probe still finds its own mate among them.
 */
import { describe, expect, it } from 'vitest';
import { PalmIndex } from './index-store.js';
import { compare } from './score.js';
import { codeGrid, hashDistance, IDENTITY, packGrid, probeVariants, type CodeGrid } from './template.js';
import { addSyntheticPalms } from './synthetic-gallery.js';
import { seeded } from './random.js';

function grid(cells: number, seed: number): CodeGrid {
  const random = seeded(seed);
  return codeGrid(cells, Uint8Array.from({ length: cells * cells }, () => Math.floor(random() * 6)), Float32Array.from({ length: cells * cells }, () => random()));
}

describe('synthetic gallery filler', () => {
  it('is deterministic, shaped like real templates and scores as impostors', () => {
    const a = new PalmIndex(16);
    const b = new PalmIndex(16);
    addSyntheticPalms(a, { firstId: 1000n, count: 2000, seed: 7 });
    addSyntheticPalms(b, { firstId: 1000n, count: 2000, seed: 7 });
    expect(a.size).toBe(2000);
    expect(Array.from(a.get(2999n)!.palm.words)).toEqual(Array.from(b.get(2999n)!.palm.words));
    const first = a.get(1000n)!;
    // Every cell carries one of the six orientation patterns packGrid writes, masks ~half valid.
    const words = first.palm.words;
    const patterns = new Set<number>();
    let valid = 0;
    for (let cell = 0; cell < 1024; cell += 1) {
      const bit = (plane: number): number => (words[plane * 32 + (cell >>> 5)]! >>> (cell & 31)) & 1;
      patterns.add(bit(0) | (bit(1) << 1) | (bit(2) << 2));
      valid += bit(3);
    }
    expect([...patterns].sort()).toEqual([0b000, 0b001, 0b011, 0b100, 0b110, 0b111]);
    expect(valid).toBeGreaterThan(400);
    expect(valid).toBeLessThan(624);
    expect(first.vein).toBeDefined();
    const probe = { palm: probeVariants(grid(32, 1), IDENTITY.palm, 3, 4), vein: probeVariants(grid(16, 2), IDENTITY.vein, 2), hash: first.hash, keyVersion: 0 };
    const scores = [...a.entries()].slice(1, 400).map((e) => compare(probe, e.template).score);
    expect(Math.max(...scores)).toBeLessThan(4);
    const hashGaps = [...a.entries()].slice(1, 400).map((e) => hashDistance(first.hash, e.template.hash));
    expect(Math.min(...hashGaps)).toBeGreaterThan(80);
  });

  it('leaves a real mate findable among 20,000 fillers', () => {
    const index = new PalmIndex();
    addSyntheticPalms(index, { firstId: 1n, count: 20_000, seed: 3, vein: false });
    const mate = grid(32, 99);
    index.add(77_777_777n, { palm: packGrid(mate, IDENTITY.palm), hash: Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
    const found = index.search({ palm: probeVariants(mate, IDENTITY.palm, 3, 4), hash: Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 9]), keyVersion: 0 });
    expect(found[0]?.id).toBe(77_777_777n);
    expect(index.size).toBe(20_001);
  });
});

describe('vein stage of the search', () => {
  it('narrows a wide hash pool by vein code, so a mate with a useless hash is still found', () => {
    const index = new PalmIndex();
    addSyntheticPalms(index, { firstId: 1n, count: 3000, seed: 11 });
    const palm = grid(32, 5);
    const vein = grid(16, 6);
    index.add(9_999_999n, { palm: packGrid(palm, IDENTITY.palm), vein: packGrid(vein, IDENTITY.vein), hash: new Uint32Array(8) });
    // The probe's hash is the complement: the mate is the farthest of all in the hash scan.
    const probe = { palm: probeVariants(palm, IDENTITY.palm, 3, 4), vein: probeVariants(vein, IDENTITY.vein, 2), hash: new Uint32Array(8).fill(0xffffffff), keyVersion: 0 };
    expect(index.search(probe, { candidates: 4, pool: 3001 })[0]?.id).toBe(9_999_999n);
    expect(index.search(probe, { candidates: 4, pool: 4 }).some((c) => c.id === 9_999_999n)).toBe(false);
  });
});
