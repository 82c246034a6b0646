/**
 * Presentation attack detection (ISO/IEC 30107). Three cues, each physical rather than
 * learned from one generator:
 *  - print: paper reflects NIR evenly and ink absorbs it, so a printed palm shows the same
 *    fine lines in NIR as in visible light; living skin scatters NIR, so its NIR detail is the
 *    vein pattern, weakly related to the surface lines (correlation of high-passed ROIs);
 *  - screen: a display emits almost no NIR (NIR/visible brightness of the palm) and its pixel
 *    grid beats against the sensor (periodic autocorrelation peaks in the visible image);
 *  - replay: real captures never repeat, so a capture almost identical to an earlier one
 *    (same prefilter hash within a few bits and same thumbnail) is a replay.
 * Scores are standardised against bona fide statistics; the threshold is set for a target
 * BPCER on bona fide captures (calibratePad).
 */
import { assert } from '../core/index.js';
import { boxBlurInto, meanStd, type FloatImage, type GrayImage } from './image.js';
import { prefilter_bits } from './model.js';
import { instantiatePrefilter, type PrefilterKernel } from './popcount-wasm.js';
import { hash_words } from './template.js';

export const replay_memory_captures_max = 50_000;
export const replay_hash_bits_max = 24;
export const replay_thumbnail_difference_max = 1.5;
const moire_crop_pixels = 64;
const moire_lag_max = 6;

export interface PadFeatures { printCorrelation?: number; nirRatio?: number; periodicity: number }
export type AttackKind = 'print' | 'screen' | 'replay';

/**
 * Planes reused by every call (the PAD cues are synchronous, so one set per thread): two
 * high-passed ROIs and their blur, and the moire crop's three. Fresh planes per capture were
 * about 0.3 MB of garbage each.
 */
const padPlanes = { first: new Float32Array(0), second: new Float32Array(0), blur: new Float32Array(0) };
const moirePlanes = { crop: new Float32Array(0), detail: new Float32Array(0), blur: new Float32Array(0) };

function plane<Name extends string>(planes: Record<Name, Float32Array>, name: Name, length: number): Float32Array {
  if (planes[name].length < length) planes[name] = new Float32Array(length);
  return planes[name].subarray(0, length);
}

/** `image` minus its box blur, into `out` (`blur` is scratch for the blur; both of the image's size). */
function highPassInto(image: FloatImage, radius: number, out: Float32Array, blur: Float32Array): Float32Array {
  const { width, height, data } = image;
  const smooth = radius > 0 ? boxBlurInto(data, width, height, radius, blur) : data;
  for (let i = 0; i < out.length; i += 1) out[i] = data[i]! - smooth[i]!;
  return out;
}

function correlation(a: Float32Array, b: Float32Array): number {
  const ma = meanStd(a);
  const mb = meanStd(b);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += (a[i]! - ma.mean) * (b[i]! - mb.mean);
  return sum / (a.length * Math.max(1e-6, ma.std * mb.std));
}

/** The lags (dx per dy, dx ascending) `periodicity` looks at: 2..6 pixels, half of the symmetric plane. */
const MOIRE_LAGS: readonly (readonly number[])[] = Array.from({ length: moire_lag_max + 1 }, (_, dy) =>
  Array.from({ length: 2 * moire_lag_max + 1 }, (_, k) => k - moire_lag_max).filter((dx) => dx * dx + dy * dy >= 4 && !(dy === 0 && dx < 0)));
const lagSums = new Float64Array(4);

/** Strongest normalised autocorrelation at lags 2..6 pixels of a high-passed crop of the frame. */
export function periodicity(image: GrayImage, centre: { x: number; y: number }): number {
  const half = moire_crop_pixels / 2;
  const x0 = Math.max(0, Math.min(image.width - moire_crop_pixels, Math.round(centre.x - half)));
  const y0 = Math.max(0, Math.min(image.height - moire_crop_pixels, Math.round(centre.y - half)));
  const size = Math.min(moire_crop_pixels, image.width, image.height);
  const crop = plane(moirePlanes, 'crop', size * size);
  for (let y = 0; y < size; y += 1) for (let x = 0; x < size; x += 1) crop[y * size + x] = image.data[(y0 + y) * image.width + x0 + x] ?? 0;
  const detail = highPassInto({ width: size, height: size, data: crop }, 2, plane(moirePlanes, 'detail', size * size), plane(moirePlanes, 'blur', size * size));
  let energy = 0;
  for (const v of detail) energy += v * v;
  let best = 0;
  for (let dy = 0; dy <= moire_lag_max; dy += 1) {
    const lags = MOIRE_LAGS[dy]!;
    let k = 0;
    for (; k + 4 <= lags.length; k += 4) {
      fourLagSums(detail, size, dy, lags[k]!, lags[k + 1]!, lags[k + 2]!, lags[k + 3]!, lagSums);
      for (let j = 0; j < 4; j += 1) best = Math.max(best, lagSums[j]! / Math.max(1e-6, energy));
    }
    for (; k < lags.length; k += 1) best = Math.max(best, lagSum(detail, size, dy, lags[k]!) / Math.max(1e-6, energy));
  }
  return best;
}

/** Sum of detail(x, y) * detail(x + dx, y + dy) over the overlap, rows in order, each row left to right. */
function lagSum(detail: Float32Array, size: number, dy: number, dx: number): number {
  let sum = 0;
  const lag = dy * size + dx;
  for (let y = 0; y < size - dy; y += 1) {
    const row = y * size;
    for (let x = Math.max(0, -dx); x < size - Math.max(0, dx); x += 1) sum += detail[row + x]! * detail[row + x + lag]!;
  }
  return sum;
}

/**
 * `lagSum` of four lags (dx ascending) at once: one running sum's additions wait on the previous
 * one, so four independent sums go about four times as far per cycle. Each sum still adds exactly
 * `lagSum`'s terms in `lagSum`'s order (a row's left part of the wider lags, the columns all
 * four share, the right part), so the results are the same doubles.
 */
function fourLagSums(detail: Float32Array, size: number, dy: number, dx0: number, dx1: number, dx2: number, dx3: number, out: Float64Array): void {
  // Lag k covers x in [max(0, -dx_k), size - max(0, dx_k)): with dx ascending, lag 0 starts last and lag 3 ends first.
  const start1 = Math.max(0, -dx1);
  const start2 = Math.max(0, -dx2);
  const start3 = Math.max(0, -dx3);
  const shared = Math.max(0, -dx0);
  const sharedEnd = size - Math.max(0, dx3);
  const end0 = size - Math.max(0, dx0);
  const end1 = size - Math.max(0, dx1);
  const end2 = size - Math.max(0, dx2);
  if (sharedEnd <= shared) {
    out[0] = lagSum(detail, size, dy, dx0); out[1] = lagSum(detail, size, dy, dx1); out[2] = lagSum(detail, size, dy, dx2); out[3] = lagSum(detail, size, dy, dx3);
    return;
  }
  const lag0 = dy * size + dx0;
  const lag1 = dy * size + dx1;
  const lag2 = dy * size + dx2;
  const lag3 = dy * size + dx3;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let y = 0; y < size - dy; y += 1) {
    const row = y * size;
    for (let x = start1; x < shared; x += 1) s1 += detail[row + x]! * detail[row + x + lag1]!;
    for (let x = start2; x < shared; x += 1) s2 += detail[row + x]! * detail[row + x + lag2]!;
    for (let x = start3; x < shared; x += 1) s3 += detail[row + x]! * detail[row + x + lag3]!;
    for (let x = row + shared, end = row + sharedEnd; x < end; x += 1) {
      const v = detail[x]!;
      s0 += v * detail[x + lag0]!;
      s1 += v * detail[x + lag1]!;
      s2 += v * detail[x + lag2]!;
      s3 += v * detail[x + lag3]!;
    }
    for (let x = sharedEnd; x < end0; x += 1) s0 += detail[row + x]! * detail[row + x + lag0]!;
    for (let x = sharedEnd; x < end1; x += 1) s1 += detail[row + x]! * detail[row + x + lag1]!;
    for (let x = sharedEnd; x < end2; x += 1) s2 += detail[row + x]! * detail[row + x + lag2]!;
  }
  out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3;
}

/** PAD features of one capture's normalised regions (and the raw visible frame for moire). */
export function padFeatures(roi: FloatImage, nirRoi: FloatImage | undefined, visible: GrayImage, centre: { x: number; y: number }): PadFeatures {
  const features: PadFeatures = { periodicity: periodicity(visible, centre) };
  if (!nirRoi) return features;
  const n = roi.data.length;
  assert(nirRoi.data.length === n, 'visible and NIR ROIs of one size');
  const blur = plane(padPlanes, 'blur', n);
  const printCorrelation = correlation(highPassInto(roi, 3, plane(padPlanes, 'first', n), blur), highPassInto(nirRoi, 3, plane(padPlanes, 'second', n), blur));
  const nirRatio = meanStd(nirRoi.data).mean / Math.max(1, meanStd(roi.data).mean);
  return { ...features, printCorrelation, nirRatio };
}

export interface PadModel {
  /** Bona fide mean and deviation of each cue (print correlation, NIR deficit, periodicity). */
  print: { mean: number; std: number };
  nirDeficit: { mean: number; std: number };
  periodicity: { mean: number; std: number };
  threshold: number;
}

/** Standardised attack score: the most suspicious cue, in bona fide deviations. */
export function padScore(features: PadFeatures, model: PadModel): number {
  const z = (value: number, stats: { mean: number; std: number }): number => (value - stats.mean) / Math.max(1e-6, stats.std);
  let score = z(features.periodicity, model.periodicity);
  if (features.printCorrelation !== undefined) score = Math.max(score, z(features.printCorrelation, model.print));
  if (features.nirRatio !== undefined) score = Math.max(score, z(-features.nirRatio, model.nirDeficit));
  return score;
}

/**
 * The operating point's confidence: the threshold is chosen so that the true BPCER is at most
 * the target with this probability, not merely so that the calibration set's share is. The plain
 * (1 - target) quantile of n scores overshoots the target about half the time: with n = 3,000
 * and a 1 % target, the share of new bona fide captures above it has a standard deviation of
 * ~0.18 points (it measured 1.07 % on the other half of a 1,000 x 6 run).
 */
export const pad_threshold_confidence = 0.95;

/**
 * How many of n calibration scores may lie above the threshold: the largest r such that the
 * r-th largest score's exceedance probability, Beta(r, n - r + 1) distributed, exceeds the
 * target with probability at most 1 - confidence. That probability is P(Binomial(n, target) < r)
 * (distribution-free: only the ranks of the scores are used). 0 when even the maximum cannot
 * give the confidence (n too small): the threshold is then the largest bona fide score.
 */
export function exceedancesAllowed(n: number, target: number, confidence: number): number {
  assert(n > 0 && target > 0 && target < 1 && confidence > 0 && confidence < 1, 'exceedance bound arguments');
  const alpha = 1 - confidence;
  // P(Bin = k) by the recurrence from P(Bin = 0), in logs so large n does not underflow.
  let logTerm = n * Math.log1p(-target);
  let cdf = 0;
  let allowed = 0;
  for (let k = 0; k < n; k += 1) {
    cdf += Math.exp(logTerm);
    // r = k + 1 scores above is allowed when P(Bin <= k) <= alpha.
    if (cdf > alpha) break;
    allowed = k + 1;
    logTerm += Math.log((n - k) / (k + 1)) + Math.log(target / (1 - target));
  }
  return allowed;
}

/**
 * Fits bona fide statistics and sets the threshold so the BPCER stays at most `bpcer` with
 * `pad_threshold_confidence` (the (allowed + 1)-th largest bona fide score: a score must
 * exceed it to be called an attack).
 */
export function calibratePad(bonaFide: readonly PadFeatures[], bpcer: number): PadModel {
  assert(bonaFide.length >= 10, 'calibration needs bona fide samples');
  const stats = (values: number[]): { mean: number; std: number } => meanStd(values);
  const withNir = bonaFide.filter((f) => f.printCorrelation !== undefined && f.nirRatio !== undefined);
  const model: PadModel = {
    print: withNir.length ? stats(withNir.map((f) => f.printCorrelation!)) : { mean: 0, std: 1 },
    nirDeficit: withNir.length ? stats(withNir.map((f) => -f.nirRatio!)) : { mean: 0, std: 1 },
    periodicity: stats(bonaFide.map((f) => f.periodicity)),
    threshold: 0,
  };
  const scores = bonaFide.map((f) => padScore(f, model)).sort((a, b) => a - b);
  const allowed = exceedancesAllowed(scores.length, bpcer, pad_threshold_confidence);
  model.threshold = scores[scores.length - 1 - allowed] ?? 0;
  return model;
}

const replay_query_offset = 0;
const replay_hashes_offset = 64;
const replay_hash_bytes = hash_words * 4;
const replay_distances_offset = replay_hashes_offset + replay_memory_captures_max * replay_hash_bytes;
const replay_histogram_offset = replay_distances_offset + replay_memory_captures_max * 2;
const replay_results_offset = replay_histogram_offset + (prefilter_bits + 1) * 4;
/** Every remembered capture may be near: a check never skips one. */
const replay_candidates_max = replay_memory_captures_max;
const wasm_page_bytes = 65_536;

/**
 * Remembers recent captures (prefilter hash + thumbnail) and spots near-exact repeats. The
 * hashes live in the popcount kernel's memory and are scanned in WebAssembly: a check looks at
 * every remembered capture, and the JavaScript loop took about 0.5 ms at 1,000 remembered
 * captures on the gateway's event loop (it would have reached about 25 ms at the bound).
 */
export class ReplayGuard {
  private readonly kernel: PrefilterKernel;
  private thumbnails: Uint8Array[] = [];
  private count = 0;
  private next = 0;

  constructor() {
    this.kernel = instantiatePrefilter(prefilter_bits / 64);
    const needed = replay_results_offset + replay_candidates_max * 4;
    const pages = Math.ceil(needed / wasm_page_bytes) - this.kernel.memory.buffer.byteLength / wasm_page_bytes;
    if (pages > 0) this.kernel.memory.grow(pages);
  }

  /** True if this capture repeats a remembered one; otherwise remembers it. */
  checkAndRemember(hash: Uint32Array, thumbnail: Uint8Array): boolean {
    assert(hash.length === hash_words, 'replay hash shape');
    const memory = this.kernel.memory.buffer;
    new Uint32Array(memory, replay_query_offset, hash_words).set(hash);
    new Uint32Array(memory, replay_histogram_offset, prefilter_bits + 1).fill(0);
    this.kernel.scan(replay_query_offset, replay_hashes_offset, this.count, replay_distances_offset, replay_histogram_offset);
    const found = this.kernel.collect(replay_distances_offset, this.count, replay_hash_bits_max, replay_results_offset, replay_candidates_max);
    const slots = new Uint32Array(memory, replay_results_offset, found);
    for (const slot of slots) {
      if (thumbnailDifference(thumbnail, this.thumbnails[slot]!) <= replay_thumbnail_difference_max) return true;
    }
    this.remember(hash, thumbnail);
    return false;
  }

  private remember(hash: Uint32Array, thumbnail: Uint8Array): void {
    const slot = this.count < replay_memory_captures_max ? this.count : this.next;
    new Uint32Array(this.kernel.memory.buffer, replay_hashes_offset + slot * replay_hash_bytes, hash_words).set(hash);
    this.thumbnails[slot] = thumbnail;
    if (this.count < replay_memory_captures_max) this.count += 1;
    else this.next = (this.next + 1) % replay_memory_captures_max;
  }
}

/** Mean absolute difference of two thumbnails, per pixel. */
function thumbnailDifference(a: Uint8Array, b: Uint8Array): number {
  let difference = 0;
  for (let p = 0; p < a.length; p += 1) difference += Math.abs((a[p] ?? 0) - (b[p] ?? 0));
  return difference / a.length;
}
