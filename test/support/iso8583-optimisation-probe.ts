/**
 * Child process of test/iso8583-optimisable.test.ts: asks V8 whether each generated function
 * of the compiled codec is optimised by TurboFan, and stays so. Run it as
 *
 *   node --allow-natives-syntax [--max-optimized-bytecode-size=N] [--log-code --logfile=F --no-logfile-per-isolate] --import tsx test/support/iso8583-optimisation-probe.ts
 *
 * For every dialect it compiles the codec and, for the spec's generated decode, the spec's
 * generated encode, each field writer that encode calls (one per bitmap word, see generate.ts)
 * and the generated encoder of a layout of the typical 0100's fields: warms the function
 * through the codec's own closures with every sample message the dialect takes that reaches it,
 * has V8 optimise it (%PrepareFunctionForOptimization, calls, %OptimizeFunctionOnNextCall, a
 * call), reads %GetOptimizationStatus, then makes STAY_CALLS more calls with the same messages,
 * reading the status after each (a function that deoptimises on the common road is as slow as
 * one never optimised). Prints one line of JSON, a ProbeReport.
 *
 * Bytecode lengths: before any call, each generated function is compiled on its own
 * (%PrepareFunctionForOptimization compiles a function not yet compiled, and nothing else),
 * right after a marker function named after its report (MARKER_PREFIX and the index) is
 * compiled. Under --log-code, V8's log then holds, after each marker's code-creation line, the
 * function's own, with its bytecode length, which the parent reads once the child has exited
 * (test/iso8583-optimisable.test.ts, bytecodeLengths).
 *
 * The %-natives exist only under --allow-natives-syntax, and TypeScript cannot spell them:
 * they are compiled with `new Function`, which parses with the flags of the process.
 */
import { compileSpec, Iso8583Error, type FieldValue, type Message } from '../../iso8583/index.js';
import { dialect, DIALECT_NAMES, SAMPLE_MESSAGES, sampleAuthorization } from '../../specs/index.js';
import type { FunctionReport, GeneratedFunctionName, ProbeReport } from './iso8583-probe-report.js';

/**
 * Bits of %GetOptimizationStatus in V8 11.3 (Node 20), bit i named STATUS_BITS[i]: enum
 * OptimizationStatus in V8's src/runtime/runtime.h of the Maglev era, kAlwaysOptimize still at
 * 1 << 2 (so kOptimized = 1 << 4, kTurboFanned = 1 << 6). mjsunit's isTurboFanned is kOptimized
 * and kTurboFanned. Later V8s drop kAlwaysOptimize and shift the bits down one: the calibration
 * below reads a function V8 surely optimised, and a never-optimised one, against
 * %ActiveTierIsTurbofan, so that a Node whose bits differ fails loudly instead of misreading.
 */
const STATUS_BITS = [
  'isFunction', 'neverOptimize', 'alwaysOptimize', 'maybeDeopted', 'optimized', 'maglevved', 'turboFanned', 'interpreted',
  'markedForOptimization', 'markedForConcurrentOptimization', 'optimizingConcurrently', 'isExecuting', 'topmostFrameIsTurboFanned',
  'liteMode', 'markedForDeoptimization', 'baseline', 'topmostFrameIsInterpreted', 'topmostFrameIsBaseline', 'isLazy',
  'topmostFrameIsMaglev', 'optimizeOnNextCallOptimizesToMaglev',
] as const;
const STATUS = Object.fromEntries(STATUS_BITS.map((name, bit) => [name, 1 << bit])) as Record<(typeof STATUS_BITS)[number], number>;

/** A status as its bits' names, e.g. `81 (isFunction optimized turboFanned)`. */
const described = (status: number): string => `${status} (${STATUS_BITS.filter((_, bit) => (status & (1 << bit)) !== 0).join(' ') || 'no bits'})`;

const isTurboFanned = (status: number): boolean => (status & STATUS.optimized) !== 0 && (status & STATUS.turboFanned) !== 0;

/** Warm-up rounds over the messages before optimising; enough for every branch they take to have feedback. */
const WARM_ROUNDS = 8;
/** Calls after optimising, with the status read after each. */
const STAY_CALLS = 3_000;

/** Names the functions compiled just before each probed one, in V8's code log (see compileMarked). */
const MARKER_PREFIX = 'iso8583ProbeMarker';

type ProbeErrorCode = 'natives_unavailable' | 'no_messages' | 'unknown_writer';

class ProbeError extends Error {
  constructor(readonly code: ProbeErrorCode, message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

type Probed = (...args: never[]) => unknown;

interface Natives {
  prepare(fn: Probed): void;
  optimiseOnNextCall(fn: Probed): void;
  status(fn: Probed): number;
  activeTierIsTurbofan(fn: Probed): boolean;
  /** Waits for the optimising compiles running in the background and installs their code. */
  finishBackgroundCompiles(): void;
}

function natives(): Natives {
  const native = (body: string): ((fn: Probed) => unknown) => {
    try {
      // Fixed source, the natives' names only: no input reaches it.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      return new Function('fn', body) as (fn: Probed) => unknown;
    } catch (error) {
      throw new ProbeError('natives_unavailable', `cannot compile ${body} (run node with --allow-natives-syntax): ${String(error)}`);
    }
  };
  const prepare = native('%PrepareFunctionForOptimization(fn);');
  const optimise = native('%OptimizeFunctionOnNextCall(fn);');
  const status = native('return %GetOptimizationStatus(fn);');
  const finish = native('%FinalizeOptimization();');
  const tier = native('return %ActiveTierIsTurbofan(fn);');
  return {
    prepare: (fn) => { prepare(fn); },
    optimiseOnNextCall: (fn) => { optimise(fn); },
    status: (fn) => status(fn) as number,
    activeTierIsTurbofan: (fn) => tier(fn) === true,
    finishBackgroundCompiles: () => { finish(() => undefined); },
  };
}

/** A tiny function optimised and one never optimised, read both ways. */
function calibrate(v8: Natives): ProbeReport['calibration'] {
  const optimisedFn = (x: number): number => (x * 3) ^ 5;
  const plainFn = (x: number): number => (x * 7) ^ 9;
  v8.prepare(optimisedFn);
  optimisedFn(1);
  optimisedFn(2);
  v8.optimiseOnNextCall(optimisedFn);
  optimisedFn(3);
  plainFn(1);
  const optimised = v8.status(optimisedFn);
  const plain = v8.status(plainFn);
  const agrees = (optimised & STATUS.isFunction) !== 0 && isTurboFanned(optimised) && v8.activeTierIsTurbofan(optimisedFn)
    && !isTurboFanned(plain) && !v8.activeTierIsTurbofan(plainFn);
  return { optimised: described(optimised), plain: described(plain), agrees };
}

/** One generated function and the calls that reach it, each answering whether the generated function took the message. */
interface Target {
  readonly dialect: string;
  readonly name: GeneratedFunctionName;
  readonly fn: Probed;
  readonly marker: string;
  readonly calls: readonly (() => boolean)[];
}

/** The field ids a writer's name says it writes (`encodeFields33to64`: 33..64). */
function writerRange(name: string): { first: number; last: number } {
  const match = /^encodeFields(\d+)to(\d+)$/.exec(name);
  if (match === null) throw new ProbeError('unknown_writer', `a field writer named ${name}: the probe cannot tell which messages reach it`);
  return { first: Number(match[1]), last: Number(match[2]) };
}

let markers = 0;

/**
 * Compiles `fn` now, just after a marker function of its own, so that V8's code log (under
 * --log-code) shows its bytecode length after the marker's line. `fn` must not have run yet:
 * a function already compiled logs nothing here.
 */
function compileMarked(v8: Natives, fn: Probed): string {
  const marker = `${MARKER_PREFIX}${markers}`;
  markers += 1;
  // A fixed prefix and a counter only: no input reaches the source.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(`return function ${marker}() { return 0; };`) as () => () => number;
  make()();
  v8.prepare(fn);
  return marker;
}

/** A sample the codec refuses (a field this dialect does not define) is left out, not an error of the probe. */
function accepted<T>(make: () => T): T | undefined {
  try {
    return make();
  } catch (error) {
    if (error instanceof Iso8583Error) return undefined;
    throw error;
  }
}

function targetsOf(v8: Natives, name: string): Target[] {
  const codec = compileSpec(dialect(name).spec);
  const parts = codec.generated;
  if (parts === undefined) throw new ProbeError('no_messages', `${name}: the compiled codec has no generated functions`);
  // The typical 0100's fields; every sample gives its values for them (undefined: absent).
  const ids = Object.keys(sampleAuthorization().fields).map(Number);
  const layout = parts.layout(ids);
  const { decode, encode, fieldWriters } = parts.generatedFunctions;
  // Compiled here, before anything below calls them (see compileMarked).
  const marked = new Map<Probed, string>([decode, encode, ...fieldWriters, layout.generatedFunction].map((fn) => [fn, compileMarked(v8, fn)]));
  const markerOf = (fn: Probed): string => marked.get(fn)!;
  const messages = SAMPLE_MESSAGES.map((sample) => sample()).filter((m) => accepted(() => codec.encode(m)) !== undefined);
  const frames = messages.map((m) => Buffer.from(codec.encode(m)));
  const publicLayout = codec.layout(ids);
  const rows = messages
    .map((m): [string, (FieldValue | undefined)[]] => [m.mti, ids.map((id) => m.fields[id])])
    .filter(([mti, values]) => values.some((v) => v !== undefined) && accepted(() => publicLayout.encode(mti, values)) !== undefined);
  if (messages.length === 0 || rows.length === 0) throw new ProbeError('no_messages', `${name}: no sample message encodes`);
  const encodeCall = (m: Message) => (): boolean => parts.encode(m) !== undefined;
  const writers = fieldWriters.map((fn): Target => {
    const { first, last } = writerRange(fn.name);
    // Encode calls a writer only for a message with a field in its word.
    const reaching = messages.filter((m) => Object.keys(m.fields).some((id) => Number(id) >= first && Number(id) <= last));
    if (reaching.length === 0) throw new ProbeError('no_messages', `${name}: no sample message has a field that ${fn.name} writes`);
    return { dialect: name, name: fn.name, fn, marker: markerOf(fn), calls: reaching.map(encodeCall) };
  });
  return [
    { dialect: name, name: 'decode', fn: decode, marker: markerOf(decode), calls: frames.map((frame) => () => parts.decode(frame, 0, frame.length) !== undefined) },
    { dialect: name, name: 'encode', fn: encode, marker: markerOf(encode), calls: messages.map(encodeCall) },
    ...writers,
    { dialect: name, name: 'layout', fn: layout.generatedFunction, marker: markerOf(layout.generatedFunction), calls: rows.map(([mti, values]) => () => layout.encode(mti, values) !== undefined) },
  ];
}

function probe(v8: Natives, target: Target): FunctionReport {
  const { fn, calls } = target;
  let taken = 0;
  for (let round = 0; round < WARM_ROUNDS; round += 1) {
    for (const call of calls) if (call() && round === 0) taken += 1;
  }
  // Encode calls the field writers, so probing encode may have had V8 start optimising a
  // writer in the background; %OptimizeFunctionOnNextCall does nothing to a function whose
  // compile is under way, and the status would read whatever the race left.
  v8.finishBackgroundCompiles();
  v8.optimiseOnNextCall(fn);
  calls[0]!();
  const status = v8.status(fn);
  let lostAtCall = -1;
  let lostStatus = 0;
  for (let i = 0; i < STAY_CALLS; i += 1) {
    calls[i % calls.length]!();
    const now = v8.status(fn);
    if (lostAtCall < 0 && !isTurboFanned(now)) {
      lostAtCall = i;
      lostStatus = now;
    }
  }
  const statusAfter = v8.status(fn);
  return {
    dialect: target.dialect, name: target.name, functionName: fn.name, marker: target.marker, messages: calls.length, taken,
    status: described(status), turboFanned: isTurboFanned(status), lostAtCall, lostStatus: described(lostStatus), statusAfter: described(statusAfter), stayedTurboFanned: isTurboFanned(status) && lostAtCall < 0,
  };
}

function main(): void {
  const v8 = natives();
  const calibration = calibrate(v8);
  const functions = DIALECT_NAMES.flatMap((name) => targetsOf(v8, name).map((target) => probe(v8, target)));
  const report: ProbeReport = { v8: process.versions.v8, execArgv: process.execArgv, calibration, stayCalls: STAY_CALLS, functions };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main();
