/**
 * Goal: the compiled engine (code generated per spec, generate*.ts) and the interpreted engine
 * are indistinguishable on specs nobody has written yet, not only on the four dialects
 * (iso8583-differential.test.ts): random valid specs (support/iso8583-spec-arbitrary.ts) reach
 * the generator's branches those dialects never do (BCD pad rules, L..LLLL prefixes in four
 * encodings, EBCDIC code pages, hex-EBCDIC and tertiary bitmaps, short digit fields, BER-TLV
 * under any prefix, delegated forms). Per spec: valid messages give the same bytes and values
 * on both engines, and through a layout of their fields; mutated frames decode to the same
 * message or the same Iso8583Error; mutated messages encode to the same bytes or error; the
 * generated functions never throw; and they carry the valid messages themselves (else this
 * would compare the interpreted engine with itself).
 *
 * A failure names its case: `FUZZ_SEED=<seed> FUZZ_SPEC=<index>` replays that spec alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSpec, ebcdicTables, type FieldSpec, type FieldValue, type Message, type MessageCodec, type MessageSpec } from '../iso8583/index.js';
import { message } from './support/iso8583-arbitrary.js';
import { mutate, mutateMessage, random } from './support/iso8583-mutate.js';
import { messageSpec } from './support/iso8583-spec-arbitrary.js';
import { describeError, outcome, sameOutcome, type Outcome } from './support/outcome.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_8583);
const SPECS = 160;
/** Specs per test: each test's run stays well inside its timeout on a loaded machine. */
const SPECS_PER_TEST = 40;
const VALID_MESSAGES = 40;
/** Valid messages also encoded through a layout of their fields (each layout compiles code). */
const LAYOUT_MESSAGES = 4;
const MUTATED_FRAMES = 240;
const MUTATED_MESSAGES = 128;
/** Of the valid messages, the share the generated functions must take themselves. */
const CARRIED_SHARE_MIN = 0.9;
/** Of the mutated inputs, the share the generated functions must take (most mutations break a message). */
const MUTATED_CARRIED_SHARE_MIN = 0.05;
const YIELD_EVERY = 200;
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** ~5 s a test on a quiet machine; allows for a loaded one. */
const TEST_TIMEOUT_MS = 120_000;

/** One spec's own seed, so that any spec replays alone. */
const specSeed = (index: number): number => (SEED + Math.imul(index + 1, 0x9e37_79b1)) | 0;
const specAt = (index: number): MessageSpec => fc.sample(messageSpec, { numRuns: 1, seed: specSeed(index) })[0]!;

const replaying = process.env.FUZZ_SPEC !== undefined;
const SPEC_INDEXES = replaying ? [Number(process.env.FUZZ_SPEC)] : Array.from({ length: SPECS }, (_, i) => i);
const CHUNKS = Array.from({ length: Math.ceil(SPEC_INDEXES.length / SPECS_PER_TEST) }, (_, i) => SPEC_INDEXES.slice(i * SPECS_PER_TEST, (i + 1) * SPECS_PER_TEST));

interface Tally {
  valid: number;
  encodeCarried: number;
  decodeCarried: number;
  layouts: number;
  layoutCarried: number;
  frames: number;
  framesCarried: number;
  messages: number;
  messagesCarried: number;
}

const newTally = (): Tally => ({ valid: 0, encodeCarried: 0, decodeCarried: 0, layouts: 0, layoutCarried: 0, frames: 0, framesCarried: 0, messages: 0, messagesCarried: 0 });

interface Engines {
  readonly compiled: MessageCodec;
  readonly interpreted: MessageCodec;
  readonly generated: NonNullable<MessageCodec['generated']> | undefined;
}

/** JSON with every character outside printable ASCII escaped: a DEL or a C1 control in a value must show. */
function printable(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Both outcomes the same; else a failure that names the case and shows both (bytes as hex), which a diff alone would hide. */
function expectSame(got: Outcome, expected: Outcome, what: () => string): void {
  if (sameOutcome(got, expected)) return;
  const show = (o: Outcome): unknown => (!o.ok ? describeError(o.error) : Buffer.isBuffer(o.value) ? o.value.toString('hex') : o.value);
  expect(show(got), `case: ${what()}\n  got      ${JSON.stringify(show(got))}\n  expected ${JSON.stringify(show(expected))}\n`).toEqual(show(expected));
}

/** A generated function's answer: it may pass (undefined), never throw, and never differ from the reference. */
function expectGeneratedAgrees(fast: Outcome, reference: Outcome, what: () => string): boolean {
  if (!fast.ok) expect({ input: what(), thrown: describeError(fast.error) }, 'a generated function threw').toBeUndefined();
  if (!fast.ok || fast.value === undefined) return false;
  expectSame(fast, reference, what);
  return true;
}

/** A layout of `ids` (any order) on both engines, and the compiled engine's generated layout encoder alone. */
interface Layouts {
  readonly ids: readonly number[];
  readonly compiled: ReturnType<MessageCodec['layout']>;
  readonly interpreted: ReturnType<MessageCodec['layout']>;
  readonly generated: ReturnType<NonNullable<MessageCodec['generated']>['layout']> | undefined;
}

function layoutsOf(engines: Engines, ids: readonly number[]): Layouts {
  return { ids, compiled: engines.compiled.layout(ids), interpreted: engines.interpreted.layout(ids), generated: engines.generated?.layout(ids) };
}

/** Encoding `fields` through `layouts` gives `reference` (encode's outcome) on every road; true when the generated layout took it. */
function expectLayoutsAgree(layouts: Layouts, mti: string, fields: Readonly<Record<number, FieldValue | undefined>>, reference: Outcome, what: () => string): boolean {
  // Own values only, as encode reads them (a mutated message may inherit from an odd prototype).
  const values = layouts.ids.map((id) => (Object.hasOwn(fields, id) ? fields[id] : undefined));
  const layoutWhat = (): string => `${what()} through a layout of [${layouts.ids.join(', ')}]`;
  expectSame(outcome(() => layouts.compiled.encode(mti, values)), reference, layoutWhat);
  expectSame(outcome(() => layouts.interpreted.encode(mti, values)), reference, layoutWhat);
  return layouts.generated !== undefined && expectGeneratedAgrees(outcome(() => layouts.generated!.encode(mti, values)), reference, layoutWhat);
}

/** The message's field ids in a shuffled order, sometimes with a defined field it lacks (an undefined value: left out). */
function layoutIds(spec: MessageSpec, original: Message, next: () => number): number[] {
  const ids = Object.keys(original.fields).map(Number);
  const absent = Object.keys(spec.fields).map(Number).filter((id) => original.fields[id] === undefined);
  if (absent.length > 0 && next() % 2 === 0) ids.push(absent[next() % absent.length]!);
  for (let i = ids.length - 1; i > 0; i -= 1) {
    const j = next() % (i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

/**
 * Small corruptions next to mutate()'s coarse ones: one bit, one nibble (a BCD pad or digit),
 * or a byte off by one (a length prefix one too long or short).
 */
function nudge(frame: Buffer, next: () => number): Buffer {
  const bytes = Buffer.from(frame);
  if (bytes.length === 0) return bytes;
  const at = next() % bytes.length;
  switch (next() % 3) {
    case 0: bytes[at]! ^= 1 << (next() % 8); break;
    case 1: bytes[at]! ^= next() % 2 === 0 ? (next() % 15 + 1) << 4 : next() % 15 + 1; break;
    default: bytes[at] = (bytes[at]! + (next() % 2 === 0 ? 1 : 255)) & 0xff;
  }
  return bytes;
}

/**
 * Character codes at the edges of the content classes (io.ts): digits, letters, hex, the track
 * separators, printable ASCII and Latin-1; and BCD bytes at the edges of digits and pads.
 */
const EDGE_CODES = [0x00, 0x1f, 0x20, 0x21, 0x2f, 0x30, 0x39, 0x3a, 0x3c, 0x3d, 0x3e, 0x40, 0x41, 0x44, 0x46, 0x47, 0x5a, 0x5b, 0x60, 0x61, 0x66, 0x67, 0x7a, 0x7b, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xff];
const EDGE_BCD_BYTES = [0x09, 0x0a, 0x0f, 0x90, 0x99, 0x9a, 0xa0, 0xd0, 0x0d, 0xf0, 0xf9, 0xfa];
/** Beyond Latin-1: no EBCDIC or ASCII byte stands for these. */
const WIDE_CODES = [0x100, 0x17f, 0x2030];

/** One byte set to an edge value: a character code as it is (ASCII) or through the code page (EBCDIC), or a BCD edge. */
function edgeByte(frame: Buffer, next: () => number, toEbcdic: Uint8Array | undefined): Buffer {
  const bytes = Buffer.from(frame);
  if (bytes.length === 0) return bytes;
  const at = next() % bytes.length;
  const code = EDGE_CODES[next() % EDGE_CODES.length]!;
  switch (next() % 3) {
    case 0: bytes[at] = code; break;
    case 1: bytes[at] = toEbcdic === undefined ? code : toEbcdic[code]!; break;
    default: bytes[at] = EDGE_BCD_BYTES[next() % EDGE_BCD_BYTES.length]!;
  }
  return bytes;
}

/**
 * `text` with one character (none if empty) replaced by an edge character: half the time the
 * last one, which the generated loops check in their tail rather than four at a time.
 */
function edgeText(text: string, next: () => number): string {
  if (text.length === 0) return text;
  const at = next() % 2 === 0 ? text.length - 1 : next() % text.length;
  const codes = next() % 8 === 0 ? WIDE_CODES : EDGE_CODES;
  return text.slice(0, at) + String.fromCharCode(codes[next() % codes.length]!) + text.slice(at + 1);
}

function edgeValue(value: FieldValue, next: () => number): FieldValue {
  if (typeof value === 'string') return edgeText(value, next);
  if (Array.isArray(value)) {
    if (value.length === 0) return value;
    const at = next() % value.length;
    const entry = value[at]!;
    const changed = next() % 2 === 0 ? { tag: edgeText(entry.tag, next), value: entry.value } : { tag: entry.tag, value: edgeText(entry.value, next) };
    return value.map((e, i) => (i === at ? changed : e));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return value;
  const key = keys[next() % keys.length]!;
  return { ...value, [key]: edgeValue(value[key]!, next) };
}

/** A valid message with one character of one field (or subfield, or TLV entry) at the edge of what its class admits. */
function edgeMessage(original: Message, next: () => number): Message {
  const keys = Object.keys(original.fields);
  if (keys.length === 0) return original;
  const key = keys[next() % keys.length]!;
  return { mti: original.mti, fields: { ...original.fields, [key]: edgeValue(original.fields[key]!, next) } };
}

async function validMessages(engines: Engines, spec: MessageSpec, seed: number, tally: Tally): Promise<{ corpus: Message[]; frames: Buffer[]; layouts: Map<string, Layouts> }> {
  const { compiled, interpreted, generated } = engines;
  const corpus = fc.sample(message(spec), { numRuns: VALID_MESSAGES, seed });
  const frames: Buffer[] = [];
  const layouts = new Map<string, Layouts>();
  const next = random(seed);
  for (const [k, original] of corpus.entries()) {
    if (k % YIELD_EVERY === YIELD_EVERY - 1) await breathe();
    const what = (): string => `valid message ${printable(original)}`;
    const encoded = outcome(() => interpreted.encode(original));
    if (!encoded.ok) expect.unreachable(`the spec arbitrary made a message its spec refuses: ${what()}: ${JSON.stringify(describeError(encoded.error))}`);
    const bytes = encoded.value as Buffer;
    frames.push(bytes);
    expectSame(outcome(() => compiled.encode(original)), encoded, what);
    if (generated !== undefined && expectGeneratedAgrees(outcome(() => generated.encode(original)), encoded, what)) tally.encodeCarried += 1;

    const frameWhat = (): string => `${what()}, frame ${bytes.toString('hex')}`;
    const decoded = outcome(() => interpreted.decode(bytes));
    expect(decoded.ok && decoded.value, frameWhat()).toEqual(original);
    expectSame(outcome(() => compiled.decode(bytes)), decoded, frameWhat);
    if (generated !== undefined) {
      // The frame inside a larger buffer, as in a read buffer holding more than one message.
      const before = 1 + (k % 5);
      const room = Buffer.alloc(before + bytes.length + 3, 0xa5);
      bytes.copy(room, before);
      const alone = expectGeneratedAgrees(outcome(() => generated.decode(bytes, 0, bytes.length)), decoded, frameWhat);
      const inside = expectGeneratedAgrees(outcome(() => generated.decode(room, before, before + bytes.length)), decoded, frameWhat);
      expect(inside, `${frameWhat()}: the generated decoder takes a frame inside a larger buffer as it takes it alone`).toBe(alone);
      if (alone) tally.decodeCarried += 1;
    }

    if (k < LAYOUT_MESSAGES) {
      const these = layoutsOf(engines, layoutIds(spec, original, next));
      layouts.set(Object.keys(original.fields).join(','), these);
      tally.layouts += 1;
      if (expectLayoutsAgree(these, original.mti, original.fields, encoded, what)) tally.layoutCarried += 1;
    }
    tally.valid += 1;
  }
  return { corpus, frames, layouts };
}

async function mutatedFrames(engines: Engines, frames: readonly Buffer[], seed: number, tally: Tally): Promise<void> {
  const { compiled, interpreted, generated } = engines;
  const codePage = interpreted.spec.ebcdicCodePage;
  const toEbcdic = codePage === undefined ? undefined : ebcdicTables(codePage).fromLatin1;
  const next = random(seed ^ 0x0f0f_0f0f);
  for (let i = 0; i < MUTATED_FRAMES; i += 1) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await breathe();
    const original = frames[next() % frames.length]!;
    const frame = i % 3 === 0 ? mutate(original, next) : i % 3 === 1 ? nudge(original, next) : edgeByte(original, next, toEbcdic);
    const what = (): string => `frame ${frame.toString('hex')} (mutated from ${original.toString('hex')})`;
    const reference = outcome(() => interpreted.decode(frame));
    expectSame(outcome(() => compiled.decode(frame)), reference, what);
    if (generated !== undefined && expectGeneratedAgrees(outcome(() => generated.decode(frame, 0, frame.length)), reference, what)) tally.framesCarried += 1;
    // Nothing trimmed, nothing normalised: what decodes encodes back to the same bytes.
    if (reference.ok) expectSame(outcome(() => compiled.encode(reference.value as Message)), { ok: true, value: frame }, what);
    tally.frames += 1;
  }
}

async function mutatedMessages(engines: Engines, corpus: readonly Message[], layouts: ReadonlyMap<string, Layouts>, seed: number, tally: Tally): Promise<void> {
  const { compiled, interpreted, generated } = engines;
  const next = random(seed ^ 0x7070_7070);
  for (let i = 0; i < MUTATED_MESSAGES; i += 1) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await breathe();
    const original = corpus[next() % corpus.length]!;
    const mutated = i % 2 === 0 ? mutateMessage(original, next) : edgeMessage(original, next);
    const input = mutated as Message;
    const what = (): string => `message ${printable(input)}`;
    const reference = outcome(() => interpreted.encode(input));
    expectSame(outcome(() => compiled.encode(input)), reference, what);
    if (generated !== undefined && expectGeneratedAgrees(outcome(() => generated.encode(input)), reference, what)) tally.messagesCarried += 1;
    // Where a layout of the same fields was made, it gives what encode gives, bytes or error.
    const these = layoutFor(layouts, mutated);
    if (these !== undefined) expectLayoutsAgree(these, input.mti, input.fields, reference, what);
    tally.messages += 1;
  }
}

/** The layout made for a valid message with the same field keys as `input`, if any. */
function layoutFor(layouts: ReadonlyMap<string, Layouts>, input: unknown): Layouts | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const fields = (input as { fields?: unknown }).fields;
  return typeof fields === 'object' && fields !== null && !Array.isArray(fields) ? layouts.get(Object.keys(fields).join(',')) : undefined;
}

async function checkSpecWith(spec: MessageSpec, seed: number, tally: Tally): Promise<void> {
  const compiled = compileSpec(spec);
  expect(compiled.engine).toBe('compiled');
  const engines: Engines = { compiled, interpreted: compileSpec(spec, { engine: 'interpreted' }), generated: compiled.generated };
  const { corpus, frames, layouts } = await validMessages(engines, spec, seed, tally);
  await mutatedFrames(engines, frames, seed, tally);
  await mutatedMessages(engines, corpus, layouts, seed, tally);
}

/** Attempts at dropping a field from a failing spec: bounds the search on a failure. */
const SHRINK_ATTEMPTS_MAX = 120;

/**
 * A smaller spec that still fails, found by dropping its fields one at a time while it keeps
 * failing (a random spec has up to 32 fields; the fault is usually in one), and its failure.
 */
async function smallestFailing(spec: MessageSpec, seed: number, failure: unknown): Promise<{ spec: MessageSpec; failure: unknown }> {
  let smallest = { spec, failure };
  let attempts = 0;
  for (let dropped = true; dropped && attempts < SHRINK_ATTEMPTS_MAX;) {
    dropped = false;
    for (const id of Object.keys(smallest.spec.fields)) {
      if (Object.keys(smallest.spec.fields).length === 1 || attempts === SHRINK_ATTEMPTS_MAX) break;
      attempts += 1;
      const fields = { ...smallest.spec.fields } as Record<string, FieldSpec>;
      delete fields[id];
      const candidate = { ...smallest.spec, fields };
      try {
        await checkSpecWith(candidate, seed, newTally());
      } catch (error) {
        smallest = { spec: candidate, failure: error };
        dropped = true;
      }
    }
  }
  return smallest;
}

async function checkSpec(index: number, tally: Tally): Promise<void> {
  const spec = specAt(index);
  const seed = specSeed(index);
  try {
    await checkSpecWith(spec, seed, tally);
  } catch (error) {
    // The case to replay and a smaller spec that fails too, ahead of the assertion's own message (its diff is kept).
    const smallest = await smallestFailing(spec, seed, error);
    const smallestFailure = smallest.failure instanceof Error ? smallest.failure.message : String(smallest.failure);
    const replay = [
      `random spec #${index}: replay with FUZZ_SEED=${SEED} FUZZ_SPEC=${index} npx vitest run test/iso8583-spec-differential.test.ts`,
      `smallest failing spec found (fields dropped one by one): ${JSON.stringify(smallest.spec)}`,
      `its failure: ${smallestFailure}`,
      `the whole spec: ${JSON.stringify(spec)}`,
    ].join('\n');
    if (error instanceof Error) error.message = `${replay}\n${error.message}`;
    throw error;
  }
}

function expectShare(carried: number, total: number, share: number, what: string): void {
  expect(carried, `${what}: ${carried} of ${total}`).toBeGreaterThanOrEqual(Math.ceil(total * share));
}

describe(`compiled vs interpreted on random specs (FUZZ_SEED=${SEED})`, () => {
  it.each(CHUNKS.map((indexes) => [indexes[0]!, indexes[indexes.length - 1]!, indexes] as const))('specs #%i..#%i: same bytes, values and errors; the generated code carries the valid messages', async (_first, _last, indexes) => {
    const tally = newTally();
    for (const index of indexes) {
      await breathe();
      await checkSpec(index, tally);
    }
    expectShare(tally.encodeCarried, tally.valid, CARRIED_SHARE_MIN, 'valid messages the generated encoder took');
    expectShare(tally.decodeCarried, tally.valid, CARRIED_SHARE_MIN, 'valid frames the generated decoder took');
    expectShare(tally.layoutCarried, tally.layouts, CARRIED_SHARE_MIN, 'valid messages a generated layout encoder took');
    expectShare(tally.framesCarried, tally.frames, MUTATED_CARRIED_SHARE_MIN, 'mutated frames the generated decoder took');
    expectShare(tally.messagesCarried, tally.messages, MUTATED_CARRIED_SHARE_MIN, 'mutated messages the generated encoder took');
  }, TEST_TIMEOUT_MS);

  it.skipIf(replaying)('the random specs reach the forms the dialects do not', () => {
    const reached = new Set<string>();
    for (const index of SPEC_INDEXES) formsOf(specAt(index), reached);
    const missing = EXPECTED_FORMS.filter((form) => !reached.has(form));
    expect(missing).toEqual([]);
  });
});

/** Names of the forms a spec holds, as EXPECTED_FORMS spells them. */
function formsOf(spec: MessageSpec, into: Set<string>): void {
  into.add(`mti ${spec.mti.encoding}`);
  into.add(`bitmap ${spec.bitmap.encoding}${spec.bitmap.tertiary === true ? ' tertiary' : ''}`);
  if (spec.ebcdicCodePage !== undefined) into.add(`code page ${spec.ebcdicCodePage}`);
  for (const [key, field] of Object.entries(spec.fields)) {
    const id = Number(key);
    if (id > 128) into.add('field above 128');
    if (id === 65 && spec.bitmap.tertiary !== true) into.add('field 65');
    fieldForms(field, into);
  }
}

function fieldForms(field: FieldSpec, into: Set<string>): void {
  if (field.prefix) into.add(`prefix ${'L'.repeat(field.prefix.digits)} ${field.prefix.encoding}`);
  if (field.subfields) {
    into.add(field.subfields.kind === 'ber-tlv' ? `ber-tlv ${field.prefix?.encoding ?? 'fixed'}` : `composite ${field.subfields.kind}${field.prefix ? '' : ' fixed'}`);
    if (field.subfields.kind === 'positional' || field.subfields.kind === 'bitmapped') for (const sub of Object.values(field.subfields.subfields)) fieldForms(sub, into);
    return;
  }
  const unit = field.lengthUnit === 'bytes' && field.encoding === 'bcd' ? ' bytes' : '';
  into.add(`${field.type} ${field.encoding}${unit}`);
  if (field.bcdPad !== undefined) into.add(`bcd pad ${field.bcdPad}`);
  if (field.encoding === 'bcd' && field.prefix === undefined && field.length % 2 === 1 && field.type === 'n') into.add('bcd odd fixed');
  if (field.type === 'n' && field.prefix === undefined && field.length <= 4 && field.encoding !== 'bcd') into.add(`n${field.length} ${field.encoding}`);
  if (field.type === 'n' && field.prefix === undefined && field.length <= 4 && field.encoding === 'bcd' && field.length % 2 === 0) into.add(`n${field.length} bcd`);
  if (field.pad !== undefined) into.add('pad');
  if (field.prefix === undefined && field.length > 16 && (field.encoding === 'ascii' || field.encoding === 'ebcdic')) into.add('fixed text over 16');
}

const EXPECTED_FORMS = [
  ...['ascii', 'bcd', 'ebcdic'].map((e) => `mti ${e}`),
  ...['binary', 'hex-ascii', 'hex-ebcdic'].flatMap((e) => [`bitmap ${e}`, `bitmap ${e} tertiary`]),
  ...['037', '500', '1047'].map((p) => `code page ${p}`),
  'field above 128', 'field 65',
  ...['L', 'LL', 'LLL', 'LLLL'].flatMap((l) => ['ascii', 'ebcdic', 'bcd', 'binary'].map((e) => `prefix ${l} ${e}`)),
  ...['n', 'a', 'an', 'ans', 'z'].flatMap((t) => [`${t} ascii`, `${t} ebcdic`]),
  'n bcd', 'n bcd bytes', 'z bcd', 'b binary', 'b hex',
  ...['left-0', 'left-F', 'right-0', 'right-F'].map((p) => `bcd pad ${p}`), 'bcd odd fixed',
  ...[1, 2, 3, 4].flatMap((n) => [`n${n} ascii`, `n${n} ebcdic`]), 'n2 bcd', 'n4 bcd',
  ...['ascii', 'ebcdic', 'bcd', 'binary'].map((e) => `ber-tlv ${e}`),
  'composite positional', 'composite positional fixed', 'composite tlv', 'composite bitmapped',
  'pad', 'fixed text over 16',
];
