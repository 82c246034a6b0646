/**
 * The terminal side of the API, for tests, the demo and the benchmark: a sensor key pair, the
 * capture signature (canonical.ts), and clients that call the gateway over HTTPS with keep-alive
 * — a terminal with its client certificate, and an admin with the API key.
 *
 * @example
 *   const admin = new AdminClient({ url, adminKey, caPem });
 *   const merchant = await admin.createMerchant({ name: 'Corner shop', mcc: '5411', currency: 'EUR' });
 *   const credentials = await admin.registerTerminal({ merchantId: merchant.id });
 *   const terminal = new TerminalClient({ url, ...credentials });
 *   const payment = await terminal.authorize({ merchantId: merchant.id, amount_minor: 1250n, currency: 'EUR', capture });
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync, randomBytes, randomUUID, sign, webcrypto, type KeyObject } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { assert } from '../../core/index.js';
import type { CaptureUpload } from '../pipeline/contract.js';
import { bodyDigest, captureDigest, SIGNATURE_HEADERS, signingString } from './canonical.js';
import { ADMIN_KEY_HEADER } from './auth.js';
import { IDEMPOTENCY_HEADER } from './idempotent.js';

/** Sockets one client keeps open to the gateway. */
export const client_sockets_max = 64;
/** A call that has not answered within this fails. */
export const client_timeout_ms = 30_000;
/** Largest answer a client reads. */
export const client_response_bytes_max = 8 * 1024 * 1024;

export interface SensorKey { readonly privateKey: KeyObject; readonly publicKeySpki: Buffer }

/** A fresh ECDSA P-256 sensor key; only the public half ever leaves the terminal. */
export function generateSensorKey(): SensorKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }) };
}

export interface CaptureJsonBody { kind: 'hand' | 'roi'; visible: string; nir?: string }

export function captureJson(capture: CaptureUpload): CaptureJsonBody {
  return { kind: capture.kind, visible: Buffer.from(capture.visible).toString('base64'), ...(capture.nir ? { nir: Buffer.from(capture.nir).toString('base64') } : {}) };
}

/** The three signature headers for a request carrying `captures` (timestamp and nonce may be fixed by tests). */
export function signCapture(input: {
  sensorKey: KeyObject; method: string; path: string; terminalId: string; body: Readonly<Record<string, unknown>>;
  captures: readonly { visible: Uint8Array; nir?: Uint8Array | undefined }[]; timestamp_ms?: number; nonce?: string;
}): Record<string, string> {
  const timestamp_ms = input.timestamp_ms ?? Date.now();
  const nonce = input.nonce ?? randomBytes(24).toString('base64url');
  const text = signingString({
    method: input.method, path: input.path, terminalId: input.terminalId, timestamp_ms, nonce,
    captureDigest: captureDigest(input.captures), bodyDigest: bodyDigest(input.body),
  });
  const signature = sign('sha256', Buffer.from(text, 'utf8'), { key: input.sensorKey, dsaEncoding: 'ieee-p1363' });
  return { [SIGNATURE_HEADERS.timestamp]: String(timestamp_ms), [SIGNATURE_HEADERS.nonce]: nonce, [SIGNATURE_HEADERS.signature]: signature.toString('base64') };
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: T;
}

/** An HTTPS JSON caller with one keep-alive agent (and the client certificate, when given). */
export class HttpsJsonClient {
  readonly agent: Agent;

  constructor(readonly url: string, tls: { caPem: string; certificatePem?: string; privateKeyPem?: string }) {
    this.agent = new Agent({
      keepAlive: true, maxSockets: client_sockets_max, ca: tls.caPem,
      ...(tls.certificatePem && tls.privateKeyPem ? { cert: tls.certificatePem, key: tls.privateKeyPem } : {}),
    });
  }

  async call<T = unknown>(method: string, path: string, options: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const target = new URL(path, this.url);
    return await new Promise<ApiResponse<T>>((resolve, reject) => {
      const request = httpsRequest(target, {
        method, agent: this.agent, timeout: client_timeout_ms,
        headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...options.headers },
      }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > client_response_bytes_max) { response.destroy(new Error('answer over the client bound')); return; }
          chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = (response.headers['content-type'] ?? '').includes('json') && text.length > 0;
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: (json ? JSON.parse(text) : text) as T });
        });
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${client_timeout_ms} ms`)));
      request.on('error', reject);
      request.end(payload);
    });
  }

  close(): void { this.agent.destroy(); }
}

export interface TerminalCredentials {
  readonly terminalId: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly caPem: string;
  readonly sensorKey: KeyObject;
}

export interface CallOptions { readonly idempotencyKey?: string; readonly headers?: Record<string, string>; readonly timestamp_ms?: number; readonly nonce?: string }

export class TerminalClient extends HttpsJsonClient {
  readonly terminalId: string;
  private readonly sensorKey: KeyObject;

  constructor(options: { url: string } & TerminalCredentials) {
    super(options.url, options);
    this.terminalId = options.terminalId;
    this.sensorKey = options.sensorKey;
  }

  /** A POST with an idempotency key (fresh unless given); signed when `captures` are given. */
  async post<T = unknown>(path: string, body: Record<string, unknown>, captures?: readonly CaptureUpload[], options: CallOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { [SIGNATURE_HEADERS.terminal]: this.terminalId, [IDEMPOTENCY_HEADER]: options.idempotencyKey ?? randomUUID() };
    if (captures) {
      Object.assign(headers, signCapture({
        sensorKey: this.sensorKey, method: 'POST', path, terminalId: this.terminalId, body, captures,
        ...(options.timestamp_ms !== undefined ? { timestamp_ms: options.timestamp_ms } : {}), ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
      }));
    }
    return await this.call<T>('POST', path, { body, headers: { ...headers, ...options.headers } });
  }

  async get<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return await this.call<T>('GET', path, { headers: { [SIGNATURE_HEADERS.terminal]: this.terminalId } });
  }

  async enrol(input: { captures: readonly CaptureUpload[]; pan: string; expiry: string; phone: string }, options?: CallOptions): Promise<ApiResponse> {
    return await this.post('/v1/enrolments', { captures: input.captures.map(captureJson), pan: input.pan, expiry: input.expiry, phone: input.phone }, input.captures, options);
  }

  async authorize(input: { merchantId: string; amount_minor: bigint; currency: string; capture: CaptureUpload; offlineCapturedAt_ms?: number; phoneSuffix?: string }, options?: CallOptions): Promise<ApiResponse> {
    const body: Record<string, unknown> = { merchantId: input.merchantId, amount: { minor: input.amount_minor.toString(), currency: input.currency }, capture: captureJson(input.capture) };
    if (input.offlineCapturedAt_ms !== undefined) body.offlineCapturedAt_ms = input.offlineCapturedAt_ms;
    if (input.phoneSuffix !== undefined) body.phoneSuffix = input.phoneSuffix;
    return await this.post('/v1/payments', body, [input.capture], options);
  }

  async capture(paymentId: string, amount?: { minor: bigint; currency: string }, options?: CallOptions): Promise<ApiResponse> {
    return await this.post(`/v1/payments/${paymentId}/capture`, amount ? { amount: { minor: amount.minor.toString(), currency: amount.currency } } : {}, undefined, options);
  }

  async void(paymentId: string, options?: CallOptions): Promise<ApiResponse> {
    return await this.post(`/v1/payments/${paymentId}/void`, {}, undefined, options);
  }

  async refund(paymentId: string, amount: { minor: bigint; currency: string }, options?: CallOptions): Promise<ApiResponse> {
    return await this.post(`/v1/payments/${paymentId}/refund`, { amount: { minor: amount.minor.toString(), currency: amount.currency } }, undefined, options);
  }

  async payment(paymentId: string): Promise<ApiResponse> { return await this.get(`/v1/payments/${paymentId}`); }

  async identityLookup(capture: CaptureUpload, options?: CallOptions): Promise<ApiResponse> {
    return await this.post('/v1/identity/lookup', { capture: captureJson(capture) }, [capture], options);
  }

  async deleteByPalm(capture: CaptureUpload, options?: CallOptions): Promise<ApiResponse> {
    return await this.post('/v1/identity/delete', { capture: captureJson(capture) }, [capture], options);
  }

  async requestOtp(phone: string): Promise<ApiResponse> { return await this.post('/v1/identity/otp', { phone }); }
  async identityByPhone(phone: string, otp: string): Promise<ApiResponse> { return await this.post('/v1/identity/by-phone', { phone, otp }); }
  async deleteByPhone(phone: string, otp: string): Promise<ApiResponse> { return await this.post('/v1/identity/delete-by-phone', { phone, otp }); }
}

export interface MerchantJson { id: string; name: string; mcc: string; currency: string; status: string; created_at: string }
export interface TerminalJson { id: string; merchantId: string; status: string; certificateSerial: string; certificateNotAfter: string; sensorKeyFingerprint: string; created_at: string }

export class AdminClient extends HttpsJsonClient {
  constructor(options: { url: string; adminKey: string; caPem: string }) {
    super(options.url, { caPem: options.caPem });
    this.adminKey = options.adminKey;
  }

  private readonly adminKey: string;

  async admin<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { [ADMIN_KEY_HEADER]: this.adminKey };
    if (method === 'POST') headers[IDEMPOTENCY_HEADER] = idempotencyKey ?? randomUUID();
    return await this.call<T>(method, path, { body: body ?? (method === 'POST' ? {} : undefined), headers });
  }

  async createMerchant(input: { id?: string; name: string; mcc: string; currency: string }): Promise<MerchantJson> {
    const response = await this.admin<MerchantJson>('POST', '/v1/merchants', input);
    assert(response.status === 201, `merchant registration answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Registers a terminal with a fresh sensor key (unless given) and returns everything a TerminalClient needs. */
  async registerTerminal(input: { merchantId: string; id?: string; sensorKey?: SensorKey; certificateValidityDays?: number }): Promise<TerminalCredentials & { terminal: TerminalJson }> {
    const sensor = input.sensorKey ?? generateSensorKey();
    const response = await this.admin<{ terminal: TerminalJson; certificatePem: string; privateKeyPem: string | null; caPem: string }>('POST', '/v1/terminals', {
      merchantId: input.merchantId, sensorPublicKey: sensor.publicKeySpki.toString('base64'),
      ...(input.id !== undefined ? { id: input.id } : {}), ...(input.certificateValidityDays !== undefined ? { certificateValidityDays: input.certificateValidityDays } : {}),
    });
    assert(response.status === 201 && response.body.privateKeyPem !== null, `terminal registration answered ${response.status}: ${JSON.stringify(response.body)}`);
    return {
      terminal: response.body.terminal, terminalId: response.body.terminal.id, certificatePem: response.body.certificatePem,
      privateKeyPem: response.body.privateKeyPem, caPem: response.body.caPem, sensorKey: sensor.privateKey,
    };
  }

  /**
   * Registration as a production terminal does it: its TLS key pair is made here, on the
   * terminal, and only a PKCS#10 signing request leaves; the gateway returns no private key.
   */
  async registerTerminalWithRequest(input: { merchantId: string; id?: string }): Promise<TerminalCredentials & { terminal: TerminalJson }> {
    const sensor = generateSensorKey();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const response = await this.admin<{ terminal: TerminalJson; certificatePem: string; privateKeyPem: string | null; caPem: string }>('POST', '/v1/terminals', {
      merchantId: input.merchantId, sensorPublicKey: sensor.publicKeySpki.toString('base64'), certificateRequestPem: await certificateRequest(privateKey, publicKey),
      ...(input.id !== undefined ? { id: input.id } : {}),
    });
    assert(response.status === 201 && response.body.privateKeyPem === null, `terminal registration answered ${response.status}: ${JSON.stringify(response.body)}`);
    return {
      terminal: response.body.terminal, terminalId: response.body.terminal.id, certificatePem: response.body.certificatePem,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), caPem: response.body.caPem, sensorKey: sensor.privateKey,
    };
  }
}

/** A PKCS#10 request for the key pair, signed by its private half (proof of possession). */
export async function certificateRequest(privateKey: KeyObject, publicKey: KeyObject): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), algorithm, true, ['verify']),
  };
  const request = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=palmswitch terminal', keys, signingAlgorithm: algorithm }, webcrypto);
  return request.toString('pem');
}
