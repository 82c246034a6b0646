/**
 * Test support shared by the gateway's tests, the demo and the benchmark (not part of the
 * public face's contract): a stack of real processes — hsm-sim and both network simulators
 * with MAC and cryptogram checks — on ephemeral loopback ports in a temp directory, issuer
 * cards, and synthetic palm captures encoded as the PNGs a terminal would upload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../core/index.js';
import { encodePng, renderAttack, renderHandCapture, renderRoiCapture } from '../biometric/index.js';
import { spawnHsmProcess, type SpawnedHsm } from '../hsm-sim/index.js';
import { luhnDigit, spawnNetworkSim, type SpawnedNetworkSim } from '../network-sim/index.js';
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

export async function startTestStack(prefix: string, faults?: Partial<Record<NetworkName, unknown>>): Promise<TestStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const hsm = await spawnHsmProcess({ dataDir: path.join(dir, 'hsm') });
  const sims = new Map<NetworkName, SpawnedNetworkSim>();
  for (const network of NETWORK_NAMES) {
    sims.set(network, await spawnNetworkSim({
      spec: network, dataDir: path.join(dir, 'networks'), hsmPort: hsm.port, macKeyId: KEY_IDS.mac(network), tspKeyId: KEY_IDS.tokenCryptogram(network),
      seed: 11, ...(faults?.[network] !== undefined ? { faults: faults[network] } : {}),
    }));
  }
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
