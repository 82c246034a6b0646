/**
 * Small image toolkit for the engine: 8-bit gray images, float planes, bilinear affine
 * warps, box blur, down-sampling and Otsu's threshold. Everything is bounded by the image
 * size the caller already validated; nothing here allocates from outside bytes.
 */
import { assert } from '../core/index.js';

export interface GrayImage { width: number; height: number; data: Uint8Array }
export interface FloatImage { width: number; height: number; data: Float32Array }

/** Maps output pixel (u, v) to source (a*u + b*v + c, d*u + e*v + f). */
export interface Affine { a: number; b: number; c: number; d: number; e: number; f: number }

export function createGray(width: number, height: number): GrayImage {
  assert(width > 0 && height > 0, 'image dimensions must be positive');
  return { width, height, data: new Uint8Array(width * height) };
}

export function toFloat(image: GrayImage): FloatImage {
  const data = new Float32Array(image.data.length);
  data.set(image.data);
  return { width: image.width, height: image.height, data };
}

export function toGray(image: FloatImage): GrayImage {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += 1) data[i] = Math.max(0, Math.min(255, Math.round(image.data[i] ?? 0)));
  return { width: image.width, height: image.height, data };
}

/** Bilinear sample with edge clamping; `outside` is returned beyond one pixel of the frame. */
export function sample(image: { width: number; height: number; data: ArrayLike<number> }, x: number, y: number, outside = 0): number {
  const { width, height, data } = image;
  if (x < -1 || y < -1 || x > width || y > height) return outside;
  const xc = Math.min(Math.max(x, 0), width - 1.0001);
  const yc = Math.min(Math.max(y, 0), height - 1.0001);
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const fx = xc - x0;
  const fy = yc - y0;
  const i = y0 * width + x0;
  const top = (data[i] ?? 0) * (1 - fx) + (data[i + 1] ?? 0) * fx;
  const bottom = (data[i + width] ?? 0) * (1 - fx) + (data[i + width + 1] ?? 0) * fx;
  return top * (1 - fy) + bottom * fy;
}

const warp_side_pixels_max = 2 ** 31 - 1;

/**
 * Resamples `source` into a `width` x `height` float image through `map` (output -> source).
 * Same arithmetic as `sample`, inlined: this runs twice per capture (visible and NIR ROI).
 */
export function warpAffine(source: GrayImage | FloatImage, width: number, height: number, map: Affine, outside = 0): FloatImage {
  const out = new Float32Array(width * height);
  // Beyond 2^31 - 1 pixels a side (never a real image), truncation below would not be the floor.
  if (source.width < 2 || source.height < 2 || source.width > warp_side_pixels_max || source.height > warp_side_pixels_max) {
    for (let v = 0; v < height; v += 1) for (let u = 0; u < width; u += 1) out[v * width + u] = sample(source, map.a * u + map.b * v + map.c, map.d * u + map.e * v + map.f, outside);
    return { width, height, data: out };
  }
  const sw = source.width;
  const sh = source.height;
  const data = source.data;
  const xMax = sw - 1.0001;
  const yMax = sh - 1.0001;
  // The map's coefficients in locals, b*v and e*v once per row: the same products and sums as
  // `sample`'s (a*u + b*v + c, left to right), without property loads per pixel.
  const { a, b, c, d, e, f } = map;
  for (let v = 0, o = 0; v < height; v += 1) {
    const bv = b * v;
    const ev = e * v;
    // x and y are monotone in u (so is every rounded step), so when both ends of the row sample
    // inside the clamp range, every pixel does: no outside test, no clamping.
    const xFirst = a * 0 + bv + c;
    const xLast = a * (width - 1) + bv + c;
    const yFirst = d * 0 + ev + f;
    const yLast = d * (width - 1) + ev + f;
    if (Math.min(xFirst, xLast) >= 0 && Math.max(xFirst, xLast) <= xMax && Math.min(yFirst, yLast) >= 0 && Math.max(yFirst, yLast) <= yMax) {
      for (let u = 0; u < width; u += 1, o += 1) {
        const x = a * u + bv + c;
        const y = d * u + ev + f;
        const x0 = x | 0;
        const y0 = y | 0;
        const fx = x - x0;
        const fy = y - y0;
        const gx = 1 - fx;
        const i = y0 * sw + x0;
        const top = data[i]! * gx + data[i + 1]! * fx;
        const bottom = data[i + sw]! * gx + data[i + sw + 1]! * fx;
        out[o] = top * (1 - fy) + bottom * fy;
      }
      continue;
    }
    for (let u = 0; u < width; u += 1, o += 1) {
      const x = a * u + bv + c;
      const y = d * u + ev + f;
      if (x < -1 || y < -1 || x > sw || y > sh) { out[o] = outside; continue; }
      const xc = x < 0 ? 0 : x > xMax ? xMax : x;
      const yc = y < 0 ? 0 : y > yMax ? yMax : y;
      // 0 <= xc, yc < 2^31 - 1: truncation is the floor.
      const x0 = xc | 0;
      const y0 = yc | 0;
      const fx = xc - x0;
      const fy = yc - y0;
      const gx = 1 - fx;
      const i = y0 * sw + x0;
      const top = data[i]! * gx + data[i + 1]! * fx;
      const bottom = data[i + sw]! * gx + data[i + sw + 1]! * fx;
      out[o] = top * (1 - fy) + bottom * fy;
    }
  }
  return { width, height, data: out };
}

/** Fraction of the warp's output that samples outside the source frame. */
export function outsideFraction(source: { width: number; height: number }, width: number, height: number, map: Affine): number {
  let outside = 0;
  const step = 4;
  let total = 0;
  for (let v = 0; v < height; v += step) {
    for (let u = 0; u < width; u += step) {
      const x = map.a * u + map.b * v + map.c;
      const y = map.d * u + map.e * v + map.f;
      if (x < 0 || y < 0 || x > source.width - 1 || y > source.height - 1) outside += 1;
      total += 1;
    }
  }
  return outside / total;
}

/**
 * Separable box blur of radius `radius` (pixels), edges clamped. Running sums in float64; the
 * vertical pass keeps one running sum per column and walks rows, so memory is read in order
 * (this runs several times per capture: segmentation, focus, contrast normalisation, PAD).
 */
export function boxBlur(image: FloatImage, radius: number): FloatImage {
  if (radius <= 0) return image;
  const { width, height } = image;
  return { width, height, data: boxBlurInto(image.data, width, height, radius, new Float32Array(width * height)) };
}

/** `boxBlur` of a plane into `out` (no allocation; `out` must not be `src`). */
export function boxBlurInto(src: Float32Array, width: number, height: number, radius: number, out: Float32Array): Float32Array {
  assert(radius > 0 && src.length === width * height && out.length === width * height && out !== src, 'blur planes of the image size');
  const norm = 1 / (2 * radius + 1);
  const tmp = scratch(width * height);
  for (let y = 0; y < height; y += 1) blurRow(src, tmp, y * width, width, radius, norm);
  blurColumns(tmp, out, width, height, radius, norm);
  return out;
}

// One intermediate plane reused by every blur: allocating (and zeroing, and later collecting)
// a fresh 64 KiB plane per call cost as much as the blur itself. Safe: the blur is synchronous.
let blurScratch = new Float32Array(0);
function scratch(length: number): Float32Array {
  if (blurScratch.length < length) blurScratch = new Float32Array(length);
  return blurScratch;
}

function blurRow(src: Float32Array, dst: Float32Array, start: number, count: number, radius: number, norm: number): void {
  const last = start + count - 1;
  let sum = 0;
  for (let i = -radius; i <= radius; i += 1) sum += src[i < 0 ? start : i >= count ? last : start + i]!;
  // Interior first-class: no clamping where both ends of the window are inside the row.
  const interiorEnd = count - radius - 1;
  let i = 0;
  for (; i < radius && i < count; i += 1) {
    dst[start + i] = sum * norm;
    const add = i + radius + 1;
    sum += src[add >= count ? last : start + add]! - src[start]!;
  }
  for (; i < interiorEnd; i += 1) {
    dst[start + i] = sum * norm;
    sum += src[start + i + radius + 1]! - src[start + i - radius]!;
  }
  for (; i < count; i += 1) {
    dst[start + i] = sum * norm;
    const drop = i - radius;
    sum += src[last]! - src[drop < 0 ? start : start + drop]!;
  }
}

/**
 * The vertical pass, four columns at a time with their running sums in locals (registers, not
 * a sums array loaded and stored per pixel), the rest one at a time. Each column's sum starts
 * from 0, adds the clamped top window in order, then (added - dropped) row by row.
 */
function blurColumns(src: Float32Array, dst: Float32Array, width: number, height: number, radius: number, norm: number): void {
  const lastRow = (height - 1) * width;
  let x = 0;
  for (; x + 4 <= width; x += 4) {
    let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
    for (let i = -radius; i <= radius; i += 1) {
      const at = (i < 0 ? 0 : i >= height ? lastRow : i * width) + x;
      s0 = s0 + src[at]!; s1 = s1 + src[at + 1]!; s2 = s2 + src[at + 2]!; s3 = s3 + src[at + 3]!;
    }
    for (let y = 0; y < height; y += 1) {
      const at = y * width + x;
      const add = y + radius + 1;
      const drop = y - radius;
      const addAt = (add >= height ? lastRow : add * width) + x;
      const dropAt = (drop < 0 ? 0 : drop * width) + x;
      dst[at] = s0 * norm; dst[at + 1] = s1 * norm; dst[at + 2] = s2 * norm; dst[at + 3] = s3 * norm;
      s0 = s0 + (src[addAt]! - src[dropAt]!); s1 = s1 + (src[addAt + 1]! - src[dropAt + 1]!);
      s2 = s2 + (src[addAt + 2]! - src[dropAt + 2]!); s3 = s3 + (src[addAt + 3]! - src[dropAt + 3]!);
    }
  }
  for (; x < width; x += 1) {
    let s = 0;
    for (let i = -radius; i <= radius; i += 1) s = s + src[(i < 0 ? 0 : i >= height ? lastRow : i * width) + x]!;
    for (let y = 0; y < height; y += 1) {
      const add = y + radius + 1;
      const drop = y - radius;
      dst[y * width + x] = s * norm;
      s = s + (src[(add >= height ? lastRow : add * width) + x]! - src[(drop < 0 ? 0 : drop * width) + x]!);
    }
  }
}

/** Down-samples by an integer factor, averaging each block. */
export function downsample(image: GrayImage, factor: number): GrayImage {
  assert(Number.isInteger(factor) && factor >= 1, 'factor must be a positive integer');
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const out = createGray(width, height);
  const area = factor * factor;
  const src = image.data;
  if (factor === 2) return downsampleByTwo(image, out);
  const sums = new Uint32Array(width);
  for (let y = 0; y < height; y += 1) {
    sums.fill(0);
    for (let j = 0; j < factor; j += 1) {
      const row = (y * factor + j) * image.width;
      for (let x = 0; x < width; x += 1) {
        let sum = sums[x]!;
        for (let i = 0, p = row + x * factor; i < factor; i += 1, p += 1) sum += src[p]!;
        sums[x] = sum;
      }
    }
    for (let x = 0; x < width; x += 1) out.data[y * width + x] = Math.round(sums[x]! / area);
  }
  return out;
}

/**
 * The common case (a 448-pixel capture segmented at 224). Exact integer arithmetic, so any
 * grouping gives Math.round(sum / 4): with 4-byte-aligned rows, two words of a row pair give
 * four outputs at once (pair sums in 16-bit lanes, at most 1,022 after the rounding 2).
 */
function downsampleByTwo(image: GrayImage, out: GrayImage): GrayImage {
  const src = image.data;
  const stride = image.width;
  const { width, height, data } = out;
  const wordsUsable = LITTLE_ENDIAN && stride % 4 === 0 && src.byteOffset % 4 === 0;
  const words = wordsUsable ? new Int32Array(src.buffer, src.byteOffset, (stride * image.height) >> 2) : undefined;
  for (let y = 0; y < height; y += 1) {
    let p = 2 * y * stride;
    const o = y * width;
    let x = 0;
    if (words) {
      for (let w = p >> 2, below = (p + stride) >> 2; x + 4 <= width; x += 4, w += 2, below += 2, p += 8) {
        const left = pairSums(words[w]!) + pairSums(words[below]!) + 0x0002_0002;
        const right = pairSums(words[w + 1]!) + pairSums(words[below + 1]!) + 0x0002_0002;
        data[o + x] = left >>> 2;
        data[o + x + 1] = left >>> 18;
        data[o + x + 2] = right >>> 2;
        data[o + x + 3] = right >>> 18;
      }
    }
    for (; x < width; x += 1, p += 2) data[o + x] = (src[p]! + src[p + 1]! + src[p + stride]! + src[p + stride + 1]! + 2) >> 2; // = Math.round(sum / 4)
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Bytes b0..b3 (little-endian word) -> (b0 + b1) in bits 0-15, (b2 + b3) in bits 16-31. */
const pairSums = (word: number): number => (word & 0x00ff_00ff) + ((word >>> 8) & 0x00ff_00ff);

/** Otsu's threshold over an 8-bit histogram (maximises between-class variance). */
export function otsuThreshold(image: GrayImage): number {
  const histogram = new Float64Array(256);
  const pixels = image.data;
  for (let i = 0; i < pixels.length; i += 1) histogram[pixels[i]!]! += 1;
  const total = image.data.length;
  let sumAll = 0;
  for (let i = 0; i < 256; i += 1) sumAll += i * (histogram[i] ?? 0);
  let sumBack = 0;
  let weightBack = 0;
  let best = 0;
  let threshold = 128;
  for (let t = 0; t < 256; t += 1) {
    weightBack += histogram[t] ?? 0;
    if (weightBack === 0 || weightBack === total) continue;
    sumBack += t * (histogram[t] ?? 0);
    const meanBack = sumBack / weightBack;
    const meanFore = (sumAll - sumBack) / (total - weightBack);
    const between = weightBack * (total - weightBack) * (meanBack - meanFore) ** 2;
    if (between > best) { best = between; threshold = t; }
  }
  return threshold;
}

/** Mean and standard deviation of a plane. */
export function meanStd(data: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < data.length; i += 1) { const v = data[i] ?? 0; sum += v; sumSq += v * v; }
  const mean = sum / Math.max(1, data.length);
  return { mean, std: Math.sqrt(Math.max(0, sumSq / Math.max(1, data.length) - mean * mean)) };
}
