/**
 * The calibration import: merging two recorded search tails gives what one tail recording both
 * sets of searches holds (so an imported tail and the gateway's own enrolments' tail combine
 * without bias), the import lands in the store the gateway restores from, and a file that is
 * not a calibration is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SearchTail, search_tail_scores_max } from '../biometric/index.js';
import { calibration_format, engineFingerprint, importSearchTail, mergeSearchTails, readCalibrationFile, type SearchTailCalibration } from './calibration-import.js';
import { CalibrationStore } from './store/calibration.js';
import { openGatewayDatabase } from './store/database.js';
import { gateway_database_file } from './switch.js';

const dirs: string[] = [];
afterEach(() => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }); });
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-calibration-'));
  dirs.push(dir);
  return dir;
}

const search = fc.record({ size: fc.integer({ min: 1, max: 100_000 }), scores: fc.array(fc.double({ min: -5, max: 12, noNaN: true }), { maxLength: 24 }) });

describe('mergeSearchTails', () => {
  it('equals one tail that recorded both sets of searches', () => {
    fc.assert(fc.property(fc.array(search, { maxLength: 40 }), fc.array(search, { maxLength: 40 }), (a, b) => {
      const [one, two, both] = [new SearchTail(), new SearchTail(), new SearchTail()];
      for (const s of a) { one.record(s.size, s.scores); both.record(s.size, s.scores); }
      for (const s of b) { two.record(s.size, s.scores); both.record(s.size, s.scores); }
      expect(mergeSearchTails(one.state(), two.state())).toEqual(both.state());
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
    expect(mergeSearchTails(one.state(), two.state())).toEqual(both.state());
  });

  it('keeps the bound: a dropped score becomes the floor', () => {
    const many = (base: number) => ({ comparisons: 1e6, floor: -Infinity, scores: Array.from({ length: search_tail_scores_max }, (_, i) => base - i / 1e4) });
    const merged = mergeSearchTails(many(9), many(8.5));
    expect(merged.scores).toHaveLength(search_tail_scores_max);
    expect(merged.comparisons).toBe(2e6);
    expect(merged.floor).toBeGreaterThan(8.1);
    expect(merged.scores.every((score) => score >= merged.floor)).toBe(true);
  });
});

function calibration(scores: number[], comparisons: number): SearchTailCalibration {
  return {
    format: calibration_format, kind: 'hand', seeds: [1], identities: 100, searches: 100, engine: engineFingerprint(), measured_at: new Date(0).toISOString(),
    tail: { comparisons, floor: 1.5, scores },
  };
}

describe('importSearchTail', () => {
  it('merges the file into the store the gateway restores its tail from, with what its enrolments recorded', () => {
    const dir = tempDir();
    const db = openGatewayDatabase(path.join(dir, gateway_database_file));
    const own = new SearchTail();
    own.record(10, [3, 2.5, 1]);
    new CalibrationStore(db).saveTail(own.state());
    db.close();
    const imported = calibration([6, 5.5, 4, 3.9], 9_900);
    const file = path.join(dir, 'tail.json');
    writeFileSync(file, JSON.stringify(imported));
    expect(importSearchTail(dir, readCalibrationFile(file))).toEqual({ before: 10, after: 9_910 });
    const reopened = openGatewayDatabase(path.join(dir, gateway_database_file));
    try {
      expect(new CalibrationStore(reopened).tail()).toEqual({ comparisons: 9_910, floor: 1.5, scores: [6, 5.5, 4, 3.9, 3, 2.5, 1] });
    } finally {
      reopened.close();
    }
  });

  it('refuses a file that is not a search-tail calibration', () => {
    const dir = tempDir();
    const file = path.join(dir, 'other.json');
    writeFileSync(file, JSON.stringify({ ...calibration([1], 10), format: 'something-else' }));
    expect(() => readCalibrationFile(file)).toThrow(/not a palmswitch-search-tail-v1 file/);
    writeFileSync(file, JSON.stringify({ ...calibration([1], 10), engine: 'not hex' }));
    expect(() => readCalibrationFile(file)).toThrow(/not a palmswitch-search-tail-v1/);
  });
});
