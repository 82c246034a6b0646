/**
 * `bio eval`: ISO/IEC 19795-1 figures for any dataset in the documented layout. Verification
 * (all genuine pairs, impostor pairs sampled up to a bound), open-set identification against
 * an index built by real enrolment (two captures fused per identity), failure-to-enrol and
 * failure-to-acquire, and ISO/IEC 30107-3 PAD figures (APCER per attack type and BPCER,
 * with the PAD threshold fitted on half the identities and measured on the other half).
 */
import { assert } from '../core/index.js';
import { extractCapture, type Extracted } from './capture.js';
import { extractSamples, type EvalSample, type ExtractedSet } from './extract-samples.js';
import { equalErrorRate, errorCurve, fnmrAtFmr, type ErrorPoint } from './det.js';
import { fuseCodes } from './enrol.js';
import { PalmIndex } from './index-store.js';
import { calibratePad, padScore, ReplayGuard, type PadFeatures } from './pad.js';
import { mix, seeded } from './random.js';
import { compare, makeProbe, makeTemplate } from './score.js';
import { IDENTITY } from './template.js';
import type { DatasetSource } from './dataset.js';
import type { FeatureModels } from './features.js';

export interface EvalOptions {
  impostorPairsMax: number;
  /** Identities enrolled in the 1:N gallery (the rest give non-mated searches). */
  enrolIdentities?: number;
  /** Mated searches come from at most this many enrolled identities. */
  matedIdentitiesMax?: number;
  candidates?: number;
  bpcerTarget?: number;
  onProgress?: (message: string) => void;
  /** The source's features, already extracted (e.g. by `extractSamplesInParallel`); one entry per identity. */
  extracted?: ExtractedSet;
}

type Sample = EvalSample;

export interface EvalReport {
  dataset: { kind: string; identities: number; captures: number };
  acquisition: { attempts: number; failures: number; fta: number; reasons: Record<string, number> };
  verification: { genuinePairs: number; impostorPairs: number; eer: number; fnmrAtFmr1e4: number; fnmrAtFmr1e3: number; fmrAtEerThreshold: number };
  identification: { enrolled: number; fte: number; matedSearches: number; nonMatedSearches: number; rank1: number; fnirAtFpir1e3: number; fpirThreshold: number; preselectionError: number };
  pad: { bonaFideTest: number; bpcer: number; apcer: Record<string, { attacks: number; apcer: number }> };
  curve: ErrorPoint[];
  timings: { extract_ms_mean: number };
}

const asExtracted = (s: Sample): Extracted => s as Extracted;

/** All genuine pairs; all impostor pairs when they fit the bound, else a uniform sample of them. */
function verificationScores(samples: Sample[][], impostorPairsMax: number): { genuine: number[]; impostor: number[] } {
  const flat = samples.flatMap((own, id) => own.map((s) => ({ id, s })));
  const genuine: number[] = [];
  const impostor: number[] = [];
  const exhaustive = (flat.length * (flat.length - 1)) / 2 <= impostorPairsMax;
  const perProbe = Math.max(1, Math.ceil((2 * impostorPairsMax) / Math.max(1, flat.length)));
  const random = seeded(mix(0xe7a1, flat.length));
  for (let i = 0; i < flat.length; i += 1) {
    const probe = makeProbe(asExtracted(flat[i]!.s), IDENTITY);
    const score = (j: number): number => compare(probe, makeTemplate(asExtracted(flat[j]!.s), IDENTITY)).score;
    for (let j = i + 1; j < flat.length && flat[j]!.id === flat[i]!.id; j += 1) genuine.push(score(j));
    if (exhaustive) {
      for (let j = i + 1; j < flat.length; j += 1) if (flat[j]!.id !== flat[i]!.id) impostor.push(score(j));
      continue;
    }
    // Each unordered pair is drawn from its lower-index side only, so no pair is counted twice by symmetry.
    for (let k = 0; k < perProbe && impostor.length < impostorPairsMax; k += 1) {
      const j = i + 1 + Math.floor(random() * (flat.length - i - 1));
      if (j < flat.length && flat[j]!.id !== flat[i]!.id) impostor.push(score(j));
    }
  }
  return { genuine, impostor };
}

function identification(samples: Sample[][], options: EvalOptions): EvalReport['identification'] {
  const enrolCount = Math.min(samples.length, options.enrolIdentities ?? Math.ceil(samples.length / 2));
  const index = new PalmIndex(Math.max(1024, enrolCount));
  let failedEnrol = 0;
  for (let id = 0; id < enrolCount; id += 1) {
    const own = samples[id]!;
    if (own.length < 2) { failedEnrol += 1; continue; }
    const pair = [asExtracted(own[0]!), asExtracted(own[1]!)];
    index.add(BigInt(id), makeTemplate(fuseCodes(pair), IDENTITY));
  }
  const mated: { top: number; correct: boolean; preselected: boolean }[] = [];
  const nonMated: number[] = [];
  const matedMax = options.matedIdentitiesMax ?? enrolCount;
  for (let id = 0; id < samples.length; id += 1) {
    const enrolled = id < enrolCount && index.has(BigInt(id));
    const probes = enrolled ? (id < matedMax ? samples[id]!.slice(2) : []) : id >= enrolCount ? samples[id]! : [];
    for (const s of probes) {
      const results = index.search(makeProbe(asExtracted(s), IDENTITY), { candidates: options.candidates ?? 256 });
      const top = results[0];
      if (enrolled) mated.push({ top: top?.score ?? -Infinity, correct: top?.id === BigInt(id), preselected: results.some((r) => r.id === BigInt(id)) });
      else nonMated.push(top?.score ?? -Infinity);
    }
  }
  return summariseIdentification(index.size, failedEnrol / Math.max(1, enrolCount), mated, nonMated);
}

function summariseIdentification(enrolled: number, fte: number, mated: { top: number; correct: boolean; preselected: boolean }[], nonMated: number[]): EvalReport['identification'] {
  const sorted = [...nonMated].sort((a, b) => b - a);
  // Smallest threshold with FPIR <= 1e-3: strictly above the (k+1)-th highest non-mated score.
  const allowed = Math.floor(1e-3 * sorted.length);
  const fpirThreshold = sorted.length ? (sorted[allowed] ?? -Infinity) + 1e-9 : 0;
  const misses = mated.filter((m) => !m.correct || m.top < fpirThreshold).length;
  return {
    enrolled, fte, matedSearches: mated.length, nonMatedSearches: nonMated.length,
    rank1: mated.filter((m) => m.correct).length / Math.max(1, mated.length),
    fnirAtFpir1e3: misses / Math.max(1, mated.length), fpirThreshold,
    preselectionError: mated.filter((m) => !m.preselected).length / Math.max(1, mated.length),
  };
}

async function padFigures(models: FeatureModels, source: DatasetSource, samples: Sample[][], bpcerTarget: number): Promise<EvalReport['pad']> {
  const calibration: PadFeatures[] = [];
  const test = new Set<Sample>();
  samples.forEach((own, id) => { for (const s of own) { if (id % 2 === 0) calibration.push(s.pad); else test.add(s); } });
  if (calibration.length < 10 || test.size === 0) return { bonaFideTest: 0, bpcer: 0, apcer: {} };
  const model = calibratePad(calibration, bpcerTarget);
  const guard = new ReplayGuard();
  const hashOf = (s: Sample): Uint32Array => makeProbe(asExtracted(s), IDENTITY).hash;
  let bonaFideRejected = 0;
  for (const own of samples) for (const s of own) {
    const replayFlag = guard.checkAndRemember(hashOf(s), s.visibleDigest);
    if (test.has(s) && (replayFlag || padScore(s.pad, model) > model.threshold)) bonaFideRejected += 1;
  }
  const apcer: Record<string, { attacks: number; accepted: number }> = {};
  for (const attack of source.attacks()) {
    const entry = (apcer[attack.type] ??= { attacks: 0, accepted: 0 });
    entry.attacks += 1;
    let e: Extracted;
    try { e = await extractCapture(models, attack.capture); } catch { continue; } // not acquired: the attack failed
    const replayed = guard.checkAndRemember(makeProbe(e, IDENTITY).hash, e.visibleDigest);
    if (!replayed && padScore(e.pad, model) <= model.threshold) entry.accepted += 1;
  }
  return {
    bonaFideTest: test.size, bpcer: bonaFideRejected / test.size,
    apcer: Object.fromEntries(Object.entries(apcer).map(([type, v]) => [type, { attacks: v.attacks, apcer: v.accepted / Math.max(1, v.attacks) }])),
  };
}

export async function evaluate(models: FeatureModels, source: DatasetSource, options: EvalOptions): Promise<EvalReport> {
  const { samples, acquisition, extract_ms } = options.extracted ?? await extractSamples(models, source, options.onProgress);
  assert(samples.length === source.identities.length, 'extracted features cover every identity of the dataset');
  options.onProgress?.('verification comparisons');
  const { genuine, impostor } = verificationScores(samples, options.impostorPairsMax);
  const curve = errorCurve(genuine, impostor);
  const eer = equalErrorRate(curve);
  options.onProgress?.('identification searches');
  const ident = identification(samples, options);
  options.onProgress?.('presentation attacks');
  const pad = await padFigures(models, source, samples, options.bpcerTarget ?? 0.01);
  return {
    dataset: { kind: source.kind, identities: source.identities.length, captures: acquisition.attempts },
    acquisition,
    verification: {
      genuinePairs: genuine.length, impostorPairs: impostor.length, eer,
      fnmrAtFmr1e4: fnmrAtFmr(curve, 1e-4).fnmr, fnmrAtFmr1e3: fnmrAtFmr(curve, 1e-3).fnmr,
      fmrAtEerThreshold: eer,
    },
    identification: ident, pad, curve: thinCurve(curve), timings: { extract_ms_mean: extract_ms },
  };
}

/** Keeps the DET curve small enough for JSON: at most ~400 points, always both ends. */
function thinCurve(curve: ErrorPoint[]): ErrorPoint[] {
  const step = Math.max(1, Math.floor(curve.length / 400));
  return curve.filter((_, i) => i % step === 0 || i === curve.length - 1 || curve[i]!.fmr < 1e-3);
}
