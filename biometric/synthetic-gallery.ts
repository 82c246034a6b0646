/**
 * Large galleries for benchmarks, built straight from synthetic templates instead of rendered
 * and extracted captures (100,000 enrolments through the image pipeline take tens of minutes
 * on two cores; this takes well under a second). Each template is what the engine would store:
 * an orientation code 0..5 per cell packed as thermometer bit planes, a mask with about half
 * the cells valid (the engine masks cells below the median orientation contrast), a vein code
 * and a random prefilter hash. Not a biometric: such a palm matches no real probe, which is
 * exactly what filler identities in a throughput benchmark must do. Index only; never stored.
 */
import { assert } from '../core/index.js';
import { orientations_count, palm_grid_cells, prefilter_bits, vein_grid_cells } from './model.js';
import type { PalmIndex } from './index-store.js';
import { planeWords, type PackedCode, type Template } from './template.js';

export const synthetic_palms_max = 4_000_000;
const filler_pool_templates = 257;

export interface SyntheticPalmOptions {
  /** Identities `firstId`, `firstId + 1`, ... (must not collide with enrolled ones). */
  firstId: bigint;
  count: number;
  seed?: number;
  /** Include a vein code, as a capture with an NIR image would. Default true. */
  vein?: boolean;
  region?: number;
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
}

/**
 * Packed planes written directly, a 32-cell word at a time (packGrid per cell was ~20 us a
 * palm). Orientation k sets plane p when bit p of [000, 001, 011, 111, 110, 100][k] is set,
 * which is k in {1,2,3} for plane 0, {2,3,4} for plane 1 and {3,4,5} for plane 2.
 */
function randomPacked(cells: number, next: () => number): PackedCode {
  const plane = planeWords(cells);
  const words = new Uint32Array(plane * 4);
  const total = cells * cells;
  for (let w = 0; w < plane; w += 1) {
    let p0 = 0;
    let p1 = 0;
    let p2 = 0;
    let mask = 0;
    for (let b = 0; b < 32 && w * 32 + b < total; b += 1) {
      const r = next();
      const k = ((r & 0xffff) * orientations_count) >>> 16;
      const bit = 1 << b;
      if (k >= 1 && k <= 3) p0 |= bit;
      if (k >= 2 && k <= 4) p1 |= bit;
      if (k >= 3) p2 |= bit;
      if (r >>> 31) mask |= bit;
    }
    words[w] = p0 >>> 0;
    words[plane + w] = p1 >>> 0;
    words[2 * plane + w] = p2 >>> 0;
    words[3 * plane + w] = mask >>> 0;
  }
  return { cells, words };
}

/** One synthetic template (identity transform), from a seeded 32-bit generator. */
export function syntheticTemplate(next: () => number, vein = true): Template {
  const hash = new Uint32Array(prefilter_bits / 32);
  for (let i = 0; i < hash.length; i += 1) hash[i] = next();
  const palm = randomPacked(palm_grid_cells, next);
  return vein ? { palm, hash, vein: randomPacked(vein_grid_cells, next) } : { palm, hash };
}

/**
 * Bulk variant: each 32-cell word of each plane is taken from a random template of a small
 * pool, rotated by a random number of cells (the same rotation on all four planes keeps every
 * cell a valid orientation pattern with its mask bit). About 50x cheaper than drawing every
 * cell, and cell by cell just as uniform.
 */
class FillerSource {
  private readonly palmPool: PackedCode[];
  private readonly veinPool: PackedCode[];
  constructor(private readonly next: () => number) {
    this.palmPool = Array.from({ length: filler_pool_templates }, () => randomPacked(palm_grid_cells, next));
    this.veinPool = Array.from({ length: filler_pool_templates }, () => randomPacked(vein_grid_cells, next));
  }

  template(vein: boolean): Template {
    const hash = new Uint32Array(prefilter_bits / 32);
    for (let i = 0; i < hash.length; i += 1) hash[i] = this.next();
    const palm = this.mix(this.palmPool, palm_grid_cells);
    return vein ? { palm, hash, vein: this.mix(this.veinPool, vein_grid_cells) } : { palm, hash };
  }

  private mix(pool: PackedCode[], cells: number): PackedCode {
    const plane = planeWords(cells);
    const words = new Uint32Array(plane * 4);
    for (let w = 0; w < plane; w += 1) {
      const r = this.next();
      const source = pool[r % filler_pool_templates]!.words;
      const turn = (r >>> 16) & 31;
      for (let p = 0; p < 4; p += 1) {
        const x = source[p * plane + w]!;
        words[p * plane + w] = turn === 0 ? x : ((x << turn) | (x >>> (32 - turn))) >>> 0;
      }
    }
    return { cells, words };
  }
}

/**
 * Adds `count` synthetic palms to `index` (for example `gallery.index`), deterministic for a
 * seed. Keyed transforms are irrelevant here: a random code stays random under any permutation
 * and pad, so the filler behaves like any other deployment's enrolled impostor.
 */
export function addSyntheticPalms(index: PalmIndex, options: SyntheticPalmOptions): void {
  assert(Number.isInteger(options.count) && options.count >= 0 && options.count <= synthetic_palms_max, 'synthetic palm count within bound');
  const source = new FillerSource(xorshift(options.seed ?? 0x5a1e));
  index.reserve(index.size + options.count);
  for (let i = 0; i < options.count; i += 1) {
    index.add(options.firstId + BigInt(i), source.template(options.vein ?? true), options.region ?? 0);
  }
}
