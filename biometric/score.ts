/**
 * Comparison scores and fusion. Each modality's best shifted distance becomes a z-score
 * against that modality's impostor distribution (mean and deviation, calibrated from the
 * gallery); palm and vein z-scores are summed and divided by sqrt(2) when both are present
 * (the sum rule on standardised scores, which assumes the two are independent for impostors).
 * Higher is more similar.
 */
import { bestDistance, probeVariants, type CodeGrid, packGrid, packHash, palm_shift_cells_max, palm_shift_cells_max_along, vein_shift_cells_max, type PackedCode, type Template, type TemplateTransform } from './template.js';
import { normalQuantile } from './calibration.js';
import { assert } from '../core/index.js';
import type { AlternateFeatures, Extracted } from './capture.js';
import { roi_valley_line_above_centre } from './hand.js';

/**
 * Along-palm scales the probe's own codes are also compared at, resampled with the valley line
 * fixed (code-space alternates: no feature run). Why: the hand ROI is sized by the valley
 * distance, an across-palm measure, and hangs from the valley line; a tilted hand (pitch) is
 * foreshortened along the palm only, which moves every row in proportion to its distance from
 * that line, up to 5-6 cells at the far edge for 10 %. The cell-shift search cannot follow
 * (it moves all rows alike), and isotropic scale alternates about the ROI centre spend their
 * shift range on the lever. Diagnosed on development seeds with the generator's ground-truth
 * pose: along-palm scale error sd 5 % per capture (across 2 %), and it was the common factor
 * of the lowest genuine scores; see README "Diagnosis". Refine-only, like scale alternates.
 */
export const along_scale_factors = [0.9, 0.95, 1.05, 1.1] as const;

/** `grid` stretched along the palm (rows) by `factor`, the valley line held fixed (nearest cell). */
export function alongScaled(grid: CodeGrid, factor: number): CodeGrid {
  const { cells } = grid;
  const anchor = (cells - 1) / 2 - roi_valley_line_above_centre * cells;
  const code = new Uint8Array(cells * cells);
  const valid = new Uint8Array(cells * cells);
  for (let y = 0; y < cells; y += 1) {
    const sy = Math.round(anchor + (y - anchor) / factor);
    if (sy < 0 || sy >= cells) continue;
    code.set(grid.code.subarray(sy * cells, (sy + 1) * cells), y * cells);
    valid.set(grid.valid.subarray(sy * cells, (sy + 1) * cells), y * cells);
  }
  return { cells, code, valid };
}

export interface ModalityStats { mean: number; std: number; typicalBits: number }
export interface ScoreModel { palm: ModalityStats; vein: ModalityStats }

/** Starting statistics until a gallery calibrates its own (measured on synthetic impostors). */
export const DEFAULT_SCORE_MODEL: ScoreModel = {
  palm: { mean: 0.415, std: 0.027, typicalBits: 500 },
  vein: { mean: 0.405, std: 0.035, typicalBits: 120 },
};

/**
 * A probe ready for comparison: shifted variants under the gallery's transform, and for roi
 * captures the same capture at other ROI rotations (`alternates`; a comparison keeps the best).
 */
export interface Probe {
  palm: PackedCode[]; vein?: PackedCode[]; hash: Uint32Array; keyVersion: number;
  alternates?: readonly Probe[];
  /** An alternate the coarse 1:N stages (hash, vein) also use (rotations; scales only refine). */
  coarse?: boolean;
}

/** `shared`: a vein code already packed (an alternate sharing the capture's own vein code). */
function probeOf(features: AlternateFeatures, transform: TemplateTransform, shared?: { grid: CodeGrid; variants: PackedCode[] }): Probe {
  const probe: Probe = {
    palm: probeVariants(features.palm, transform.palm, palm_shift_cells_max, palm_shift_cells_max_along),
    hash: packHash(features.hash, transform.hash), keyVersion: transform.version,
  };
  if (!features.vein) return probe;
  return { ...probe, vein: shared?.grid === features.vein ? shared.variants : probeVariants(features.vein, transform.vein, vein_shift_cells_max) };
}

export function makeProbe(extracted: Extracted, transform: TemplateTransform): Probe {
  const probe = probeOf(extracted, transform);
  const shared = extracted.vein && probe.vein ? { grid: extracted.vein, variants: probe.vein } : undefined;
  const alternates = extracted.alternates?.map((a) => ({ ...probeOf(a, transform, shared), coarse: a.coarse === true })) ?? [];
  for (const factor of along_scale_factors) {
    const scaled: AlternateFeatures = { palm: alongScaled(extracted.palm, factor), hash: extracted.hash, ...(extracted.vein ? { vein: alongScaled(extracted.vein, factor) } : {}) };
    alternates.push({ ...probeOf(scaled, transform), coarse: false });
  }
  return { ...probe, alternates };
}

/** The poses the coarse 1:N stages use: the probe itself first, then its coarse alternates (rotations). */
export function probeRotations(probe: Probe): readonly Probe[] {
  return probe.alternates ? [probe, ...probe.alternates.filter((a) => a.coarse === true)] : [probe];
}

/** How many poses a comparison of `probe` takes the best of. */
export const poseCount = (probe: Probe): number => 1 + (probe.alternates?.length ?? 0);

/**
 * The best of `k` comparisons of one probe is more likely to pass a threshold by chance than one
 * comparison: at most k times (union bound). The best z-score is mapped back to the z-score of
 * the same bounded tail probability, so one threshold (calibrated on single comparisons) keeps
 * its false-match rate for probes with rotation alternates. Monotone: the ranking is unchanged.
 */
export function correctForAlternatives(score: number, k: number): number {
  if (k <= 1) return score;
  const tail = Math.min(0.5, k * normalTail(score));
  return tail >= 0.5 ? Math.min(score, 0) : -normalQuantile(tail);
}

/** 1 - Phi(z): erfc by the Numerical Recipes Chebyshev fit (relative error < 1.2e-7 everywhere, also far in the tail). */
export function normalTail(z: number): number {
  if (z < 0) return 1 - normalTail(-z);
  const t = 1 / (1 + 0.5 * z / Math.SQRT2);
  const x = z / Math.SQRT2;
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return erfc / 2;
}

/** The enrolable template of one capture (unshifted) under `transform`. */
export function makeTemplate(extracted: Extracted, transform: TemplateTransform): Template {
  const template: Template = { palm: packGrid(extracted.palm, transform.palm), hash: packHash(extracted.hash, transform.hash) };
  return extracted.vein ? { ...template, vein: packGrid(extracted.vein, transform.vein) } : template;
}

export interface Comparison { score: number; palmDistance: number; veinDistance?: number }

export function compare(probe: Probe, template: Template, model: ScoreModel = DEFAULT_SCORE_MODEL): Comparison {
  if (!probe.alternates) return compareOne(probe, template, model);
  let best = compareOne(probe, template, model);
  for (const alternate of probe.alternates) {
    const c = compareOne(alternate, template, model);
    if (c.score > best.score) best = c;
  }
  return { ...best, score: correctForAlternatives(best.score, probe.alternates.length + 1) };
}

/** `compare` at one pose of `probeRotations(probe)` only, scored (corrected) as the best of all its poses. */
export function compareAt(probe: Probe, template: Template, rotation: number, model: ScoreModel = DEFAULT_SCORE_MODEL): Comparison {
  const rotations = probeRotations(probe);
  const chosen = compareOne(rotations[Math.min(rotation, rotations.length - 1)]!, template, model);
  return { ...chosen, score: correctForAlternatives(chosen.score, poseCount(probe)) };
}

/** `compare` at one pose of `[probe, ...probe.alternates]` only, scored (corrected) as the best of all its poses. */
export function compareAtPose(probe: Probe, template: Template, pose: number, model: ScoreModel = DEFAULT_SCORE_MODEL): Comparison {
  assert(Number.isInteger(pose) && pose >= 0 && pose < poseCount(probe), 'a pose of the probe');
  const chosen = compareOne(pose === 0 ? probe : probe.alternates![pose - 1]!, template, model);
  return { ...chosen, score: correctForAlternatives(chosen.score, poseCount(probe)) };
}

function compareOne(probe: Probe, template: Template, model: ScoreModel): Comparison {
  const palmDistance = bestDistance(probe.palm, template.palm, model.palm.typicalBits);
  const palmZ = (model.palm.mean - palmDistance) / model.palm.std;
  if (!probe.vein || !template.vein) return { score: palmZ, palmDistance };
  const veinDistance = bestDistance(probe.vein, template.vein, model.vein.typicalBits);
  const veinZ = (model.vein.mean - veinDistance) / model.vein.std;
  return { score: (palmZ + veinZ) / Math.SQRT2, palmDistance, veinDistance };
}
