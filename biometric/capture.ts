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
/**
 * Small residual pose errors that the cell-shift search cannot absorb (they move cells by
 * different amounts across the ROI) are met by taking the features again at other ROI poses;
 * matching keeps the best (with a union-bound score correction, see `score.ts`).
 * - Rotation: a terminal's crop is only roughly aligned and a palm crop has no landmarks that
 *   fix its in-plane rotation (a whole hand has the finger valleys), so roi captures are also
 *   read at +-4 degrees (the code tolerates about half a step: this covers about +-6 degrees).
 * - Scale: the hand ROI's size comes from the valley distance, which finger spread moves by a
 *   few per cent, and a roi crop has no size reference at all; both are also read at +-4 %.
 * Measured on 24-30 development identities (seeds never used for the reported figures):
 * roi probe vs hand enrolment, genuine z p10 3.1 -> 6.1 with the rotations; hand vs hand,
 * genuine z p10 5.8 -> 6.9 and minimum 2.3 -> 5.1 with the scales.
 * Rotation alternates are "coarse": the hash and vein stages of a 1:N search use them too;
 * scale alternates only refine the final comparisons.
 */
export const roi_rotation_step_deg = 4;
export const roi_scale_step = 0.04;
export interface RoiPose { degrees: number; scale: number; coarse: boolean }
const SCALES: RoiPose[] = [{ degrees: 0, scale: 1 - roi_scale_step, coarse: false }, { degrees: 0, scale: 1 + roi_scale_step, coarse: false }];
export const ALTERNATE_POSES: Record<'hand' | 'roi', readonly RoiPose[]> = {
  hand: SCALES,
  roi: [{ degrees: -roi_rotation_step_deg, scale: 1, coarse: true }, { degrees: roi_rotation_step_deg, scale: 1, coarse: true }, ...SCALES],
};

/** The features of the same capture at another ROI pose. */
export interface AlternateFeatures { palm: CodeGrid; hash: Float32Array; vein?: CodeGrid; coarse?: boolean }

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
  /** Features at the ROI poses of `ALTERNATE_POSES` for the capture's kind. */
  alternates?: AlternateFeatures[];
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

/** `map` (ROI pixel -> capture pixel) turned by `degrees` and scaled by `scale` around the ROI centre. */
export function rotateRoiMap(map: Affine, degrees: number, scale = 1): Affine {
  const angle = (degrees * Math.PI) / 180;
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  const h = (roi_size_pixels - 1) / 2;
  // ROI (u, v) -> rotated (u', v') about (h, h), then through `map`.
  const tu = h - cos * h + sin * h;
  const tv = h - sin * h - cos * h;
  return {
    a: map.a * cos + map.b * sin, b: -map.a * sin + map.b * cos, c: map.a * tu + map.b * tv + map.c,
    d: map.d * cos + map.e * sin, e: -map.d * sin + map.e * cos, f: map.d * tu + map.e * tv + map.f,
  };
}

/**
 * The alternates' features. A scale alternate shares the capture's own vein code: its 8-pixel
 * cells move at most a third of a cell at the ROI border under a 4 % scale change, which the vein
 * code's shift search absorbs (and it saves a warp and a vein model run per alternate).
 */
async function alternateFeatures(models: FeatureModels, poses: readonly RoiPose[], visible: GrayImage, nirOwn: { image: GrayImage; grid: CodeGrid } | undefined, map: Affine): Promise<AlternateFeatures[]> {
  const out: AlternateFeatures[] = [];
  for (const pose of poses) {
    const turned = rotateRoiMap(map, pose.degrees, pose.scale);
    const palm = await models.palmFeatures(warpAffine(visible, roi_size_pixels, roi_size_pixels, turned));
    const alternate: AlternateFeatures = { palm: codeGrid(palm_grid_cells, palm.code, palm.strength), hash: palm.hash, coarse: pose.coarse };
    if (!nirOwn) { out.push(alternate); continue; }
    if (pose.degrees === 0) { out.push({ ...alternate, vein: nirOwn.grid }); continue; }
    const vein = await models.veinFeatures(warpAffine(nirOwn.image, roi_size_pixels, roi_size_pixels, turned));
    out.push({ ...alternate, vein: codeGrid(vein_grid_cells, vein.code, vein.strength) });
  }
  return out;
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
 * `alternates: false` skips the pose alternates, which only a probe uses (`makeProbe`); a
 * template (`makeTemplate`, `fuseCodes`) never reads them.
 */
export async function extractCapture(models: FeatureModels, capture: Capture, options: { pad?: boolean; alternates?: boolean } = {}): Promise<Extracted> {
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
  const poses = options.alternates === false ? [] : ALTERNATE_POSES[capture.kind];
  if (!nirRoi) return { ...extracted, alternates: await alternateFeatures(models, poses, visible, undefined, map) };
  const vein = await models.veinFeatures(nirRoi);
  const veinGrid = codeGrid(vein_grid_cells, vein.code, vein.strength);
  return { ...extracted, nirRoi, vein: veinGrid, alternates: await alternateFeatures(models, poses, visible, { image: nirImage!, grid: veinGrid }, map) };
}
