/**
 * Test helpers shared by the link's test files (not part of the public face): a temp
 * directory, a real network-sim process with a funded card and its token, a link on a real
 * SQLite file, and a request builder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../core/index.js';
import { spawnNetworkSim, type SpawnedNetworkSim, type SpawnOptions, type TokenView } from '../../network-sim/index.js';
import { NetworkLink, type LinkOptions } from './link.js';
import type { AuthorizationRequest } from './messages.js';
import { LinkStore } from './store.js';

export const TRID = '40000000001';
export const CARD_EXPIRY = '2912';
export const quietLogger = createLogger({ name: 'link-test', level: 'silent' });

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // Retries (ENOTEMPTY, EBUSY) back off linearly, ~10 s in all: a process that has just exited may still have files closing.
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true, maxRetries: 13, retryDelay: 100 }) };
}

export interface Card { ref: string; pan: string; token: TokenView }

let cardSerial = 0;

/** Opens an issuer account and provisions a token for it (our TRID unless told otherwise). */
export async function issueCard(sim: SpawnedNetworkSim, account: { balance_minor?: bigint; limit_minor?: bigint; status?: string; blockedMcc?: string[]; expiry?: string } = {}, trid = TRID): Promise<Card> {
  cardSerial += 1;
  const body = `411111${String(process.pid % 1000).padStart(3, '0')}${String(cardSerial).padStart(6, '0')}`;
  const pan = body + luhn(body);
  const expiry = account.expiry ?? CARD_EXPIRY;
  const opened = await sim.api<{ ref: string }>('POST', '/accounts', {
    pan, expiry, currency: 978, balance_minor: (account.balance_minor ?? 100_000n).toString(), limit_minor: (account.limit_minor ?? 50_000n).toString(),
    status: account.status ?? 'active', blockedMcc: account.blockedMcc ?? [],
  });
  const token = await sim.api<TokenView>('POST', '/tokens', { pan, expiry, trid });
  return { ref: opened.ref, pan, token };
}

function luhn(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i += 1) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) { digit *= 2; if (digit > 9) digit -= 9; }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

let identitySerial = 0;

export function requestFor(card: Card, overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  identitySerial += 1;
  return {
    tokenPan: card.token.tokenPan, tokenExpiry: card.token.tokenExpiry, amount_minor: 1_250n, currency: 978, mcc: '5411',
    terminalId: 'PALM0001', merchantId: 'MERCHANT0000042', palmIdentity: `palm-${process.pid}-${identitySerial}`, ...overrides,
  };
}

export async function startSim(dir: string, options: Partial<SpawnOptions> = {}): Promise<SpawnedNetworkSim> {
  return await spawnNetworkSim({ spec: 'visa-like', dataDir: dir, seed: 7, ...options });
}

let acquirerSerial = 0;

/** Each link gets its own acquirer id: STANs are unique per acquirer, and tests open many links. */
export function openLink(sim: { port: number }, storeFile: string, options: Partial<LinkOptions> = {}): { link: NetworkLink; store: LinkStore } {
  const store = new LinkStore(storeFile);
  acquirerSerial += 1;
  const link = new NetworkLink({
    name: 'visa-like', spec: 'visa-like', port: sim.port, store, acquirerId: `4${String(process.pid % 100_000).padStart(5, '0')}${String(acquirerSerial).padStart(3, '0')}`, trid: TRID, timeout_ms: 2_000, echo_idle_ms: 30_000,
    reconnect_ms_min: 20, reconnect_ms_max: 200, retry_ms_min: 50, retry_ms_max: 400, drain_interval_ms: 25, logger: quietLogger, ...options,
  });
  link.start();
  return { link, store };
}

/** Polls `check` every 20 ms until it holds or `timeout_ms` passes (bounded waits only). */
export async function eventually(check: () => boolean | Promise<boolean>, timeout_ms = 10_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`condition not met within ${timeout_ms} ms`);
}

/** A loopback port nothing listens on (bound once by us, then released). */
export async function closedPort(): Promise<number> {
  return await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}
