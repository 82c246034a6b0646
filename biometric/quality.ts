/**
 * Capture quality: exposure (mean level, clipped shares), focus (share of energy in fine
 * detail, which blur removes) and, for whole-hand captures, whether the region lies inside
 * the frame. A failed check names itself, so the terminal can tell the shopper what to fix.
 */
import { boxBlurInto, meanStd, type FloatImage } from './image.js';

export const exposure_mean_min = 40;
export const exposure_mean_max = 235;
export const clipped_share_max = 0.05;
export const focus_min = 0.02;
export const roi_outside_share_max = 0.03;

export type QualityCheck = 'exposure_dark' | 'exposure_bright' | 'clipped' | 'out_of_focus' | 'region_outside_frame' | 'low_contrast';

export interface QualityReport {
  ok: boolean;
  failed?: QualityCheck;
  mean: number;
  contrast: number;
  focus: number;
  clipped_share: number;
  outside_share: number;
}

// The blur plane of `focusMeasure`, reused (synchronous; one per thread).
let focusPlane = new Float32Array(0);

/**
 * Fine-detail energy over total variation: a sharp ROI keeps detail, a blurred one loses it.
 * `std`: the ROI's standard deviation as `meanStd` gives it (`assessQuality` has it already).
 */
export function focusMeasure(roi: FloatImage, std = meanStd(roi.data).std): number {
  const { width, height, data } = roi;
  if (focusPlane.length < data.length) focusPlane = new Float32Array(data.length);
  const smooth = boxBlurInto(data, width, height, 1, focusPlane.subarray(0, data.length));
  let detail = 0;
  for (let i = 0; i < data.length; i += 1) { const fine = data[i]! - smooth[i]!; detail += fine * fine; }
  return Math.sqrt(detail / data.length) / Math.max(1, std);
}

export function assessQuality(roi: FloatImage, outside_share: number): QualityReport {
  const { mean, std } = meanStd(roi.data);
  let clipped = 0;
  const pixels = roi.data;
  for (let i = 0; i < pixels.length; i += 1) if (pixels[i]! <= 3 || pixels[i]! >= 252) clipped += 1;
  const clipped_share = clipped / roi.data.length;
  const focus = focusMeasure(roi, std);
  const report: QualityReport = { ok: true, mean, contrast: std, focus, clipped_share, outside_share };
  const failed: QualityCheck | undefined =
    outside_share > roi_outside_share_max ? 'region_outside_frame'
      : mean < exposure_mean_min ? 'exposure_dark'
        : mean > exposure_mean_max ? 'exposure_bright'
          : clipped_share > clipped_share_max ? 'clipped'
            : std < 3 ? 'low_contrast'
              : focus < focus_min ? 'out_of_focus' : undefined;
  return failed ? { ...report, ok: false, failed } : report;
}
