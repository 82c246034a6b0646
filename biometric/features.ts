/**
 * Runs the generated ONNX feature models on a normalised region of interest with
 * onnxruntime-node (one intra-op thread: the switch serves many captures in parallel, one
 * core each). Input is contrast-normalised first (local mean removed, local deviation
 * divided out), so uneven illumination does not reach the competitive code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { assert } from '../core/index.js';
import { BiometricError } from './errors.js';
import type { FloatImage } from './image.js';
import { palm_grid_cells, prefilter_bits, roi_size_pixels, vein_grid_cells } from './model.js';

export const MODEL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'models');
export const PALM_MODEL_FILE = path.join(MODEL_DIR, 'palm-compcode.onnx');
export const VEIN_MODEL_FILE = path.join(MODEL_DIR, 'vein-compcode.onnx');
const local_window_radius_pixels = 8;

export interface PalmFeatures { code: Uint8Array; strength: Float32Array; hash: Float32Array }
export interface VeinFeatures { code: Uint8Array; strength: Float32Array }

// Planes reused by every normalisation (synchronous, so one set per thread is enough): fresh
// planes per call cost more in allocation and collection than the arithmetic, and a roi capture
// normalises eight ROIs (its own and its pose alternates', visible and NIR).
let rowMeanPlane = new Float32Array(0);
let rowSquarePlane = new Float32Array(0);

/**
 * Local contrast normalisation: (x - mean_local) / (std_local + epsilon), the local moments
 * being box blurs (`boxBlurInto`, edges clamped) of the pixels and of their float32 squares.
 *
 * One fused pass per direction instead of two blurs, a squares plane and a final pass: each
 * element sees exactly `boxBlurInto`'s operations in the same order (running sums in float64,
 * the horizontal result rounded to float32, the vertical one too), only the two blurs' chains
 * interleave and the final arithmetic happens where the vertical sums are. The result is
 * bit-identical to the unfused form (features.test.ts keeps it as the reference); it matters,
 * because the codes, and so every calibrated score, come from it.
 */
export function normaliseContrast(roi: FloatImage, radius = local_window_radius_pixels): Float32Array {
  const { width, height, data } = roi;
  const n = data.length;
  assert(Number.isInteger(radius) && radius > 0 && width > 0 && height > 0 && n === width * height, 'normalisation of a whole image with a positive radius');
  if (rowMeanPlane.length < n) { rowMeanPlane = new Float32Array(n); rowSquarePlane = new Float32Array(n); }
  const norm = 1 / (2 * radius + 1);
  for (let y = 0; y < height; y += 1) blurRowAndSquares(data, rowMeanPlane, rowSquarePlane, y * width, width, radius, norm);
  const out = new Float32Array(n);
  normaliseColumns(data, rowMeanPlane, rowSquarePlane, out, width, height, radius, norm);
  return out;
}

const square = (value: number): number => Math.fround(value * value);

/** `blurRow` (image.ts) of one row of `src` into `mean` and of its float32 squares into `meanSquare`. */
function blurRowAndSquares(src: Float32Array, mean: Float32Array, meanSquare: Float32Array, start: number, count: number, radius: number, norm: number): void {
  const last = start + count - 1;
  let sum = 0;
  let sumSquares = 0;
  for (let i = -radius; i <= radius; i += 1) {
    const v = src[i < 0 ? start : i >= count ? last : start + i]!;
    sum += v;
    sumSquares += square(v);
  }
  const first = src[start]!;
  const firstSquare = square(first);
  const lastValue = src[last]!;
  const lastSquare = square(lastValue);
  const interiorEnd = count - radius - 1;
  let i = 0;
  for (; i < radius && i < count; i += 1) {
    mean[start + i] = sum * norm;
    meanSquare[start + i] = sumSquares * norm;
    const add = i + radius + 1;
    const v = src[add >= count ? last : start + add]!;
    sum += v - first;
    sumSquares += square(v) - firstSquare;
  }
  for (; i < interiorEnd; i += 1) {
    mean[start + i] = sum * norm;
    meanSquare[start + i] = sumSquares * norm;
    const v = src[start + i + radius + 1]!;
    const w = src[start + i - radius]!;
    sum += v - w;
    sumSquares += square(v) - square(w);
  }
  for (; i < count; i += 1) {
    mean[start + i] = sum * norm;
    meanSquare[start + i] = sumSquares * norm;
    const drop = i - radius;
    const w = src[drop < 0 ? start : start + drop]!;
    sum += lastValue - w;
    sumSquares += lastSquare - square(w);
  }
}

/**
 * `blurColumns` (image.ts) of both row-blurred planes, each result rounded to float32 and
 * normalised at once. Four columns at a time with their running sums in locals (registers, not
 * a sums array loaded and stored per pixel); each column's sums take exactly `blurColumns`'
 * steps, top to bottom.
 */
function normaliseColumns(data: Float32Array, rowMean: Float32Array, rowSquare: Float32Array, out: Float32Array, width: number, height: number, radius: number, norm: number): void {
  const lastRow = (height - 1) * width;
  let x = 0;
  for (; x + 4 <= width; x += 4) {
    let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
    let q0 = 0; let q1 = 0; let q2 = 0; let q3 = 0;
    for (let i = -radius; i <= radius; i += 1) {
      const at = (i < 0 ? 0 : i >= height ? lastRow : i * width) + x;
      s0 = s0 + rowMean[at]!; s1 = s1 + rowMean[at + 1]!; s2 = s2 + rowMean[at + 2]!; s3 = s3 + rowMean[at + 3]!;
      q0 = q0 + rowSquare[at]!; q1 = q1 + rowSquare[at + 1]!; q2 = q2 + rowSquare[at + 2]!; q3 = q3 + rowSquare[at + 3]!;
    }
    for (let y = 0; y < height; y += 1) {
      const at = y * width + x;
      const add = y + radius + 1;
      const drop = y - radius;
      const addAt = (add >= height ? lastRow : add * width) + x;
      const dropAt = (drop < 0 ? 0 : drop * width) + x;
      out[at] = normalised(data[at]!, s0, q0, norm);
      out[at + 1] = normalised(data[at + 1]!, s1, q1, norm);
      out[at + 2] = normalised(data[at + 2]!, s2, q2, norm);
      out[at + 3] = normalised(data[at + 3]!, s3, q3, norm);
      s0 = s0 + (rowMean[addAt]! - rowMean[dropAt]!); s1 = s1 + (rowMean[addAt + 1]! - rowMean[dropAt + 1]!);
      s2 = s2 + (rowMean[addAt + 2]! - rowMean[dropAt + 2]!); s3 = s3 + (rowMean[addAt + 3]! - rowMean[dropAt + 3]!);
      q0 = q0 + (rowSquare[addAt]! - rowSquare[dropAt]!); q1 = q1 + (rowSquare[addAt + 1]! - rowSquare[dropAt + 1]!);
      q2 = q2 + (rowSquare[addAt + 2]! - rowSquare[dropAt + 2]!); q3 = q3 + (rowSquare[addAt + 3]! - rowSquare[dropAt + 3]!);
    }
  }
  for (; x < width; x += 1) {
    let s = 0;
    let q = 0;
    for (let i = -radius; i <= radius; i += 1) {
      const at = (i < 0 ? 0 : i >= height ? lastRow : i * width) + x;
      s = s + rowMean[at]!;
      q = q + rowSquare[at]!;
    }
    for (let y = 0; y < height; y += 1) {
      const at = y * width + x;
      const add = y + radius + 1;
      const drop = y - radius;
      const addAt = (add >= height ? lastRow : add * width) + x;
      const dropAt = (drop < 0 ? 0 : drop * width) + x;
      out[at] = normalised(data[at]!, s, q, norm);
      s = s + (rowMean[addAt]! - rowMean[dropAt]!);
      q = q + (rowSquare[addAt]! - rowSquare[dropAt]!);
    }
  }
}

/** (x - mean) / (std + 4) from a pixel and its window's running sums, the moments rounded to float32 as the blur planes held them. */
function normalised(value: number, sum: number, squareSum: number, norm: number): number {
  const m = Math.fround(sum * norm);
  const std = Math.sqrt(Math.max(0, Math.fround(squareSum * norm) - m * m));
  return (value - m) / (std + 4);
}

export class FeatureModels {
  private constructor(private readonly palm: ort.InferenceSession, private readonly vein: ort.InferenceSession) {}

  /** Loads the committed model files (regenerate with `buildPalmModel`/`buildVeinModel`). */
  static async load(files = { palm: PALM_MODEL_FILE, vein: VEIN_MODEL_FILE }): Promise<FeatureModels> {
    try {
      return await FeatureModels.fromBytes(readFileSync(files.palm), readFileSync(files.vein));
    } catch (error) {
      throw new BiometricError('model_invalid', `cannot load feature models from ${MODEL_DIR}`, { cause: error });
    }
  }

  static async fromBytes(palmModel: Uint8Array, veinModel: Uint8Array): Promise<FeatureModels> {
    const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
    const palm = await ort.InferenceSession.create(palmModel, options);
    const vein = await ort.InferenceSession.create(veinModel, options);
    return new FeatureModels(palm, vein);
  }

  async palmFeatures(roi: FloatImage): Promise<PalmFeatures> {
    assert(roi.width === roi_size_pixels && roi.height === roi_size_pixels, 'roi must be canonical size');
    const input = new ort.Tensor('float32', normaliseContrast(roi), [1, 1, roi_size_pixels, roi_size_pixels]);
    const out = await this.palm.run({ roi: input });
    const code = out.palm_code?.data;
    const strength = out.palm_strength?.data;
    const hash = out.palm_hash?.data;
    assert(code instanceof Uint8Array && code.length === palm_grid_cells ** 2, 'palm_code shape');
    assert(strength instanceof Float32Array && hash instanceof Float32Array && hash.length === prefilter_bits, 'palm outputs shape');
    return { code, strength, hash };
  }

  async veinFeatures(nir: FloatImage): Promise<VeinFeatures> {
    assert(nir.width === roi_size_pixels && nir.height === roi_size_pixels, 'nir roi must be canonical size');
    const input = new ort.Tensor('float32', normaliseContrast(nir, 12), [1, 1, roi_size_pixels, roi_size_pixels]);
    const out = await this.vein.run({ nir: input });
    const code = out.vein_code?.data;
    const strength = out.vein_strength?.data;
    assert(code instanceof Uint8Array && code.length === vein_grid_cells ** 2, 'vein_code shape');
    assert(strength instanceof Float32Array, 'vein_strength shape');
    return { code, strength };
  }

  async release(): Promise<void> {
    await this.palm.release();
    await this.vein.release();
  }
}
