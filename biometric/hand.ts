/**
 * Finds the palm region of interest in a whole-hand capture, so rotation, translation and
 * scale of the hand do not matter (after Zhang et al., "Online palmprint identification",
 * IEEE TPAMI 2003): segment the hand (Otsu), take the palm centre as the deepest point of the
 * distance transform, cut a circle around it to find the four finger crossings, take the
 * valleys between index-middle and ring-little fingers as key points, and place a square
 * region below the line joining them, sized by their distance.
 */
import { assert } from '../core/index.js';
import { BiometricError } from './errors.js';
import { boxBlurInto, downsample, otsuThreshold, sample, type Affine, type FloatImage, type GrayImage } from './image.js';
import { roi_size_pixels } from './model.js';

export const segmentation_side_pixels_max = 224;
const circle_samples = 720;
const hand_fraction_min = 0.04;
const hand_fraction_max = 0.85;
// Region geometry relative to the key-point distance D (PolyU-style square below the valleys).
const roi_side_per_keypoint_distance = 1.2;
const roi_offset_per_keypoint_distance = 1.05;
/**
 * Where the valley line lies above the ROI centre, in ROI sides (0.875): the ROI hangs from it,
 * so an along-palm scale error (hand tilt foreshortens the palm; the valley distance, an
 * across-palm measure, cannot see it) moves ROI content in proportion to its distance from
 * this line. The matcher's along-scale alternates are anchored here (`score.ts`).
 */
export const roi_valley_line_above_centre = roi_offset_per_keypoint_distance / roi_side_per_keypoint_distance;
const valley_spacing_ratio_min = 0.6;
const valley_bend_max = 1.12;
// Following a narrowed finger gap at full resolution (`followGap`).
const gap_step_pixels = 0.5;
const gap_play_across_pixels = 1;
const gap_bend_per_step_pixels = 0.25;
// The rays' error measured up to 0.08 palm widths (about 0.16 palm radii); a quarter radius bounds the walk.
const gap_walk_per_palm_radius_max = 0.25;
// A walk shorter than this many mask pixels stays within the mask's resolution: its blurred edge may sit
// one blur radius (1 mask pixel) plus half a down-sampled pixel away from the full-size edge.
const gap_walk_min_mask_pixels = 1.5;
// Where the gap's axis is measured: 2..16 px outside the valley, the dark run at most 12 px from the line.
const gap_axis_first_pixels = 2;
const gap_axis_last_pixels = 16;
const gap_axis_step_pixels = 2;
const gap_axis_across_pixels = 12;

export interface Point { x: number; y: number }
export interface HandGeometry { center: Point; palmRadius: number; valleys: [Point, Point, Point]; roi: Affine; threshold: number }

/**
 * The segmentation at mask resolution. `label` covers the mask padded by one pixel on every
 * side ((width + 2) x (height + 2), row-major, border 0): the hand is where `label === hand`.
 * Scratch planes (see `segmentScratch`): valid until the next segmentation on this thread.
 */
interface Mask { width: number; height: number; label: Int32Array; hand: number; box: Box; smooth: FloatImage; threshold: number }
/** Rows top..bottom and columns left..right (inclusive, padded coordinates) that hold a component. */
export interface Box { top: number; bottom: number; left: number; right: number }

// Planes reused between captures (locateHand is synchronous and its mask never leaves it): fresh
// ones (about 1 MB per capture at 224x224) cost allocation, zeroing and collection each time.
let segmentScratch = { gray: new Float32Array(0), smooth: new Float32Array(0), foreground: new Uint8Array(0), label: new Int32Array(0), queue: new Int32Array(0), queueX: new Int32Array(0), distance: new Int32Array(0) };

function scratchFor(width: number, height: number): typeof segmentScratch {
  const pixels = width * height;
  const padded = (width + 2) * (height + 2);
  if (segmentScratch.gray.length < pixels || segmentScratch.label.length < padded) {
    segmentScratch = {
      gray: new Float32Array(pixels), smooth: new Float32Array(pixels), foreground: new Uint8Array(padded),
      label: new Int32Array(padded), queue: new Int32Array(pixels), queueX: new Int32Array(pixels), distance: new Int32Array(padded),
    };
  }
  return segmentScratch;
}

function segment(image: GrayImage): { mask: Mask; factor: number } {
  const factor = Math.max(1, Math.ceil(Math.max(image.width, image.height) / segmentation_side_pixels_max));
  const small = downsample(image, factor);
  const { width, height } = small;
  const pixels = width * height;
  const scratch = scratchFor(width, height);
  // = boxBlur(toFloat(small), 1), into scratch planes.
  const gray = scratch.gray.subarray(0, pixels);
  gray.set(small.data);
  const level = boxBlurInto(gray, width, height, 1, scratch.smooth.subarray(0, pixels));
  const threshold = otsuThreshold(small);
  const foreground = scratch.foreground;
  const w = width + 2;
  clearBorder(foreground, width, height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0, i = y * width, o = (y + 1) * w + 1; x < width; x += 1, i += 1, o += 1) foreground[o] = level[i]! > threshold ? 1 : 0;
  }
  const { label, hand, count, box } = largestComponent(width, height, foreground, scratch);
  const fraction = count / pixels;
  if (fraction < hand_fraction_min || fraction > hand_fraction_max) throw new BiometricError('hand_not_found', `hand covers ${(fraction * 100).toFixed(1)}% of the frame`);
  return { mask: { width, height, label, hand, box, smooth: { width, height, data: level }, threshold }, factor };
}

/** Zeroes the one-pixel border of a (width + 2) x (height + 2) plane. */
function clearBorder(plane: Uint8Array | Int32Array, width: number, height: number): void {
  const w = width + 2;
  plane.fill(0, 0, w);
  plane.fill(0, (height + 1) * w, (height + 2) * w);
  for (let y = 1; y <= height; y += 1) { plane[y * w] = 0; plane[y * w + w - 1] = 0; }
}

/**
 * Labels the 4-connected components of `foreground` ((width + 2) x (height + 2), border 0, values
 * 0/1) breadth-first and returns the largest (the first found, in raster order, among equals)
 * with its bounding box. The zero border stands in for the frame checks, so a neighbour visit
 * needs no column test; the queue carries each pixel's column beside it for the box.
 */
export function largestComponent(width: number, height: number, foreground: Uint8Array, scratch: { label: Int32Array; queue: Int32Array; queueX: Int32Array } = scratchFor(width, height)): { label: Int32Array; hand: number; count: number; box: Box } {
  const w = width + 2;
  const padded = w * (height + 2);
  assert(foreground.length >= padded && scratch.label.length >= padded && scratch.queue.length >= width * height && scratch.queueX.length >= width * height, 'component planes of the padded size');
  const { label, queue, queueX } = scratch;
  label.fill(0, 0, padded);
  let best = 0;
  let bestSize = 0;
  // No component: an empty box.
  let box: Box = { top: 1, bottom: 0, left: 1, right: 0 };
  let next = 1;
  for (let y = 1; y <= height; y += 1) {
    for (let start = y * w + 1, end = y * w + width + 1; start < end; start += 1) {
      if (foreground[start] === 0 || label[start] !== 0) continue;
      let head = 0;
      let tail = 1;
      queue[0] = start;
      const startX = start - y * w;
      queueX[0] = startX;
      label[start] = next;
      // The first pixel in raster order is on the component's top row.
      let left = startX;
      let right = startX;
      let last = start;
      while (head < tail) {
        const p = queue[head]!;
        const x = queueX[head]!;
        head += 1;
        if (x < left) left = x;
        else if (x > right) right = x;
        if (p > last) last = p;
        // Inline neighbour visits: this loop runs once per hand pixel.
        if (foreground[p - 1] === 1 && label[p - 1] === 0) { label[p - 1] = next; queue[tail] = p - 1; queueX[tail] = x - 1; tail += 1; }
        if (foreground[p + 1] === 1 && label[p + 1] === 0) { label[p + 1] = next; queue[tail] = p + 1; queueX[tail] = x + 1; tail += 1; }
        if (foreground[p - w] === 1 && label[p - w] === 0) { label[p - w] = next; queue[tail] = p - w; queueX[tail] = x; tail += 1; }
        if (foreground[p + w] === 1 && label[p + w] === 0) { label[p + w] = next; queue[tail] = p + w; queueX[tail] = x; tail += 1; }
      }
      if (tail > bestSize) { bestSize = tail; best = next; box = { top: y, bottom: Math.floor(last / w), left, right }; }
      next += 1;
    }
  }
  return { label, hand: best, count: bestSize, box };
}

/**
 * Chamfer (3-4) distance transform of the pixels where `label === hand` (padded layout and
 * bounding box as `largestComponent` returns them); returns the deepest inside point and its
 * depth in pixels (the last such point met from the bottom right, as a whole-frame scan meets it).
 */
export function palmCenter(width: number, height: number, label: Int32Array, hand: number, box: Box, distance: Int32Array = scratchFor(width, height).distance): { center: Point; radius: number } {
  const w = width + 2;
  const { top, bottom, left, right } = box;
  assert(label.length >= w * (height + 2) && distance.length >= w * (height + 2), 'distance planes of the padded size');
  assert(bottom < top || (top >= 1 && bottom <= height && left >= 1 && right <= width && left <= right), 'component box inside the frame');
  const d = distance;
  // Outside the box every distance is 0; only the ring around it is ever read. So the passes run
  // over the box alone (a hand is about a third of the frame's box) and need no bounds checks.
  // Integer distances: exact.
  if (bottom >= top) {
    d.fill(0, (top - 1) * w + left - 1, (top - 1) * w + right + 2);
    d.fill(0, (bottom + 1) * w + left - 1, (bottom + 1) * w + right + 2);
    for (let y = top; y <= bottom; y += 1) { d[y * w + left - 1] = 0; d[y * w + right + 1] = 0; }
  }
  // Forward pass; it also sets each pixel's start value (inside: infinity, outside: 0) as it reaches it.
  for (let y = top; y <= bottom; y += 1) for (let i = y * w + left, end = y * w + right + 1; i < end; i += 1) {
    d[i] = label[i] === hand ? min5(chamfer_infinity, d[i - 1]! + 3, d[i - w]! + 3, d[i - w - 1]! + 4, d[i - w + 1]! + 4) : 0;
  }
  let bestI = 0;
  let deepest = 0;
  for (let y = bottom; y >= top; y -= 1) for (let x = right; x >= left; x -= 1) {
    const i = y * w + x;
    if (d[i]! > 0) d[i] = min5(d[i]!, d[i + 1]! + 3, d[i + w]! + 3, d[i + w + 1]! + 4, d[i + w - 1]! + 4);
    if (d[i]! > deepest) { deepest = d[i]!; bestI = i; }
  }
  return { center: { x: (bestI % w) - 1, y: Math.floor(bestI / w) - 1 }, radius: deepest / 3 };
}

const chamfer_infinity = 1e9;
function min5(a: number, b: number, c: number, d: number, e: number): number {
  let m = a < b ? a : b;
  if (c < m) m = c;
  if (d < m) m = d;
  return e < m ? e : m;
}

interface Run { start: number; end: number }

function runsOnCircle(mask: Mask, center: Point, radius: number): Run[] {
  const on: number[] = [];
  for (let k = 0; k < circle_samples; k += 1) {
    const angle = (2 * Math.PI * k) / circle_samples;
    on.push(sample(mask.smooth, center.x + radius * Math.cos(angle), center.y + radius * Math.sin(angle), 0) > mask.threshold ? 1 : 0);
  }
  const firstOff = on.indexOf(0);
  if (firstOff < 0) return [];
  const runs: Run[] = [];
  let start = -1;
  for (let j = 1; j <= circle_samples; j += 1) {
    const k = firstOff + j;
    const value = on[k % circle_samples] ?? 0;
    if (value && start < 0) start = k;
    if (!value && start >= 0) { runs.push({ start, end: k - 1 }); start = -1; }
  }
  return runs;
}

const runWidth = (r: Run): number => r.end - r.start + 1;

/** Four consecutive narrow runs with the smallest angular span: the fingers (thumb excluded). */
function pickFingers(runs: Run[]): { fingers: Run[]; thumbBefore: boolean } | undefined {
  const widths = runs.map(runWidth).sort((a, b) => a - b);
  const median = widths[Math.floor(widths.length / 2)] ?? 0;
  const narrow = runs.filter((r) => runWidth(r) <= Math.max(2.2 * median, 4) && runWidth(r) < circle_samples / 8);
  if (narrow.length < 4) return undefined;
  let best: { fingers: Run[]; span: number; index: number } | undefined;
  for (let i = 0; i < narrow.length; i += 1) {
    const group = [0, 1, 2, 3].map((j) => narrow[(i + j) % narrow.length]!);
    const span = (group[3]!.end - group[0]!.start + 2 * circle_samples) % circle_samples;
    if (!best || span < best.span) best = { fingers: group, span, index: i };
  }
  if (!best || best.span > circle_samples * 0.45) return undefined;
  // The thumb is the remaining narrow run nearest to one end of the finger group.
  const first = best.fingers[0]!;
  const last = best.fingers[3]!;
  let gapBefore = Infinity;
  let gapAfter = Infinity;
  for (const run of narrow) {
    if (best.fingers.includes(run)) continue;
    gapBefore = Math.min(gapBefore, (first.start - run.end + 2 * circle_samples) % circle_samples);
    gapAfter = Math.min(gapAfter, (run.start - last.end + 2 * circle_samples) % circle_samples);
  }
  const thumbBefore = gapBefore === gapAfter ? runWidth(first) >= runWidth(last) : gapBefore < gapAfter;
  return { fingers: best.fingers, thumbBefore };
}

/**
 * The bottom of the gap between two finger runs: rays marched in from the circle stop at the
 * hand edge (sub-pixel crossing); the valley is the mean of the hits within half a pixel of the
 * deepest one, which stays stable when the bottom of the gap is flat.
 */
function valleyBetween(mask: Mask, center: Point, radius: number, a: Run, b: Run): Point {
  const hits: { rho: number; x: number; y: number }[] = [];
  const gap = (b.start - a.end + 2 * circle_samples) % circle_samples;
  for (let s = 0; s <= 4 * gap; s += 1) {
    const angle = (2 * Math.PI * (a.end + s / 4)) / circle_samples;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    let previous = sample(mask.smooth, center.x + radius * cos, center.y + radius * sin, 0);
    for (let rho = radius - 0.25; rho > 0; rho -= 0.25) {
      const value = sample(mask.smooth, center.x + rho * cos, center.y + rho * sin, 0);
      if (value > mask.threshold) {
        const crossing = rho + 0.25 * ((value - mask.threshold) / Math.max(1e-6, value - previous));
        hits.push({ rho: crossing, x: center.x + crossing * cos, y: center.y + crossing * sin });
        break;
      }
      previous = value;
    }
  }
  if (hits.length === 0) return center;
  const deepest = Math.min(...hits.map((h) => h.rho));
  const bottom = hits.filter((h) => h.rho <= deepest + 0.5);
  return { x: bottom.reduce((s, h) => s + h.x, 0) / bottom.length, y: bottom.reduce((s, h) => s + h.y, 0) / bottom.length };
}

export function findValleys(mask: Mask, center: Point, palmRadius: number): [Point, Point, Point] {
  for (const factor of [1.6, 1.45, 1.8, 2.0, 1.3]) {
    const radius = palmRadius * factor;
    const picked = pickFingers(runsOnCircle(mask, center, radius));
    if (!picked) continue;
    const ordered = picked.thumbBefore ? picked.fingers : [...picked.fingers].reverse();
    const valleys = [0, 1, 2].map((i) => {
      const [a, b] = picked.thumbBefore ? [ordered[i]!, ordered[i + 1]!] : [ordered[i + 1]!, ordered[i]!];
      return valleyBetween(mask, center, radius, a, b);
    }) as [Point, Point, Point];
    if (plausibleValleys(valleys)) return valleys;
  }
  throw new BiometricError('hand_not_found', 'could not find four spread fingers');
}

/**
 * Anatomy check: the three valleys are roughly evenly spaced and roughly on a line. Touching
 * fingers merge two runs and shift a valley onto the thumb side, which this catches.
 */
function plausibleValleys(valleys: [Point, Point, Point]): boolean {
  const [a, b, c] = valleys;
  const ab = Math.hypot(b.x - a.x, b.y - a.y);
  const bc = Math.hypot(c.x - b.x, c.y - b.y);
  const ac = Math.hypot(c.x - a.x, c.y - a.y);
  if (ab === 0 || bc === 0) return false;
  const ratio = ab / bc;
  return ratio > valley_spacing_ratio_min && ratio < 1 / valley_spacing_ratio_min && (ab + bc) / ac < valley_bend_max;
}

/** Hand geometry and the ROI map (ROI pixel -> capture pixel) for a whole-hand capture. */
export function locateHand(image: GrayImage): HandGeometry {
  const { mask, factor } = segment(image);
  const { center, radius } = palmCenter(mask.width, mask.height, mask.label, mask.hand, mask.box);
  if (radius < 4) throw new BiometricError('hand_not_found', 'no palm-sized region in the frame');
  const valleysSmall = findValleys(mask, center, radius);
  // Down-sampled pixel centres sit at factor*(x + 0.5) - 0.5 in the capture.
  const up = (p: Point): Point => ({ x: factor * (p.x + 0.5) - 0.5, y: factor * (p.y + 0.5) - 0.5 });
  const palmCentre = up(center);
  // The rays ran on the half-size mask; a gap that closes there is followed at full resolution.
  const valleys = valleysSmall.map((v) => followGap(image, up(v), palmCentre, mask.threshold, radius * factor, factor)) as [Point, Point, Point];
  return { center: palmCentre, palmRadius: radius * factor, valleys, roi: roiMap(valleys, palmCentre), threshold: mask.threshold };
}

/** The valley line's direction: principal axis of the three valleys (less noisy than two points). */
function valleyAxis(valleys: [Point, Point, Point]): { ex: number; ey: number } {
  const mx = (valleys[0].x + valleys[1].x + valleys[2].x) / 3;
  const my = (valleys[0].y + valleys[1].y + valleys[2].y) / 3;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const v of valleys) { sxx += (v.x - mx) ** 2; sxy += (v.x - mx) * (v.y - my); syy += (v.y - my) ** 2; }
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  let ex = Math.cos(angle);
  let ey = Math.sin(angle);
  // Point from the first valley (thumb side) toward the last.
  if ((valleys[2].x - valleys[0].x) * ex + (valleys[2].y - valleys[0].y) * ey < 0) { ex = -ex; ey = -ey; }
  return { ex, ey };
}

function roiMap(valleys: [Point, Point, Point], palmCentre: Point): Affine {
  const [first, , last] = valleys;
  const distance = Math.hypot(last.x - first.x, last.y - first.y);
  assert(distance > 0, 'key points are distinct');
  const { ex, ey } = valleyAxis(valleys);
  const mid = { x: (first.x + last.x) / 2, y: (first.y + last.y) / 2 };
  // Normal pointing toward the palm centre.
  const sign = (palmCentre.x - mid.x) * -ey + (palmCentre.y - mid.y) * ex >= 0 ? 1 : -1;
  const nx = -ey * sign;
  const ny = ex * sign;
  const side = distance * roi_side_per_keypoint_distance;
  const cx = mid.x + nx * distance * roi_offset_per_keypoint_distance;
  const cy = mid.y + ny * distance * roi_offset_per_keypoint_distance;
  const step = side / roi_size_pixels;
  // Keep a right-handed frame when the axis was mirrored, so the ROI is never flipped.
  const flip = sign;
  return {
    a: ex * step * flip, b: nx * step, c: cx - (ex * flip + nx) * step * (roi_size_pixels / 2),
    d: ey * step * flip, e: ny * step, f: cy - (ey * flip + ny) * step * (roi_size_pixels / 2),
  };
}

/**
 * Fingers held close: the gap between them narrows below the half-size mask's resolution
 * (down-sampling and the box blur close it), so the rays stop where the gap is still a few
 * pixels wide, up to a tenth of a palm width above its bottom. At full resolution the gap is
 * still open (background-dark). Two fingers bound a wedge, and its bottom lies on the wedge's
 * axis, so: measure the axis on the open part of the gap just outside the valley, then walk
 * inward along it (a pixel of play across it) while the gap stays darker than the
 * hand/background threshold. A dark crease crossing the gap's bottom cannot lead the walk
 * sideways. Only a walk longer than the mask's resolution moves the valley.
 */
function followGap(image: GrayImage, start: Point, palmCentre: Point, threshold: number, palmRadius: number, maskFactor: number): Point {
  const axis = gapAxis(image, start, palmCentre, threshold);
  if (!axis) return start;
  const { dx, dy } = axis;
  const walkMax = gap_walk_per_palm_radius_max * palmRadius;
  let end = start;
  // The walk's line may bend a little toward the darkest point (the axis is measured over a few
  // pixels only), at most gap_bend_per_step_pixels across per step: a crease crossing the gap at a
  // steeper angle cannot pull it along.
  let across = 0;
  for (let walked = gap_step_pixels; walked <= walkMax; walked += gap_step_pixels) {
    let best: { x: number; y: number; o: number } | undefined;
    let darkest = threshold;
    for (let o = across - gap_play_across_pixels; o <= across + gap_play_across_pixels; o += gap_step_pixels / 2) {
      const x = start.x + dx * walked - dy * o;
      const y = start.y + dy * walked + dx * o;
      const value = sample(image, x, y, 255);
      if (value < darkest) { darkest = value; best = { x, y, o }; }
    }
    if (!best) break;
    end = { x: best.x, y: best.y };
    across += Math.max(-gap_bend_per_step_pixels, Math.min(gap_bend_per_step_pixels, best.o - across));
  }
  // A gap the mask resolved ends within about a mask pixel of the rays' valley (the full-size
  // edge sits a little deeper than the blurred one: 1.1 px median on a development seed).
  // Moving every valley by that would shrink every ROI by ~3 % (the gap axes converge), which
  // changes the region's definition for nothing; only a gap the mask closed is taken.
  return Math.hypot(end.x - start.x, end.y - start.y) > gap_walk_min_mask_pixels * maskFactor ? end : start;
}

/**
 * The gap's axis (unit vector pointing into the palm) from the midpoints of its dark run
 * across, at a few distances outside the valley; undefined when the gap is not open there.
 */
function gapAxis(image: GrayImage, start: Point, palmCentre: Point, threshold: number): { dx: number; dy: number } | undefined {
  const length = Math.hypot(palmCentre.x - start.x, palmCentre.y - start.y);
  if (length === 0) return undefined;
  const ux = (palmCentre.x - start.x) / length;
  const uy = (palmCentre.y - start.y) / length;
  const mids: Point[] = [];
  for (let s = gap_axis_first_pixels; s <= gap_axis_last_pixels; s += gap_axis_step_pixels) {
    const cx = start.x - ux * s;
    const cy = start.y - uy * s;
    let low = Infinity;
    let high = -Infinity;
    // The dark run across the gap that contains (or touches) the inward line.
    for (let o = 0; o <= gap_axis_across_pixels && sample(image, cx - uy * o, cy + ux * o, 255) < threshold; o += gap_step_pixels) high = o;
    for (let o = 0; o >= -gap_axis_across_pixels && sample(image, cx - uy * o, cy + ux * o, 255) < threshold; o -= gap_step_pixels) low = o;
    if (low === Infinity || high === -Infinity || high >= gap_axis_across_pixels || low <= -gap_axis_across_pixels) continue;
    const o = (low + high) / 2;
    mids.push({ x: cx - uy * o, y: cy + ux * o });
  }
  if (mids.length < 2) return undefined;
  const first = mids[mids.length - 1]!;
  const last = mids[0]!;
  const norm = Math.hypot(last.x - first.x, last.y - first.y);
  if (norm === 0) return undefined;
  return { dx: (last.x - first.x) / norm, dy: (last.y - first.y) / norm };
}
