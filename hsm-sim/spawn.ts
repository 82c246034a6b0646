/**
 * Starts the real HSM process (`palmswitch hsm start --port 0`) for tests and benchmarks of
 * any module, and waits for the line that names its bound port. The child's output is kept
 * (bounded) so tests can check that no key material ever reached a log.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { PalmswitchError, spawnServiceProcess } from '../core/index.js';

export const STARTUP_TIMEOUT_MS = 60_000;
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
  const service = await spawnServiceProcess({
    script: MAIN_SCRIPT, cwd: REPO_ROOT, env: options.env,
    args: ['hsm', 'start', '--port', String(options.port ?? 0), '--data-dir', options.dataDir],
    readyLine: READY_LINE, startupTimeout_ms: STARTUP_TIMEOUT_MS,
    failure: (why) => new PalmswitchError('hsm_spawn_failed', `hsm-sim did not start: ${why}`),
  });
  return { port: Number(service.ready[1]), child: service.child, output: service.output, stop: service.stop };
}
