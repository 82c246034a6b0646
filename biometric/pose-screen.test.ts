/**
 * Goal: a 1:N search compares each candidate at one pose of a probe and only the best few
 * (`rotation_recheck_candidates`) at every pose, so a mate whose main pose is off (impostor level
 * there, high at an alternate pose) must still be found when more near-matches than the recheck
 * takes rank above it: the pose screen gives every other candidate its best-screening pose.
 */
import { describe, expect, it } from 'vitest';
import { PalmIndex, rotation_recheck_candidates } from './index-store.js';
import { seeded } from './random.js';
import { compareAt, type Probe } from './score.js';
import { codeGrid, IDENTITY, packGrid, probeVariants, type CodeGrid } from './template.js';

const CELLS = 32;
function randomGrid(seed: number): CodeGrid {
  const random = seeded(seed);
  return codeGrid(CELLS, Uint8Array.from({ length: CELLS * CELLS }, () => Math.floor(random() * 6)), Float32Array.from({ length: CELLS * CELLS }, () => random()));
}
/** `grid` with a share of its cells' orientations replaced at random (a partial match). */
function perturbed(grid: CodeGrid, share: number, seed: number): CodeGrid {
  const random = seeded(seed);
  return { cells: CELLS, code: Uint8Array.from(grid.code, (c) => (random() < share ? Math.floor(random() * 6) : c)), valid: Uint8Array.from(grid.valid) };
}
const hash = Uint32Array.from({ length: 8 }, (_, i) => i);
const variants = (grid: CodeGrid) => probeVariants(grid, IDENTITY.palm, 3, 4);

describe('1:N pose screen', () => {
  it('finds a mate that matches only at an alternate pose, behind more near-matches than the recheck takes', () => {
    const mainPose = randomGrid(1);
    const mate = randomGrid(2);
    const index = new PalmIndex();
    const decoys = 3 * rotation_recheck_candidates;
    for (let i = 0; i < decoys; i += 1) index.add(BigInt(100 + i), { palm: packGrid(perturbed(mainPose, 0.35, 10 + i), IDENTITY.palm), hash });
    for (let i = 0; i < 40; i += 1) index.add(BigInt(1000 + i), { palm: packGrid(randomGrid(50 + i), IDENTITY.palm), hash });
    const mateTemplate = { palm: packGrid(mate, IDENTITY.palm), hash };
    index.add(7n, mateTemplate);
    const probe: Probe = { palm: variants(mainPose), hash, keyVersion: 0, alternates: [{ palm: variants(mate), hash, keyVersion: 0, coarse: false }] };
    const found = index.search(probe);
    expect(found[0]?.id).toBe(7n);
    // At the main pose alone the mate scores below every near-match: only its alternate finds it.
    const atMainPose = compareAt(probe, mateTemplate, 0).score;
    const decoyScores = found.filter((c) => c.id >= 100n && c.id < 100n + BigInt(decoys)).map((c) => c.comparisonScore);
    expect(decoyScores).toHaveLength(decoys);
    expect(Math.min(...decoyScores)).toBeGreaterThan(atMainPose);
  });
});
