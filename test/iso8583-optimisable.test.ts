/**
 * Goal: every function the compiled codec generates (per spec: decode and encode; per layout:
 * its encoder) is optimised by TurboFan and stays optimised on the common road.
 *
 * What it guards: the generated code is fast only as TurboFan code. V8 optimises a function
 * only up to --max-optimized-bytecode-size (60 KB of bytecode on Node 20), and a spec's whole
 * encode and decode hold every field of the spec, so a change that writes more code per field
 * can take them past it with every other test still passing: on 2026-11-25, text fields
 * written out character by character (2eba157, reverted in bd8e3e0) did so to the encode of
 * iso87-ascii and mastercard-like, and encode of a message object fell from ~360,000 to
 * ~60,000 round trips/s. A function that deoptimises again and again on valid messages is the
 * same cliff. Measured at 6bbcf0b (Node 20.20, V8 11.3, --print-bytecode), bytecode lengths are
 * encode 56,426 (iso87-ascii) and 59,238 (mastercard-like) bytes against the 61,440 limit,
 * decode up to 46,756 and the typical 0100's layout up to 16,911: the encoders have little room.
 *
 * How: V8 answers only inside a process run with --allow-natives-syntax, so a child process
 * (test/support/iso8583-optimisation-probe.ts) warms each generated function with the sample
 * messages, has it optimised (%OptimizeFunctionOnNextCall, synchronous: no timing involved),
 * reads %GetOptimizationStatus, and reads it again after each of a few thousand more calls.
 * The control runs the same child with a tiny --max-optimized-bytecode-size and must find no
 * generated function optimised: the probe does see the cliff (and a reading that always said
 * "optimised" would fail there).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIALECT_NAMES } from '../specs/index.js';
import type { FunctionReport, ProbeReport } from './support/iso8583-optimisation-probe.js';

const PROBE = fileURLToPath(new URL('./support/iso8583-optimisation-probe.ts', import.meta.url));
/** The child takes ~3 s alone; a loaded machine may take several times that. */
const CHILD_TIMEOUT_MS = 60_000;
/** Far below the smallest generated function probed (a layout encoder, ~11,700 bytes of bytecode). */
const CONTROL_BYTECODE_SIZE_MAX = 2_000;
const OUTPUT_BYTES_MAX = 1024 * 1024;

class ProbeRunError extends Error {
  constructor(readonly code: 'probe_failed' | 'probe_output_invalid', message: string) {
    super(message);
    this.name = 'ProbeRunError';
  }
}

/** Runs the probe in a child (asynchronously, so a slow child never blocks vitest's worker) and parses its report. */
function runProbe(v8Flags: readonly string[]): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--allow-natives-syntax', ...v8Flags, '--import', 'tsx', PROBE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    const keep = (into: Buffer[]) => (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > OUTPUT_BYTES_MAX) { child.kill('SIGKILL'); return; }
      into.push(chunk);
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (status !== 0) { reject(new ProbeRunError('probe_failed', `probe ${v8Flags.join(' ')} exited ${status ?? signal}: ${stderr}`)); return; }
      try {
        resolve(JSON.parse(stdout) as ProbeReport);
      } catch {
        reject(new ProbeRunError('probe_output_invalid', `probe ${v8Flags.join(' ')} printed no report: ${stdout}\n${stderr}`));
      }
    });
  });
}

const label = (f: FunctionReport): string => `${f.dialect} ${f.name}`;

function problem(f: FunctionReport): string | undefined {
  if (!f.turboFanned) return `${label(f)}: not TurboFan code after %OptimizeFunctionOnNextCall (status ${f.status})`;
  if (!f.stayedTurboFanned) return `${label(f)}: deoptimised at call ${f.lostAtCall} of ${f.messages} valid messages in turn (status ${f.lostStatus}; after all calls ${f.statusAfter})`;
  return undefined;
}

describe('the generated codec functions are TurboFan code', () => {
  let normal: ProbeReport;
  let control: ProbeReport;

  beforeAll(async () => {
    // Both children at once: the file takes one child's time where a core is free.
    [normal, control] = await Promise.all([runProbe([]), runProbe([`--max-optimized-bytecode-size=${CONTROL_BYTECODE_SIZE_MAX}`])]);
  }, 2 * CHILD_TIMEOUT_MS);

  it('the status bits read as this V8 means them (a tiny function optimised, one not)', () => {
    expect(normal.calibration, `V8 ${normal.v8}`).toMatchObject({ agrees: true });
    expect(control.calibration, `V8 ${control.v8}`).toMatchObject({ agrees: true });
  });

  it('every dialect\'s decode, encode and 0100 layout encoder is optimised and stays so on the sample messages', () => {
    expect(normal.functions.map(label)).toEqual(DIALECT_NAMES.flatMap((name) => ['decode', 'encode', 'layout'].map((fn) => `${name} ${fn}`)));
    // The generated function itself must carry the messages, else its common road is the hand-over.
    expect(normal.functions.filter((f) => f.messages === 0 || f.taken !== f.messages).map((f) => `${label(f)}: took ${f.taken} of ${f.messages}`)).toEqual([]);
    expect(normal.functions.map(problem).filter((text) => text !== undefined)).toEqual([]);
  });

  it(`control: under --max-optimized-bytecode-size=${CONTROL_BYTECODE_SIZE_MAX} the probe finds none optimised`, () => {
    expect(control.functions).toHaveLength(normal.functions.length);
    expect(control.functions.filter((f) => f.turboFanned || f.stayedTurboFanned).map(label)).toEqual([]);
  });
});
