/**
 * The demo world of `npm start`: two merchants, their terminals (client certificates and
 * sensor keys), and synthetic shoppers with cards at the simulated issuers, enrolled through
 * the real HTTPS API. Created once per data directory and reloaded afterwards; the terminal
 * credentials are kept (0600) under <dataDir>/demo for `npm run demo` and the dashboard.
 * Shoppers are synthetic palms (a seed and an index), never images on disk.
 */
import { createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assert, type Logger } from '../core/index.js';
import { luhnDigit } from '../network-sim/index.js';
import type { SimulatedPaymentRequest, SimulatorOutcome, TerminalSimulator } from './dashboard/index.js';
import { AdminClient, TerminalClient, type TerminalCredentials } from './http/index.js';
import { NETWORK_NAMES, type NetworkName } from './keys.js';
import type { PaymentView } from './pipeline/contract.js';
import { attackCapture, palmCapture } from './testing.js';

export const demo_seed = 20_261_124;
export const demo_shoppers_default = 12;
/** Synthetic identities past this index were never enrolled: the "unknown palm". */
const unknown_palm_index = 900_000;
/** Each payment presents a fresh capture of the palm (real captures never repeat). */
const first_payment_capture = 10;

export interface DemoMerchant { readonly id: string; readonly name: string; readonly mcc: string; readonly currency: string }
export interface DemoTerminal { readonly merchantId: string; readonly terminalId: string; readonly certificatePem: string; readonly privateKeyPem: string; readonly caPem: string; readonly sensorKeyPem: string }
export interface DemoShopper { readonly index: number; readonly label: string; readonly phone: string; readonly network: NetworkName; readonly shopperId: string; readonly lowBalance: boolean }
export interface DemoWorld { readonly merchants: DemoMerchant[]; readonly terminals: DemoTerminal[]; readonly shoppers: DemoShopper[] }

const NAMES = ['Ada', 'Bea', 'Chen', 'Dara', 'Emil', 'Femi', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai', 'Lia', 'Mo', 'Nia', 'Oto', 'Pia'];

export function demoFile(dataDir: string): string {
  return path.join(dataDir, 'demo', 'world.json');
}

export function loadDemoWorld(dataDir: string): DemoWorld | undefined {
  const file = demoFile(dataDir);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as DemoWorld : undefined;
}

export function terminalCredentials(terminal: DemoTerminal): TerminalCredentials {
  return { terminalId: terminal.terminalId, certificatePem: terminal.certificatePem, privateKeyPem: terminal.privateKeyPem, caPem: terminal.caPem, sensorKey: createPrivateKey(terminal.sensorKeyPem) };
}

/** Creates the demo world through the gateway's API, or returns the one already made. */
export async function seedDemo(options: { url: string; caPem: string; adminKey: string; dataDir: string; networkApiUrls: ReadonlyMap<string, string>; shoppers?: number; logger: Logger }): Promise<DemoWorld> {
  const existing = loadDemoWorld(options.dataDir);
  if (existing) return existing;
  const admin = new AdminClient({ url: options.url, adminKey: options.adminKey, caPem: options.caPem });
  try {
    const merchants: DemoMerchant[] = [];
    const terminals: DemoTerminal[] = [];
    for (const m of [{ name: 'Corner Cafe', mcc: '5814' }, { name: 'Green Grocer', mcc: '5411' }]) {
      const merchant = await admin.createMerchant({ ...m, currency: 'EUR' });
      merchants.push({ id: merchant.id, name: merchant.name, mcc: merchant.mcc, currency: merchant.currency });
      for (let t = 0; t < 2; t += 1) {
        const registered = await admin.registerTerminal({ merchantId: merchant.id });
        terminals.push({
          merchantId: merchant.id, terminalId: registered.terminalId, certificatePem: registered.certificatePem, privateKeyPem: registered.privateKeyPem,
          caPem: registered.caPem, sensorKeyPem: registered.sensorKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        });
      }
    }
    const shoppers = await enrolShoppers(options, terminals[0]!, options.shoppers ?? demo_shoppers_default);
    const world: DemoWorld = { merchants, terminals, shoppers };
    const file = demoFile(options.dataDir);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(world, null, 2), { mode: 0o600 });
    chmodSync(file, 0o600);
    options.logger.info({ merchants: merchants.length, terminals: terminals.length, shoppers: shoppers.length }, 'demo world created');
    return world;
  } finally {
    admin.close();
  }
}

async function enrolShoppers(options: { url: string; networkApiUrls: ReadonlyMap<string, string>; dataDir: string }, kiosk: DemoTerminal, count: number): Promise<DemoShopper[]> {
  const client = new TerminalClient({ url: options.url, ...terminalCredentials(kiosk) });
  const shoppers: DemoShopper[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const network = NETWORK_NAMES[index % NETWORK_NAMES.length]!;
      const lowBalance = index === count - 1;
      const card = await openCard(options.networkApiUrls.get(network)!, network, index, lowBalance ? 500n : 5_000_000n);
      const phone = `+4477009${String(index).padStart(5, '0')}`;
      const response = await client.enrol({ captures: [palmCapture(demo_seed, index, 0), palmCapture(demo_seed, index, 1)], pan: card.pan, expiry: card.expiry, phone });
      assert(response.status === 201 || response.status === 200, `demo enrolment ${index} answered ${response.status}: ${JSON.stringify(response.body)}`);
      const body = response.body as { shopperId: string };
      const name = NAMES[index % NAMES.length]!;
      shoppers.push({ index, label: `${name} (${network}, phone …${phone.slice(-2)}${lowBalance ? ', low balance' : ''})`, phone, network, shopperId: body.shopperId, lowBalance });
    }
  } finally {
    client.close();
  }
  return shoppers;
}

/** Opens an account at the simulated issuer: the shopper's card, which only the issuer and the token service ever see. */
async function openCard(apiUrl: string, network: NetworkName, index: number, balance_minor: bigint): Promise<{ pan: string; expiry: string }> {
  const body = `${network === 'visa-like' ? '476174' : '541334'}${String(index).padStart(9, '0')}`;
  const pan = body + luhnDigit(body);
  const response = await fetch(new URL('/accounts', apiUrl), {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000),
    body: JSON.stringify({ pan, expiry: '3012', currency: 978, balance_minor: balance_minor.toString(), limit_minor: '1000000', status: 'active', blockedMcc: [] }),
  });
  // An account left from an earlier run of the same data directory is fine.
  assert(response.ok || response.status === 409, `issuer answered ${response.status}`);
  return { pan, expiry: '3012' };
}

/** Converts the API's payment JSON back into the pipeline's view. */
export function paymentFromJson(json: Record<string, unknown>): PaymentView {
  const amount = (key: string): bigint => BigInt((json[key] as { minor: string }).minor);
  return {
    paymentId: BigInt(`0x${String(json.paymentId)}`), decision: json.decision as PaymentView['decision'], status: json.status as PaymentView['status'],
    responseCode: String(json.responseCode), authCode: typeof json.authCode === 'string' ? json.authCode : undefined, source: json.source as PaymentView['source'],
    amount_minor: amount('amount'), captured_minor: amount('captured'), refunded_minor: amount('refunded'), currency: (json.amount as { currency: string }).currency,
    merchantId: String(json.merchantId), terminalId: String(json.terminalId), network: typeof json.network === 'string' ? json.network : undefined,
    rrn: typeof json.rrn === 'string' ? json.rrn : undefined, stan: typeof json.stan === 'string' ? json.stan : undefined, created_at: String(json.created_at),
    stages: json.stages as Record<string, number>, ...(Array.isArray(json.exchange) ? { exchange: json.exchange as PaymentView['exchange'] } : {}),
  };
}

/** The dashboard's terminal simulator: real terminals of the demo world over the real HTTPS API. */
export class DemoTerminals implements TerminalSimulator {
  private readonly clients = new Map<string, TerminalClient>();
  private captureNumber = first_payment_capture;
  private lastSigned: { terminalId: string; body: Record<string, unknown>; headers: Record<string, string> } | undefined;

  constructor(private readonly url: string, private readonly world: DemoWorld) {
    for (const terminal of world.terminals) this.clients.set(terminal.terminalId, new TerminalClient({ url, ...terminalCredentials(terminal) }));
  }

  shoppers(): { id: string; label: string }[] {
    return this.world.shoppers.map((s) => ({ id: String(s.index), label: s.label }));
  }

  async pay(request: SimulatedPaymentRequest): Promise<SimulatorOutcome> {
    const client = this.clients.get(request.terminalId);
    const terminal = this.world.terminals.find((t) => t.terminalId === request.terminalId);
    if (!client || !terminal) return { kind: 'refused', code: 'terminal_not_found', message: 'not a demo terminal', httpStatus: 404 };
    if (request.attack === 'replayed_request') return await this.replay();
    this.captureNumber += 1;
    const capture = request.attack === 'printed_palm' ? attackCapture('print', demo_seed, 0, this.captureNumber)
      : request.attack === 'unknown_palm' ? palmCapture(demo_seed, unknown_palm_index + this.captureNumber, 0)
        : palmCapture(demo_seed, Number(request.shopper), this.captureNumber);
    const nonce = `demo${Date.now().toString(36)}${this.captureNumber.toString(36)}`.padEnd(16, '0');
    const timestamp_ms = Date.now();
    const response = await client.authorize({ merchantId: terminal.merchantId, amount_minor: request.amount_minor, currency: request.currency, capture }, { nonce, timestamp_ms });
    this.lastSigned = { terminalId: terminal.terminalId, body: { merchantId: terminal.merchantId, amount: { minor: request.amount_minor.toString(), currency: request.currency }, capture: { kind: capture.kind, visible: Buffer.from(capture.visible).toString('base64'), ...(capture.nir ? { nir: Buffer.from(capture.nir).toString('base64') } : {}) } }, headers: { 'x-palm-nonce': nonce, 'x-palm-timestamp': String(timestamp_ms) } };
    return outcomeOf(response.status, response.body);
  }

  /** Sends the last signed payment again with the same nonce and a fresh idempotency key. */
  private async replay(): Promise<SimulatorOutcome> {
    const last = this.lastSigned;
    if (!last) return { kind: 'refused', code: 'request_invalid', message: 'pay once first: there is nothing to replay yet', httpStatus: 400 };
    const client = this.clients.get(last.terminalId)!;
    const capture = last.body.capture as { kind: 'hand' | 'roi'; visible: string; nir?: string };
    const upload = { kind: capture.kind, visible: Buffer.from(capture.visible, 'base64'), ...(capture.nir ? { nir: Buffer.from(capture.nir, 'base64') } : {}) };
    const response = await client.post('/v1/payments', last.body, [upload], { nonce: last.headers['x-palm-nonce']!, timestamp_ms: Number(last.headers['x-palm-timestamp']) });
    return outcomeOf(response.status, response.body);
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}

function outcomeOf(status: number, body: unknown): SimulatorOutcome {
  const json = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (status >= 200 && status < 300 && typeof json.paymentId === 'string') return { kind: 'payment', payment: paymentFromJson(json), httpStatus: status };
  const error = (json.error ?? {}) as { code?: string; message?: string };
  return { kind: 'refused', code: error.code ?? 'internal', message: error.message ?? `HTTP ${status}`, httpStatus: status };
}
