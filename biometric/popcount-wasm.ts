/**
 * The prefilter scanner as a hand-assembled WebAssembly module (no toolchain needed, and the
 * bytes are ours to review): `scan` XORs a query against `count` codes of `lanes` 64-bit words with
 * i64.popcnt (one hardware POPCNT each on x86-64), stores each distance as u16 and builds a
 * histogram of distances; `collect` returns the slots at or under a cutoff. Plain JavaScript
 * needs about a dozen operations per 32-bit popcount, which is what this avoids.
 */

const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i64Load: 0x29, i32Load16u: 0x2f, i32Store: 0x36, i32Store16: 0x3b,
  i32Const: 0x41, i32GeU: 0x4f, i32LeU: 0x4d, i32LtU: 0x49, select: 0x1b, i32Add: 0x6a, i32Shl: 0x74,
  f64Load: 0x2b, i64Popcnt: 0x7b, i64Add: 0x7c, i64Xor: 0x85, i32WrapI64: 0xa7,
  i64Const: 0x42, i64Eqz: 0x50, i64Mul: 0x7e, i64And: 0x83, f64Const: 0x44, f64Lt: 0x63,
  f64Sqrt: 0x9f, f64Sub: 0xa1, f64Mul: 0xa2, f64Div: 0xa3, f64Min: 0xa4, f64ConvertI64U: 0xba,
} as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) { out.push(byte); return out; }
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (text: string): number[] => [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];
const get = (i: number): number[] => [op.localGet, i];
const set = (i: number): number[] => [op.localSet, i];
const i32 = (v: number): number[] => [op.i32Const, v]; // small non-negative constants only (< 64)

/**
 * `fold`: each distance becomes the smaller of it and the one already at `out` (a probe's
 * rotation alternates: a palm's distance is its smallest to any of the probe's hashes), and the
 * histogram counts the folded distances. Doing this in the kernel replaced a JavaScript pass
 * over every palm per alternate.
 */
function scanBody(lanes: number, fold = false): number[] {
  // params: 0 query, 1 base, 2 count, 3 out, 4 histogram; locals: 5 i, 6 p, 7 d, 8.. query words, then (fold) the stored distance
  const words = Array.from({ length: lanes }, (_, i) => i);
  const stored = 8 + lanes;
  const lane = (word: number): number[] => [...get(8 + word), ...get(6), op.i64Load, 3, ...uleb(word * 8), op.i64Xor, op.i64Popcnt];
  const code = [
    ...words.flatMap((w) => [...get(0), op.i64Load, 3, ...uleb(w * 8), ...set(8 + w)]),
    ...get(1), ...set(6),
    op.block, op.void, op.loop, op.void,
    ...get(5), ...get(2), op.i32GeU, op.brIf, 1,
    ...lane(0), ...words.slice(1).flatMap((w) => [...lane(w), op.i64Add]), op.i32WrapI64, ...set(7),
    ...(fold ? [
      ...get(7), ...get(3), ...get(5), ...i32(1), op.i32Shl, op.i32Add, op.i32Load16u, 1, 0, op.localTee, stored,
      ...get(7), ...get(stored), op.i32LtU, op.select, ...set(7),
    ] : []),
    ...get(3), ...get(5), ...i32(1), op.i32Shl, op.i32Add, ...get(7), op.i32Store16, 1, 0,
    ...get(4), ...get(7), ...i32(2), op.i32Shl, op.i32Add, op.localTee, 7,
    ...get(7), op.i32Load, 2, 0, ...i32(1), op.i32Add, op.i32Store, 2, 0,
    ...get(6), op.i32Const, ...sleb(lanes * 8), op.i32Add, ...set(6),
    ...get(5), ...i32(1), op.i32Add, ...set(5),
    op.br, 0, op.end, op.end, op.end,
  ];
  const locals = [3, 3, 0x7f, lanes, 0x7e, 1, 0x7f];
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

function collectBody(): number[] {
  // params: 0 distances, 1 count, 2 cutoff, 3 results, 4 max; locals: 5 i, 6 n
  const code = [
    op.block, op.void, op.loop, op.void,
    ...get(5), ...get(1), op.i32GeU, op.brIf, 1,
    ...get(6), ...get(4), op.i32GeU, op.brIf, 1,
    ...get(0), ...get(5), ...i32(1), op.i32Shl, op.i32Add, op.i32Load16u, 1, 0, ...get(2), op.i32LeU,
    op.if, op.void,
    ...get(3), ...get(6), ...i32(2), op.i32Shl, op.i32Add, ...get(5), op.i32Store, 2, 0,
    ...get(6), ...i32(1), op.i32Add, ...set(6),
    op.end,
    ...get(5), ...i32(1), op.i32Add, ...set(5),
    op.br, 0, op.end, op.end,
    ...get(6), op.end,
  ];
  const locals = [1, 2, 0x7f];
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

/** The module's bytes for codes of `lanes` 64-bit words (deterministic). */
export function prefilterWasm(lanes: number): Uint8Array {
  const i32t = 0x7f;
  const types = vector([
    [0x60, ...vector([[i32t], [i32t], [i32t], [i32t], [i32t]]), 0],
    [0x60, ...vector([[i32t], [i32t], [i32t], [i32t], [i32t]]), 1, i32t],
  ]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(3, vector([[0], [1], [0]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('scan'), 0x00, 0], [...name('collect'), 0x00, 1], [...name('scanMin'), 0x00, 2]])),
    ...section(10, vector([scanBody(lanes), collectBody(), scanBody(lanes, true)])),
  ]);
}

// The project's lib settings carry no WebAssembly declarations; these are the parts we use.
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface PrefilterKernel {
  memory: WasmMemory;
  scan(query: number, base: number, count: number, out: number, histogram: number): void;
  /** `scan`, keeping at `out` the smaller of each new distance and the one already there; the histogram counts the results. */
  scanMin(query: number, base: number, count: number, out: number, histogram: number): void;
  collect(distances: number, count: number, cutoff: number, results: number, max: number): number;
}

const compiled = new Map<number, object>();

export function instantiatePrefilter(lanes: number): PrefilterKernel {
  let module = compiled.get(lanes);
  if (!module) { module = new wasm.Module(prefilterWasm(lanes)); compiled.set(lanes, module); }
  const instance = new wasm.Instance(module, {});
  return instance.exports as PrefilterKernel;
}

/**
 * The masked-Hamming matcher: the best Daugman-normalised distance of one enrolled code against
 * every shifted variant of a probe (`bestDistance` in template.ts, the vein stage of a 1:N
 * search). Per variant and 64-bit lane: mask = probe mask AND enrolled mask, then three
 * XOR/AND/POPCNT for the code planes. The float arithmetic is the JavaScript formula's, op for
 * op in IEEE double (division, min, sqrt are correctly rounded in both), so the result is
 * bit-identical to the JavaScript version; ties keep the first variant, as it does.
 * `best(variants, count, template, typicalBits)` -> distance; the winning variant's index is
 * stored as i32 at address 0.
 */
function matchBody(lanes: number): number[] {
  // params: 0 variants, 1 count, 2 template, 3 the scale table's address; locals: 4 v, 5 p, 6 bits, 7 dis, 8 m, 9 d, 10 best, 11 arg,
  // 12.. the enrolled code's 4 x lanes words (loaded once: they are the same for every variant)
  const plane = lanes * 8;
  const enrolled = (p: number, w: number): number => 12 + p * lanes + w;
  const f64 = (value: number): number[] => { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, value, true); return [op.f64Const, ...b]; };
  const probeWord = (p: number, w: number): number[] => [...get(5), op.i64Load, 3, ...uleb(p * plane + w * 8)];
  const planeBits = (p: number, w: number): number[] => [...probeWord(p, w), ...get(enrolled(p, w)), op.i64Xor, ...get(8), op.i64And, op.i64Popcnt];
  const lane = (w: number): number[] => [
    ...probeWord(3, w), ...get(enrolled(3, w)), op.i64And, op.localTee, 8, op.i64Popcnt, ...get(6), op.i64Add, ...set(6),
    ...planeBits(0, w), ...planeBits(1, w), op.i64Add, ...planeBits(2, w), op.i64Add, ...get(7), op.i64Add, ...set(7),
  ];
  const loadEnrolled = Array.from({ length: 4 * lanes }, (_, k) => [...get(2), op.i64Load, 3, ...uleb(k * 8), ...set(12 + k)]).flat();
  // sqrt(min(1, bits / typical)) is read from the table at param 3 (f64 per bit count, computed
  // by the same IEEE operations in JavaScript): a division, a min and a square root fewer per variant.
  const distance = [
    ...get(6), op.i64Eqz, op.if, 0x7c, ...f64(0.5), op.else,
    ...f64(0.5), ...f64(0.5), ...get(7), op.f64ConvertI64U, ...get(6), op.i64Const, 3, op.i64Mul, op.f64ConvertI64U, op.f64Div, op.f64Sub,
    ...get(3), ...get(6), op.i32WrapI64, ...i32(3), op.i32Shl, op.i32Add, op.f64Load, 3, 0, op.f64Mul, op.f64Sub,
    op.end,
  ];
  const code = [
    ...loadEnrolled, ...f64(1), ...set(10), ...get(0), ...set(5),
    op.block, op.void, op.loop, op.void,
    ...get(4), ...get(1), op.i32GeU, op.brIf, 1,
    op.i64Const, 0, ...set(6), op.i64Const, 0, ...set(7),
    ...Array.from({ length: lanes }, (_, w) => lane(w)).flat(),
    ...distance, op.localTee, 9, ...get(10), op.f64Lt,
    op.if, op.void, ...get(9), ...set(10), ...get(4), ...set(11), op.end,
    ...get(5), op.i32Const, ...sleb(4 * plane), op.i32Add, ...set(5),
    ...get(4), ...i32(1), op.i32Add, ...set(4),
    op.br, 0, op.end, op.end,
    ...i32(0), ...get(11), op.i32Store, 2, 0,
    ...get(10), op.end,
  ];
  const locals = [5, 2, 0x7f, 3, 0x7e, 2, 0x7c, 1, 0x7f, ...uleb(4 * lanes), 0x7e];
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

/** The matcher module's bytes for codes whose planes are `lanes` 64-bit words (deterministic). */
export function matcherWasm(lanes: number): Uint8Array {
  const i32t = 0x7f;
  const f64t = 0x7c;
  const types = vector([[0x60, ...vector([[i32t], [i32t], [i32t], [i32t]]), 1, f64t]]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(3, vector([[0]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('best'), 0x00, 0]])),
    ...section(10, vector([matchBody(lanes)])),
  ]);
}

interface MatcherExports { memory: WasmMemory; best(variants: number, count: number, template: number, scaleTable: number): number }

const matcher_template_offset = 64;
/** The table of sqrt(min(1, bits / typical)) for every mask bit count of a code (f64 each). */
const matcher_scale_table_offset = 8192;
const matcher_variants_offset = 65536;
/** Probe variant sets kept in a matcher's memory at once (a search uses one per pose: 1-5). */
export const matcher_variant_bytes_max = 8 * 1024 * 1024;
const matcherModules = new Map<number, object>();

/**
 * A probe's variant sets are copied into the kernel's memory once and found again by the
 * identity of their array (a probe's variants are never changed after packing), so comparing one
 * probe against thousands of enrolled codes copies only each enrolled code (a few hundred bytes).
 */
export class CodeMatcher {
  private readonly kernel: MatcherExports;
  private readonly codeWords: number;
  private placed = new WeakMap<readonly { words: Uint32Array }[], number>();
  private next = matcher_variants_offset;
  private words: Uint32Array;
  private readonly planeBits: number;
  /** The typical bit count the scale table was computed for. */
  private tableTypical = Number.NaN;

  /** For codes of 4 planes of `planeWords` 32-bit words (`planeWords` even). */
  constructor(planeWords: number) {
    if (planeWords % 2 !== 0 || planeWords <= 0) throw new RangeError('plane words must be a positive even number');
    this.planeBits = planeWords * 32;
    if (matcher_scale_table_offset + (this.planeBits + 1) * 8 > matcher_variants_offset) throw new RangeError('codes too large for the matcher\'s scale table');
    let module = matcherModules.get(planeWords);
    if (!module) { module = new wasm.Module(matcherWasm(planeWords / 2)); matcherModules.set(planeWords, module); }
    this.kernel = new wasm.Instance(module, {}).exports as MatcherExports;
    this.codeWords = 4 * planeWords;
    this.words = new Uint32Array(this.kernel.memory.buffer);
  }

  /** Where `variants` sit in the kernel's memory (copied there on first use). */
  private place(variants: readonly { words: Uint32Array }[]): number {
    const known = this.placed.get(variants);
    if (known !== undefined) return known;
    const bytes = variants.length * this.codeWords * 4;
    if (bytes > matcher_variant_bytes_max) throw new RangeError('too many probe variants for the matcher');
    // Full: forget every placed set and start again (the sets in use are placed again on demand).
    if (this.next + bytes > matcher_variants_offset + matcher_variant_bytes_max) { this.placed = new WeakMap(); this.next = matcher_variants_offset; }
    const end = this.next + bytes;
    const have = this.kernel.memory.buffer.byteLength;
    if (end > have) { this.kernel.memory.grow(Math.ceil((end - have) / page_bytes_wasm)); this.words = new Uint32Array(this.kernel.memory.buffer); }
    const at = this.next;
    variants.forEach((v, i) => {
      if (v.words.length !== this.codeWords) throw new RangeError('variant code of another size');
      this.words.set(v.words, at / 4 + i * this.codeWords);
    });
    this.placed.set(variants, at);
    this.next = end;
    return at;
  }

  /** Best normalised distance of `enrolled` (`codeWords` words of `slab` from `offset`) over `variants`; `argmin` is the winning variant. */
  best(variants: readonly { words: Uint32Array }[], slab: Uint32Array, offset: number, typicalBits: number): number {
    const at = this.place(variants);
    const words = this.words;
    const base = matcher_template_offset / 4;
    for (let i = 0; i < this.codeWords; i += 1) words[base + i] = slab[offset + i]!;
    if (typicalBits !== this.tableTypical) this.fillScaleTable(typicalBits);
    return this.kernel.best(at, variants.length, matcher_template_offset, matcher_scale_table_offset);
  }

  /** The scale factor of `normalisedDistance` per mask bit count, by the same operations (so the kernel stays bit-identical). */
  private fillScaleTable(typicalBits: number): void {
    const table = new Float64Array(this.kernel.memory.buffer, matcher_scale_table_offset, this.planeBits + 1);
    for (let bits = 0; bits <= this.planeBits; bits += 1) table[bits] = Math.sqrt(Math.min(1, bits / typicalBits));
    this.tableTypical = typicalBits;
  }

  /** The variant index behind the last `best`. */
  get argmin(): number { return this.words[0]!; }
}

const page_bytes_wasm = 65536;
