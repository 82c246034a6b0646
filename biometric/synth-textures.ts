/** Per-capture texture rasters of a synthetic identity: surface lines (visible) and veins (NIR). */
import { boxBlur, type FloatImage } from './image.js';
import { uniform, type Random } from './random.js';
import { stampStroke, texture_pixels, type CaptureParams, type Identity } from './synth.js';

export function textures(identity: Identity, params: CaptureParams, random: Random): { surface: FloatImage; veins: FloatImage } {
  const surface = new Float32Array(texture_pixels * texture_pixels);
  for (const line of identity.lines) stampStroke(surface, line, line.depth * params.lineGain * uniform(random, 0.85, 1.1), 1);
  for (const crease of identity.creases) {
    if (random() < params.dropout) continue; // partial crease dropout
    stampStroke(surface, crease, crease.depth * params.lineGain * uniform(random, 0.7, 1.2), random() < 0.3 ? uniform(random, 0.5, 1) : 1);
  }
  const veins = new Float32Array(texture_pixels * texture_pixels);
  for (const vein of identity.veins) stampStroke(veins, vein, vein.depth * uniform(random, 0.85, 1.1), 1);
  const size = { width: texture_pixels, height: texture_pixels };
  return { surface: { ...size, data: surface }, veins: boxBlur({ ...size, data: veins }, 2) };
}

