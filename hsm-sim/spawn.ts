/**
 * Starts the real HSM process (`palmswitch hsm start --port 0`) for tests and benchmarks of
 * any module, and waits for the line that names its bound port. The child's output is kept
 * (bounded) so tests can check that no key material ever reached a log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { PalmswitchError, service_node_flags } from '../core/index.js';

export const STARTUP_TIMEOUT_MS = 60_000;
const OUTPUT_CHARS_MAX = 1024 * 1024;
const STOP_GRACE_MS = 5_000;
const MAIN_SCRIPT = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const REPO_ROOT = path.dirname(path.dirname(MAIN_SCRIPT));
const READY_LINE = /hsm-sim listening on [^\s:]+:(\d+)/;

export interface SpawnedHsm {
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (last 1 MiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnHsmProcess(options: { dataDir: string; port?: number; env?: NodeJS.ProcessEnv }): Promise<SpawnedHsm> {
  const args = [...service_node_flags, '--import', 'tsx', MAIN_SCRIPT, 'hsm', 'start', '--port', String(options.port ?? 0), '--data-dir', options.dataDir];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_CHARS_MAX);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no ready line within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new PalmswitchError('hsm_spawn_failed', `hsm-sim did not start: ${why}\n${output.slice(-2000)}`));
    };
    const check = (): void => {
      const match = READY_LINE.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => fail(`exited with ${code ?? 'signal'}`));
  });
  return {
    port, child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
}
