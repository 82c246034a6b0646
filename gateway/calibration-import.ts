/**
 * A measured impostor search tail, carried into a gateway's store: what an operator imports with
 * a bulk migration of templates. The 1:N threshold at N palms needs the impostor tail down to an
 * FMR of FPIR / N (1e-8 at 100,000 palms for 1e-3). A gallery that grew by enrolment measures it
 * itself (every enrolment's duplicate search, SearchTail in the engine); a gallery imported in
 * bulk has no such searches, so its threshold came from the reservoir's long extrapolation (z 8.8
 * at 100,000 palms, the hand mates' median). Here the tail is measured on a representative
 * population instead: synthetic palms rendered and extracted like any capture, each one's probe
 * searched against the templates of all the others (non-mated searches, N x (N - 1) impostor
 * comparisons), recorded with the engine's own SearchTail, written to a file by a command and
 * merged into `calibration_tail` before the gateway starts. The gateway then restores it like
 * the tail its own enrolments wrote.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { assert } from '../core/index.js';
import {
  extractSamplesInParallel, fuseCodes, IDENTITY, makeProbe, makeTemplate, PalmIndex, search_tail_scores_max, SearchTail,
  type EvalSample, type Extracted, type SearchTailState,
} from '../biometric/index.js';
import { GatewayError } from './errors.js';
import { CalibrationStore } from './store/calibration.js';
import { openGatewayDatabase } from './store/database.js';
import { gateway_database_file } from './switch.js';

export const calibration_format = 'palmswitch-search-tail-v1';
/** Synthetic identities of the measurement; the comparisons grow as their square. */
export const calibration_identities_max = 20_000;
/**
 * 3,300 identities give ~1.09e7 impostor comparisons: an FMR of 1e-8 (100,000 palms at FPIR
 * 1e-3) then allows 0.109 exceedances, within the tail's one decade of extrapolation (0.1).
 */
export const calibration_identities_default = 3_300;
/**
 * Populations measured and merged, each its own seed (never a shopper's, the bench's payers' or
 * the preload's). The deep tail differs between populations: on 3,300 palms each, the first
 * seed's tail gave z 5.87 at 100,000 palms and the second's 6.26, and the first's threshold for
 * 3,299 palms let through 9 of the second's 3,300 non-mated searches (3.3 expected at FPIR
 * 1e-3). One population is not enough; their merged tail (2.2e7 comparisons) gives 6.16.
 */
export const calibration_seeds_default: readonly number[] = [0xca11b, 0xca11c];
export const calibration_populations_max = 16;
/** A calibration file is 8,192 scores and a few fields: well under this. */
export const calibration_file_bytes_max = 1024 * 1024;
const enrol_captures = 2;

const CalibrationSchema = z.object({
  format: z.literal(calibration_format),
  kind: z.literal('hand'),
  seeds: z.array(z.number().int().nonnegative()).min(1).max(calibration_populations_max),
  /** Per population. */
  identities: z.number().int().positive().max(calibration_identities_max),
  searches: z.number().int().nonnegative(),
  /** SHA-256 over the engine's sources when measured: a changed engine scores differently. */
  engine: z.string().regex(/^[0-9a-f]{64}$/),
  measured_at: z.string(),
  tail: z.object({ comparisons: z.number().nonnegative(), floor: z.number().nullable(), scores: z.array(z.number()).max(search_tail_scores_max) }),
});
export type SearchTailCalibration = z.infer<typeof CalibrationSchema>;

/** SHA-256 over biometric/*.ts (tests excluded), in name order: which engine a tail was measured on. */
export function engineFingerprint(): string {
  const dir = fileURLToPath(new URL('../biometric/', import.meta.url));
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts')).sort()) {
    hash.update(name).update('\0').update(readFileSync(path.join(dir, name))).update('\0');
  }
  return hash.digest('hex');
}

/**
 * For each seed, renders and extracts `identities` synthetic palms (two hand captures each, fused
 * as enrolment fuses them) and searches each one's first capture against all the others'
 * templates exactly as the gateway searches (the prefilter's misses are the search's own); the
 * populations' tails are merged.
 */
export async function measureSearchTail(options: { identities?: number; seeds?: readonly number[]; workers?: number; onProgress?: (message: string) => void } = {}): Promise<SearchTailCalibration> {
  const identities = options.identities ?? calibration_identities_default;
  const seeds = options.seeds ?? calibration_seeds_default;
  assert(Number.isInteger(identities) && identities >= 2 && identities <= calibration_identities_max, `2..${calibration_identities_max} identities`);
  assert(seeds.length >= 1 && seeds.length <= calibration_populations_max, `1..${calibration_populations_max} populations`);
  let merged: SearchTailState = { comparisons: 0, floor: -Infinity, scores: [] };
  let searches = 0;
  for (const seed of seeds) {
    const population = await measurePopulation(identities, seed, options);
    merged = SearchTail.merge(merged, population.state);
    searches += population.searches;
  }
  return {
    format: calibration_format, kind: 'hand', seeds: [...seeds], identities, searches, engine: engineFingerprint(), measured_at: new Date().toISOString(),
    tail: { comparisons: merged.comparisons, floor: Number.isFinite(merged.floor) ? merged.floor : null, scores: merged.scores },
  };
}

async function measurePopulation(identities: number, seed: number, options: { workers?: number; onProgress?: (message: string) => void }): Promise<{ state: SearchTailState; searches: number }> {
  const spec = { type: 'synthetic' as const, options: { ids: identities, captures: enrol_captures, seed, kind: 'hand' as const, attacksPerType: 0 } };
  const set = await extractSamplesInParallel(spec, identities, { ...(options.workers ? { workers: options.workers } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const enrolled = set.samples.map((samples, i) => ({ id: BigInt(i + 1), samples })).filter((e) => e.samples.length === enrol_captures);
  const index = new PalmIndex();
  index.reserve(enrolled.length);
  // The keyed transform is a permutation and pad applied to probe and template alike: scores do not depend on it.
  for (const { id, samples } of enrolled) index.add(id, makeTemplate(fuseCodes(samples.map(asExtracted)), IDENTITY));
  const tail = new SearchTail();
  for (const [k, { id, samples }] of enrolled.entries()) {
    const found = index.search(makeProbe(asExtracted(samples[0]!), IDENTITY)).filter((candidate) => candidate.id !== id);
    tail.record(index.size - 1, found.map((candidate) => candidate.score));
    if (k % 500 === 499) options.onProgress?.(`seed ${seed}: searched ${k + 1}/${enrolled.length}`);
  }
  return { state: tail.state(), searches: enrolled.length };
}

/** The engine's evaluation keeps the fields a template and a probe are made of; the rest are not read. */
function asExtracted(sample: EvalSample): Extracted {
  return sample as Extracted;
}

export function readCalibrationFile(file: string): SearchTailCalibration {
  const size = statSync(file).size;
  if (size > calibration_file_bytes_max) throw new GatewayError('request_invalid', `calibration file of ${size} bytes (at most ${calibration_file_bytes_max})`);
  const parsed = CalibrationSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new GatewayError('request_invalid', `not a ${calibration_format} file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** Merges a measured tail into <dataDir>/gateway.sqlite's search tail (the gateway must not be running). */
export function importSearchTail(dataDir: string, calibration: SearchTailCalibration): { before: number; after: number } {
  const db = openGatewayDatabase(path.join(dataDir, gateway_database_file));
  try {
    const store = new CalibrationStore(db);
    const own = store.tail() ?? { comparisons: 0, floor: -Infinity, scores: [] };
    const imported = { comparisons: calibration.tail.comparisons, floor: calibration.tail.floor ?? -Infinity, scores: calibration.tail.scores };
    const merged = SearchTail.merge(own, imported);
    // The engine's own check: a state it would refuse must not reach the store.
    new SearchTail().restore(merged);
    store.saveTail(merged);
    return { before: own.comparisons, after: merged.comparisons };
  } finally {
    db.close();
  }
}
