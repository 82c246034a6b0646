/**
 * Comparison scores and fusion. Each modality's best shifted distance becomes a z-score
 * against that modality's impostor distribution (mean and deviation, calibrated from the
 * gallery); palm and vein z-scores are summed and divided by sqrt(2) when both are present
 * (the sum rule on standardised scores, which assumes the two are independent for impostors).
 * Higher is more similar.
 */
import { bestDistance, probeVariants, packGrid, packHash, palm_shift_cells_max, palm_shift_cells_max_along, vein_shift_cells_max, type PackedCode, type Template, type TemplateTransform } from './template.js';
import type { Extracted } from './capture.js';

export interface ModalityStats { mean: number; std: number; typicalBits: number }
export interface ScoreModel { palm: ModalityStats; vein: ModalityStats }

/** Starting statistics until a gallery calibrates its own (measured on synthetic impostors). */
export const DEFAULT_SCORE_MODEL: ScoreModel = {
  palm: { mean: 0.415, std: 0.027, typicalBits: 500 },
  vein: { mean: 0.405, std: 0.035, typicalBits: 120 },
};

/** A probe ready for comparison: shifted variants under the gallery's transform. */
export interface Probe { palm: PackedCode[]; vein?: PackedCode[]; hash: Uint32Array; keyVersion: number }

export function makeProbe(extracted: Extracted, transform: TemplateTransform): Probe {
  const probe: Probe = {
    palm: probeVariants(extracted.palm, transform.palm, palm_shift_cells_max, palm_shift_cells_max_along),
    hash: packHash(extracted.hash, transform.hash), keyVersion: transform.version,
  };
  return extracted.vein ? { ...probe, vein: probeVariants(extracted.vein, transform.vein, vein_shift_cells_max) } : probe;
}

/** The enrolable template of one capture (unshifted) under `transform`. */
export function makeTemplate(extracted: Extracted, transform: TemplateTransform): Template {
  const template: Template = { palm: packGrid(extracted.palm, transform.palm), hash: packHash(extracted.hash, transform.hash) };
  return extracted.vein ? { ...template, vein: packGrid(extracted.vein, transform.vein) } : template;
}

export interface Comparison { score: number; palmDistance: number; veinDistance?: number }

export function compare(probe: Probe, template: Template, model: ScoreModel = DEFAULT_SCORE_MODEL): Comparison {
  const palmDistance = bestDistance(probe.palm, template.palm, model.palm.typicalBits);
  const palmZ = (model.palm.mean - palmDistance) / model.palm.std;
  if (!probe.vein || !template.vein) return { score: palmZ, palmDistance };
  const veinDistance = bestDistance(probe.vein, template.vein, model.vein.typicalBits);
  const veinZ = (model.vein.mean - veinDistance) / model.vein.std;
  return { score: (palmZ + veinZ) / Math.SQRT2, palmDistance, veinDistance };
}
