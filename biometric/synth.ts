/**
 * Synthetic palms for tests, benchmarks and `palmswitch bio synth`. Each identity has a hand
 * shape, principal lines and creases drawn as cubic Bezier curves (after the BezierPalm
 * papers), fine skin texture and a branching vein network. Each capture varies pose (rotation
 * up to 20 degrees, translation up to 15% of the frame, scale up to 10%), finger spread,
 * uneven light, blur, noise and partial crease dropout. Attack samples imitate a printed
 * photo, a screen and a replay. The engine must not depend on anything in this file.
 */
import { mix, seeded, uniform, type Random } from './random.js';

export const hand_frame_pixels = 448;
export const roi_frame_pixels = 160;
const texture_pixels = 224;
// Texture raster covers palm coordinates u, v in [-0.1, 1.1].
const texture_margin = 0.1;

type Point = [number, number];
export interface Stroke { control: [Point, Point, Point, Point]; width: number; depth: number }
interface Finger { baseX: number; angle: number; length: number; radius: number }
export interface Identity { fingers: Finger[]; thumb: Finger; lines: Stroke[]; creases: Stroke[]; veins: Stroke[]; skin: number; palmAspect: number }

const jitter = (random: Random, p: Point, amount: number): Point => [p[0] + uniform(random, -amount, amount), p[1] + uniform(random, -amount, amount)];

function principalLines(random: Random): Stroke[] {
  const line = (points: Point[], width: number): Stroke => ({
    control: points.map((p) => jitter(random, p, 0.07)) as Stroke['control'],
    width: width * uniform(random, 0.8, 1.25), depth: uniform(random, 0.45, 0.7),
  });
  return [
    line([[1.02, 0.22], [0.75, 0.28], [0.5, 0.12], [0.22, 0.05]], 0.016), // heart line
    line([[-0.02, 0.36], [0.3, 0.38], [0.55, 0.5], [0.88, 0.55]], 0.015), // head line
    line([[0.02, 0.4], [0.32, 0.55], [0.3, 0.85], [0.4, 1.05]], 0.017), // life line
  ];
}

function randomStroke(random: Random, length: number, width: number, depth: number, vertical: boolean): Stroke {
  const start: Point = [uniform(random, 0, 1), uniform(random, 0, 1)];
  const angle = vertical ? Math.PI / 2 + uniform(random, -0.5, 0.5) : uniform(random, 0, Math.PI);
  const bend = uniform(random, -0.35, 0.35);
  const at = (t: number, offset: number): Point => [
    start[0] + Math.cos(angle + offset) * length * t, start[1] + Math.sin(angle + offset) * length * t];
  return { control: [start, at(0.33, bend), at(0.66, -bend), at(1, bend * 0.3)], width, depth };
}

function veinNetwork(random: Random): Stroke[] {
  const veins: Stroke[] = [];
  const trunks = 3 + Math.floor(random() * 3);
  for (let i = 0; i < trunks; i += 1) {
    const x0 = uniform(random, 0.1, 0.9);
    const x1 = x0 + uniform(random, -0.35, 0.35);
    const control: Stroke['control'] = [[x0, 1.1], [x0 + uniform(random, -0.25, 0.25), 0.7], [x1 + uniform(random, -0.25, 0.25), 0.35], [x1, -0.05]];
    veins.push({ control, width: uniform(random, 0.022, 0.035), depth: uniform(random, 0.6, 0.9) });
    const branches = 1 + Math.floor(random() * 3);
    for (let b = 0; b < branches; b += 1) {
      const t = uniform(random, 0.2, 0.8);
      const origin = bezier(control, t);
      const angle = uniform(random, 0, 2 * Math.PI);
      const length = uniform(random, 0.2, 0.45);
      const end: Point = [origin[0] + Math.cos(angle) * length, origin[1] + Math.sin(angle) * length];
      veins.push({ control: [origin, jitter(random, lerp(origin, end, 0.33), 0.08), jitter(random, lerp(origin, end, 0.66), 0.08), end], width: uniform(random, 0.015, 0.025), depth: uniform(random, 0.5, 0.8) });
    }
  }
  return veins;
}

const lerp = (a: Point, b: Point, t: number): Point => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];

function bezier(c: Stroke['control'], t: number): Point {
  const s = 1 - t;
  const w = [s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t] as const;
  return [w[0] * c[0][0] + w[1] * c[1][0] + w[2] * c[2][0] + w[3] * c[3][0], w[0] * c[0][1] + w[1] * c[1][1] + w[2] * c[2][1] + w[3] * c[3][1]];
}

/** One synthetic identity, fully determined by (seed, index). */
export function makeIdentity(seed: number, index: number): Identity {
  const random = seeded(mix(seed, index, 0x1d));
  const fingerSpec: [number, number, number, number][] = [[-0.375, -18, 0.8, 0.095], [-0.125, -5, 0.9, 0.1], [0.125, 7, 0.85, 0.095], [0.375, 20, 0.65, 0.08]];
  const fingers = fingerSpec.map(([baseX, angle, length, radius]) => ({
    baseX: baseX + uniform(random, -0.02, 0.02), angle, length: length * uniform(random, 0.9, 1.1), radius: radius * uniform(random, 0.9, 1.1) }));
  const creaseCount = 22 + Math.floor(random() * 18);
  const creases: Stroke[] = [];
  for (let i = 0; i < creaseCount; i += 1) creases.push(randomStroke(random, uniform(random, 0.08, 0.3), uniform(random, 0.006, 0.011), uniform(random, 0.25, 0.5), random() < 0.3));
  for (let i = 0; i < 120; i += 1) creases.push(randomStroke(random, uniform(random, 0.02, 0.05), 0.004, uniform(random, 0.12, 0.22), false));
  return {
    fingers, thumb: { baseX: -0.45, angle: -58 + uniform(random, -6, 6), length: 0.6 * uniform(random, 0.9, 1.1), radius: 0.13 },
    lines: principalLines(random), creases, veins: veinNetwork(random), skin: uniform(random, 0.85, 1.1), palmAspect: uniform(random, 1.0, 1.2),
  };
}

// exp(-d^2) sampled on d^2 in [0, 4): strokes fade to 2% at twice their width.
const FALLOFF = Float32Array.from({ length: 256 }, (_, i) => Math.exp(-i / 64));

export function stampStroke(raster: Float32Array, stroke: Stroke, depth: number, tEnd: number): void {
  const scale = texture_pixels / (1 + 2 * texture_margin);
  const width = Math.max(0.6, stroke.width * scale);
  const reach = Math.ceil(width * 2);
  const c = stroke.control;
  const polygon = Math.sqrt((c[1][0] - c[0][0]) ** 2 + (c[1][1] - c[0][1]) ** 2) + Math.sqrt((c[2][0] - c[1][0]) ** 2 + (c[2][1] - c[1][1]) ** 2)
    + Math.sqrt((c[3][0] - c[2][0]) ** 2 + (c[3][1] - c[2][1]) ** 2);
  const steps = Math.max(2, Math.ceil(polygon * scale * tEnd * 1.5));
  for (let s = 0; s <= steps; s += 1) {
    const [pu, pv] = bezier(stroke.control, (s / steps) * tEnd);
    const cx = (pu + texture_margin) * scale;
    const cy = (pv + texture_margin) * scale;
    for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(texture_pixels - 1, Math.ceil(cy + reach)); y += 1) {
      for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(texture_pixels - 1, Math.ceil(cx + reach)); x += 1) {
        const d2 = ((x - cx) ** 2 + (y - cy) ** 2) / (width * width);
        if (d2 >= 4) continue;
        const value = depth * (FALLOFF[Math.floor(d2 * 64)] ?? 0);
        const i = y * texture_pixels + x;
        if (value > (raster[i] ?? 0)) raster[i] = value;
      }
    }
  }
}

export interface CaptureParams {
  rotation_rad: number; shiftX: number; shiftY: number; scale: number; stretch: number; spread_deg: number[];
  lightAngle: number; lightSlope: number; blur: number; noise: number; lineGain: number; dropout: number;
}

export function captureParams(random: Random): CaptureParams {
  return {
    rotation_rad: (uniform(random, -20, 20) * Math.PI) / 180,
    shiftX: uniform(random, -0.15, 0.15), shiftY: uniform(random, -0.15, 0.15),
    scale: uniform(random, 0.9, 1.1), stretch: uniform(random, -0.04, 0.04),
    spread_deg: [0, 1, 2, 3, 4].map(() => uniform(random, -5, 5)),
    lightAngle: uniform(random, 0, 2 * Math.PI), lightSlope: uniform(random, 0, 0.35),
    blur: Math.floor(random() * 3), noise: uniform(random, 2, 6), lineGain: uniform(random, 0.7, 1.15), dropout: uniform(random, 0.1, 0.25),
  };
}

export { bezier, texture_pixels, texture_margin };
