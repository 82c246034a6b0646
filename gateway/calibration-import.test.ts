/**
 * The calibration import: a measured tail lands in the store the gateway restores from, merged
 * with what its own enrolments recorded, and a file that is not a calibration is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SearchTail } from '../biometric/index.js';
import { calibration_format, engineFingerprint, importSearchTail, readCalibrationFile, type SearchTailCalibration } from './calibration-import.js';
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
});
