/**
 * Test support shared by the gateway's tests, the demo and the benchmark (not part of the
 * public face's contract): a stack of real processes — hsm-sim and both network simulators
 * with MAC and cryptogram checks — on ephemeral loopback ports in a temp directory, issuer
 * cards, and synthetic palm captures encoded as the PNGs a terminal would upload.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, spawnServiceProcess, type Config } from '../core/index.js';
import { encodePng, renderAttack, renderHandCapture, renderRoiCapture } from '../biometric/index.js';
import { spawnHsmProcess, type SpawnedHsm } from '../hsm-sim/index.js';
import { luhnDigit, spawnNetworkSim, type SpawnedNetworkSim } from '../network-sim/index.js';
import { GatewayError } from './errors.js';
import { KEY_IDS, NETWORK_NAMES, type NetworkName } from './keys.js';
import type { CaptureUpload } from './pipeline/contract.js';

export interface TestStack {
  readonly dir: string;
  readonly hsm: SpawnedHsm;
  readonly sims: ReadonlyMap<NetworkName, SpawnedNetworkSim>;
  readonly config: Config;
  readonly networkApiUrls: ReadonlyMap<string, string>;
  stop(): Promise<void>;
}

/** Each simulator's JSON API sits at its ISO port + 100 (as in `npm start`), so a gateway process finds it. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await portFree(port)) && (await portFree(port + 100))) return port;
  }
  throw new Error('no free port pair on loopback');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Both network simulators, checking MACs and cryptograms through hsm-sim at `hsmPort`, each with its API at its ISO port + 100. */
export async function startNetworkSims(dir: string, hsmPort: number, faults?: Partial<Record<NetworkName, unknown>>): Promise<Map<NetworkName, SpawnedNetworkSim>> {
  const sims = new Map<NetworkName, SpawnedNetworkSim>();
  for (const network of NETWORK_NAMES) {
    const port = await freePortPair();
    sims.set(network, await spawnNetworkSim({
      spec: network, dataDir: path.join(dir, 'networks'), hsmPort, macKeyId: KEY_IDS.mac(network), tspKeyId: KEY_IDS.tokenCryptogram(network),
      seed: 11, port, httpPort: port + 100, ...(faults?.[network] !== undefined ? { faults: faults[network] } : {}),
    }));
  }
  return sims;
}

export async function startTestStack(prefix: string, faults?: Partial<Record<NetworkName, unknown>>): Promise<TestStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const hsm = await spawnHsmProcess({ dataDir: path.join(dir, 'hsm') });
  const sims = await startNetworkSims(dir, hsm.port, faults);
  const base = loadConfig({ ...process.env, PALMSWITCH_DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' });
  const config: Config = {
    ...base, hsmPort: hsm.port,
    networkSimPorts: { 'visa-like': sims.get('visa-like')!.port, 'mastercard-like': sims.get('mastercard-like')!.port },
  };
  const networkApiUrls = new Map([...sims].map(([name, sim]) => [name, `http://127.0.0.1:${sim.httpPort}`] as const));
  return {
    dir, hsm, sims, config, networkApiUrls,
    stop: async () => {
      await Promise.all([...sims.values()].map((sim) => sim.stop()));
      await hsm.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let cardSerial = 0;

/** Opens an issuer account at the network and returns its card (the shopper's plastic). */
export async function issueCard(sim: SpawnedNetworkSim, network: NetworkName, account: { balance_minor?: bigint; currency?: number } = {}): Promise<{ pan: string; expiry: string }> {
  cardSerial += 1;
  const prefix = network === 'visa-like' ? '476173' : '541333';
  const body = `${prefix}${String(process.pid % 1000).padStart(3, '0')}${String(cardSerial).padStart(6, '0')}`;
  const pan = body + luhnDigit(body);
  const expiry = '2912';
  await sim.api('POST', '/accounts', {
    pan, expiry, currency: account.currency ?? 978, balance_minor: (account.balance_minor ?? 1_000_000n).toString(), limit_minor: '500000', status: 'active', blockedMcc: [],
  });
  return { pan, expiry };
}

/** Capture `capture` of synthetic palm `index` (seeded), as PNGs with NIR. */
export function palmCapture(seed: number, index: number, capture: number, kind: 'hand' | 'roi' = 'hand'): CaptureUpload {
  const rendered = kind === 'hand' ? renderHandCapture(seed, index, capture) : renderRoiCapture(seed, index, capture);
  return { kind, visible: encodePng(rendered.visible), nir: encodePng(rendered.nir) };
}

/** A printed photo or a screen showing palm `index`. */
export function attackCapture(type: 'print' | 'screen', seed: number, index: number, attempt: number): CaptureUpload {
  const rendered = renderAttack(type, seed, index, 'hand', attempt);
  return { kind: 'hand', visible: encodePng(rendered.visible), nir: encodePng(rendered.nir) };
}

export interface SpawnedGateway {
  readonly url: string;
  readonly adminKey: string;
  readonly caPem: string;
  readonly child: ChildProcess;
  /** Everything the process wrote (stdout and stderr), for log scans. */
  output(): string;
  stop(): Promise<void>;
}

const GATEWAY_START_TIMEOUT_MS = 120_000;
const MAIN_SCRIPT = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const GATEWAY_READY_LINE = /gateway listening on (https:\/\/[\d.]+:\d+)/;

export interface GatewayProcessOptions {
  readonly dataDir: string;
  readonly hsmPort: number;
  readonly networkPorts: Readonly<Record<NetworkName, number>>;
  /** Otherwise the gateway makes one at first start (in `dataDir/admin-key`). */
  readonly adminKey?: string;
  readonly logLevel?: string;
  readonly args?: readonly string[];
  /** Node flags beside the service flags (`--cpu-prof`, say). */
  readonly nodeFlags?: readonly string[];
  readonly startupTimeout_ms?: number;
}

/** SIGTERM to SIGKILL when stopping the gateway process; a CPU-profiled one gets longer (writing its profiles takes seconds). */
export const gateway_stop_grace_ms = 10_000;
export const gateway_stop_grace_profiled_ms = 120_000;

/** `palmswitch gateway start --port 0` as its own process; resolves once it listens. */
export async function spawnGatewayProcess(options: GatewayProcessOptions): Promise<{ url: string; child: ChildProcess; output(): string; stop(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = {
    PALMSWITCH_DATA_DIR: options.dataDir, PALMSWITCH_HSM_PORT: String(options.hsmPort),
    PALMSWITCH_VISA_PORT: String(options.networkPorts['visa-like']), PALMSWITCH_MASTERCARD_PORT: String(options.networkPorts['mastercard-like']),
    LOG_LEVEL: options.logLevel ?? 'info', ...(options.adminKey !== undefined ? { PALMSWITCH_ADMIN_KEY: options.adminKey } : {}),
  };
  const service = await spawnServiceProcess({
    script: MAIN_SCRIPT, args: ['gateway', 'start', '--port', '0', ...(options.args ?? [])], env, nodeFlags: options.nodeFlags,
    readyLine: GATEWAY_READY_LINE, startupTimeout_ms: options.startupTimeout_ms ?? GATEWAY_START_TIMEOUT_MS,
    stopGrace_ms: options.nodeFlags?.includes('--cpu-prof') === true ? gateway_stop_grace_profiled_ms : gateway_stop_grace_ms,
    failure: (why) => new GatewayError('not_ready', `the gateway did not start: ${why}`),
  });
  return { url: service.ready[1]!, child: service.child, output: service.output, stop: async () => { await service.stop(); } };
}

/** The gateway as its own process against a test stack, logging at `logLevel`. */
export async function spawnGateway(stack: TestStack, options: { logLevel?: string; args?: readonly string[] } = {}): Promise<SpawnedGateway> {
  const gateway = await spawnGatewayProcess({
    dataDir: stack.config.dataDir, hsmPort: stack.config.hsmPort, networkPorts: stack.config.networkSimPorts,
    ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}), ...(options.args !== undefined ? { args: options.args } : {}),
  });
  return {
    ...gateway,
    adminKey: readFileSync(path.join(stack.config.dataDir, 'admin-key'), 'utf8').trim(),
    caPem: readFileSync(path.join(stack.config.dataDir, 'pki', 'ca.cert.pem'), 'utf8'),
  };
}
