/**
 * Goal: the compiled engine (generated encoder/decoder per spec) and the interpreted engine
 * are indistinguishable: same bytes, same decoded messages, same Iso8583Error (code, path,
 * offset, text) — on the fast-check corpus of valid messages, on mutated frames as the fuzz
 * test makes them, and on mutated messages. Also that the generated functions really carry
 * the valid messages (so this test is not comparing the interpreted engine with itself) and
 * never answer where the interpreted engine refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSpec, generatedSource, type Message, type MessageCodec } from '../iso8583/index.js';
import { dialect, DIALECT_NAMES, SAMPLE_MESSAGES } from '../specs/index.js';
import { message } from './support/iso8583-arbitrary.js';
import { mutate, mutateMessage, random } from './support/iso8583-mutate.js';
import { describeError, expectSameOutcome, outcome } from './support/outcome.js';

const VALID_MESSAGES = 400;
const MUTATED_FRAMES = 20_000;
const MUTATED_MESSAGES = 10_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_8583);
/** Long loops let the event loop turn this often, so the test runner's own messages get through on a loaded machine. */
const YIELD_EVERY = 2_000;
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Bound on the two mutation tests: a few seconds each on a quiet machine, allowing for a loaded one. */
const MUTATION_TEST_TIMEOUT_MS = 180_000;

function codecs(name: string): { compiled: MessageCodec; interpreted: MessageCodec; generated: NonNullable<MessageCodec['generated']> } {
  const { spec } = dialect(name);
  const compiled = compileSpec(spec);
  const interpreted = compileSpec(spec, { engine: 'interpreted' });
  expect(compiled.engine).toBe('compiled');
  expect(interpreted.engine).toBe('interpreted');
  expect(compiled.generated).toBeDefined();
  return { compiled, interpreted, generated: compiled.generated! };
}

describe.each(DIALECT_NAMES)('compiled vs interpreted: %s', (name) => {
  it(`${VALID_MESSAGES} valid messages: the generated code carries them all, with the same bytes and values`, () => {
    const { compiled, interpreted, generated } = codecs(name);
    const corpus = [...SAMPLE_MESSAGES.map((make) => make()), ...fc.sample(message(dialect(name).spec), { numRuns: VALID_MESSAGES, seed: SEED })];
    for (const original of corpus) {
      const bytes = interpreted.encode(original);
      const fast = generated.encode(original);
      expect(fast, 'the generated encoder took the message').toBeDefined();
      expect(fast!.equals(bytes)).toBe(true);
      expect(compiled.encode(original).equals(bytes)).toBe(true);
      const decoded = generated.decode(bytes, 0, bytes.length);
      expect(decoded, 'the generated decoder took the frame').toBeDefined();
      expect(decoded).toEqual(interpreted.decode(bytes));
      expect(compiled.decode(bytes)).toEqual(original);
    }
  });

  it('the generated decoder takes a frame inside a larger buffer (the range is copied, not the whole buffer)', () => {
    const { interpreted, generated } = codecs(name);
    const corpus = [...SAMPLE_MESSAGES.map((make) => make()), ...fc.sample(message(dialect(name).spec), { numRuns: 100, seed: SEED })];
    for (const [i, original] of corpus.entries()) {
      const bytes = interpreted.encode(original);
      // Other bytes before and after the frame, as in a read buffer holding more than one message.
      const before = 1 + (i % 7);
      const room = Buffer.alloc(before + bytes.length + 5, 0xa5);
      bytes.copy(room, before);
      const decoded = generated.decode(room, before, before + bytes.length);
      expect(decoded, 'the generated decoder took the frame').toBeDefined();
      expect(decoded).toEqual(original);
    }
  });

  it(`${MUTATED_FRAMES.toLocaleString('en-US')} mutated frames decode to the same message or the same error`, async () => {
    const { compiled, interpreted, generated } = codecs(name);
    const corpus = [...SAMPLE_MESSAGES.map((make) => interpreted.encode(make())), ...fc.sample(message(dialect(name).spec), { numRuns: 200, seed: SEED }).map((m) => interpreted.encode(m))];
    const next = random(SEED ^ (name.length * 31));
    let generatedAccepted = 0;
    for (let i = 0; i < MUTATED_FRAMES; i += 1) {
      if (i % YIELD_EVERY === 0) await breathe();
      const frame = mutate(corpus[next() % corpus.length]!, next);
      const what = (): string => `frame ${frame.toString('hex')}`;
      const reference = outcome(() => interpreted.decode(frame));
      expectSameOutcome(outcome(() => compiled.decode(frame)), reference, what);
      const fast = generated.decode(frame, 0, frame.length);
      if (fast !== undefined) {
        // The generated decoder may pass a frame on, but never accept what is refused.
        expectSameOutcome({ ok: true, value: fast }, reference, what);
        generatedAccepted += 1;
      }
      if (reference.ok) expectSameOutcome(outcome(() => compiled.encode(reference.value as Message)), { ok: true, value: frame }, what);
    }
    expect(generatedAccepted).toBeGreaterThan(MUTATED_FRAMES / 50);
  }, MUTATION_TEST_TIMEOUT_MS);

  it(`${MUTATED_MESSAGES.toLocaleString('en-US')} mutated messages encode to the same bytes or the same error`, async () => {
    const { compiled, interpreted, generated } = codecs(name);
    const corpus = [...SAMPLE_MESSAGES.map((make) => make()), ...fc.sample(message(dialect(name).spec), { numRuns: 100, seed: SEED })];
    const next = random(SEED + name.length);
    let generatedAccepted = 0;
    for (let i = 0; i < MUTATED_MESSAGES; i += 1) {
      if (i % YIELD_EVERY === 0) await breathe();
      const input = mutateMessage(corpus[next() % corpus.length]!, next) as Message;
      const what = (): string => `message ${JSON.stringify(input)}`;
      const reference = outcome(() => interpreted.encode(input));
      expectSameOutcome(outcome(() => compiled.encode(input)), reference, what);
      const fast = outcome(() => generated.encode(input));
      if (!fast.ok) expect({ input: what(), thrown: describeError(fast.error) }, 'the generated encoder never throws').toBeUndefined();
      if (fast.ok && fast.value !== undefined) {
        expectSameOutcome(fast, reference, what);
        generatedAccepted += 1;
      }
    }
    expect(generatedAccepted).toBeGreaterThan(MUTATED_MESSAGES / 50);
  }, MUTATION_TEST_TIMEOUT_MS);

  it('the generated source can be printed and names its spec', () => {
    const source = generatedSource(dialect(name).spec);
    expect(source).toContain(`spec ${JSON.stringify(name)}`);
    expect(source).toContain('function decode(frame, from, to)');
    expect(source).toContain('function encode(message, out, start, lim, W)');
  });
});
