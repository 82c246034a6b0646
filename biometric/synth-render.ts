/**
 * Rendering of synthetic captures: the hand silhouette as a signed-distance union of a
 * rounded palm, finger and thumb capsules and the forearm, textured with the identity's
 * palm surface (visible) or veins (NIR), under one capture's pose, light, blur and noise.
 * Also the presentation attacks: printed photo, screen, replay.
 */
import { boxBlur, sample, toGray, type FloatImage, type GrayImage } from './image.js';
import { gaussian, mix, seeded, uniform, type Random } from './random.js';
import {
  captureParams, hand_frame_pixels, makeIdentity, roi_frame_pixels, texture_margin, texture_pixels,
  type CaptureParams, type Identity,
} from './synth.js';
import { textures as captureTextures } from './synth-textures.js';

export type AttackType = 'print' | 'screen' | 'replay';
export interface SynthCapture { visible: GrayImage; nir: GrayImage }

function capsule(px: number, py: number, ax: number, ay: number, bx: number, by: number, r: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  const ex = px - ax - t * dx;
  const ey = py - ay - t * dy;
  return Math.sqrt(ex * ex + ey * ey) - r;
}

function roundedBox(px: number, py: number, hw: number, hh: number, r: number): number {
  const qx = Math.abs(px) - hw + r;
  const qy = Math.abs(py) - hh + r;
  const mx = Math.max(qx, 0);
  const my = Math.max(qy, 0);
  return Math.sqrt(mx * mx + my * my) + Math.min(Math.max(qx, qy), 0) - r;
}

interface Segment { ax: number; ay: number; bx: number; by: number; r: number }

function handSegments(identity: Identity, params: CaptureParams): Segment[] {
  const halfHeight = 0.5 * identity.palmAspect;
  const fingers = identity.fingers.map((f, i) => {
    const angle = ((f.angle + (params.spread_deg[i] ?? 0)) * Math.PI) / 180;
    const ay = -halfHeight + 0.12;
    return { ax: f.baseX, ay, bx: f.baseX + Math.sin(angle) * f.length, by: ay - Math.cos(angle) * f.length, r: f.radius };
  });
  const t = identity.thumb;
  const thumbAngle = ((t.angle + (params.spread_deg[4] ?? 0)) * Math.PI) / 180;
  const thumb = { ax: t.baseX + 0.1, ay: 0.05, bx: t.baseX + Math.sin(thumbAngle) * t.length, by: 0.05 - Math.cos(thumbAngle) * t.length, r: t.radius };
  return [...fingers, thumb];
}

function handDistance(x: number, y: number, identity: Identity, segments: Segment[]): number {
  const halfHeight = 0.5 * identity.palmAspect;
  let d = roundedBox(x, y, 0.5, halfHeight, 0.18);
  d = Math.min(d, roundedBox(x, y - halfHeight - 1.5, 0.4, 1.6, 0.05));
  for (const s of segments) d = Math.min(d, capsule(x, y, s.ax, s.ay, s.bx, s.by, s.r));
  return d;
}

/** Output pixel -> hand coordinates (palm width = 1, palm centre at the origin). */
export function poseOf(params: CaptureParams, frame: number): (px: number, py: number) => [number, number] {
  const palmPixels = frame * 0.27 * params.scale;
  const cx = frame * (0.5 + params.shiftX);
  const cy = frame * (0.6 + params.shiftY);
  const cos = Math.cos(params.rotation_rad);
  const sin = Math.sin(params.rotation_rad);
  return (px, py) => {
    const dx = (px - cx) / palmPixels;
    const dy = (py - cy) / palmPixels;
    return [(cos * dx + sin * dy) * (1 + params.stretch), (-sin * dx + cos * dy) * (1 - params.stretch)];
  };
}

function lightOf(params: CaptureParams, frame: number): (px: number, py: number) => number {
  const ux = Math.cos(params.lightAngle) / frame;
  const uy = Math.sin(params.lightAngle) / frame;
  return (px, py) => 1 + params.lightSlope * 2 * ((px - frame / 2) * ux + (py - frame / 2) * uy);
}

function textureAt(texture: FloatImage, identity: Identity, hx: number, hy: number): number {
  const scale = texture_pixels / (1 + 2 * texture_margin);
  const u = hx + 0.5;
  const v = hy / identity.palmAspect + 0.5;
  return sample(texture, (u + texture_margin) * scale, (v + texture_margin) * scale, 0);
}

interface Shade { background: number; skin: number; depth: number }
const VISIBLE: Shade = { background: 28, skin: 178, depth: 95 };
const NIR: Shade = { background: 16, skin: 140, depth: 55 };

interface Geometry { frame: number; coverage: Float32Array; hx: Float32Array; hy: Float32Array }

/** Coverage and hand coordinates per output pixel, shared by the visible and NIR planes. */
function handGeometry(identity: Identity, params: CaptureParams, frame: number): Geometry {
  const pose = poseOf(params, frame);
  const segments = handSegments(identity, params);
  const palmPixels = frame * 0.27 * params.scale;
  const coverage = new Float32Array(frame * frame);
  const hx = new Float32Array(frame * frame);
  const hy = new Float32Array(frame * frame);
  for (let py = 0; py < frame; py += 1) {
    for (let px = 0; px < frame; px += 1) {
      const [x, y] = pose(px, py);
      const i = py * frame + px;
      hx[i] = x;
      hy[i] = y;
      coverage[i] = Math.max(0, Math.min(1, 0.5 - handDistance(x, y, identity, segments) * palmPixels));
    }
  }
  return { frame, coverage, hx, hy };
}

function renderPlane(identity: Identity, params: CaptureParams, geometry: Geometry, texture: FloatImage, shade: Shade, random: Random): FloatImage {
  const { frame, coverage, hx, hy } = geometry;
  const light = lightOf(params, frame);
  const out = new Float32Array(frame * frame);
  for (let py = 0; py < frame; py += 1) {
    for (let px = 0; px < frame; px += 1) {
      const i = py * frame + px;
      const c = coverage[i] ?? 0;
      let value = shade.background;
      if (c > 0) {
        const skin = shade.skin * identity.skin - shade.depth * textureAt(texture, identity, hx[i] ?? 0, hy[i] ?? 0);
        value = shade.background + (skin - shade.background) * c;
      }
      out[i] = value * light(px, py);
    }
  }
  return finishPlane({ width: frame, height: frame, data: out }, params, random);
}

let NOISE: Float32Array | undefined;
function noiseTable(): Float32Array {
  if (!NOISE) { const random = seeded(0x6e01); NOISE = Float32Array.from({ length: 4096 }, () => gaussian(random)); }
  return NOISE;
}

function finishPlane(image: FloatImage, params: CaptureParams, random: Random): FloatImage {
  let blurred = image;
  for (let i = 0; i < params.blur; i += 1) blurred = boxBlur(blurred, 1);
  const table = noiseTable();
  let pick = Math.floor(random() * 4294967296) >>> 0;
  for (let i = 0; i < blurred.data.length; i += 1) {
    pick = (Math.imul(pick, 1664525) + 1013904223) >>> 0; // an LCG is plenty to index a noise table
    blurred.data[i] = (blurred.data[i] ?? 0) + (table[pick >>> 20] ?? 0) * params.noise;
  }
  return blurred;
}

function captureRandom(seed: number, identity: number, capture: number, salt: number): Random {
  return seeded(mix(seed, identity, capture, salt));
}

/** A whole-hand capture (visible + NIR) of identity `index`, capture number `capture`. */
export function renderHandCapture(seed: number, index: number, capture: number): SynthCapture {
  const identity = makeIdentity(seed, index);
  const random = captureRandom(seed, index, capture, 0x4a);
  const params = captureParams(random);
  const { surface, veins } = captureTextures(identity, params, random);
  const nirTexture = mixTextures(veins, surface, 0.15);
  const geometry = handGeometry(identity, params, hand_frame_pixels);
  return {
    visible: toGray(renderPlane(identity, params, geometry, surface, VISIBLE, random)),
    nir: toGray(renderPlane(identity, { ...params, lightSlope: params.lightSlope * 0.5 }, geometry, nirTexture, NIR, random)),
  };
}

function mixTextures(main: FloatImage, faint: FloatImage, faintShare: number): FloatImage {
  const data = main.data.map((v, i) => Math.max(v, (faint.data[i] ?? 0) * faintShare));
  return { width: main.width, height: main.height, data };
}

/** A terminal-cropped ROI capture: the palm centre, roughly aligned (small pose error). */
export function renderRoiCapture(seed: number, index: number, capture: number): SynthCapture {
  const identity = makeIdentity(seed, index);
  const random = captureRandom(seed, index, capture, 0x5b);
  const params: CaptureParams = {
    ...captureParams(random), rotation_rad: (uniform(random, -6, 6) * Math.PI) / 180,
    shiftX: uniform(random, -0.04, 0.04), shiftY: uniform(random, -0.04, 0.04), scale: uniform(random, 0.95, 1.05),
  };
  const { surface, veins } = captureTextures(identity, params, random);
  // The ROI frame shows about 0.62 palm widths around the palm centre.
  const roiParams = { ...params, scale: params.scale * (1 / 0.62 / 0.27), shiftY: params.shiftY - 0.1 };
  const geometry = handGeometry(identity, roiParams, roi_frame_pixels);
  return {
    visible: toGray(renderPlane(identity, roiParams, geometry, surface, VISIBLE, random)),
    nir: toGray(renderPlane(identity, roiParams, geometry, mixTextures(veins, surface, 0.15), NIR, random)),
  };
}

/** A presentation attack made from identity `index`'s appearance. */
export function renderAttack(type: Exclude<AttackType, 'replay'>, seed: number, index: number, kind: 'hand' | 'roi', attempt: number): SynthCapture {
  const source = kind === 'hand' ? renderHandCapture(seed, index, 1000 + attempt) : renderRoiCapture(seed, index, 1000 + attempt);
  const random = captureRandom(seed, index, attempt, type === 'print' ? 0x70 : 0x71);
  return type === 'print' ? printAttack(source, random) : screenAttack(source, random);
}

/** Paper reflects NIR evenly and carbon ink absorbs it: the NIR shows the printed lines, no veins. */
function printAttack(source: SynthCapture, random: Random): SynthCapture {
  const contrast = uniform(random, 0.8, 0.95);
  const visible = source.visible.data.map((v) => Math.round(128 + (v - 128) * contrast + gaussian(random) * 2));
  const nirGain = uniform(random, 0.7, 0.9);
  const nir = source.visible.data.map((v) => Math.max(0, Math.min(255, Math.round(v * nirGain + gaussian(random) * 3))));
  return { visible: { ...source.visible, data: Uint8Array.from(visible) }, nir: { ...source.nir, data: Uint8Array.from(nir) } };
}

/** A phone or monitor: a pixel grid beats against the sensor (moire); it emits almost no NIR. */
function screenAttack(source: SynthCapture, random: Random): SynthCapture {
  const { width } = source.visible;
  const period = uniform(random, 2.2, 4);
  const angle = uniform(random, 0, Math.PI);
  const depth = uniform(random, 0.06, 0.15);
  const visible = new Uint8Array(source.visible.data.length);
  for (let i = 0; i < visible.length; i += 1) {
    const x = i % width;
    const y = Math.floor(i / width);
    const phase = (2 * Math.PI * (x * Math.cos(angle) + y * Math.sin(angle))) / period;
    visible[i] = Math.max(0, Math.min(255, Math.round((source.visible.data[i] ?? 0) * (1 + depth * Math.sin(phase)))));
  }
  const nir = source.nir.data.map((v) => Math.max(0, Math.min(255, Math.round(12 + v * 0.08 + gaussian(random) * 3))));
  return { visible: { ...source.visible, data: visible }, nir: { ...source.nir, data: Uint8Array.from(nir) } };
}

/** A near-exact replay: the earlier capture with +-1 grey-level noise, or the exact bytes. */
export function replayOf(source: SynthCapture, random: Random, exact: boolean): SynthCapture {
  if (exact) return source;
  const jiggle = (image: GrayImage): GrayImage => ({ ...image, data: image.data.map((v) => Math.max(0, Math.min(255, v + Math.round(uniform(random, -1, 1))))) });
  return { visible: jiggle(source.visible), nir: jiggle(source.nir) };
}
