/**
 * Goal: every function the compiled codec generates (per spec: decode, encode and the field
 * writers encode calls; per layout: its encoder) is optimised by TurboFan, stays optimised on
 * the common road, and has room to grow before V8 would stop optimising it.
 *
 * What it guards: the generated code is fast only as TurboFan code. V8 optimises a function
 * only up to --max-optimized-bytecode-size (61,440 bytes of bytecode on Node 20), and a spec's
 * generated functions hold many fields each, so a change that writes more code per field can
 * take one past it with every other test still passing: on 2026-11-25, text fields written out
 * character by character (2eba157, reverted in bd8e3e0) did so to the encode of iso87-ascii and
 * mastercard-like, and encode of a message object fell from ~360,000 to ~60,000 round trips/s.
 * A function that deoptimises again and again on valid messages is the same cliff. Since then
 * encode writes the fields through one generated function per bitmap word (generate.ts,
 * generateFieldWriter); before, encode alone was 56,426 (iso87-ascii) and 59,238
 * (mastercard-like) bytes.
 *
 * How: V8 answers only inside a process run with --allow-natives-syntax, so a child process
 * (test/support/iso8583-optimisation-probe.ts) warms each generated function with the sample
 * messages, has it optimised (%OptimizeFunctionOnNextCall, synchronous: no timing involved),
 * reads %GetOptimizationStatus, and reads it again after each of a few thousand more calls.
 * The control runs the same child with a tiny --max-optimized-bytecode-size and must find no
 * generated function optimised: the probe does see the cliff (and a reading that always said
 * "optimised" would fail there).
 *
 * Headroom: a third child runs the same probe under --max-optimized-bytecode-size=HEADROOM_BYTES
 * and must find every function optimised all the same, so each is at most that long: a change
 * that would take a function within HEADROOM of the real limit fails here first, while the
 * code is still fast, rather than at the cliff. That is V8's own decision, read the way the
 * main check reads it, so it holds whatever V8 prints. The same child also runs under
 * --log-code, and the bytecode length of each function is read from V8's code log and printed
 * (this V8 has no %-native that gives it); the lengths must agree with the two decisions (above
 * the control's limit, within the headroom), which checks that they are read right. They are
 * for reading; the decisions are what the test rests on.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSpec } from '../iso8583/index.js';
import { dialect, DIALECT_NAMES } from '../specs/index.js';
import { runNode } from './support/cli-process.js';
import { readProbeReport, type FunctionReport, type ProbeReport } from './support/iso8583-probe-report.js';

const PROBE = fileURLToPath(new URL('./support/iso8583-optimisation-probe.ts', import.meta.url));
/** The child takes ~3 s alone; a loaded machine may take several times that. */
const CHILD_TIMEOUT_MS = 60_000;
/** V8 11.3's default --max-optimized-bytecode-size. */
const V8_BYTECODE_SIZE_MAX = 61_440;
/** Far below the smallest generated function probed (a field writer, ~3,200 bytes of bytecode). */
const CONTROL_BYTECODE_SIZE_MAX = 2_000;
/**
 * 80% of V8's limit: every generated function must leave a fifth of it (12,288 bytes) unused.
 * Measured 2026-11-25 (Node 20.20): the largest is mastercard-like's decode, 46,756 bytes; the
 * encoders' largest, a field writer, 19,065 (encode itself ~4,800).
 */
const HEADROOM_BYTES = 49_152;

class ProbeRunError extends Error {
  constructor(readonly code: 'probe_failed' | 'probe_output_invalid', message: string) {
    super(message);
    this.name = 'ProbeRunError';
  }
}

/** Runs the probe in a child (asynchronously, so a slow child never blocks vitest's worker) and parses its report. */
async function runProbe(v8Flags: readonly string[]): Promise<ProbeReport> {
  const { stdout, stderr, status } = await runNode(['--allow-natives-syntax', ...v8Flags, '--import', 'tsx', PROBE], { timeout_ms: CHILD_TIMEOUT_MS });
  if (status !== 0) throw new ProbeRunError('probe_failed', `probe ${v8Flags.join(' ')} exited ${status ?? 'on a signal (killed at the time-out or the output bound?)'}: ${stderr}`);
  const report = readProbeReport(stdout);
  if (report === undefined) throw new ProbeRunError('probe_output_invalid', `probe ${v8Flags.join(' ')} printed no report: ${stdout}\n${stderr}`);
  return report;
}

/**
 * Each probed function's bytecode length from V8's code log (--log-code), by its report: the
 * first interpreted code-creation of a function of its name after its marker's (the probe
 * compiles it right after the marker; see compileMarked there). A line is
 * `code-creation,JS,<kind>,<time>,<address>,<length>,<name> <position>,<shared info>,<state>`
 * with `~` for bytecode. Undefined where the log shows none.
 */
function bytecodeLengths(log: string, functions: readonly FunctionReport[]): (number | undefined)[] {
  const lines = log.split('\n').filter((line) => line.startsWith('code-creation,JS,')).map((line) => line.split(','));
  const nameOf = (fields: readonly string[]): string => (fields[6] ?? '').split(' ')[0]!;
  return functions.map((f) => {
    const at = lines.findIndex((fields) => nameOf(fields) === f.marker);
    if (at < 0) return undefined;
    const own = lines.slice(at + 1).find((fields) => nameOf(fields) === f.functionName && fields[8] === '~');
    return own === undefined ? undefined : Number(own[5]);
  });
}

const label = (f: FunctionReport): string => `${f.dialect} ${f.name}`;

function problem(f: FunctionReport): string | undefined {
  if (!f.turboFanned) return `${label(f)}: not TurboFan code after %OptimizeFunctionOnNextCall (status ${f.status})`;
  if (!f.stayedTurboFanned) return `${label(f)}: deoptimised at call ${f.lostAtCall} of ${f.messages} valid messages in turn (status ${f.lostStatus}; after all calls ${f.statusAfter})`;
  return undefined;
}

/**
 * What the probe must cover, from the specs rather than from the probe: per dialect decode,
 * encode, a field writer for each bitmap word that holds a defined field, the layout.
 */
function expectedLabels(): string[] {
  return DIALECT_NAMES.flatMap((name) => {
    const words = [...new Set(Object.keys(dialect(name).spec.fields).map((id) => (Number(id) - 1) >> 5))].sort((a, b) => a - b);
    const writers = words.map((w) => `encodeFields${w === 0 ? 2 : 32 * w + 1}to${32 * (w + 1)}`);
    return ['decode', 'encode', ...writers, 'layout'].map((fn) => `${name} ${fn}`);
  });
}

/**
 * The functions a spec's generated source declares. `fieldsTemplate` is left out: decode calls
 * it only for a highest field number it has not seen before (it makes that number's template
 * once, see generate.ts), so it is never on the common road.
 */
function declaredFunctions(name: string): string[] {
  const source = compileSpec(dialect(name).spec).generated!.source;
  return [...source.matchAll(/^function (\w+)\(/gm)].map((match) => match[1]!).filter((fn) => fn !== 'fieldsTemplate');
}

describe('the generated codec functions are TurboFan code', () => {
  let normal: ProbeReport;
  let control: ProbeReport;
  let headroom: ProbeReport;
  let lengths: (number | undefined)[];
  const logDir = mkdtempSync(join(tmpdir(), 'iso8583-optimisable-'));

  beforeAll(async () => {
    const logFile = join(logDir, 'v8.log');
    // All three children at once: the file takes about one child's time where cores are free.
    [normal, control, headroom] = await Promise.all([
      runProbe([]),
      runProbe([`--max-optimized-bytecode-size=${CONTROL_BYTECODE_SIZE_MAX}`]),
      runProbe([`--max-optimized-bytecode-size=${HEADROOM_BYTES}`, '--log-code', `--logfile=${logFile}`, '--no-logfile-per-isolate']),
    ]);
    lengths = bytecodeLengths(readFileSync(logFile, 'latin1'), headroom.functions);
  }, 2 * CHILD_TIMEOUT_MS);

  afterAll(() => { rmSync(logDir, { recursive: true, force: true }); });

  it('the status bits read as this V8 means them (a tiny function optimised, one not)', () => {
    for (const report of [normal, control, headroom]) expect(report.calibration, `V8 ${report.v8}`).toMatchObject({ agrees: true });
  });

  it('the probe covers every function the generated sources declare', () => {
    expect(normal.functions.map(label)).toEqual(expectedLabels());
    for (const name of DIALECT_NAMES) {
      const probed = normal.functions.filter((f) => f.dialect === name && f.name !== 'layout').map((f) => f.functionName);
      expect(probed.sort(), name).toEqual(declaredFunctions(name).sort());
    }
  });

  it('every dialect\'s decode, encode, field writers and 0100 layout encoder is optimised and stays so on the sample messages', () => {
    // The generated function itself must carry the messages, else its common road is the hand-over.
    expect(normal.functions.filter((f) => f.messages === 0 || f.taken !== f.messages).map((f) => `${label(f)}: took ${f.taken} of ${f.messages}`)).toEqual([]);
    expect(normal.functions.map(problem).filter((text) => text !== undefined)).toEqual([]);
  });

  it(`control: under --max-optimized-bytecode-size=${CONTROL_BYTECODE_SIZE_MAX} the probe finds none optimised`, () => {
    expect(control.functions.map(label)).toEqual(normal.functions.map(label));
    expect(control.functions.filter((f) => f.turboFanned || f.stayedTurboFanned).map(label)).toEqual([]);
  });

  it(`headroom: under --max-optimized-bytecode-size=${HEADROOM_BYTES} (${Math.round((100 * HEADROOM_BYTES) / V8_BYTECODE_SIZE_MAX)}% of V8's limit) every function is optimised all the same`, () => {
    expect(headroom.functions.map(label)).toEqual(normal.functions.map(label));
    expect(headroom.functions.map(problem).filter((text) => text !== undefined)).toEqual([]);
  });

  it('the bytecode lengths in V8\'s code log agree with those decisions', () => {
    const table = headroom.functions.map((f, i) => `${label(f).padEnd(38)} ${String(lengths[i] ?? '?').padStart(6)} bytes, ${lengths[i] === undefined ? '?' : Math.round((100 * lengths[i]) / V8_BYTECODE_SIZE_MAX)}% of ${V8_BYTECODE_SIZE_MAX}`);
    console.log(`Bytecode of the generated functions (V8 ${headroom.v8}):\n${table.join('\n')}`);
    const measured = headroom.functions.map((f, i) => ({ f, length: lengths[i] }));
    expect(measured.filter(({ length }) => length === undefined).map(({ f }) => label(f))).toEqual([]);
    expect(measured.filter(({ length }) => !(length! > CONTROL_BYTECODE_SIZE_MAX && length! <= HEADROOM_BYTES)).map(({ f, length }) => `${label(f)}: ${length}`)).toEqual([]);
  });
});
