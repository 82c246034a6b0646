/**
 * A bounded PNG codec for grayscale captures. Decoding checks the file size, the IHDR
 * (dimensions, bit depth, colour type, interlace) and every chunk's length and CRC BEFORE any
 * pixel buffer is allocated, and inflates with a hard output cap, so a hostile file (a
 * decompression bomb, a 65535x65535 header, a truncated chunk) fails with a typed error
 * instead of exhausting memory. Colour PNGs (8-bit RGB, RGBA, gray+alpha) are converted to
 * gray so captures from ordinary cameras still decode; 16-bit and palette images are refused.
 */
import { inflateSync, deflateSync, crc32 as zlibCrc32 } from 'node:zlib';
import { BiometricError } from './errors.js';
import type { GrayImage } from './image.js';

export const png_file_size_bytes_max = 8 * 1024 * 1024;
export const png_dimension_pixels_max = 4096;
export const png_pixels_max = 4096 * 4096;
export const png_chunks_max = 4096;

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);
// PNG colour type -> channels, for the 8-bit types we accept (PNG spec 11.2.2).
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

interface Header { width: number; height: number; channels: number }

const crc32 = (bytes: Uint8Array): number => zlibCrc32(bytes) >>> 0;

const inflate_chunk_bytes_min = 64;

function fail(message: string): never {
  throw new BiometricError('image_invalid', `PNG: ${message}`);
}

function readHeader(data: Uint8Array): Header {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(8) !== 13 || String.fromCharCode(...data.subarray(12, 16)) !== 'IHDR') fail('first chunk is not a 13-byte IHDR');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = data[24] ?? 0;
  const colourType = data[25] ?? 0;
  if (width === 0 || height === 0) fail('zero dimension');
  if (width > png_dimension_pixels_max || height > png_dimension_pixels_max || width * height > png_pixels_max) {
    throw new BiometricError('image_too_large', `PNG: ${width}x${height} exceeds ${png_dimension_pixels_max} pixels a side`);
  }
  const channels = CHANNELS[colourType];
  if (bitDepth !== 8 || channels === undefined) {
    throw new BiometricError('image_unsupported', `PNG: bit depth ${bitDepth} colour type ${colourType} (need 8-bit gray, gray+alpha, RGB or RGBA)`);
  }
  if (data[26] !== 0 || data[27] !== 0) fail('unknown compression or filter method');
  if (data[28] !== 0) throw new BiometricError('image_unsupported', 'PNG: interlaced images are not supported');
  return { width, height, channels };
}

/** Walks the chunks, verifying lengths and CRCs, and returns the IDAT payloads. */
function collectIdat(data: Uint8Array): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  let offset = 8;
  for (let chunk = 0; chunk < png_chunks_max; chunk += 1) {
    if (offset + 12 > data.length) fail('truncated chunk header');
    const length = view.getUint32(offset);
    if (length > data.length - offset - 12) fail('chunk length runs past the end of the file');
    const typeAndBody = data.subarray(offset + 4, offset + 8 + length);
    if (crc32(typeAndBody) !== view.getUint32(offset + 8 + length)) fail('chunk CRC mismatch');
    const type = String.fromCharCode(...typeAndBody.subarray(0, 4));
    if (type === 'IDAT') parts.push(typeAndBody.subarray(4));
    if (type === 'IEND') return parts;
    offset += 12 + length;
  }
  return fail(`more than ${png_chunks_max} chunks`);
}

function unfilter(raw: Uint8Array, header: Header): Uint8Array {
  const { width, height, channels } = header;
  const stride = width * channels;
  // The pixels are compacted into the inflate buffer itself (each row moves left by its
  // filter bytes, so no row is overwritten before it is read): no second image-sized plane.
  const out = raw.subarray(0, stride * height);
  const aligned = stride % 4 === 0 && out.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(out.buffer, out.byteOffset, out.length / 4) : undefined;
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    if (filter > 4) fail(`unknown row filter ${filter}`);
    // Move the filtered row into place first (memmove), then undo the filter reading only `out`.
    raw.copyWithin(y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
    unfilterRow(out, words, y * stride, stride, channels, filter, y > 0);
  }
  return out;
}

/**
 * Undoes one row's filter in place. "Up" (the usual choice for smooth images) adds four bytes
 * at a time with a carry-free SWAR add: per-byte addition modulo 256, as PNG defines it.
 */
function unfilterRow(out: Uint8Array, words: Uint32Array | undefined, row: number, stride: number, channels: number, filter: number, hasAbove: boolean): void {
  const above = row - stride;
  if (filter === 0) return;
  if (filter === 2 && hasAbove) {
    if (words) {
      for (let w = row >> 2, a = above >> 2, end = (row + stride) >> 2; w < end; w += 1, a += 1) {
        const x = words[w]!;
        const y = words[a]!;
        words[w] = ((x & 0x7f7f7f7f) + (y & 0x7f7f7f7f)) ^ ((x ^ y) & 0x80808080);
      }
      return;
    }
    for (let x = 0; x < stride; x += 1) out[row + x] = out[row + x]! + out[above + x]!;
    return;
  }
  if (filter === 2) return;
  if (filter === 1) {
    for (let x = row + channels; x < row + stride; x += 1) out[x] = out[x]! + out[x - channels]!;
    return;
  }
  for (let x = 0; x < stride; x += 1) {
    const a = x >= channels ? out[row + x - channels]! : 0;
    const b = hasAbove ? out[above + x]! : 0;
    const c = x >= channels && hasAbove ? out[above + x - channels]! : 0;
    out[row + x] = out[row + x]! + predict(filter, a, b, c);
  }
}

function predict(filter: number | undefined, a: number, b: number, c: number): number {
  switch (filter) {
    case 0: return 0;
    case 1: return a;
    case 2: return b;
    case 3: return (a + b) >> 1;
    case 4: {
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
    default: return fail(`unknown row filter ${String(filter)}`);
  }
}

function toGray(pixels: Uint8Array, header: Header): Uint8Array {
  const { width, height, channels } = header;
  if (channels === 1) return pixels;
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i += 1) {
    const p = i * channels;
    // Alpha is ignored: a capture is opaque; colour uses ITU-R BT.601 luma weights.
    gray[i] = channels >= 3
      ? Math.round(0.299 * (pixels[p] ?? 0) + 0.587 * (pixels[p + 1] ?? 0) + 0.114 * (pixels[p + 2] ?? 0))
      : (pixels[p] ?? 0);
  }
  return gray;
}

/** Decodes a PNG into an 8-bit gray image, or throws a BiometricError. */
export function decodePng(data: Uint8Array): GrayImage {
  if (data.length > png_file_size_bytes_max) {
    throw new BiometricError('image_too_large', `PNG: ${data.length} bytes exceeds ${png_file_size_bytes_max}`);
  }
  if (data.length < 8 + 25 + 12 || !SIGNATURE.every((b, i) => data[i] === b)) fail('missing PNG signature');
  const header = readHeader(data);
  const parts = collectIdat(data);
  if (parts.length === 0) fail('no IDAT chunk');
  const expected = (header.width * header.channels + 1) * header.height;
  let raw: Uint8Array;
  try {
    // One output chunk of the size the header promises: zlib's default 16 KiB chunks cost
    // about as much again in copying and bookkeeping as the inflate itself.
    raw = inflateSync(parts.length === 1 ? parts[0]! : Buffer.concat(parts), { maxOutputLength: expected, chunkSize: Math.max(inflate_chunk_bytes_min, expected) });
  } catch (error) {
    return fail(`image data does not inflate within ${expected} bytes (${(error as Error).message})`);
  }
  if (raw.length !== expected) fail(`image data is ${raw.length} bytes, expected ${expected}`);
  // A plain Uint8Array view: element access on a Buffer is slower in V8's typed-array fast path.
  const pixels = toGray(unfilter(new Uint8Array(raw.buffer, raw.byteOffset, raw.length), header), header);
  return { width: header.width, height: header.height, data: pixels };
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i += 1) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Encodes an 8-bit gray image (filter "up" per row, which suits smooth captures). */
export function encodePng(image: GrayImage): Uint8Array {
  const { width, height, data } = image;
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8;
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y += 1) {
    raw[y * (width + 1)] = y === 0 ? 0 : 2;
    for (let x = 0; x < width; x += 1) {
      const above = y === 0 ? 0 : (data[(y - 1) * width + x] ?? 0);
      raw[y * (width + 1) + 1 + x] = ((data[y * width + x] ?? 0) - above) & 0xff;
    }
  }
  const idat = deflateSync(raw, { level: 6 });
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}
