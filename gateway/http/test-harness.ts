/**
 * Test support for the HTTP layer: a real gateway (HTTPS on 127.0.0.1, a real PKI, SQLite in a
 * temp dir, a real hsm-sim process) in front of a small, real in-memory `PaymentPipeline` that
 * records what reached it. The recording pipeline is a stand-in for the payment pipeline only
 * (a dependency of the transport under test), never for TLS, signatures, stores or the HSM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../core/index.js';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from '../../hsm-sim/index.js';
import { GatewayError } from '../errors.js';
import { DevPki } from '../pki/index.js';
import type {
  AuthorizeCommand, CaptureUpload, DeletionOutcome, EnrolCommand, EnrolOutcome, PaymentPipeline, PaymentView, ShopperView,
} from '../pipeline/contract.js';
import { openGatewayDatabase, type GatewayDatabase } from '../store/database.js';
import { SqliteIdempotencyStore } from '../store/idempotency.js';
import { SqliteNonceStore } from '../store/nonces.js';
import { SqliteRegistry } from '../store/registry.js';
import { createGatewayApp, type GatewayAppOptions } from './app.js';
import { startGatewayServer, type GatewayServer } from './server.js';
import { AdminClient, TerminalClient, type TerminalCredentials } from './terminal-client.js';
import { createGatewayMetrics } from './metrics.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** A real, in-memory payment pipeline that records its calls; `gate` holds authorizations until opened. */
export class RecordingPipeline implements PaymentPipeline {
  readonly calls: { method: string; command: unknown }[] = [];
  readonly views = new Map<bigint, PaymentView>();
  gate: Promise<void> | undefined;
  /** Set to make the next authorize throw this (once). */
  failNext: Error | undefined;

  private record(method: string, command: unknown): void { this.calls.push({ method, command }); }
  count(method: string): number { return this.calls.filter((c) => c.method === method).length; }

  enrol(command: EnrolCommand): Promise<EnrolOutcome> {
    this.record('enrol', command);
    return Promise.resolve({ shopperId: 0xabcn, network: 'visa-like', tokenLast4: command.pan.slice(-4), stages: { total: 1 } });
  }

  async authorize(command: AuthorizeCommand): Promise<PaymentView> {
    this.record('authorize', command);
    if (this.gate) await this.gate;
    // Like the real pipeline: the identity is admitted after the search, before the network.
    command.admitIdentity?.(this.identityOf(command.capture));
    if (this.failNext !== undefined) {
      const failure = this.failNext;
      this.failNext = undefined;
      throw failure;
    }
    const view: PaymentView = {
      paymentId: BigInt(`0x${randomBytes(16).toString('hex')}`), decision: 'approved', status: 'authorized', responseCode: '00', authCode: 'A1B2C3',
      source: 'network', amount_minor: command.amount_minor, captured_minor: 0n, refunded_minor: 0n, currency: command.currency, merchantId: command.merchantId,
      terminalId: command.terminalId, network: 'visa-like', rrn: '000000000001', stan: '000001', created_at: new Date().toISOString(),
      stages: { extract: 2, search: 1, network: 3, ledger: 0.5, total: 7 }, matchScore: 0.42,
    };
    this.views.set(view.paymentId, view);
    return view;
  }

  /** The "palm" of a fake capture: its first four bytes (fakeCapture writes the seed there). */
  identityOf(capture: CaptureUpload): bigint {
    return BigInt(Buffer.from(capture.visible).readUInt32BE(0));
  }

  private require(id: bigint): PaymentView {
    const view = this.views.get(id);
    if (!view) throw new GatewayError('payment_not_found', 'no such payment');
    return view;
  }

  capture(command: { paymentId: bigint; amount_minor?: bigint }): Promise<PaymentView> {
    this.record('capture', command);
    const view = this.require(command.paymentId);
    if (view.status !== 'authorized') throw new GatewayError('payment_state_invalid', `a ${view.status} payment cannot be captured`);
    const next: PaymentView = { ...view, status: 'captured', captured_minor: command.amount_minor ?? view.amount_minor };
    this.views.set(view.paymentId, next);
    return Promise.resolve(next);
  }

  void(command: { paymentId: bigint }): Promise<PaymentView> {
    this.record('void', command);
    const next: PaymentView = { ...this.require(command.paymentId), status: 'voided' };
    this.views.set(next.paymentId, next);
    return Promise.resolve(next);
  }

  refund(command: { paymentId: bigint; amount_minor: bigint }): Promise<PaymentView> {
    this.record('refund', command);
    const view = this.require(command.paymentId);
    const next: PaymentView = { ...view, status: 'refunded', refunded_minor: view.refunded_minor + command.amount_minor };
    this.views.set(view.paymentId, next);
    return Promise.resolve(next);
  }

  payment(paymentId: bigint): PaymentView { return this.require(paymentId); }
  payments(query: { limit: number }): PaymentView[] { return [...this.views.values()].slice(0, query.limit); }

  private shopper(): ShopperView {
    return { shopperId: 0xabcn, phoneMasked: '+44******23', network: 'visa-like', tokenLast4: '0010', enrolled_at: new Date(0).toISOString(), templates: 1, payments: 0 };
  }

  identityByPalm(command: { terminalId: string; capture: CaptureUpload }): Promise<ShopperView> { this.record('identityByPalm', command); return Promise.resolve(this.shopper()); }
  requestOtp(phone: string): Promise<void> { this.record('requestOtp', phone); return Promise.resolve(); }
  identityByPhone(command: { phone: string; otp: string }): Promise<ShopperView> {
    this.record('identityByPhone', command);
    if (command.otp !== '123456') throw new GatewayError('otp_invalid', 'the code is wrong or expired');
    return Promise.resolve(this.shopper());
  }
  deleteByPalm(command: { terminalId: string; capture: CaptureUpload }): Promise<DeletionOutcome> {
    this.record('deleteByPalm', command);
    return Promise.resolve({ shopperId: 0xabcn, templatesRemoved: 1, tokenDeleted: true });
  }
  deleteByPhone(command: { phone: string; otp: string }): Promise<DeletionOutcome> {
    this.record('deleteByPhone', command);
    return Promise.resolve({ shopperId: 0xabcn, templatesRemoved: 1, tokenDeleted: true });
  }
}

export interface Harness {
  readonly dir: string;
  readonly hsmProcess: SpawnedHsm;
  readonly hsm: HsmClient;
  readonly db: GatewayDatabase;
  readonly registry: SqliteRegistry;
  readonly idempotency: SqliteIdempotencyStore;
  readonly nonces: SqliteNonceStore;
  readonly pki: DevPki;
  readonly pipeline: RecordingPipeline;
  /** Starts one more gateway on the same stores (other limits, clock, ...). */
  startGateway(overrides?: Partial<GatewayAppOptions>): Promise<{ server: GatewayServer; admin: AdminClient }>;
  terminal(server: GatewayServer, credentials: TerminalCredentials): TerminalClient;
  stop(): Promise<void>;
}

export async function startHarness(prefix: string): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `palmswitch-${prefix}-`));
  const hsmProcess = await spawnHsmProcess({ dataDir: path.join(dir, 'hsm') });
  const hsm = new HsmClient({ port: hsmProcess.port });
  const db = openGatewayDatabase(path.join(dir, 'data', 'gateway.sqlite'));
  const registry = new SqliteRegistry(db);
  const idempotency = new SqliteIdempotencyStore(db);
  const nonces = new SqliteNonceStore(db);
  const pki = await DevPki.open({ dataDir: path.join(dir, 'data'), records: registry });
  const pipeline = new RecordingPipeline();
  const servers: GatewayServer[] = [];
  const clients: { close(): void }[] = [];
  const logger = createLogger({ name: 'gateway-test', level: 'silent' });
  return {
    dir, hsmProcess, hsm, db, registry, idempotency, nonces, pki, pipeline,
    startGateway: async (overrides = {}) => {
      const app = createGatewayApp({
        pipeline, registry, hsm, pki, stores: { idempotency, nonces }, adminKey: ADMIN_KEY, logger, metrics: createGatewayMetrics(),
        links: () => [{ network: 'visa-like', up: 2, inFlight: 0, reversalsPending: 1, advicesPending: 3 }], ...overrides,
      });
      const server = await startGatewayServer({ app, pki, host: '127.0.0.1', port: 0 });
      servers.push(server);
      const admin = new AdminClient({ url: server.url, adminKey: ADMIN_KEY, caPem: pki.caPem });
      clients.push(admin);
      return { server, admin };
    },
    terminal: (server, credentials) => {
      const client = new TerminalClient({ url: server.url, ...credentials });
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.close();
      for (const server of servers) await server.close();
      await hsm.close();
      db.close();
      await hsmProcess.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small valid-looking capture (bytes need not be a PNG: the recording pipeline does not decode). */
export function fakeCapture(seed: number, bytes = 512): CaptureUpload {
  const visible = Buffer.alloc(bytes, seed & 0xff);
  visible.writeUInt32BE(seed, 0);
  return { kind: 'hand', visible, nir: Buffer.alloc(bytes / 2, (seed + 1) & 0xff) };
}
