/**
 * From capture bytes to features: decode (bounded), locate the palm region (whole hand) or
 * normalise the terminal's crop (roi), check quality, then run the feature models. Raw pixels
 * live only in memory for the duration of this call.
 */
import { BiometricError } from './errors.js';
import { outsideFraction, warpAffine, type Affine, type FloatImage, type GrayImage } from './image.js';
import { locateHand, type HandGeometry } from './hand.js';
import { palm_grid_cells, roi_size_pixels, vein_grid_cells } from './model.js';
import { decodePng } from './png.js';
import { assessQuality, type QualityReport } from './quality.js';
import { padFeatures, type PadFeatures } from './pad.js';
import { codeGrid, type CodeGrid } from './template.js';
import type { FeatureModels } from './features.js';

export type CaptureKind = 'hand' | 'roi';
export const roi_capture_side_pixels_min = 128;

export interface Capture {
  kind: CaptureKind;
  /** PNG bytes or an already decoded gray image. */
  visible: Uint8Array | GrayImage;
  nir?: Uint8Array | GrayImage;
}

export interface Extracted {
  kind: CaptureKind;
  quality: QualityReport;
  palm: CodeGrid;
  hash: Float32Array;
  vein?: CodeGrid;
  /** The normalised regions, kept in memory only for liveness checks. */
  roi: FloatImage;
  nirRoi?: FloatImage;
  visibleDigest: Uint8Array;
  pad: PadFeatures;
  hand?: HandGeometry;
}

const decode = (input: Uint8Array | GrayImage): GrayImage => (input instanceof Uint8Array ? decodePng(input) : input);

function roiMapForCrop(image: GrayImage): Affine {
  if (image.width < roi_capture_side_pixels_min || image.height < roi_capture_side_pixels_min) {
    throw new BiometricError('image_invalid', `roi capture must be at least ${roi_capture_side_pixels_min}x${roi_capture_side_pixels_min}`);
  }
  const side = Math.min(image.width, image.height);
  const step = side / roi_size_pixels;
  return { a: step, b: 0, c: (image.width - side) / 2 + step / 2 - 0.5, d: 0, e: step, f: (image.height - side) / 2 + step / 2 - 0.5 };
}

/** A coarse 16x16 thumbnail of the ROI: the replay detector's fingerprint of a capture. */
function digest(roi: FloatImage): Uint8Array {
  const cells = 16;
  const size = roi.width / cells;
  const out = new Uint8Array(cells * cells);
  for (let cy = 0; cy < cells; cy += 1) for (let cx = 0; cx < cells; cx += 1) {
    let sum = 0;
    for (let y = 0; y < size; y += 1) for (let x = 0; x < size; x += 1) sum += roi.data[(cy * size + y) * roi.width + cx * size + x] ?? 0;
    out[cy * cells + cx] = Math.round(sum / (size * size));
  }
  return out;
}

/**
 * Decodes, normalises and checks a capture; throws `capture_quality` with the failed check.
 * `pad: false` skips the liveness cues (for 1:1 re-checks of a capture already screened).
 */
export async function extractCapture(models: FeatureModels, capture: Capture, options: { pad?: boolean } = {}): Promise<Extracted> {
  const visible = decode(capture.visible);
  const nirImage = capture.nir ? decode(capture.nir) : undefined;
  if (nirImage && (nirImage.width !== visible.width || nirImage.height !== visible.height)) {
    throw new BiometricError('image_invalid', 'visible and NIR images differ in size');
  }
  const hand = capture.kind === 'hand' ? locateHand(visible) : undefined;
  const map = hand ? hand.roi : roiMapForCrop(visible);
  const roi = warpAffine(visible, roi_size_pixels, roi_size_pixels, map);
  const quality = assessQuality(roi, hand ? outsideFraction(visible, roi_size_pixels, roi_size_pixels, map) : 0);
  if (!quality.ok) throw new BiometricError('capture_quality', `capture rejected: ${quality.failed}`);
  const palmFeatures = await models.palmFeatures(roi);
  const nirRoi = nirImage ? warpAffine(nirImage, roi_size_pixels, roi_size_pixels, map) : undefined;
  const centre = hand ? hand.center : { x: visible.width / 2, y: visible.height / 2 };
  const extracted: Extracted = {
    kind: capture.kind, quality, roi, hash: palmFeatures.hash, visibleDigest: digest(roi),
    pad: options.pad === false ? { periodicity: 0 } : padFeatures(roi, nirRoi, visible, centre),
    palm: codeGrid(palm_grid_cells, palmFeatures.code, palmFeatures.strength),
    ...(hand ? { hand } : {}),
  };
  if (!nirRoi) return extracted;
  const vein = await models.veinFeatures(nirRoi);
  return { ...extracted, nirRoi, vein: codeGrid(vein_grid_cells, vein.code, vein.strength) };
}
