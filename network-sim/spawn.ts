/**
 * Starts the real simulator process (`palmswitch network-sim start`) for tests and
 * benchmarks, waits for the line naming its ports, and gives a small typed client of its
 * HTTP API (accounts, tokens, faults, settlement, counters).
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { spawnServiceProcess } from '../core/index.js';
import { NetworkSimError } from './errors.js';

/** Generous (start-up took 10-24 s on a 2-core machine shared with other work: tsx compiles on load), yet inside vitest's 60 s hook time-out. */
export const STARTUP_TIMEOUT_MS = 45_000;
const HTTP_TIMEOUT_MS = 10_000;
const MAIN_SCRIPT = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const REPO_ROOT = path.dirname(path.dirname(MAIN_SCRIPT));
const READY_LINE = /network-sim \S+ listening on [^\s:]+:(\d+) \(http [^\s:]+:(\d+)\)/;

export interface SpawnedNetworkSim {
  readonly port: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  output(): string;
  /** Calls the HTTP API; a non-2xx answer rejects with the simulator's error code. */
  api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', route: string, body?: unknown): Promise<T>;
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  spec: string; dataDir: string; port?: number; httpPort?: number; hsmPort?: number; macKeyId?: string; tspKeyId?: string; faults?: unknown; seed?: number;
  env?: NodeJS.ProcessEnv;
}

export async function spawnNetworkSim(options: SpawnOptions): Promise<SpawnedNetworkSim> {
  const args = ['network-sim', 'start', '--spec', options.spec, '--port', String(options.port ?? 0), '--http-port', String(options.httpPort ?? 0), '--data-dir', options.dataDir];
  if (options.hsmPort !== undefined) args.push('--hsm-port', String(options.hsmPort));
  if (options.macKeyId !== undefined) args.push('--mac-key', options.macKeyId);
  if (options.tspKeyId !== undefined) args.push('--tsp-key', options.tspKeyId);
  if (options.faults !== undefined) args.push('--faults', JSON.stringify(options.faults));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  const service = await spawnServiceProcess({
    script: MAIN_SCRIPT, cwd: REPO_ROOT, args, env: { LOG_LEVEL: 'warn', ...options.env },
    readyLine: READY_LINE, startupTimeout_ms: STARTUP_TIMEOUT_MS,
    failure: (why) => new NetworkSimError('netsim_spawn_failed', `network-sim did not start: ${why}`),
  });
  const [port, httpPort] = [Number(service.ready[1]), Number(service.ready[2])];
  return {
    port, httpPort, child: service.child, output: service.output, stop: service.stop,
    api: (method, route, body) => callApi(httpPort, method, route, body),
  };
}

async function callApi<T>(port: number, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), headers: { 'content-type': 'application/json' } } : {}),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const json = (await response.json()) as T & { error?: string; message?: string };
  if (!response.ok) throw new NetworkSimError('netsim_request_invalid', `${method} ${route}: ${response.status} ${json.error ?? ''} ${json.message ?? ''}`);
  return json;
}
