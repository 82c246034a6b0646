/**
 * The prefilter scanner as a hand-assembled WebAssembly module (no toolchain needed, and the
 * bytes are ours to review): `scan` XORs a query against `count` codes of `lanes` 64-bit words with
 * i64.popcnt (one hardware POPCNT each on x86-64), stores each distance as u16 and builds a
 * histogram of distances; `collect` returns the slots at or under a cutoff. Plain JavaScript
 * needs about a dozen operations per 32-bit popcount, which is what this avoids.
 */

const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i64Load: 0x29, i32Load16u: 0x2f, i32Store: 0x36, i32Store16: 0x3b,
  i32Const: 0x41, i32GeU: 0x4f, i32LeU: 0x4d, i32Add: 0x6a, i32Shl: 0x74,
  i64Popcnt: 0x7b, i64Add: 0x7c, i64Xor: 0x85, i32WrapI64: 0xa7,
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

function scanBody(lanes: number): number[] {
  // params: 0 query, 1 base, 2 count, 3 out, 4 histogram; locals: 5 i, 6 p, 7 d, 8.. query words
  const words = Array.from({ length: lanes }, (_, i) => i);
  const lane = (word: number): number[] => [...get(8 + word), ...get(6), op.i64Load, 3, ...uleb(word * 8), op.i64Xor, op.i64Popcnt];
  const code = [
    ...words.flatMap((w) => [...get(0), op.i64Load, 3, ...uleb(w * 8), ...set(8 + w)]),
    ...get(1), ...set(6),
    op.block, op.void, op.loop, op.void,
    ...get(5), ...get(2), op.i32GeU, op.brIf, 1,
    ...lane(0), ...words.slice(1).flatMap((w) => [...lane(w), op.i64Add]), op.i32WrapI64, ...set(7),
    ...get(3), ...get(5), ...i32(1), op.i32Shl, op.i32Add, ...get(7), op.i32Store16, 1, 0,
    ...get(4), ...get(7), ...i32(2), op.i32Shl, op.i32Add, op.localTee, 7,
    ...get(7), op.i32Load, 2, 0, ...i32(1), op.i32Add, op.i32Store, 2, 0,
    ...get(6), op.i32Const, ...sleb(lanes * 8), op.i32Add, ...set(6),
    ...get(5), ...i32(1), op.i32Add, ...set(5),
    op.br, 0, op.end, op.end, op.end,
  ];
  const locals = [2, 3, 0x7f, lanes, 0x7e];
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
    ...section(3, vector([[0], [1]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('scan'), 0x00, 0], [...name('collect'), 0x00, 1]])),
    ...section(10, vector([scanBody(lanes), collectBody()])),
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
  collect(distances: number, count: number, cutoff: number, results: number, max: number): number;
}

const compiled = new Map<number, object>();

export function instantiatePrefilter(lanes: number): PrefilterKernel {
  let module = compiled.get(lanes);
  if (!module) { module = new wasm.Module(prefilterWasm(lanes)); compiled.set(lanes, module); }
  const instance = new wasm.Instance(module, {});
  return instance.exports as PrefilterKernel;
}
