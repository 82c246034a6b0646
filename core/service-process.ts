/**
 * Starts one of our services as its own Node process (`palmswitch hsm start`, `network-sim
 * start`, `gateway start`) for tests, benchmarks and the stack, and waits for the line in which
 * it names its bound port. One copy of the things each caller had written for itself: the
 * service flags, a bounded tail of the output (tests scan it for card data and keys), a
 * start-up time-out, no process left behind when the parent exits, and a stop that escalates
 * from SIGTERM to SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { assert } from './assert.js';
import type { PalmswitchError } from './errors.js';
import { service_environment, service_node_flags } from './node-flags.js';

/** The tail of a service's stdout and stderr that is kept. */
export const service_output_chars_max = 1024 * 1024;
/** Time between SIGTERM and SIGKILL in `stop()`. */
export const service_stop_grace_ms_default = 5_000;

export interface ServiceProcessOptions {
  /** The CLI entry (cli/main.ts) and its arguments. */
  readonly script: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Node flags beside the service flags (a CPU profile, say). */
  readonly nodeFlags?: readonly string[];
  /** Matched against the output until it appears; its groups usually hold the ports. */
  readonly readyLine: RegExp;
  readonly startupTimeout_ms: number;
  readonly stopGrace_ms?: number;
  /** The caller's typed error for a service that did not start. */
  readonly failure: (why: string) => PalmswitchError;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** The ready line's match. */
  readonly ready: RegExpExecArray;
  /** Everything the process wrote to stdout and stderr so far (the last 1 MiB). */
  readonly output: () => string;
  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit code. */
  readonly stop: () => Promise<number | null>;
}

export async function spawnServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  assert(options.startupTimeout_ms > 0, 'a start-up time-out');
  const args = [...service_node_flags, ...(options.nodeFlags ?? []), '--import', 'tsx', options.script, ...options.args];
  const child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...service_environment, ...options.env } });
  // A test or benchmark that dies must not leave services behind.
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let output = '';
  const append = (chunk: Buffer): void => { output = (output + chunk.toString('utf8')).slice(-service_output_chars_max); };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no ready line within ${options.startupTimeout_ms} ms`), options.startupTimeout_ms);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(options.failure(`${why}\n${output.slice(-2000)}`));
    };
    const onEarlyExit = (code: number | null): void => fail(`exited with ${code ?? 'signal'}`);
    const check = (): void => {
      const match = options.readyLine.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onEarlyExit);
      resolve(match);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', onEarlyExit);
  });
  return { child, ready, output: () => output, stop: () => stopChild(child, options.stopGrace_ms ?? service_stop_grace_ms_default) };
}

async function stopChild(child: ChildProcess, grace_ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), grace_ms);
  const code = await exited;
  clearTimeout(force);
  return code;
}
