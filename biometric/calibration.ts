/**
 * Decision thresholds. In an open-set 1:N search against N enrolled palms, a non-mated
 * search returns a false positive if any of N impostor comparisons passes, so
 * FPIR ~= N x FMR (ISO/IEC 19795-1); the threshold is the score whose impostor tail equals
 * FPIR_target / N. The tail comes from a bounded reservoir of impostor comparisons: the
 * empirical quantile where the reservoir is big enough; beyond it, the larger of a normal-tail
 * extrapolation and a peaks-over-threshold fit (an exponential tail fitted to the top 1% of the
 * reservoir, the generalised-Pareto limit with shape 0). The normal fit follows the bulk and
 * was measured to set the threshold too low (FPIR several times the target on 300 non-mated
 * searches): impostor score tails are heavier than the bulk's normal, more so for best-of-k
 * scores of probes with pose alternates. The tail fit uses only the tail.
 */
import { assert } from '../core/index.js';
import { meanStd } from './image.js';
import { seeded, type Random } from './random.js';

export const impostor_reservoir_max = 20_000;
export const fpir_target_default = 1e-3;
/** Share of the reservoir, and the least count, that the exponential tail is fitted to. */
export const tail_fit_share = 0.01;
export const tail_fit_samples_min = 30;

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  assert(p > 0 && p < 1, 'probability in (0, 1)');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (k: number[], x: number): number => k.reduce((acc, v) => acc * x + v, 0);
  if (p < low) { const q = Math.sqrt(-2 * Math.log(p)); return poly(c, q) / (poly(d, q) * q + 1); }
  if (p > 1 - low) { const q = Math.sqrt(-2 * Math.log(1 - p)); return -poly(c, q) / (poly(d, q) * q + 1); }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

export class ImpostorReservoir {
  private scores: number[] = [];
  private seen = 0;
  private readonly random: Random = seeded(0x1a0);

  /** Reservoir sampling (Vitter's algorithm R): a uniform sample of every score offered. */
  add(score: number): void {
    this.seen += 1;
    if (this.scores.length < impostor_reservoir_max) { this.scores.push(score); return; }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < impostor_reservoir_max) this.scores[slot] = score;
  }

  get size(): number { return this.scores.length; }

  /** The score threshold for a per-comparison false match rate `fmr`. */
  thresholdForFmr(fmr: number): number | undefined {
    if (this.scores.length < 100) return undefined;
    const sorted = [...this.scores].sort((a, b) => a - b);
    const { mean, std } = meanStd(sorted);
    const gaussian = mean + std * normalQuantile(1 - Math.min(0.5, fmr));
    const rank = Math.ceil((1 - fmr) * sorted.length);
    // Trust the sample only where at least ten impostors lie beyond the quantile.
    if (fmr * sorted.length >= 10) return sorted[Math.min(sorted.length - 1, rank)]!;
    return Math.max(gaussian, exponentialTail(sorted, fmr), sorted[sorted.length - 1]!);
  }
}

/** The reservoir's tail fit: the top `tail_fit_share` of an ascending sample of all comparisons. */
function exponentialTail(sorted: readonly number[], fmr: number): number {
  const n = sorted.length;
  const k = Math.min(n - 1, Math.max(tail_fit_samples_min, Math.ceil(tail_fit_share * n)));
  return peaksOverThreshold(sorted.slice(n - k), sorted[n - k - 1]!, n, fmr);
}

/**
 * Peaks over threshold: the `above.length` scores above u, out of `comparisons` in all, their
 * excesses over u taken as exponential with their mean; P(S > t) = (k / comparisons) exp(-(t - u) / mean excess).
 */
function peaksOverThreshold(above: readonly number[], u: number, comparisons: number, fmr: number): number {
  const k = above.length;
  assert(k > 0 && comparisons >= k && fmr > 0, 'a tail to fit');
  let excess = 0;
  for (const score of above) excess += score - u;
  return u + (excess / k) * Math.log(k / comparisons / fmr);
}

/**
 * The threshold for `fpirTarget` with `gallerySize` enrolled palms: from the searches' tail where
 * it reaches that deep, else from the reservoir, else `fallback` (no data yet).
 *
 * The searches' tail is in the units searches decide in (scores relative to each search's cohort,
 * index-store.ts) and is taken as measured. The reservoir and the fallback are single
 * comparisons' own scores, which are never lower than cohort-relative ones, so they err high; and
 * they are never below the normal quantile for the FMR, since comparison scores are z-scores
 * against the impostor distribution, whose tail was measured heavier than normal, never lighter.
 * A young gallery's reservoir is mostly the new enrolee's own comparisons and many zeros
 * (best-of-k corrections); its fit once gave 1.4 at 15 palms, the enrolee's own best impostor
 * score, and refused two shoppers of 320 as duplicates (e2e bench; reproduced off-line). The
 * cohort makes a non-mated search's best score fall below that normal quantile (threshold 4.87
 * from 5,000 non-mated searches at 10,000 palms, dev seed, against the quantile's 5.20), so the
 * floor cannot hold for the searches' tail.
 */
export function thresholdForGallery(reservoir: ImpostorReservoir, gallerySize: number, fpirTarget: number, fallback: number, tail?: SearchTail): number {
  const fmr = fpirTarget / Math.max(1, gallerySize);
  const measured = tail?.thresholdForFmr(fmr);
  if (measured !== undefined) return measured;
  return Math.max(reservoir.thresholdForFmr(fmr) ?? fallback, normalQuantile(1 - fmr));
}

/** Highest scores kept from the recorded searches (the deep tail; ~64 KiB). */
export const search_tail_scores_max = 8192;
/** Highest scores taken from each search: its r largest order statistics. */
export const search_tail_per_search = 16;
/**
 * Least expected exceedances among the recorded comparisons for the tail to answer: at most a
 * decade of extrapolation beyond its highest score. A young gallery's few searches leave the
 * deep tail to the reservoir's estimate.
 */
export const search_tail_exceedances_min = 0.1;
/** Scores the exponential is fitted to when the FMR asked lies beyond the recorded tail. */
export const search_tail_fit_samples = 100;

export interface SearchTailState { comparisons: number; floor: number; scores: number[] }

/**
 * The impostor tail as searches see it. Each accepted enrolment's duplicate search is a
 * non-mated search of the gallery as it then was: n impostor comparisons, of which the search
 * returns the highest. Their r largest scores are kept with the count n, so the per-comparison
 * tail P(S >= t) is (scores >= t) / (all comparisons) wherever no search's r-th score reaches t.
 * With 1,000 enrolments into a growing gallery that is ~10^5-10^8 comparisons: the depth an FPIR
 * at 100,000 palms needs (FMR 1e-8), where the reservoir's 20,000 uniform samples end near 1e-3
 * and its extrapolation was measured 1.7 z too cautious (dev seed, 999 enrolled, 3,000
 * non-mated searches). The prefilter's misses are the search's own, so they count as in use.
 */
export class SearchTail {
  private comparisons = 0;
  /** Scores at or below it may be missing: a search whose r-th score it is, or a score dropped from the bound. */
  private floor = -Infinity;
  /** Descending. */
  private scores: number[] = [];

  record(gallerySize: number, searchScores: readonly number[]): void {
    assert(Number.isInteger(gallerySize) && gallerySize >= 0, 'gallery size is a count');
    assert(searchScores.every((score) => Number.isFinite(score)), 'search scores are finite');
    if (gallerySize === 0) return;
    const top = [...searchScores].sort((a, b) => b - a).slice(0, search_tail_per_search);
    // Below a full set's r-th score the search's other scores are missing (unless it returned the whole gallery).
    const floor = top.length === search_tail_per_search && gallerySize > top.length ? top[top.length - 1]! : -Infinity;
    this.adopt(SearchTail.merge(this.state(), { comparisons: gallerySize, floor, scores: top }));
  }

  private adopt(state: SearchTailState): void {
    this.comparisons = state.comparisons;
    this.floor = state.floor;
    this.scores = state.scores;
  }

  get recordedComparisons(): number { return this.comparisons; }

  /** The per-comparison threshold for `fmr`, or undefined where the recorded tail does not reach. */
  thresholdForFmr(fmr: number): number | undefined {
    const valid = this.scores.filter((score) => score > this.floor);
    const allowed = fmr * this.comparisons;
    if (valid.length < tail_fit_samples_min || allowed >= valid.length || allowed < search_tail_exceedances_min) return undefined;
    // Ten or more exceedances allowed: the empirical quantile.
    if (allowed >= 10) return valid[Math.floor(allowed)]! + 1e-9;
    const m = Math.min(valid.length - 1, search_tail_fit_samples);
    return peaksOverThreshold(valid.slice(0, m), valid[m]!, this.comparisons, fmr);
  }

  state(): SearchTailState { return { comparisons: this.comparisons, floor: this.floor, scores: [...this.scores] }; }

  /**
   * Two recorded tails as one (a gateway's own and an imported measurement, or two populations):
   * their comparisons add up, their scores merge, and a level either one may be missing stays
   * unusable (the larger floor, and the score dropped at the bound). Equal to one tail that
   * recorded both sets of searches, so merging adds no bias.
   */
  static merge(a: SearchTailState, b: SearchTailState): SearchTailState {
    const scores = [...a.scores, ...b.scores].sort((x, y) => y - x);
    let floor = Math.max(a.floor, b.floor);
    if (scores.length > search_tail_scores_max) {
      floor = Math.max(floor, scores[search_tail_scores_max]!);
      scores.length = search_tail_scores_max;
    }
    return { comparisons: a.comparisons + b.comparisons, floor, scores };
  }

  /** Takes over a saved state (a restarted gateway's), replacing what was recorded. */
  restore(state: SearchTailState): void {
    assert(Number.isFinite(state.comparisons) && state.comparisons >= 0 && state.scores.length <= search_tail_scores_max, 'search tail state in bounds');
    assert(state.scores.every((score) => Number.isFinite(score)) && !Number.isNaN(state.floor), 'search tail scores are numbers');
    this.adopt({ ...state, scores: [...state.scores].sort((a, b) => b - a) });
  }
}
