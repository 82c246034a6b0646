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
  for (let i = 0; i < data.length; i += 1) data[i] = image.data[i] ?? 0;
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

/** Resamples `source` into a `width` x `height` float image through `map` (output -> source). */
export function warpAffine(source: GrayImage | FloatImage, width: number, height: number, map: Affine, outside = 0): FloatImage {
  const out = new Float32Array(width * height);
  for (let v = 0; v < height; v += 1) {
    for (let u = 0; u < width; u += 1) {
      out[v * width + u] = sample(source, map.a * u + map.b * v + map.c, map.d * u + map.e * v + map.f, outside);
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

/** Separable box blur of radius `radius` (pixels), edges clamped. */
export function boxBlur(image: FloatImage, radius: number): FloatImage {
  if (radius <= 0) return image;
  const { width, height } = image;
  const tmp = new Float32Array(width * height);
  const out = new Float32Array(width * height);
  const norm = 1 / (2 * radius + 1);
  for (let y = 0; y < height; y += 1) blurLine(image.data, tmp, y * width, 1, width, radius, norm);
  for (let x = 0; x < width; x += 1) blurLine(tmp, out, x, width, height, radius, norm);
  return { width, height, data: out };
}

function blurLine(src: Float32Array, dst: Float32Array, start: number, step: number, count: number, radius: number, norm: number): void {
  const at = (i: number): number => src[start + Math.min(count - 1, Math.max(0, i)) * step] ?? 0;
  let sum = 0;
  for (let i = -radius; i <= radius; i += 1) sum += at(i);
  for (let i = 0; i < count; i += 1) {
    dst[start + i * step] = sum * norm;
    sum += at(i + radius + 1) - at(i - radius);
  }
}

/** Down-samples by an integer factor, averaging each block. */
export function downsample(image: GrayImage, factor: number): GrayImage {
  assert(Number.isInteger(factor) && factor >= 1, 'factor must be a positive integer');
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const out = createGray(width, height);
  const area = factor * factor;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let j = 0; j < factor; j += 1) {
        const row = (y * factor + j) * image.width + x * factor;
        for (let i = 0; i < factor; i += 1) sum += image.data[row + i] ?? 0;
      }
      out.data[y * width + x] = Math.round(sum / area);
    }
  }
  return out;
}

/** Otsu's threshold over an 8-bit histogram (maximises between-class variance). */
export function otsuThreshold(image: GrayImage): number {
  const histogram = new Float64Array(256);
  for (const value of image.data) histogram[value] = (histogram[value] ?? 0) + 1;
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
