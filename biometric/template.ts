/**
 * Binary templates. A competitive code (winning orientation 0..5 per grid cell) is stored as
 * three bit planes whose Hamming distance equals the angular distance between orientations,
 * plus a mask plane (cells with weak orientation contrast, or outside the frame, are
 * unreliable). Sizes: palm 32x32 cells = 4 planes x 128 bytes = 512 bytes; vein 16x16 =
 * 128 bytes; prefilter hash 256 bits = 32 bytes.
 *
 * Protection (ISO/IEC 24745): packing applies a keyed permutation of cell positions and a
 * keyed XOR pad on the code planes. Hamming distance is invariant under both when applied to
 * both sides, so matching works on protected templates; residual shifts are handled by
 * shifting the fresh probe in the clear, then protecting each shifted variant.
 */
import { assert } from '../core/index.js';
import { BiometricError } from './errors.js';
import { CodeMatcher } from './popcount-wasm.js';
import { orientations_count, palm_grid_cells, prefilter_bits, vein_grid_cells } from './model.js';

// Residual misalignment after the valley-based ROI is larger along the palm (valley positions
// move with finger spread) than across it.
export const palm_shift_cells_max = 3;
export const palm_shift_cells_max_along = 4;
export const vein_shift_cells_max = 2;
export const hash_words = prefilter_bits / 32;
const code_planes = 3;
// Orientation k -> 3 bits; the Hamming distance between two entries is their angular distance.
const ORIENTATION_BITS = [0b000, 0b001, 0b011, 0b111, 0b110, 0b100] as const;
assert(ORIENTATION_BITS.length === orientations_count, 'one bit pattern per orientation');

export interface CodeGrid { cells: number; code: Uint8Array; valid: Uint8Array }
/** Packed planes: 3 code planes then the mask plane, each `planeWords` words. */
export interface PackedCode { cells: number; words: Uint32Array }
export interface Template { palm: PackedCode; vein?: PackedCode; hash: Uint32Array }

/** Keyed transform of one code kind: where each cell goes and the pad XORed onto code planes. */
export interface CellTransform { permutation: Uint16Array; pad: Uint32Array }
export interface TemplateTransform { version: number; palm: CellTransform; vein: CellTransform; hash: CellTransform }

export const planeWords = (cells: number): number => Math.ceil((cells * cells) / 32);

export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Builds a code grid; cells whose orientation contrast is below the median are masked (weak cells flip between captures). */
export function codeGrid(cells: number, code: Uint8Array, strength: Float32Array, floorShare = 1): CodeGrid {
  assert(code.length === cells * cells && strength.length === cells * cells, 'code grid size');
  const floor = upperMedian(strength) * floorShare;
  const valid = new Uint8Array(cells * cells);
  for (let i = 0; i < valid.length; i += 1) {
    assert((code[i] ?? 0) < orientations_count, 'orientation index in range');
    valid[i] = (strength[i] ?? 0) > floor ? 1 : 0;
  }
  return { cells, code: Uint8Array.from(code), valid };
}

let selectScratch = new Float32Array(0);

/**
 * The element a numeric sort would put at index length >> 1, by quickselect (Hoare partition,
 * middle pivot): sorting 1,024 floats per code grid cost more than the rest of `codeGrid`, eight
 * grids a capture. With a NaN (which sorts last) it falls back to the sort.
 */
export function upperMedian(values: Float32Array): number {
  const n = values.length;
  if (n === 0) return 0;
  if (selectScratch.length < n) selectScratch = new Float32Array(n);
  const a = selectScratch;
  for (let i = 0; i < n; i += 1) { const v = values[i]!; if (v !== v) return Float32Array.from(values).sort()[n >> 1]!; a[i] = v; }
  const k = n >> 1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i += 1;
      while (a[j]! > pivot) j -= 1;
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i += 1; j -= 1; }
    }
    if (k <= j) hi = j; else if (k >= i) lo = i; else break;
  }
  return a[k]!;
}

/** The grid moved by (dx, dy) cells; cells shifted in from outside are invalid. */
export function shiftGrid(grid: CodeGrid, dx: number, dy: number): CodeGrid {
  const { cells } = grid;
  const code = new Uint8Array(cells * cells);
  const valid = new Uint8Array(cells * cells);
  for (let y = 0; y < cells; y += 1) {
    const sy = y - dy;
    if (sy < 0 || sy >= cells) continue;
    for (let x = 0; x < cells; x += 1) {
      const sx = x - dx;
      if (sx < 0 || sx >= cells) continue;
      code[y * cells + x] = grid.code[sy * cells + sx] ?? 0;
      valid[y * cells + x] = grid.valid[sy * cells + sx] ?? 0;
    }
  }
  return { cells, code, valid };
}

export function identityTransform(cells: number, padWords: number): CellTransform {
  return { permutation: Uint16Array.from({ length: cells }, (_, i) => i), pad: new Uint32Array(padWords) };
}

export const IDENTITY: TemplateTransform = {
  version: 0,
  palm: identityTransform(palm_grid_cells ** 2, code_planes * planeWords(palm_grid_cells)),
  vein: identityTransform(vein_grid_cells ** 2, code_planes * planeWords(vein_grid_cells)),
  hash: identityTransform(prefilter_bits, hash_words),
};

export function packGrid(grid: CodeGrid, transform: CellTransform): PackedCode {
  const plane = planeWords(grid.cells);
  const words = new Uint32Array(plane * 4);
  assert(transform.permutation.length === grid.cells * grid.cells, 'transform fits the grid');
  for (let i = 0; i < grid.code.length; i += 1) {
    const target = transform.permutation[i] ?? 0;
    const word = target >>> 5;
    const bit = 1 << (target & 31);
    const bits = ORIENTATION_BITS[grid.code[i] ?? 0] ?? 0;
    for (let p = 0; p < code_planes; p += 1) if (bits & (1 << p)) words[p * plane + word] = (words[p * plane + word] ?? 0) | bit;
    if (grid.valid[i]) words[3 * plane + word] = (words[3 * plane + word] ?? 0) | bit;
  }
  for (let i = 0; i < code_planes * plane; i += 1) words[i] = ((words[i] ?? 0) ^ (transform.pad[i] ?? 0)) >>> 0;
  return { cells: grid.cells, words };
}

/** Hash bits (sign of each projection), permuted and padded like the codes. */
export function packHash(projections: Float32Array, transform: CellTransform): Uint32Array {
  assert(projections.length === prefilter_bits, 'hash length');
  const words = new Uint32Array(hash_words);
  for (let i = 0; i < prefilter_bits; i += 1) {
    if ((projections[i] ?? 0) <= 0) continue;
    const target = transform.permutation[i] ?? 0;
    words[target >>> 5] = (words[target >>> 5] ?? 0) | (1 << (target & 31));
  }
  for (let i = 0; i < hash_words; i += 1) words[i] = ((words[i] ?? 0) ^ (transform.pad[i] ?? 0)) >>> 0;
  return words;
}

export interface Distance { distance: number; bits: number }

/** Masked fractional Hamming distance of two packed codes (ISO/IEC 19794-6 style). */
export function packedDistance(a: PackedCode, b: PackedCode): Distance {
  assert(a.cells === b.cells, 'codes of one kind');
  const plane = planeWords(a.cells);
  let disagree = 0;
  let bits = 0;
  const aw = a.words;
  const bw = b.words;
  for (let w = 0; w < plane; w += 1) {
    const mask = (aw[3 * plane + w] ?? 0) & (bw[3 * plane + w] ?? 0);
    bits += popcount32(mask);
    disagree += popcount32(((aw[w] ?? 0) ^ (bw[w] ?? 0)) & mask)
      + popcount32(((aw[plane + w] ?? 0) ^ (bw[plane + w] ?? 0)) & mask)
      + popcount32(((aw[2 * plane + w] ?? 0) ^ (bw[2 * plane + w] ?? 0)) & mask);
  }
  return { distance: bits === 0 ? 1 : disagree / (code_planes * bits), bits };
}

/**
 * Daugman's normalisation: a distance measured on few valid cells is pulled toward 0.5,
 * so a small overlap cannot produce a confident match.
 */
export function normalisedDistance(d: Distance, typicalBits: number): number {
  if (d.bits === 0) return 0.5;
  return 0.5 - (0.5 - d.distance) * Math.sqrt(Math.min(1, d.bits / typicalBits));
}

/** Per packed bit position of a transform: the column and row of the cell it holds (computed once per transform). */
const sources = new WeakMap<CellTransform, { column: Int32Array; row: Int32Array }>();
function sourcesOf(transform: CellTransform, cells: number): { column: Int32Array; row: Int32Array } {
  let found = sources.get(transform);
  if (!found) {
    const column = new Int32Array(cells * cells);
    const row = new Int32Array(cells * cells);
    transform.permutation.forEach((target, cell) => { column[target] = cell % cells; row[target] = Math.floor(cell / cells); });
    found = { column, row };
    sources.set(transform, found);
  }
  return found;
}

/**
 * Probe variants: the probe shifted by every offset within `shiftMax`, each packed; the same
 * words as `packGrid(shiftGrid(grid, dx, dy), transform)` for each offset. Each packed word is
 * gathered from the unshifted grid, framed by a border of empty cells (so no bounds checks), with
 * a cell's four bits spread over four bytes: eight cells' bits for all four planes in one 32-bit
 * accumulator. No shifted copy per offset, no read-modify-write per cell; all variants in one
 * buffer. A search packs 63 palm variants per pose.
 */
export function probeVariants(grid: CodeGrid, transform: CellTransform, shiftMax: number, shiftMaxY = shiftMax): PackedCode[] {
  const { cells } = grid;
  assert(transform.permutation.length === cells * cells, 'transform fits the grid');
  if ((cells * cells) % 32 !== 0) return probeVariantsByCopy(grid, transform, shiftMax, shiftMaxY);
  const plane = planeWords(cells);
  const codeWords = plane * 4;
  const all = new Uint32Array((2 * shiftMax + 1) * (2 * shiftMaxY + 1) * codeWords);
  const border = Math.max(shiftMax, shiftMaxY);
  const framed = cells + 2 * border;
  const spread = new Int32Array(framed * framed);
  for (let y = 0; y < cells; y += 1) {
    for (let x = 0; x < cells; x += 1) {
      const bits = ORIENTATION_BITS[grid.code[y * cells + x] ?? 0] ?? 0;
      spread[(y + border) * framed + x + border] = (bits & 1) | (((bits >> 1) & 1) << 8) | (((bits >> 2) & 1) << 16) | ((grid.valid[y * cells + x] ? 1 : 0) << 24);
    }
  }
  const { column, row } = sourcesOf(transform, cells);
  const at = new Int32Array(cells * cells);
  for (let t = 0; t < at.length; t += 1) at[t] = (row[t]! + border) * framed + column[t]! + border;
  const pad = transform.pad;
  const variants: PackedCode[] = [];
  for (let dy = -shiftMaxY; dy <= shiftMaxY; dy += 1) {
    for (let dx = -shiftMax; dx <= shiftMax; dx += 1) {
      const base = variants.length * codeWords;
      const offset = dy * framed + dx;
      for (let w = 0, t = 0; w < plane; w += 1) {
        let p0 = 0; let p1 = 0; let p2 = 0; let mask = 0;
        for (let q = 0; q < 32; q += 8) {
          let eight = 0;
          for (let b = 0; b < 8; b += 1, t += 1) eight |= spread[at[t]! - offset]! << b;
          p0 |= (eight & 0xff) << q; p1 |= ((eight >>> 8) & 0xff) << q; p2 |= ((eight >>> 16) & 0xff) << q; mask |= (eight >>> 24) << q;
        }
        all[base + w] = (p0 ^ (pad[w] ?? 0)) >>> 0;
        all[base + plane + w] = (p1 ^ (pad[plane + w] ?? 0)) >>> 0;
        all[base + 2 * plane + w] = (p2 ^ (pad[2 * plane + w] ?? 0)) >>> 0;
        all[base + 3 * plane + w] = mask >>> 0;
      }
      variants.push({ cells, words: all.subarray(base, base + codeWords) });
    }
  }
  return variants;
}

/** The plain way, for grids whose planes do not fill whole words. */
function probeVariantsByCopy(grid: CodeGrid, transform: CellTransform, shiftMax: number, shiftMaxY: number): PackedCode[] {
  const variants: PackedCode[] = [];
  for (let dy = -shiftMaxY; dy <= shiftMaxY; dy += 1) {
    for (let dx = -shiftMax; dx <= shiftMax; dx += 1) variants.push(packGrid(shiftGrid(grid, dx, dy), transform));
  }
  return variants;
}

const matchers = new Map<number, CodeMatcher>();

/** The WebAssembly matcher for codes of `cells` x `cells` (undefined where its planes are not whole 64-bit lanes). */
export function matcherFor(cells: number): CodeMatcher | undefined {
  const plane = planeWords(cells);
  if (plane % 2 !== 0) return undefined;
  let matcher = matchers.get(plane);
  if (!matcher) { matcher = new CodeMatcher(plane); matchers.set(plane, matcher); }
  return matcher;
}

/**
 * Best normalised distance over the probe's shifted variants. Runs on the WebAssembly matcher
 * (bit-identical to the JavaScript below, about six times faster; a search makes hundreds of
 * these comparisons); `variants` must not be changed after its first comparison.
 */
export function bestDistance(variants: readonly PackedCode[], enrolled: PackedCode, typicalBits: number): number {
  // The matcher checks each variant's size when it copies the set in (a mismatch is a programmer error, as in packedDistance).
  const matcher = variants[0]?.cells === enrolled.cells ? matcherFor(enrolled.cells) : undefined;
  if (matcher) return matcher.best(variants, enrolled.words, 0, typicalBits);
  return bestDistanceJs(variants, enrolled, typicalBits);
}

/** The reference: `packedDistance` + `normalisedDistance` per variant, the first minimum kept. */
export function bestDistanceJs(variants: readonly PackedCode[], enrolled: PackedCode, typicalBits: number): number {
  let best = 1;
  for (const variant of variants) {
    const d = normalisedDistance(packedDistance(variant, enrolled), typicalBits);
    if (d < best) best = d;
  }
  return best;
}

export function hashDistance(a: Uint32Array, b: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < hash_words; i += 1) d += popcount32(((a[i] ?? 0) ^ (b[i] ?? 0)) >>> 0);
  return d;
}

// Serialised layout: magic 'PT', version u8, flags u8 (1 = vein), key version u32, palm, hash, vein.
const MAGIC = [0x50, 0x54] as const;
const palmBytes = planeWords(palm_grid_cells) * 4 * 4;
const veinBytes = planeWords(vein_grid_cells) * 4 * 4;
export const template_bytes_max = 8 + palmBytes + hash_words * 4 + veinBytes;

export function serialiseTemplate(template: Template, keyVersion: number): Uint8Array {
  const out = new Uint8Array(8 + palmBytes + hash_words * 4 + (template.vein ? veinBytes : 0));
  const view = new DataView(out.buffer);
  out[0] = MAGIC[0]; out[1] = MAGIC[1]; out[2] = 1; out[3] = template.vein ? 1 : 0;
  view.setUint32(4, keyVersion);
  let offset = 8;
  const put = (words: Uint32Array): void => { for (const w of words) { view.setUint32(offset, w); offset += 4; } };
  put(template.palm.words); put(template.hash);
  if (template.vein) put(template.vein.words);
  return out;
}

export function deserialiseTemplate(bytes: Uint8Array): { template: Template; keyVersion: number } {
  if (bytes.length < 8 || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== 1) throw new BiometricError('template_invalid', 'not a palmswitch template');
  const hasVein = bytes[3] === 1;
  if (bytes[3]! > 1 || bytes.length !== 8 + palmBytes + hash_words * 4 + (hasVein ? veinBytes : 0)) throw new BiometricError('template_invalid', 'template length does not match its flags');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  const take = (count: number): Uint32Array => {
    const words = new Uint32Array(count);
    for (let i = 0; i < count; i += 1) { words[i] = view.getUint32(offset); offset += 4; }
    return words;
  };
  const palm = { cells: palm_grid_cells, words: take(palmBytes / 4) };
  const hash = take(hash_words);
  const template: Template = hasVein ? { palm, hash, vein: { cells: vein_grid_cells, words: take(veinBytes / 4) } } : { palm, hash };
  return { template, keyVersion: view.getUint32(4) };
}
