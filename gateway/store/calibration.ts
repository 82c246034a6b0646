/**
 * Impostor scores for the 1:N threshold, kept across restarts. The biometric gallery samples
 * impostor comparisons at each enrolment into an in-memory reservoir; without a copy, a
 * restarted gateway had an empty reservoir and decided at the default threshold. The pipeline
 * records here the same samples the gallery takes (same slots, same index state) and the
 * switch feeds them back into the gallery's reservoir at start. The table is itself a uniform
 * reservoir sample (Vitter's algorithm R), bounded like the engine's.
 */
import { randomInt } from 'node:crypto';
import { assert } from '../../core/index.js';
import { search_tail_scores_max, type SearchTailState } from '../../biometric/index.js';
import { GatewayError } from '../errors.js';
import { ensureSchema, type GatewayDatabase } from './database.js';

/** Scores kept (the engine's reservoir holds as many). */
export const calibration_scores_max = 20_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calibration_scores (slot INTEGER PRIMARY KEY, score REAL NOT NULL);
CREATE TABLE IF NOT EXISTS calibration_seen (id INTEGER PRIMARY KEY CHECK (id = 1), seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calibration_tail (id INTEGER PRIMARY KEY CHECK (id = 1), comparisons REAL NOT NULL, floor REAL, scores BLOB NOT NULL);
`;

export class CalibrationStore {
  private readonly statements;
  private readonly addTransaction;

  constructor(db: GatewayDatabase) {
    ensureSchema(db, SCHEMA);
    this.statements = {
      seen: db.prepare<[], { seen: number }>('SELECT seen FROM calibration_seen WHERE id = 1'),
      setSeen: db.prepare('INSERT INTO calibration_seen (id, seen) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seen = excluded.seen'),
      put: db.prepare('INSERT INTO calibration_scores (slot, score) VALUES (?, ?) ON CONFLICT (slot) DO UPDATE SET score = excluded.score'),
      all: db.prepare<[], { score: number }>('SELECT score FROM calibration_scores ORDER BY slot'),
      putTail: db.prepare('INSERT INTO calibration_tail (id, comparisons, floor, scores) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET comparisons = excluded.comparisons, floor = excluded.floor, scores = excluded.scores'),
      tail: db.prepare<[], { comparisons: number; floor: number | null; scores: Buffer }>('SELECT comparisons, floor, scores FROM calibration_tail WHERE id = 1'),
    };
    this.addTransaction = db.transaction((scores: readonly number[]) => {
      let seen = this.statements.seen.get()?.seen ?? 0;
      for (const score of scores) {
        const slot = seen < calibration_scores_max ? seen : randomInt(seen + 1);
        seen += 1;
        if (slot < calibration_scores_max) this.statements.put.run(slot, score);
      }
      this.statements.setSeen.run(seen);
    });
  }

  /** Records one enrolment's impostor scores (one transaction). */
  add(scores: readonly number[]): void {
    assert(scores.every((score) => Number.isFinite(score)), 'impostor scores are finite');
    if (scores.length > 0) this.addTransaction(scores);
  }

  /** Keeps the gallery's search tail (calibration.ts of the engine): a few KiB, once per enrolment. */
  saveTail(state: SearchTailState): void {
    assert(state.scores.length <= search_tail_scores_max, 'search tail within its bound');
    // SQLite has no -Infinity: NULL stands for "no floor yet".
    const scores = Buffer.from(Float64Array.from(state.scores).buffer);
    this.statements.putTail.run(state.comparisons, Number.isFinite(state.floor) ? state.floor : null, scores);
  }

  tail(): SearchTailState | undefined {
    const row = this.statements.tail.get();
    if (!row) return undefined;
    if (row.scores.length % 8 !== 0 || row.scores.length / 8 > search_tail_scores_max) throw new GatewayError('internal', 'calibration_tail.scores is not a bounded float64 array');
    const scores = Array.from(new Float64Array(row.scores.buffer.slice(row.scores.byteOffset, row.scores.byteOffset + row.scores.length)));
    return { comparisons: row.comparisons, floor: row.floor ?? -Infinity, scores };
  }

  scores(): number[] {
    return this.statements.all.all().map((row) => row.score);
  }
}
