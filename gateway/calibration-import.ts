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
import { transformSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { assert } from '../core/index.js';
import {
  extractSamplesInParallel, fpir_target_default, fuseCodes, IDENTITY, ImpostorReservoir, makeProbe, makeTemplate, PalmIndex, search_tail_scores_max, SearchTail,
  thresholdForGallery, type EvalSample, type Extracted, type SearchTailState,
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
 * 1e-3). One population is not enough; three merged (3.3e7 comparisons) narrow the tail, and each
 * one held out against the other two checks it (`crossValidate`).
 */
export const calibration_seeds_default: readonly number[] = [0xca11b, 0xca11c, 0xca11d];
export const calibration_populations_max = 16;
/** A calibration file is 8,192 scores and a few fields: well under this. */
export const calibration_file_bytes_max = 1024 * 1024;
const enrol_captures = 2;

/**
 * One population held out: its non-mated searches against the threshold that the other
 * populations' merged tail sets for a gallery of its size (at the default FPIR target). Its
 * false positives against the `expected` count say whether the tail is known well enough.
 */
const CrossCheckSchema = z.object({
  seed: z.number().int().nonnegative(),
  searches: z.number().int().nonnegative(),
  gallery: z.number().int().nonnegative(),
  threshold: z.number(),
  false_positives: z.number().int().nonnegative(),
  expected: z.number().nonnegative(),
});
export type CalibrationCrossCheck = z.infer<typeof CrossCheckSchema>;

const CalibrationSchema = z.object({
  format: z.literal(calibration_format),
  kind: z.literal('hand'),
  seeds: z.array(z.number().int().nonnegative()).min(1).max(calibration_populations_max),
  /** Per population. */
  identities: z.number().int().positive().max(calibration_identities_max),
  searches: z.number().int().nonnegative(),
  /** The engine's fingerprint when measured (`engineFingerprint`): a changed engine scores differently. */
  engine: z.string().regex(/^[0-9a-f]{64}$/),
  measured_at: z.string(),
  tail: z.object({ comparisons: z.number().nonnegative(), floor: z.number().nullable(), scores: z.array(z.number()).max(search_tail_scores_max) }),
  /** Leave-one-population-out checks (two or more populations; older files have none). */
  cross_validation: z.array(CrossCheckSchema).max(calibration_populations_max).optional(),
});
export type SearchTailCalibration = z.infer<typeof CalibrationSchema>;

/**
 * Which engine a tail was measured on: SHA-256 over biometric/*.ts (tests excluded), in name
 * order, each as esbuild emits it without types, comments or layout. A comment, a type or a
 * reformatting leaves the scores as they were, and no longer forces the tail (ten minutes on
 * these machines) to be measured again; any change to the emitted code still does.
 */
export function engineFingerprint(): string {
  return sourcesFingerprint(fileURLToPath(new URL('../biometric/', import.meta.url)));
}

/** @internal The fingerprint of the TypeScript sources in `dir` (tests excluded). */
export function sourcesFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts')).sort()) {
    const emitted = transformSync(readFileSync(path.join(dir, name), 'utf8'), { loader: 'ts', format: 'esm', minifyWhitespace: true, legalComments: 'none', sourcefile: name });
    hash.update(name).update('\0').update(emitted.code).update('\0');
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
  const populations: PopulationTail[] = [];
  for (const seed of seeds) populations.push(await measurePopulation(identities, seed, options));
  const merged = mergeAll(populations);
  return {
    format: calibration_format, kind: 'hand', seeds: [...seeds], identities, searches: populations.reduce((sum, p) => sum + p.tops.length, 0),
    engine: engineFingerprint(), measured_at: new Date().toISOString(),
    tail: { comparisons: merged.comparisons, floor: Number.isFinite(merged.floor) ? merged.floor : null, scores: merged.scores },
    ...(populations.length >= 2 ? { cross_validation: crossValidate(populations) } : {}),
  };
}

/** One population's measurement: its recorded tail and each non-mated search's highest score. */
export interface PopulationTail { seed: number; state: SearchTailState; tops: number[] }

function mergeAll(populations: readonly PopulationTail[]): SearchTailState {
  return populations.reduce<SearchTailState>((merged, p) => SearchTail.merge(merged, p.state), { comparisons: 0, floor: -Infinity, scores: [] });
}

/**
 * Leave one population out: the others' merged tail sets the threshold for a gallery the size
 * of the held-out population, as a gateway would set it, and the held-out population's searches
 * count the false positives it lets through. A tail measured on too few palms shows here as
 * more false positives than expected (two populations of 3,300 once gave 9 against 3.3).
 */
export function crossValidate(populations: readonly PopulationTail[], fpirTarget = fpir_target_default): CalibrationCrossCheck[] {
  assert(populations.length >= 2, 'cross-validation needs two populations or more');
  const checks: CalibrationCrossCheck[] = [];
  for (const [i, held] of populations.entries()) {
    const tail = new SearchTail();
    tail.restore(mergeAll(populations.filter((_, j) => j !== i)));
    const gallery = held.tops.length - 1;
    // No fallback: a tail that does not reach this FMR gives no check rather than a made-up one.
    const threshold = thresholdForGallery(new ImpostorReservoir(), gallery, fpirTarget, Number.NaN, tail);
    if (!Number.isFinite(threshold)) continue;
    const falsePositives = held.tops.filter((score) => score >= threshold).length;
    checks.push({ seed: held.seed, searches: held.tops.length, gallery, threshold, false_positives: falsePositives, expected: fpirTarget * held.tops.length });
  }
  return checks;
}

/** One line for an operator (the calibrate command, the e2e bench's notes). */
export function describeCrossCheck(check: CalibrationCrossCheck): string {
  return `population ${check.seed} held out: the others' tail sets ${check.threshold.toFixed(2)} for ${check.gallery.toLocaleString('en-US')} palms; ${check.false_positives} of its ${check.searches.toLocaleString('en-US')} non-mated searches pass it (${check.expected.toFixed(1)} expected at FPIR 1e-3)`;
}

async function measurePopulation(identities: number, seed: number, options: { workers?: number; onProgress?: (message: string) => void }): Promise<PopulationTail> {
  const spec = { type: 'synthetic' as const, options: { ids: identities, captures: enrol_captures, seed, kind: 'hand' as const, attacksPerType: 0 } };
  const set = await extractSamplesInParallel(spec, identities, { ...(options.workers ? { workers: options.workers } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const enrolled = set.samples.map((samples, i) => ({ id: BigInt(i + 1), samples })).filter((e) => e.samples.length === enrol_captures);
  const index = new PalmIndex();
  index.reserve(enrolled.length);
  // The keyed transform is a permutation and pad applied to probe and template alike: scores do not depend on it.
  const templates = enrolled.map(({ samples }) => makeTemplate(fuseCodes(samples.map(asExtracted)), IDENTITY));
  for (const [k, { id }] of enrolled.entries()) index.add(id, templates[k]!);
  const tail = new SearchTail();
  const tops: number[] = [];
  for (const [k, { id, samples }] of enrolled.entries()) {
    // Its own template out of the index: a non-mated search, whose cohort holds impostors only.
    index.remove(id);
    const found = index.search(makeProbe(asExtracted(samples[0]!), IDENTITY));
    index.add(id, templates[k]!);
    tail.record(index.size - 1, found.map((candidate) => candidate.score));
    tops.push(found[0]?.score ?? -Infinity); // candidates come best first
    if (k % 500 === 499) options.onProgress?.(`seed ${seed}: searched ${k + 1}/${enrolled.length}`);
  }
  return { seed, state: tail.state(), tops };
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

/**
 * Merges a measured tail into <dataDir>/gateway.sqlite's search tail (the gateway must not be
 * running). A file measured on other engine sources is refused unless
 * `allowOtherEngine`: its scores may be on another scale (the cohort-relative scores of 82d491b
 * run lower than the comparison scores before them), so its threshold would not be this engine's.
 */
export function importSearchTail(dataDir: string, calibration: SearchTailCalibration, options: { allowOtherEngine?: boolean } = {}): { before: number; after: number } {
  if (calibration.engine !== engineFingerprint() && options.allowOtherEngine !== true) {
    throw new GatewayError('calibration_stale', 'the calibration was measured on other engine sources: measure it again (gateway calibrate), or import it with --allow-other-engine');
  }
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
