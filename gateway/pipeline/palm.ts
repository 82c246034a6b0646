/**
 * The biometric stages of the pipeline: decode and quality (extract), liveness (presentation
 * attack score against a calibrated bona fide model, plus replay of an earlier capture), and
 * 1:N search at the gallery's calibrated threshold. Biometric failures become the gateway's
 * typed errors with the reason a terminal can show; nothing of the image outlives the call.
 */
import { performance } from 'node:perf_hooks';
import {
  BiometricError, calibratePad, compare, padScore, ReplayGuard, renderHandCapture,
  type Capture, type Extracted, type Gallery, type PadModel, type Probe, type Template,
} from '../../biometric/index.js';
import { GatewayError } from '../errors.js';
import type { CaptureUpload } from './contract.js';
import type { WorkerSearch } from './search-replica.js';

/** Bona fide captures rendered to calibrate liveness when no model is stored yet. */
export const pad_calibration_captures = 48;
export const pad_bpcer_target = 0.01;
/** Synthetic identities for calibration come from their own seed, never a shopper's. */
const pad_calibration_seed = 0x9ad;

export interface Timed<T> { readonly value: T; readonly ms: number }

export async function timed<T>(work: () => Promise<T> | T): Promise<Timed<T>> {
  const start = performance.now();
  const value = await work();
  return { value, ms: Math.round((performance.now() - start) * 1000) / 1000 };
}

export function captureOf(upload: CaptureUpload): Capture {
  return { kind: upload.kind, visible: upload.visible, ...(upload.nir ? { nir: upload.nir } : {}) };
}

/** Maps the engine's errors onto what a terminal is told. */
export function biometricFailure(error: unknown): never {
  if (!(error instanceof BiometricError)) throw error;
  switch (error.code) {
    case 'image_invalid': case 'image_too_large': case 'image_unsupported':
      throw new GatewayError('capture_invalid', error.message, { cause: error });
    case 'capture_quality': case 'hand_not_found':
      throw new GatewayError('capture_rejected', error.message, { cause: error });
    case 'enrol_inconsistent':
      throw new GatewayError('enrolment_inconsistent', 'the enrolment captures do not show the same palm well enough; capture again', { cause: error });
    case 'enrol_duplicate':
      throw new GatewayError('palm_already_enrolled', 'this palm is already enrolled', { cause: error });
    default:
      throw error;
  }
}

/** Where extraction runs: the gallery's own (in this thread) or a worker pool's. */
export type Extractor = (capture: Capture) => Promise<Extracted>;

export async function extract(extractor: Extractor, upload: CaptureUpload): Promise<Extracted> {
  try {
    return await extractor(captureOf(upload));
  } catch (error) {
    return biometricFailure(error);
  }
}

/**
 * Extraction workers that keep a replica of the 1:N index (extract-pool.ts). The gallery on
 * the event loop stays the authority (enrolment's duplicate check, deletion); every change
 * to it is passed on here, and resolves only once every worker has applied it.
 */
export interface ReplicaSearch {
  /** `transfer`: the capture's buffers may move to the worker (the caller will not read them again). */
  extractAndSearch(capture: Capture, options?: { transfer?: boolean }): Promise<{ extracted: Extracted; found: WorkerSearch }>;
  indexAdd(id: bigint, template: Template): Promise<void>;
  indexRemove(id: bigint): Promise<void>;
}

export async function extractAndSearch(replica: ReplicaSearch, upload: CaptureUpload): Promise<{ extracted: Extracted; found: WorkerSearch }> {
  try {
    return await replica.extractAndSearch(captureOf(upload), { transfer: upload.owned === true });
  } catch (error) {
    return biometricFailure(error);
  }
}

/** Liveness: the calibrated presentation-attack score, and replays of recent captures. */
export class LivenessGuard {
  private readonly replays = new ReplayGuard();
  constructor(readonly model: PadModel) {}

  /** Renders synthetic bona fide hands and calibrates on them (the dev stack has no real sensor data). */
  static async calibrateSynthetic(gallery: Gallery): Promise<LivenessGuard> {
    const features = [];
    for (let i = 0; i < pad_calibration_captures; i += 1) {
      const capture = renderHandCapture(pad_calibration_seed, i, 0);
      features.push((await gallery.extract({ kind: 'hand', ...capture })).pad);
    }
    return new LivenessGuard(calibratePad(features, pad_bpcer_target));
  }

  /** `probeHash`: the capture's prefilter hash under the gallery's transform (the replay guard's key). */
  check(extracted: Extracted, probeHash: Uint32Array): void {
    if (padScore(extracted.pad, this.model) > this.model.threshold) {
      throw new GatewayError('liveness_failed', 'the capture does not look like a live palm (presentation attack suspected)');
    }
    if (this.replays.checkAndRemember(probeHash, extracted.visibleDigest)) {
      throw new GatewayError('liveness_failed', 'the capture repeats an earlier one (replay suspected)');
    }
  }
}

export interface Identification { readonly identity: bigint | undefined; readonly score: number | undefined; readonly threshold: number }

/** `narrowTo`: the identities a search hint (e.g. a phone suffix) leaves. */
export function identify(gallery: Gallery, probe: Probe, narrowTo: readonly bigint[] | undefined, threshold: number): Identification {
  const best = gallery.index.search(probe, narrowTo === undefined ? {} : { hints: { identities: narrowTo } })[0];
  if (best && best.score >= threshold) return { identity: best.id, score: best.score, threshold };
  return { identity: undefined, score: best?.score, threshold };
}

/**
 * The decision on a worker's search, at the gallery's threshold. A candidate the gallery no
 * longer holds was deleted after the worker's search began: it is skipped, so a deleted palm
 * is never identified once its deletion has reached the gallery.
 */
export function identifyFound(gallery: Gallery, found: WorkerSearch, threshold: number): Identification {
  const best = found.candidates.find((candidate) => gallery.index.has(candidate.id));
  if (best && best.score >= threshold) return { identity: best.id, score: best.score, threshold };
  return { identity: undefined, score: best?.score, threshold };
}

/**
 * The gallery's threshold, computed again only when what it depends on changes: the gallery's
 * size, the reservoir's size, or an enrolment attempt (a full reservoir replaces samples
 * without growing). `Gallery.threshold()` sorts the whole reservoir (up to 20,000 scores):
 * milliseconds per payment on the event loop once calibration is loaded.
 */
export class ThresholdCache {
  private key = '';
  private value = 0;
  private epoch = 0;
  constructor(private readonly gallery: Gallery) {}

  threshold(): number {
    const key = `${this.gallery.size}/${this.gallery.reservoir.size}/${this.gallery.searchTail.recordedComparisons}/${this.epoch}`;
    if (key !== this.key) { this.value = this.gallery.threshold(); this.key = key; }
    return this.value;
  }

  /** After an enrolment attempt (it may have sampled impostors into the reservoir). */
  invalidate(): void { this.epoch += 1; }
}

/** Impostor comparisons per enrolment: the gallery's own `calibration_samples_per_enrolment` (biometric/gallery.ts). */
export const calibration_samples_per_enrolment = 32;

/**
 * The impostor scores `Gallery.enrolExtracted` samples for a new enrolee (same probe, same
 * golden-ratio slots), computed just before it runs so the index is in the same state; kept
 * by the store so a restarted gateway's threshold starts from them (store/calibration.ts).
 */
export function impostorSamples(gallery: Gallery, probe: Probe): number[] {
  const size = gallery.index.size;
  const scores: number[] = [];
  for (let k = 0; k < Math.min(calibration_samples_per_enrolment, size); k += 1) {
    const slot = Math.floor(((k + 1) * 0.6180339887498949 * size + size) % size);
    scores.push(compare(probe, gallery.index.template(slot), gallery.index.scoreModel).score);
  }
  return scores;
}
