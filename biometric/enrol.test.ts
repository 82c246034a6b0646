/**
 * Goal: fusing enrolment captures aligns them the way matching does. A second capture that sits
 * four cells further along the palm (within the matcher's along-palm range) is aligned to the
 * first, so the fused code keeps the cells both saw instead of masking them as disagreements.
 */
import { describe, expect, it } from 'vitest';
import { fuseCodes } from './enrol.js';
import { seeded } from './random.js';
import { compare, makeProbe, makeTemplate } from './score.js';
import { codeGrid, IDENTITY, palm_shift_cells_max_along, shiftGrid, type CodeGrid } from './template.js';
import type { EvalSample } from './extract-samples.js';
import type { Extracted } from './capture.js';

function randomGrid(cells: number, seed: number): CodeGrid {
  const random = seeded(seed);
  return codeGrid(cells, Uint8Array.from({ length: cells * cells }, () => Math.floor(random() * 6)), Float32Array.from({ length: cells * cells }, () => random()));
}

/** `grid` with a share of its cells given another orientation (capture noise). */
function noisy(grid: CodeGrid, share: number, seed: number): CodeGrid {
  const random = seeded(seed);
  return { ...grid, code: grid.code.map((c) => (random() < share ? (c + 1 + Math.floor(random() * 5)) % 6 : c)) };
}

const sample = (palm: CodeGrid, vein: CodeGrid): Extracted => {
  const s: EvalSample = { palm, vein, hash: new Float32Array(256), pad: { periodicity: 0 }, visibleDigest: new Uint8Array(0) };
  return s as Extracted;
};

describe('fuseCodes', () => {
  it('aligns a capture shifted by the full along-palm range and keeps the cells both captures saw', () => {
    for (const seed of [1, 2, 3]) {
      const palm = randomGrid(32, seed);
      const vein = randomGrid(16, seed + 100);
      const first = sample(palm, vein);
      const second = sample(noisy(shiftGrid(palm, 0, palm_shift_cells_max_along), 0.1, seed + 200), noisy(shiftGrid(vein, 1, 0), 0.1, seed + 300));
      const fused = fuseCodes([first, second]);
      const valid = (g: CodeGrid): number => g.valid.reduce((a, b) => a + b, 0);
      // Misaligned by a row, two captures disagree on most cells and the vote masks them.
      expect(valid(fused.palm)).toBeGreaterThan(0.8 * valid(palm));
      const probe = makeProbe(first, IDENTITY);
      expect(compare(probe, makeTemplate(fused, IDENTITY)).palmDistance).toBeLessThan(0.02);
    }
  });

  it('keeps a cell two captures see one orientation step apart (with the first capture\'s orientation) and masks two steps apart', () => {
    const palm = randomGrid(32, 7);
    const vein = randomGrid(16, 8);
    const random = seeded(9);
    // Orientation is periodic: 5 and 0 are one step apart.
    const step = palm.code.map(() => { const r = random(); return r < 0.2 ? 1 : r < 0.3 ? 2 : 0; });
    const second = { ...palm, code: palm.code.map((c, i) => (c + step[i]!) % 6) };
    const fused = fuseCodes([sample(palm, vein), sample(second, vein)]).palm;
    const seen = { one: 0, two: 0 };
    for (let i = 0; i < palm.code.length; i += 1) {
      if (!palm.valid[i]) continue;
      if (step[i] === 2) { expect(fused.valid[i]).toBe(0); seen.two += 1; continue; }
      expect(fused.valid[i]).toBe(1);
      expect(fused.code[i]).toBe(palm.code[i]);
      if (step[i] === 1) seen.one += 1;
    }
    expect(seen.one).toBeGreaterThan(50);
    expect(seen.two).toBeGreaterThan(20);
  });
});
