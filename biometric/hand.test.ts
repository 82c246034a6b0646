/**
 * Goal: the finger valleys are found at the bottom of each gap even when two fingers are held
 * close, so the gap narrows to a couple of pixels near its bottom (it closes on the half-size
 * segmentation mask). The hand is drawn from geometry here (a palm, a forearm, four fingers and
 * a thumb as capsules), not by the synthetic generator: the true gap bottoms are known exactly
 * (the palm's top edge).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestComponent, locateHand, palmCenter } from './hand.js';
import type { GrayImage } from './image.js';

const side = 448;
const palmTop = 230;
interface Capsule { ax: number; ay: number; bx: number; by: number; r: number }

function insideCapsule(x: number, y: number, c: Capsule): boolean {
  const dx = c.bx - c.ax;
  const dy = c.by - c.ay;
  const t = Math.max(0, Math.min(1, ((x - c.ax) * dx + (y - c.ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - c.ax - t * dx, y - c.ay - t * dy) <= c.r;
}

/** Fingers' tip x positions; the bases sit 46 px apart with radius 22 (2 px apart between fingers 1 and 2). */
function drawHand(tips: [number, number, number, number]): GrayImage {
  const bases = [126, 172, 240, 304];
  const fingers: Capsule[] = bases.map((x, i) => ({ ax: x, ay: palmTop + 10, bx: tips[i]!, by: 90, r: 22 }));
  const thumb: Capsule = { ax: 110, ay: 330, bx: 40, by: 250, r: 26 };
  const data = new Uint8Array(side * side);
  for (let y = 0; y < side; y += 1) for (let x = 0; x < side; x += 1) {
    // Sub-pixel coverage (4 x 4 samples), as a sensor integrates light over a pixel.
    let covered = 0;
    for (let sy = 0; sy < 4; sy += 1) for (let sx = 0; sx < 4; sx += 1) {
      const px = x + (sx + 0.5) / 4 - 0.5;
      const py = y + (sy + 0.5) / 4 - 0.5;
      const palm = px >= 100 && px <= 330 && py >= palmTop && py <= 400;
      const forearm = px >= 130 && px <= 300 && py > 400;
      if (palm || forearm || insideCapsule(px, py, thumb) || fingers.some((f) => insideCapsule(px, py, f))) covered += 1;
    }
    data[y * side + x] = Math.round(40 + (covered / 16) * 140 + ((x * 7 + y * 13) % 5));
  }
  return { width: side, height: side, data };
}

describe('finger valleys', () => {
  it('finds the bottom of a gap that narrows to two pixels as well as that of open gaps', () => {
    // Fingers 0 and 1 lean apart above a 2 px gap at the base; 2 and 3 are spread normally.
    const hand = locateHand(drawHand([96, 196, 262, 340]));
    // Without following the gap at full resolution, the first valley sat 15 px above the bottom.
    for (const valley of hand.valleys) expect(Math.abs(valley.y - palmTop)).toBeLessThan(1.5);
    expect(Math.abs(hand.valleys[0].x - 150)).toBeLessThan(2);
  });

  it('finds the same bottoms when the narrow gap opens faster above it', () => {
    const spread = locateHand(drawHand([60, 180, 262, 340]));
    for (const valley of spread.valleys) expect(Math.abs(valley.y - palmTop)).toBeLessThan(1.5);
  });
});

/** The original labelling (unpadded, column found by modulo): the reference the padded one must equal. */
function referenceLargestComponent(width: number, height: number, foreground: Uint8Array): { inside: Uint8Array; count: number } {
  const size = width * height;
  const label = new Int32Array(size);
  const queue = new Int32Array(size);
  let best = 0;
  let bestSize = 0;
  let next = 1;
  for (let start = 0; start < size; start += 1) {
    if (foreground[start] === 0 || label[start] !== 0) continue;
    let head = 0;
    let tail = 1;
    queue[0] = start;
    label[start] = next;
    while (head < tail) {
      const p = queue[head]!;
      head += 1;
      const x = p % width;
      if (x > 0 && foreground[p - 1] === 1 && label[p - 1] === 0) { label[p - 1] = next; queue[tail] = p - 1; tail += 1; }
      if (x < width - 1 && foreground[p + 1] === 1 && label[p + 1] === 0) { label[p + 1] = next; queue[tail] = p + 1; tail += 1; }
      if (p >= width && foreground[p - width] === 1 && label[p - width] === 0) { label[p - width] = next; queue[tail] = p - width; tail += 1; }
      if (p + width < size && foreground[p + width] === 1 && label[p + width] === 0) { label[p + width] = next; queue[tail] = p + width; tail += 1; }
    }
    if (tail > bestSize) { bestSize = tail; best = next; }
    next += 1;
  }
  const inside = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) inside[i] = label[i] === best ? 1 : 0;
  return { inside, count: bestSize };
}

/** The original chamfer transform (separate start-value pass, fresh plane). */
function referencePalmCenter(width: number, height: number, inside: Uint8Array): { center: { x: number; y: number }; radius: number } {
  const min5 = (a: number, b: number, c: number, d: number, e: number): number => Math.min(a, b, c, d, e);
  const w = width + 2;
  const d = new Int32Array(w * (height + 2));
  for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) if (inside[y * width + x]) d[(y + 1) * w + x + 1] = 1e9;
  for (let y = 1; y <= height; y += 1) for (let x = 1; x <= width; x += 1) {
    const i = y * w + x;
    if (d[i]! > 0) d[i] = min5(d[i]!, d[i - 1]! + 3, d[i - w]! + 3, d[i - w - 1]! + 4, d[i - w + 1]! + 4);
  }
  let bestI = 0;
  for (let y = height; y >= 1; y -= 1) for (let x = width; x >= 1; x -= 1) {
    const i = y * w + x;
    if (d[i]! > 0) d[i] = min5(d[i]!, d[i + 1]! + 3, d[i + w]! + 3, d[i + w + 1]! + 4, d[i + w - 1]! + 4);
    if (d[i]! > d[bestI]!) bestI = i;
  }
  return { center: { x: (bestI % w) - 1, y: Math.floor(bestI / w) - 1 }, radius: d[bestI]! / 3 };
}

/** Random blobs (a few discs on noise) so there are several components of different sizes. */
const binaryImage = fc.record({ width: fc.integer({ min: 1, max: 60 }), height: fc.integer({ min: 1, max: 60 }), seed: fc.integer(), density: fc.double({ min: 0, max: 0.6, noNaN: true }) })
  .map(({ width, height, seed, density }) => {
    const bits = new Uint8Array(width * height);
    let state = seed >>> 0;
    const next = (): number => { state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0; return state / 2 ** 32; };
    for (let i = 0; i < bits.length; i += 1) bits[i] = next() < density ? 1 : 0;
    for (let disc = 0; disc < 3; disc += 1) {
      const cx = next() * width;
      const cy = next() * height;
      const r = next() * Math.min(width, height) * 0.4;
      for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) bits[y * width + x] = 1;
    }
    return { width, height, bits };
  });

function padded(width: number, height: number, bits: Uint8Array): Uint8Array {
  const out = new Uint8Array((width + 2) * (height + 2));
  for (let y = 0; y < height; y += 1) out.set(bits.subarray(y * width, (y + 1) * width), (y + 1) * (width + 2) + 1);
  return out;
}

describe('hand segmentation planes', () => {
  it('the padded labelling keeps the same largest component, and the distance transform the same centre and depth', () => {
    fc.assert(fc.property(binaryImage, ({ width, height, bits }) => {
      const reference = referenceLargestComponent(width, height, bits);
      const { label, hand, count, box } = largestComponent(width, height, padded(width, height, bits));
      expect(count).toBe(reference.count);
      const inside = new Uint8Array(width * height);
      for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) inside[y * width + x] = label[(y + 1) * (width + 2) + x + 1] === hand ? 1 : 0;
      if (count > 0) expect(inside).toEqual(reference.inside);
      if (count === 0) return;
      // The box is the component's: every pixel inside it, some on each of its edges.
      const rows: number[] = [];
      const columns: number[] = [];
      for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) if (inside[y * width + x]) { rows.push(y + 1); columns.push(x + 1); }
      expect(box).toEqual({ top: Math.min(...rows), bottom: Math.max(...rows), left: Math.min(...columns), right: Math.max(...columns) });
      expect(palmCenter(width, height, label, hand, box)).toEqual(referencePalmCenter(width, height, reference.inside));
    }), { numRuns: 300 });
  });
});
