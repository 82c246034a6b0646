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

/**
 * Peaks over threshold: u = the score with `k` of the sorted sample above it, the excesses over u
 * taken as exponential with their mean; P(S > t) = (k / n) exp(-(t - u) / mean excess).
 */
export function exponentialTail(sorted: readonly number[], fmr: number): number {
  const n = sorted.length;
  const k = Math.min(n - 1, Math.max(tail_fit_samples_min, Math.ceil(tail_fit_share * n)));
  const u = sorted[n - k - 1]!;
  let excess = 0;
  for (let i = n - k; i < n; i += 1) excess += sorted[i]! - u;
  const scale = excess / k;
  return u + scale * Math.log(k / n / fmr);
}

/** The threshold for `fpirTarget` with `gallerySize` enrolled palms. */
export function thresholdForGallery(reservoir: ImpostorReservoir, gallerySize: number, fpirTarget: number, fallback: number): number {
  const fmr = fpirTarget / Math.max(1, gallerySize);
  return reservoir.thresholdForFmr(fmr) ?? Math.max(fallback, normalQuantile(1 - fmr));
}
