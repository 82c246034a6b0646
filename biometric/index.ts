/**
 * biometric: palm captures to protected templates to 1:N identification, with liveness and an
 * honest evaluation. Other modules import only this file.
 *
 * Example:
 *   const models = await FeatureModels.load();
 *   const gallery = await Gallery.open({ models, keys: hsmTemplateKeys(hsm), store, permutationKeyId: 'bio-perm', dataKeyId: 'bio-data' });
 *   await gallery.enrol(id, [capture1, capture2]);
 *   const decision = await gallery.identify(capture3);
 */
export { BiometricError, type BiometricErrorCode } from './errors.js';
export { decodePng, encodePng, png_file_size_bytes_max, png_dimension_pixels_max, png_pixels_max } from './png.js';
export type { GrayImage } from './image.js';
export { FeatureModels, PALM_MODEL_FILE, VEIN_MODEL_FILE } from './features.js';
export { buildPalmModel, buildVeinModel, roi_size_pixels, prefilter_bits } from './model.js';
export { extractCapture, type Capture, type CaptureKind, type Extracted } from './capture.js';
export { assessQuality, type QualityReport, type QualityCheck } from './quality.js';
export { IDENTITY, serialiseTemplate, deserialiseTemplate, template_bytes_max, type Template, type TemplateTransform } from './template.js';
export { compare, makeProbe, makeTemplate, DEFAULT_SCORE_MODEL, type Probe, type Comparison, type ScoreModel } from './score.js';
export { PalmIndex, candidates_default, cohortShift, cohort_members_min, cohort_rank_first, cohort_rank_last, type Candidate, type SearchHints, type SearchOptions } from './index-store.js';
export { thresholdForGallery, ImpostorReservoir, SearchTail, fpir_target_default, search_tail_scores_max, type SearchTailState } from './calibration.js';
export { hsmTemplateKeys, deriveTransform, retransform, sealTemplate, openTemplate, type TemplateKeyProvider } from './protection.js';
export { fuseCodes } from './enrol.js';
export { renderHandCapture, renderRoiCapture, renderAttack } from './synth-render.js';
export { Gallery, MemoryTemplateStore, type TemplateStore, type GalleryOptions, type Decision } from './gallery.js';
export { calibratePad, padScore, ReplayGuard, type PadFeatures, type PadModel, type AttackKind } from './pad.js';
export { openDataset, openSource, syntheticSource, writeSyntheticDataset, type CapturesStep, type DatasetSource, type DatasetSpec, type SynthOptions } from './dataset.js';
export { extractSamples, extractSamplesInParallel, extract_workers_max, type EvalSample, type ExtractedSet } from './extract-samples.js';
export { evaluate, type EvalOptions, type EvalReport } from './evaluate.js';
export { detSvg, errorCurve, equalErrorRate, fnmrAtFmr, type ErrorPoint } from './det.js';
export { prefilterWasm, instantiatePrefilter } from './popcount-wasm.js';
export { addSyntheticPalms, syntheticTemplate, synthetic_palms_max, type SyntheticPalmOptions } from './synthetic-gallery.js';
