/**
 * Goal: no input makes the decoder crash, hang or throw anything but Iso8583Error, and
 * whatever it does accept re-encodes to exactly the bytes it read (decoding is strict, so
 * there is one encoding per message). 100,000 cases per dialect: random frames and
 * mutations of a seed corpus of real-looking messages. A failure prints its seed and case.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSpec, FrameDecoder, Iso8583Error, type MessageCodec } from '../iso8583/index.js';
import { dialect, DIALECT_NAMES, SAMPLE_MESSAGES } from '../specs/index.js';
import { message } from './support/iso8583-arbitrary.js';
import { mutate, random } from './support/iso8583-mutate.js';

const CASES_PER_DIALECT = 100_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_8583);

function checkOne(codec: MessageCodec, input: Buffer): 'accepted' | 'rejected' {
  let decoded;
  try {
    decoded = codec.decode(input);
  } catch (error) {
    if (!(error instanceof Iso8583Error)) throw new Error(`non-Iso8583Error for ${input.toString("hex")}`, { cause: error });
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(input.length);
    return 'rejected';
  }
  const again = codec.encode(decoded);
  if (!again.equals(input)) throw new Error(`accepted ${input.toString('hex')} but re-encoded ${again.toString('hex')}`);
  return 'accepted';
}

/** Cases between two yields to the event loop (~1 s of work on a quiet machine). */
const cases_between_yields = 5_000;

describe.each(DIALECT_NAMES)('fuzz: %s', (name) => {
  it(`${CASES_PER_DIALECT.toLocaleString('en-US')} random and mutated frames`, async () => {
    const { spec } = dialect(name);
    const codec = compileSpec(spec);
    const corpus = [
      ...SAMPLE_MESSAGES.map((make) => codec.encode(make())),
      ...fc.sample(message(spec), { numRuns: 200, seed: SEED }).map((m) => codec.encode(m)),
    ];
    const next = random(SEED ^ name.length);
    const counts = { accepted: 0, rejected: 0 };
    for (let i = 0; i < CASES_PER_DIALECT; i += 1) {
      const base = corpus[next() % corpus.length]!;
      counts[checkOne(codec, mutate(base, next))] += 1;
      // Let the worker answer vitest's RPC: a loop that holds the thread for a minute (a loaded
      // machine) made vitest report "Timeout calling onTaskUpdate" and exit 1.
      if (i % cases_between_yields === cases_between_yields - 1) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Both outcomes must occur, or the mutations are not reaching the decoder's paths.
    expect(counts.accepted).toBeGreaterThan(1_000);
    expect(counts.rejected).toBeGreaterThan(10_000);
  });

  it('the stream framer survives random chunks and keeps its buffer bounded', () => {
    const { framing } = dialect(name);
    const next = random(SEED + 7);
    for (let round = 0; round < 2_000; round += 1) {
      const decoder = new FrameDecoder(framing);
      try {
        for (let chunk = 0; chunk < 8; chunk += 1) {
          decoder.push(Buffer.from(Array.from({ length: next() % 64 }, () => next() & 0xff)));
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(framing.frameSizeMax + 4);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(Iso8583Error);
      }
    }
  });
});
