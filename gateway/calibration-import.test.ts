/**
 * The calibration import: a measured tail lands in the store the gateway restores from, merged
 * with what its own enrolments recorded, and a file that is not a calibration is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SearchTail } from '../biometric/index.js';
import { GatewayError } from './errors.js';
import { calibration_format, crossValidate, describeCrossCheck, engineFingerprint, importSearchTail, readCalibrationFile, sourcesFingerprint, type PopulationTail, type SearchTailCalibration } from './calibration-import.js';
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

  it('the engine fingerprint ignores comments, types and layout, and follows the code', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-fingerprint-'));
    try {
      const write = (text: string): string => { writeFileSync(path.join(dir, 'score.ts'), text); return sourcesFingerprint(dir); };
      writeFileSync(path.join(dir, 'score.test.ts'), 'export const ignored = 1;\n');
      const original = write('/** Why. */\nexport function shift(scores: number[]): number {\n  return scores[0] ?? 0; // first\n}\n');
      expect(write('// A new comment.\nexport function shift(scores: readonly number[]): number { return scores[0] ?? 0; }\n')).toBe(original);
      expect(write('export function shift(scores: number[]): number {\n  return scores[1] ?? 0;\n}\n')).not.toBe(original);
      writeFileSync(path.join(dir, 'score.test.ts'), 'export const ignored = 2;\n');
      expect(write('export function shift(scores: number[]): number { return scores[0] ?? 0; }\n')).toBe(original);
      expect(engineFingerprint()).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file measured on other engine sources unless told to take it, and leaves the store as it was', () => {
    const dir = tempDir();
    const other = { ...calibration([6, 5.5], 1_000), engine: 'f'.repeat(64) };
    const code = (() => { try { importSearchTail(dir, other); return 'imported'; } catch (error) { if (error instanceof GatewayError) return error.code; throw error; } })();
    expect(code).toBe('calibration_stale');
    const db = openGatewayDatabase(path.join(dir, gateway_database_file));
    try {
      expect(new CalibrationStore(db).tail()).toBeUndefined();
    } finally {
      db.close();
    }
    expect(importSearchTail(dir, other, { allowOtherEngine: true })).toEqual({ before: 0, after: 1_000 });
  });
});

describe('crossValidate', () => {
  /** `searches` non-mated searches of a population that size, each with 20 impostor scores spread over [top - 3, top]. */
  function population(seed: number, searches: number, top: number): PopulationTail {
    const tail = new SearchTail();
    const tops: number[] = [];
    for (let k = 0; k < searches; k += 1) {
      const scores = Array.from({ length: 20 }, (_, i) => top - (3 * ((i * 7 + k) % 20)) / 20);
      tail.record(searches - 1, scores);
      tops.push(Math.max(...scores));
    }
    return { seed, state: tail.state(), tops };
  }

  it("counts the held-out population's searches that pass the threshold the others' tail sets", () => {
    const light = population(1, 200, 3);
    const heavy = population(2, 200, 10);
    const [lightHeldOut, heavyHeldOut] = crossValidate([light, heavy]);
    expect(lightHeldOut).toMatchObject({ seed: 1, searches: 200, gallery: 199, false_positives: 0 });
    expect(lightHeldOut!.expected).toBeCloseTo(0.2, 10);
    // A tail that tops out near 3 sets a threshold every search of the heavier population passes.
    expect(heavyHeldOut).toMatchObject({ seed: 2, false_positives: 200 });
    expect(heavyHeldOut!.threshold).toBeLessThan(10);
    expect(lightHeldOut!.threshold).toBeGreaterThan(heavyHeldOut!.threshold);
    expect(describeCrossCheck(heavyHeldOut!)).toMatch(/^population 2 held out: .* 200 of its 200 non-mated searches pass it \(0\.2 expected at FPIR 1e-3\)$/);
  });

  it('needs two populations', () => {
    expect(() => crossValidate([population(1, 50, 3)])).toThrow();
  });
});
