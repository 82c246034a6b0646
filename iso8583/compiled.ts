/**
 * The compiled codec: the spec's generated encoder/decoder (generate.ts) in front of the
 * interpreted codec (message.ts). The generated functions do the common case; anything
 * else, including every error, is done again by the interpreted codec, so both paths give
 * the same bytes, the same message and the same Iso8583Error (test/iso8583-differential).
 *
 * Encoding writes straight into a pooled buffer and returns a view of it, as Buffer.allocUnsafe
 * does with Node's pool, which saves the scratch copy and the costlier allocUnsafe call.
 */
import { assert } from '../core/index.js';
import type { EbcdicTables } from './encoding.js';
import type { FieldCodec } from './field.js';
import { BER_SLOTS_PER_FIELD, berTags1, berTags2, CHAR_CLASS_WIDE, decodeChars, decodeChars16, DIGIT_STRINGS, HEX_CODES, HEX_PAIR_VALUES, HEX_PAIRS, HEX_PAIRS16, HEX_UPPER } from './fast-runtime.js';
import { generateSource, planField, type FieldPlan } from './generate.js';
import { generateLayoutSource } from './generate-layout.js';
import { CHAR_CLASS, MESSAGE_SIZE_BYTES_MAX, Reader, Writer } from './io.js';
import { latin1SliceMethod } from './strings.js';
import type { FieldValue, Message, MessageSpec } from './spec.js';

/**
 * Encoded messages are cut from pools of this size. A pool lives while any message cut from
 * it does, so this bounds what one retained message can keep alive; a message may be as
 * large as MESSAGE_SIZE_BYTES_MAX, so a fresh pool always has room for one.
 */
export const ENCODE_POOL_BYTES = 2 * MESSAGE_SIZE_BYTES_MAX + 2;

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;

/**
 * Buffer[Symbol.species] is Node's FastBuffer, the class of every Buffer: `new` on it is what
 * Buffer.from(arrayBuffer, offset, length) does once it has checked its arguments, and that
 * checking cost as much as a quarter of a short message's encode. Checked once here; should a
 * Node version not expose it, Buffer.from is used.
 */
function viewMaker(): (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer {
  const species = (Buffer as unknown as { [Symbol.species]?: unknown })[Symbol.species];
  if (typeof species === 'function' && species !== Buffer) {
    const View = species as ViewConstructor;
    const probe = new View(new ArrayBuffer(4), 1, 2);
    if (Buffer.isBuffer(probe) && Object.getPrototypeOf(probe) === Buffer.prototype && probe.byteOffset === 1 && probe.length === 2) {
      return (buffer, byteOffset, length) => new View(buffer, byteOffset, length);
    }
  }
  return (buffer, byteOffset, length) => Buffer.from(buffer, byteOffset, length);
}
const makeView = viewMaker();

/** The functions of a spec's generated source (generate.ts): undefined / -1 hand over to the interpreted codec. */
export interface GeneratedCodec {
  readonly decode: (frame: Buffer, start: number, end: number) => Message | undefined;
  readonly encode: (message: Message, out: Buffer, start: number, limit: number, writer: Writer) => number;
  /**
   * The functions encode calls to write the fields of one bitmap word each (generate.ts,
   * generateFieldWriter), in the order of their words; named `encodeFields<first>to<last>`.
   */
  readonly fieldWriters: readonly GeneratedFieldWriter[];
}

/** A generated field writer: its arguments are encode's state, which only encode can give. */
export type GeneratedFieldWriter = (copy: object, bitmapWord: number, out: Buffer, position: number, limit: number, writer: Writer) => number;

/** A layout's generated encoder (generate-layout.ts), cutting from the codec's pool. */
export interface CompiledLayout {
  readonly source: string;
  /** The encoded message, or undefined when the codec's encode must do it. */
  encode(mti: string, values: readonly (FieldValue | undefined)[]): Buffer | undefined;
  /** The generated function itself, which `encode` calls: see CompiledParts.generatedFunctions. */
  readonly generatedFunction: GeneratedLayout;
}

/** A layout's generated function (generate-layout.ts): the end of the message in `out`, or -1 to hand over. */
export type GeneratedLayout = (mti: string, values: readonly (FieldValue | undefined)[], out: Buffer, start: number, limit: number, writer: Writer) => number;

export interface CompiledParts {
  readonly source: string;
  /** Compiles the encoder of a layout (layout.ts): `ids` are defined by the spec, each once. */
  layout(ids: readonly number[]): CompiledLayout;
  decode(frame: Buffer, start: number, end: number): Message | undefined;
  /** The encoded message, or undefined when the interpreted codec must do it. */
  encode(message: Message): Buffer | undefined;
  /**
   * The generated decode, encode and the field writers encode calls, not the closures above
   * that call them. V8 optimises (or gives up on) each generated function on its own, and a
   * function grown past what V8 optimises runs several times slower with every test still
   * passing: the optimisation guard (test/iso8583-optimisable.test.ts) asks V8 about these. For
   * audits, not for calling: they take the codec's pool and writer, which decode/encode above pass.
   */
  readonly generatedFunctions: GeneratedCodec;
}

export function fieldPlans(spec: MessageSpec, codecs: readonly (FieldCodec | undefined)[]): FieldPlan[] {
  const plans: FieldPlan[] = [];
  for (let id = 0; id < codecs.length; id += 1) {
    const codec = codecs[id];
    if (codec !== undefined) plans.push(planField(id, codec.spec));
  }
  assert(plans.length === Object.keys(spec.fields).length, 'every field of the spec has a plan');
  return plans;
}

function planOf(plans: readonly FieldPlan[], id: number): FieldPlan {
  const plan = plans.find((candidate) => candidate.id === id);
  assert(plan !== undefined, `field ${id} of a layout is defined by the spec`);
  return plan;
}

export function sourceFor(spec: MessageSpec, codecs: readonly (FieldCodec | undefined)[]): string {
  return generateSource(spec, fieldPlans(spec, codecs));
}

/** Compiles the generated source; `codecs` are the interpreted field codecs, for rare field forms. */
export function compileGenerated(spec: MessageSpec, codecs: readonly (FieldCodec | undefined)[], ebcdic: EbcdicTables | undefined): CompiledParts {
  const plans = fieldPlans(spec, codecs);
  const source = generateSource(spec, plans);
  const berFields = plans.filter((plan) => plan.kind === 'ber').length;
  const berSlots = Math.max(1, berFields) * BER_SLOTS_PER_FIELD;
  const runtime = {
    CC: CHAR_CLASS, CCW: CHAR_CLASS_WIDE, HEXC: HEX_CODES, HEXU: HEX_UPPER, HEXPV: HEX_PAIR_VALUES, HEXP: HEX_PAIRS, HEX16: HEX_PAIRS16, TAG1: berTags1, TAG2: berTags2,
    E2L: ebcdic?.toLatin1, L2E: ebcdic?.fromLatin1, sc: decodeChars, sc16: decodeChars16, slots: new Int32Array(berSlots), tagv: new Array<string>(berSlots).fill(''),
    // Never written: a read of HOLES[id] finds only what the prototypes hold (generate.ts).
    FT: new Array<object | undefined>(codecs.length).fill(undefined), HOLES: new Array<unknown>(codecs.length), C: codecs, Reader, OBJECT_PROTOTYPE: Object.prototype, LS: latin1SliceMethod,
    DIGITS1: DIGIT_STRINGS[1], DIGITS2: DIGIT_STRINGS[2], DIGITS3: DIGIT_STRINGS[3], DIGITS4: DIGIT_STRINGS[4],
  };
  // The source is generated from the spec's declarative data only (numbers and fixed
  // fragments, never strings from the spec or from messages), see generate.ts.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('rt', source) as (rt: typeof runtime) => GeneratedCodec;
  const generated = factory(runtime);

  // The pool's memory and offset are read once per pool: `buffer` and `byteOffset` are getters
  // that optimised code calls through a generic property load (~30 ns each on Node 20).
  let pool = Buffer.allocUnsafeSlow(ENCODE_POOL_BYTES);
  let poolWriter = new Writer(0, pool);
  let poolPos = 0;
  let poolMemory = pool.buffer;
  let poolOffset = pool.byteOffset;
  const newPool = (): void => {
    pool = Buffer.allocUnsafeSlow(ENCODE_POOL_BYTES);
    poolWriter = new Writer(0, pool);
    poolPos = 0;
    poolMemory = pool.buffer;
    poolOffset = pool.byteOffset;
  };
  /** After a refused attempt: whether only the pool may have been short, and a fresh one is now in place for one more try. */
  const renewedForRetry = (): boolean => {
    if (pool.length - poolPos >= MESSAGE_SIZE_BYTES_MAX) return false;
    newPool();
    return true;
  };
  /** The message written at [poolPos, end) as a view of the pool; the next one starts 8-aligned after it. */
  const cut = (end: number): Buffer => {
    const out = makeView(poolMemory, poolOffset + poolPos, end - poolPos);
    poolPos = (end + 7) & ~7;
    return out;
  };
  const attempt = (message: Message): number => generated.encode(message, pool, poolPos, Math.min(pool.length, poolPos + MESSAGE_SIZE_BYTES_MAX), poolWriter);
  const layout = (ids: readonly number[]): CompiledLayout => {
    const layoutSource = generateLayoutSource(spec, ids.map((id) => planOf(plans, id)));
    const layoutRuntime = { CCW: CHAR_CLASS_WIDE, HEXC: HEX_CODES, HEXPV: HEX_PAIR_VALUES, L2E: ebcdic?.fromLatin1, C: codecs };
    // Generated from the spec's declarative data and the layout's field numbers only, as above.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const run = (new Function('rt', layoutSource) as (rt: typeof layoutRuntime) => GeneratedLayout)(layoutRuntime);
    const attemptLayout = (mti: string, values: readonly (FieldValue | undefined)[]): number => run(mti, values, pool, poolPos, Math.min(pool.length, poolPos + MESSAGE_SIZE_BYTES_MAX), poolWriter);
    return {
      source: layoutSource,
      generatedFunction: run,
      encode(mti, values) {
        let end = attemptLayout(mti, values);
        if (end < 0 && renewedForRetry()) end = attemptLayout(mti, values);
        return end < 0 ? undefined : cut(end);
      },
    };
  };
  return {
    source,
    layout,
    // A copy: the closures above call through `generated`, which no caller may replace.
    generatedFunctions: Object.freeze({ decode: generated.decode, encode: generated.encode, fieldWriters: Object.freeze([...generated.fieldWriters]) }),
    decode: (frame, start, end) => generated.decode(frame, start, end),
    encode(message) {
      if (typeof message !== 'object' || message === null) return undefined;
      let end = attempt(message);
      if (end < 0 && renewedForRetry()) end = attempt(message);
      return end < 0 ? undefined : cut(end);
    },
  };
}
