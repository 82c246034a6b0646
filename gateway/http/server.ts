/**
 * The HTTPS server: node:https through @hono/node-server's `createServer` option, with the
 * PKI's server certificate, client certificates requested from every caller and checked by the
 * app (not by TLS, so refusals are JSON), keep-alive, and bounds on headers and idle sockets.
 */
import { constants as cryptoConstants } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { assert } from '../../core/index.js';
import type { DevPki } from '../pki/index.js';
import type { GatewayEnv } from './auth.js';

/** Idle keep-alive connections are closed after this. */
export const keep_alive_timeout_ms = 65_000;
/** A request must arrive whole (headers and body) within this. */
export const request_timeout_ms = 30_000;
export const headers_timeout_ms = 10_000;
export const header_size_bytes_max = 16 * 1024;
/** Open connections the server accepts; past it new sockets are refused by the kernel backlog. */
export const connections_max = 4_096;
/** Time given to in-flight requests at close before sockets are destroyed. */
export const close_grace_ms = 5_000;

export interface GatewayServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startGatewayServer(options: { app: OpenAPIHono<GatewayEnv>; pki: Pick<DevPki, 'caPem' | 'serverCertificatePem' | 'serverKeyPem'>; host: string; port: number }): Promise<GatewayServer> {
  const server = serve({
    fetch: options.app.fetch, hostname: options.host, port: options.port,
    createServer: createHttpsServer,
    serverOptions: {
      key: options.pki.serverKeyPem, cert: options.pki.serverCertificatePem, ca: options.pki.caPem,
      requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2',
      // A connection's client certificate is read once (auth.ts): TLS 1.2 renegotiation could swap it.
      secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
      keepAlive: true, keepAliveTimeout: keep_alive_timeout_ms, requestTimeout: request_timeout_ms, headersTimeout: headers_timeout_ms,
      maxHeaderSize: header_size_bytes_max,
    },
  }) as Server;
  server.maxConnections = connections_max;
  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  assert(address.port > 0, 'the server is bound');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server, host: address.address, port: address.port, url: `https://${host}:${address.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), close_grace_ms);
      await closed;
      clearTimeout(force);
    },
  };
}
