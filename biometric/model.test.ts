/**
 * Goal: the ONNX feature models are ours and reproducible — regenerating them gives the
 * committed bytes exactly — and they compute what the method says: the competitive code of
 * a dark line is the orientation of that line.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FeatureModels, PALM_MODEL_FILE, VEIN_MODEL_FILE } from './features.js';
import { buildPalmModel, buildVeinModel, orientations_count, palm_grid_cells, roi_size_pixels } from './model.js';

function lineImage(angle: number): { width: number; height: number; data: Float32Array } {
  const data = new Float32Array(roi_size_pixels * roi_size_pixels);
  const c = roi_size_pixels / 2;
  for (let y = 0; y < roi_size_pixels; y += 1) for (let x = 0; x < roi_size_pixels; x += 1) {
    // Distance from a line through the centre at `angle` (image y grows downward).
    const across = -(x - c) * Math.sin(angle) + (y - c) * Math.cos(angle);
    data[y * roi_size_pixels + x] = 180 - 80 * Math.exp(-(across * across) / 8);
  }
  return { width: roi_size_pixels, height: roi_size_pixels, data };
}

describe('feature models', () => {
  it('regenerate byte for byte to the committed files', () => {
    expect(Buffer.from(buildPalmModel()).equals(readFileSync(PALM_MODEL_FILE))).toBe(true);
    expect(Buffer.from(buildVeinModel()).equals(readFileSync(VEIN_MODEL_FILE))).toBe(true);
    expect(Buffer.from(buildPalmModel()).equals(Buffer.from(buildPalmModel()))).toBe(true);
  });

  it('code the orientation of a dark line at the cells it crosses', async () => {
    const models = await FeatureModels.load();
    try {
      for (let k = 0; k < orientations_count; k += 1) {
        const features = await models.palmFeatures(lineImage((Math.PI * k) / orientations_count));
        const centre = (palm_grid_cells / 2) * palm_grid_cells + palm_grid_cells / 2;
        expect(features.code[centre]).toBe(k);
        expect(features.hash.length).toBe(256);
      }
      const vein = await models.veinFeatures(lineImage(Math.PI / 2));
      expect(vein.code.length).toBe(256);
    } finally {
      await models.release();
    }
  });
});
