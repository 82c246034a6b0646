/**
 * One simulated card network: the ISO 8583 TCP server of one dialect and its JSON HTTP API,
 * sharing the issuer, the token service, the fault setting and the counters. MAC and token
 * cryptogram checks go to hsm-sim when their key ids are given.
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createLogger, type Logger } from '../core/index.js';
import { HsmClient } from '../hsm-sim/index.js';
import { NetworkSimError } from './errors.js';
import { seededRandom } from '../core/index.js';
import { mergeFaults, NO_FAULTS, type Faults } from './faults.js';
import { createHttpApp } from './http.js';
import { CardNetwork } from './network.js';
import { ProcessingTimes, startIsoServer } from './server.js';
import { createWire } from './wire.js';

export interface NetworkSimOptions {
  readonly spec: string;
  readonly host?: string;
  readonly port: number;
  /** The JSON HTTP API's port (0 picks one). */
  readonly httpPort: number;
  /** Settlement files are written under `<dataDir>/network-sim`. */
  readonly dataDir: string;
  readonly hsmPort?: number;
  readonly macKeyId?: string;
  readonly tspKeyId?: string;
  /** A partial fault setting applied at start (same shape as `PUT /faults`). */
  readonly faults?: unknown;
  readonly seed?: number;
  readonly logger?: Logger;
}

export interface NetworkSim {
  readonly host: string;
  readonly port: number;
  readonly httpPort: number;
  readonly network: CardNetwork;
  close(): Promise<void>;
}

export async function startNetworkSim(options: NetworkSimOptions): Promise<NetworkSim> {
  const wire = createWire(options.spec);
  const log = options.logger ?? createLogger({ name: `network-sim-${wire.name}` });
  if ((options.macKeyId !== undefined || options.tspKeyId !== undefined) && options.hsmPort === undefined) {
    throw new NetworkSimError('netsim_option_invalid', 'MAC and cryptogram checks need an HSM port');
  }
  const hsm = options.hsmPort === undefined ? undefined : new HsmClient({ port: options.hsmPort, connections: 2 });
  const network = new CardNetwork({
    wire, log,
    ...(hsm ? { hsm } : {}),
    ...(options.macKeyId !== undefined ? { macKeyId: options.macKeyId } : {}),
    ...(options.tspKeyId !== undefined ? { tspKeyId: options.tspKeyId } : {}),
  });
  let faults: Faults = mergeFaults(NO_FAULTS, options.faults ?? {});
  const random = seededRandom(options.seed ?? Date.now());
  const processing = new ProcessingTimes();
  const host = options.host ?? '127.0.0.1';
  const iso = await startIsoServer(host, options.port, { wire, network, log, processing, faults: () => faults, random });
  const app = createHttpApp({
    network, networkName: wire.name, settlementDir: path.join(options.dataDir, 'network-sim'), processing,
    faults: () => faults, setFaults: (next) => { faults = next; }, disconnectAll: () => iso.disconnectAll(),
  });
  const http = await listenHttp(app.fetch, host, options.httpPort);
  log.info({ spec: wire.name, port: iso.port, httpPort: http.port, mac: options.macKeyId !== undefined, cryptograms: options.tspKeyId !== undefined }, 'network-sim listening');
  return {
    host, port: iso.port, httpPort: http.port, network,
    close: async () => {
      await iso.close();
      await new Promise<void>((resolve) => http.server.close(() => resolve()));
      await hsm?.close();
    },
  };
}

function listenHttp(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, (info: AddressInfo) => resolve({ server, port: info.port }));
    server.once('error', (error: Error) => reject(new NetworkSimError('netsim_listen_failed', `cannot listen on ${hostname}:${port}: ${error.message}`, { cause: error })));
  });
}
