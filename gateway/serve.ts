/**
 * A running gateway: the switch (openSwitch), the development PKI, the HTTPS API with its
 * security stores, the dashboard mounted at /dashboard, on one HTTPS port. What `palmswitch
 * gateway start` runs, and what the end-to-end tests and the benchmark start as a process.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config, Logger } from '../core/index.js';
import { createDashboard, type TerminalSimulator } from './dashboard/index.js';
import { createGatewayApp, startGatewayServer, type GatewayLimits, type GatewayServer } from './http/index.js';
import { registerReportRoutes } from './http/report-routes.js';
import { DevPki } from './pki/index.js';
import type { StandInRules } from './network/index.js';
import { SqliteIdempotencyStore } from './store/idempotency.js';
import { SqliteNonceStore } from './store/nonces.js';
import { openRegistry, type SqliteRegistry } from './store/registry.js';
import { openSwitch, type Switch } from './switch.js';

export interface GatewayStartOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly limits?: Partial<GatewayLimits>;
  readonly standIn?: StandInRules;
  readonly authorizationTimeout_ms?: number;
  readonly extractWorkers?: number;
  readonly networkApiUrls?: ReadonlyMap<string, string>;
  /** The dashboard's terminal simulator; given the running gateway (its URL and CA). */
  readonly terminalSimulator?: (gateway: { url: string; caPem: string; adminKey: string; switch: Switch }) => TerminalSimulator;
}

export interface RunningGateway {
  readonly url: string;
  readonly dashboardUrl: string;
  readonly adminKey: string;
  readonly caPem: string;
  readonly switch: Switch<SqliteRegistry>;
  readonly registry: SqliteRegistry;
  readonly server: GatewayServer;
  /** Replaces the dashboard's terminal simulator (the demo world exists only after seeding). */
  setTerminalSimulator(simulator: TerminalSimulator): void;
  close(): Promise<void>;
}

/** The admin key from PALMSWITCH_ADMIN_KEY, else one made at first start and kept (0600) in the data directory. */
export function adminKeyFor(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PALMSWITCH_ADMIN_KEY;
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  const file = path.join(dataDir, 'admin-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

/** A simulator for when none is given: it refuses, saying why. */
const noSimulator: TerminalSimulator = {
  shoppers: () => [],
  pay: () => Promise.resolve({ kind: 'refused', code: 'not_ready', message: 'no terminal simulator in this gateway', httpStatus: 503 }),
};

export async function startGateway(options: GatewayStartOptions): Promise<RunningGateway> {
  const { config, logger } = options;
  const sw = await openSwitch({
    config, logger, openRegistry,
    ...(options.standIn ? { standIn: options.standIn } : {}), ...(options.authorizationTimeout_ms !== undefined ? { authorizationTimeout_ms: options.authorizationTimeout_ms } : {}),
    ...(options.extractWorkers !== undefined ? { extractWorkers: options.extractWorkers } : {}), ...(options.networkApiUrls ? { networkApiUrls: options.networkApiUrls } : {}),
  });
  const records = sw.registry;
  const pki = await DevPki.open({ dataDir: config.dataDir, records });
  const adminKey = adminKeyFor(config.dataDir);
  const app = createGatewayApp({
    pipeline: sw.pipeline, registry: records, hsm: sw.hsm, pki, adminKey, logger,
    stores: { idempotency: new SqliteIdempotencyStore(sw.db), nonces: new SqliteNonceStore(sw.db) },
    ...(options.limits ? { limits: options.limits } : {}),
    ready: () => [...sw.links.values()].every((link) => link.status().up > 0),
    durable: () => sw.durable(),
    links: () => sw.operations.links(),
  });
  registerReportRoutes(app, sw.reports);
  let simulator: TerminalSimulator = noSimulator;
  const dashboard = createDashboard({
    pipeline: sw.pipeline, reports: sw.reports, operations: sw.operations, registry: records, adminKey, logger,
    terminalSimulator: { shoppers: () => simulator.shoppers(), pay: (request) => simulator.pay(request) },
  });
  app.route('/dashboard', dashboard);
  const server = await startGatewayServer({ app, pki, host: config.host, port: config.gatewayPort });
  if (options.terminalSimulator) simulator = options.terminalSimulator({ url: server.url, caPem: pki.caPem, adminKey, switch: sw });
  logger.info({ url: server.url }, 'gateway listening');
  return {
    url: server.url, dashboardUrl: `${server.url}/dashboard`, adminKey, caPem: pki.caPem, switch: sw, registry: records, server,
    setTerminalSimulator: (next) => { simulator = next; },
    close: async () => {
      await server.close();
      await sw.close();
    },
  };
}
