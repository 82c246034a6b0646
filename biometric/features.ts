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
import { boxBlurInto, type FloatImage } from './image.js';
import { palm_grid_cells, prefilter_bits, roi_size_pixels, vein_grid_cells } from './model.js';

export const MODEL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'models');
export const PALM_MODEL_FILE = path.join(MODEL_DIR, 'palm-compcode.onnx');
export const VEIN_MODEL_FILE = path.join(MODEL_DIR, 'vein-compcode.onnx');
const local_window_radius_pixels = 8;

export interface PalmFeatures { code: Uint8Array; strength: Float32Array; hash: Float32Array }
export interface VeinFeatures { code: Uint8Array; strength: Float32Array }

// Planes reused by every normalisation (synchronous, so one set per thread is enough): with
// four fresh 64 KiB planes per call, allocation and collection cost more than the arithmetic,
// and a roi capture normalises eight ROIs (its own and its pose alternates', visible and NIR).
let meanPlane = new Float32Array(0);
let squarePlane = new Float32Array(0);
let meanSquarePlane = new Float32Array(0);

/** Local contrast normalisation: (x - mean_local) / (std_local + epsilon). */
export function normaliseContrast(roi: FloatImage, radius = local_window_radius_pixels): Float32Array {
  const { width, height, data } = roi;
  const n = data.length;
  if (meanPlane.length !== n) { meanPlane = new Float32Array(n); squarePlane = new Float32Array(n); meanSquarePlane = new Float32Array(n); }
  const mean = boxBlurInto(data, width, height, radius, meanPlane);
  const squared = squarePlane;
  for (let i = 0; i < n; i += 1) squared[i] = data[i]! * data[i]!;
  const meanSq = boxBlurInto(squared, width, height, radius, meanSquarePlane);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const m = mean[i]!;
    const std = Math.sqrt(Math.max(0, meanSq[i]! - m * m));
    out[i] = (data[i]! - m) / (std + 4);
  }
  return out;
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
