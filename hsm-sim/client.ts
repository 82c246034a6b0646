/**
 * The typed HSM client used by the gateway, the biometric engine and the network
 * simulator. A pool of pipelined connections (lazily opened, replaced when they close),
 * a time-out on every request, a bounded wait queue when every connection is at its
 * in-flight bound, and one automatic retry for commands that are safe to repeat when a
 * connection drops. Every refusal is an `HsmError` with the code from the HSM's table;
 * verifications answer `true`/`false`.
 *
 * @example
 *   const hsm = new HsmClient({ port: 9500 });
 *   await hsm.generateKey({ keyId: 'zak-visa', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'E' });
 *   const mac = await hsm.generateMac({ keyId: 'zak-visa', data: isoMessageBytes });
 *   await hsm.close();
 */
import { assert } from '../core/index.js';
import { HsmConnection } from './connection.js';
import { errorCodeFromWire, HsmError, WIRE_OK } from './errors.js';
import type { KeyInfo } from './keystore.js';
import { COMMANDS, FieldReader, type CommandName, type ResponseFrame } from './protocol.js';
import type { Exportability, KeyAlgorithm, KeyUsage, ModeOfUse } from './usages.js';

export const CLIENT_CONNECTIONS_MAX = 16;
export const CLIENT_QUEUE_MAX = 10_000;
const DEFAULTS = { host: '127.0.0.1', connections: 2, timeout_ms: 5_000, connect_timeout_ms: 2_000, in_flight_per_connection_max: 128 };
/** After a failed connect a slot waits before trying again: 100 ms, doubling, at most 5 s. */
export const RECONNECT_DELAY_MS_MIN = 100;
export const RECONNECT_DELAY_MS_MAX = 5_000;
const DEFAULT_KEY_LENGTH_BYTES: Record<KeyAlgorithm, number> = { T: 16, A: 32, H: 32 };
/** Safe to send again after a dropped connection: no key-store change, or none that repeats badly. */
const IDEMPOTENT = new Set<CommandName>(['echo', 'diagnostics', 'listKeys', 'exportKey', 'generateMac', 'verifyMac', 'generateCryptogram', 'verifyCryptogram', 'encrypt', 'decrypt', 'keyedHash', 'verifyTerminalSignature', 'random']);

export interface HsmClientOptions {
  readonly port: number;
  /** Loopback by default; the HSM listens on 127.0.0.1. */
  readonly host?: string;
  /** Connections in the pool (1..16, default 2). */
  readonly connections?: number;
  /** Time-out of one request in milliseconds (default 5000). */
  readonly timeout_ms?: number;
  readonly connect_timeout_ms?: number;
  /** Requests in flight on one connection before requests wait in the queue (default 128). */
  readonly in_flight_per_connection_max?: number;
}

export interface KeySpec {
  readonly keyId: string;
  readonly usage: KeyUsage;
  readonly algorithm: KeyAlgorithm;
  readonly modeOfUse: ModeOfUse;
  readonly exportability: Exportability;
  /** Key length in bytes; defaults: TDES 16 (double length), AES 32, HMAC 32. */
  readonly length_bytes?: number;
}

export interface CryptogramRequest {
  /** Id of the issuer/TSP master key (usage E0, mode X). */
  readonly keyId: string;
  readonly tokenPan: string;
  readonly amount_minor: bigint;
  /** ISO 4217 numeric currency code, e.g. 978 for EUR. */
  readonly currencyNumeric: number;
  /** Transaction date YYMMDD. */
  readonly date: string;
  /** 4 bytes chosen by the terminal side. */
  readonly unpredictableNumber: Uint8Array;
  /** Application transaction counter, 0..65535. */
  readonly atc: number;
}

export interface HsmDiagnostics {
  readonly lmkVersion: number;
  readonly lmkKcv: string;
  readonly keyCount: number;
  readonly terminalCount: number;
  readonly version: string;
}

/**
 * The HSM port: what the rest of the switch may ask of an HSM. `HsmClient` implements it over
 * hsm-sim's host-command protocol; an adapter for a network HSM would implement the same.
 */
export interface HsmPort {
  echo(data: Uint8Array): Promise<Buffer>;
  diagnostics(): Promise<HsmDiagnostics>;
  random(length: number): Promise<Buffer>;
  generateKey(spec: KeySpec): Promise<KeyInfo>;
  generateDataKey(keyId: string): Promise<KeyInfo>;
  formKeyFromComponents(spec: Omit<KeySpec, 'length_bytes'> & { components: readonly { value: Uint8Array; kcv?: string }[] }): Promise<KeyInfo>;
  exportKey(request: { keyId: string; zmkId: string }): Promise<{ keyBlock: string; kcv: string }>;
  importKey(request: { keyId: string; zmkId: string; keyBlock: string; kcv: string }): Promise<KeyInfo>;
  deleteKey(keyId: string): Promise<KeyInfo>;
  listKeys(): Promise<KeyInfo[]>;
  rotateLmk(): Promise<{ lmkVersion: number; rewrapped: number; lmkKcv: string }>;
  generateMac(request: { keyId: string; data: Uint8Array; padding?: 1 | 2 }): Promise<Buffer>;
  verifyMac(request: { keyId: string; data: Uint8Array; mac: Uint8Array; padding?: 1 | 2 }): Promise<boolean>;
  generateCryptogram(request: CryptogramRequest): Promise<Buffer>;
  verifyCryptogram(request: CryptogramRequest & { cryptogram: Uint8Array }): Promise<boolean>;
  encrypt(request: { keyId: string; plaintext: Uint8Array; aad?: Uint8Array }): Promise<Buffer>;
  decrypt(request: { keyId: string; sealed: Uint8Array; aad?: Uint8Array }): Promise<Buffer>;
  keyedHash(request: { keyId: string; data: Uint8Array }): Promise<Buffer>;
  registerTerminalKey(request: { terminalId: string; publicKey: Uint8Array }): Promise<{ fingerprint: Buffer; replaced: boolean }>;
  verifyTerminalSignature(request: { terminalId: string; data: Uint8Array; signature: Uint8Array }): Promise<boolean>;
  close(): Promise<void>;
}

const ascii = (text: string): Buffer => Buffer.from(text, 'ascii');

/** Reads exactly `count` fields from a response body; anything else is a broken peer. */
function responseFields(response: ResponseFrame, count: number): Buffer[] {
  const reader = new FieldReader(response.body);
  try {
    const fields = Array.from({ length: count }, (_, i) => reader.bytes(`response field ${i + 1}`, 0, 0xffff));
    reader.end();
    return fields;
  } catch (error) {
    throw new HsmError('hsm_response_invalid', `response to ${response.code} does not have ${count} fields`, { cause: error });
  }
}

function keyInfoFrom(fields: Buffer[]): KeyInfo {
  const [id, usage, algorithm, modeOfUse, exportability, kcv, lmkVersion] = fields.map((f) => f.toString('ascii'));
  assert(id !== undefined && lmkVersion !== undefined, 'seven key info fields');
  return { id, usage: usage as KeyUsage, algorithm: algorithm as KeyAlgorithm, modeOfUse: modeOfUse as ModeOfUse, exportability: exportability as Exportability, kcv: kcv ?? '', lmkVersion: Number(lmkVersion) };
}

export class HsmClient implements HsmPort {
  private readonly options: Required<HsmClientOptions>;
  private readonly slots: (HsmConnection | undefined)[];
  /** Per slot: consecutive failed connects, and when the next attempt may start. */
  private readonly connectFailures: number[];
  private readonly reconnectAt_ms: number[];
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(options: HsmClientOptions) {
    this.options = { ...DEFAULTS, ...options };
    assert(Number.isInteger(this.options.port) && this.options.port > 0 && this.options.port < 65_536, 'port must be 1..65535');
    assert(this.options.connections >= 1 && this.options.connections <= CLIENT_CONNECTIONS_MAX, `connections must be 1..${CLIENT_CONNECTIONS_MAX}`);
    this.slots = Array.from({ length: this.options.connections }, () => undefined);
    this.connectFailures = this.slots.map(() => 0);
    this.reconnectAt_ms = this.slots.map(() => 0);
  }

  /** Closes every connection; requests still outstanding fail with `hsm_connection_failed`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const connection of this.slots) connection?.close();
    for (const wake of this.waiting.splice(0)) wake();
    await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * The open (or opening) connection with the fewest requests in flight, opening slots that
   * are empty or closed unless they are backing off after a failed connect. `undefined` when
   * every usable connection is at its in-flight bound; a refusal when none can be used.
   */
  private pick(): HsmConnection | undefined {
    let best: HsmConnection | undefined;
    const now = Date.now();
    for (let i = 0; i < this.slots.length; i += 1) {
      let connection = this.slots[i];
      if (!connection || !connection.usable) {
        if (now < (this.reconnectAt_ms[i] ?? 0)) continue;
        connection = new HsmConnection(this.options.host, this.options.port, this.options.connect_timeout_ms, (opened) => this.connectionClosed(i, opened));
        this.slots[i] = connection;
      }
      if (!best || connection.in_flight < best.in_flight) best = connection;
    }
    if (!best) throw new HsmError('hsm_connection_failed', `cannot reach the HSM at ${this.options.host}:${this.options.port} (backing off)`);
    return best.in_flight < this.options.in_flight_per_connection_max ? best : undefined;
  }

  private connectionClosed(slot: number, opened: boolean): void {
    const failures = opened ? 0 : (this.connectFailures[slot] ?? 0) + 1;
    this.connectFailures[slot] = failures;
    this.reconnectAt_ms[slot] = failures === 0 ? 0 : Date.now() + Math.min(RECONNECT_DELAY_MS_MAX, RECONNECT_DELAY_MS_MIN * 2 ** (failures - 1));
    this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.();
  }

  private async send(command: CommandName, fields: readonly Uint8Array[]): Promise<ResponseFrame> {
    for (;;) {
      if (this.closed) throw new HsmError('hsm_client_closed', 'the HSM client is closed');
      const connection = this.pick();
      if (connection) {
        try {
          return await connection.request(COMMANDS[command], fields, this.options.timeout_ms);
        } finally {
          this.wakeOne();
        }
      }
      if (this.waiting.length >= CLIENT_QUEUE_MAX) throw new HsmError('hsm_client_overloaded', `${CLIENT_QUEUE_MAX} requests already wait for a connection`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** Sends a command, retrying once on a dropped connection when the command is idempotent. */
  private async call(command: CommandName, fields: readonly Uint8Array[]): Promise<ResponseFrame> {
    try {
      return await this.send(command, fields);
    } catch (error) {
      if (!(error instanceof HsmError) || error.code !== 'hsm_connection_failed' || !IDEMPOTENT.has(command)) throw error;
      return await this.send(command, fields);
    }
  }

  /** Sends and requires error code 00, returning `count` response fields. */
  private async ok(command: CommandName, fields: readonly Uint8Array[], count: number): Promise<Buffer[]> {
    const response = await this.call(command, fields);
    if (response.error !== WIRE_OK) throw refusalOf(response);
    return responseFields(response, count);
  }

  /** For verifications: 00 is true, 01 is false, anything else is a refusal. */
  private async verdict(command: CommandName, fields: readonly Uint8Array[]): Promise<boolean> {
    const response = await this.call(command, fields);
    if (response.error === WIRE_OK) return true;
    if (errorCodeFromWire(response.error) === 'hsm_verification_failed') return false;
    throw refusalOf(response);
  }

  // ---- diagnostics ------------------------------------------------------------------

  /** Sends bytes and returns what came back (link check). */
  async echo(data: Uint8Array): Promise<Buffer> {
    const [back] = await this.ok('echo', [data], 1);
    return back ?? Buffer.alloc(0);
  }

  async diagnostics(): Promise<HsmDiagnostics> {
    const fields = (await this.ok('diagnostics', [], 5)).map((f) => f.toString('ascii'));
    return { lmkVersion: Number(fields[0]), lmkKcv: fields[1] ?? '', keyCount: Number(fields[2]), terminalCount: Number(fields[3]), version: fields[4] ?? '' };
  }

  /** Random bytes from the HSM (1..4096). */
  async random(length: number): Promise<Buffer> {
    const [bytes] = await this.ok('random', [ascii(String(length))], 1);
    return bytes ?? Buffer.alloc(0);
  }

  // ---- key management ---------------------------------------------------------------

  /** Generates a key inside the HSM; only its id, attributes and KCV come back. */
  async generateKey(spec: KeySpec): Promise<KeyInfo> {
    const length = spec.length_bytes ?? DEFAULT_KEY_LENGTH_BYTES[spec.algorithm];
    return keyInfoFrom(await this.ok('generateKey', [spec.keyId, spec.usage, spec.algorithm, spec.modeOfUse, spec.exportability, String(length)].map(ascii), 7));
  }

  /** A data key (D0, AES-256, encrypt+decrypt, exportable under a KEK) for `encrypt`/`decrypt`. */
  async generateDataKey(keyId: string): Promise<KeyInfo> {
    return await this.generateKey({ keyId, usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'E', length_bytes: 32 });
  }

  /** Forms a key (typically the first ZMK) by XOR of 2..3 clear components, each checked against its KCV when given. */
  async formKeyFromComponents(spec: Omit<KeySpec, 'length_bytes'> & { components: readonly { value: Uint8Array; kcv?: string }[] }): Promise<KeyInfo> {
    const fields: Uint8Array[] = [spec.keyId, spec.usage, spec.algorithm, spec.modeOfUse, spec.exportability, String(spec.components.length)].map(ascii);
    for (const component of spec.components) fields.push(component.value, ascii(component.kcv ?? ''));
    return keyInfoFrom(await this.ok('formKeyFromComponents', fields, 7));
  }

  /** Exports (wraps) a key under a ZMK/KEK as a TR-31 key block (version D under AES, B under TDES). */
  async exportKey(request: { keyId: string; zmkId: string }): Promise<{ keyBlock: string; kcv: string }> {
    const [block, kcv] = await this.ok('exportKey', [ascii(request.keyId), ascii(request.zmkId)], 2);
    return { keyBlock: block?.toString('ascii') ?? '', kcv: kcv?.toString('ascii') ?? '' };
  }

  /** Imports (unwraps) a TR-31 key block under a ZMK/KEK; refused unless the key matches `kcv`. */
  async importKey(request: { keyId: string; zmkId: string; keyBlock: string; kcv: string }): Promise<KeyInfo> {
    return keyInfoFrom(await this.ok('importKey', [request.keyId, request.zmkId, request.keyBlock, request.kcv].map(ascii), 7));
  }

  async deleteKey(keyId: string): Promise<KeyInfo> {
    return keyInfoFrom(await this.ok('deleteKey', [ascii(keyId)], 7));
  }

  /** The key inventory: ids, attributes, KCVs and LMK generation — never key material. */
  async listKeys(): Promise<KeyInfo[]> {
    const keys: KeyInfo[] = [];
    for (let page = 0; page < 1_000; page += 1) {
      const [total, json] = await this.ok('listKeys', [ascii(String(keys.length))], 2);
      const batch = JSON.parse(json?.toString('utf8') ?? '[]') as KeyInfo[];
      keys.push(...batch);
      if (batch.length === 0 || keys.length >= Number(total?.toString('ascii'))) break;
    }
    return keys;
  }

  /** Re-wraps every key under a new LMK generation; the HSM keeps answering meanwhile. */
  async rotateLmk(): Promise<{ lmkVersion: number; rewrapped: number; lmkKcv: string }> {
    const [version, rewrapped, kcv] = (await this.ok('rotateLmk', [], 3)).map((f) => f.toString('ascii'));
    return { lmkVersion: Number(version), rewrapped: Number(rewrapped), lmkKcv: kcv ?? '' };
  }

  // ---- MACs, cryptograms, data protection, terminals ---------------------------------

  /** MAC with an M3 (retail, 8 bytes), M1 (CBC-MAC, 8 bytes) or M6 (AES-CMAC, 16 bytes) key; ISO 9797-1 padding 1 by default. */
  async generateMac(request: { keyId: string; data: Uint8Array; padding?: 1 | 2 }): Promise<Buffer> {
    const [mac] = await this.ok('generateMac', [ascii(request.keyId), request.data, ascii(String(request.padding ?? 1))], 1);
    return mac ?? Buffer.alloc(0);
  }

  /** Verifies a MAC, which may be truncated to its leftmost 4..16 bytes (DE 64 carries 8). */
  async verifyMac(request: { keyId: string; data: Uint8Array; mac: Uint8Array; padding?: 1 | 2 }): Promise<boolean> {
    return await this.verdict('verifyMac', [ascii(request.keyId), request.data, ascii(String(request.padding ?? 1)), request.mac]);
  }

  /** An 8-byte token cryptogram from the per-token key derived from the master key and token PAN. */
  async generateCryptogram(request: CryptogramRequest): Promise<Buffer> {
    const [cryptogram] = await this.ok('generateCryptogram', cryptogramFields(request), 1);
    return cryptogram ?? Buffer.alloc(0);
  }

  async verifyCryptogram(request: CryptogramRequest & { cryptogram: Uint8Array }): Promise<boolean> {
    return await this.verdict('verifyCryptogram', [...cryptogramFields(request), request.cryptogram]);
  }

  /** AES-256-GCM under a D0 data key; returns IV (12) || ciphertext || tag (16). `aad` is bound but not encrypted. */
  async encrypt(request: { keyId: string; plaintext: Uint8Array; aad?: Uint8Array }): Promise<Buffer> {
    const [sealed] = await this.ok('encrypt', [ascii(request.keyId), request.plaintext, request.aad ?? Buffer.alloc(0)], 1);
    return sealed ?? Buffer.alloc(0);
  }

  /** Opens what `encrypt` sealed; a changed byte or different `aad` gives `hsm_data_authentication_failed`. */
  async decrypt(request: { keyId: string; sealed: Uint8Array; aad?: Uint8Array }): Promise<Buffer> {
    const [plaintext] = await this.ok('decrypt', [ascii(request.keyId), request.sealed, request.aad ?? Buffer.alloc(0)], 1);
    return plaintext ?? Buffer.alloc(0);
  }

  /** HMAC-SHA-256 under an M7 key: look up card numbers by a keyed hash instead of storing them. */
  async keyedHash(request: { keyId: string; data: Uint8Array }): Promise<Buffer> {
    const [digest] = await this.ok('keyedHash', [ascii(request.keyId), request.data], 1);
    return digest ?? Buffer.alloc(0);
  }

  /** Registers (or replaces) a terminal's ECDSA P-256 public key, as SPKI DER or a raw 65-byte point. */
  async registerTerminalKey(request: { terminalId: string; publicKey: Uint8Array }): Promise<{ fingerprint: Buffer; replaced: boolean }> {
    const [fingerprint, replaced] = await this.ok('registerTerminalKey', [ascii(request.terminalId), request.publicKey], 2);
    return { fingerprint: fingerprint ?? Buffer.alloc(0), replaced: replaced?.toString('ascii') === '1' };
  }

  /** Verifies an ECDSA P-256/SHA-256 signature (IEEE P1363 r||s, 64 bytes) by a registered terminal. */
  async verifyTerminalSignature(request: { terminalId: string; data: Uint8Array; signature: Uint8Array }): Promise<boolean> {
    return await this.verdict('verifyTerminalSignature', [ascii(request.terminalId), request.data, request.signature]);
  }
}

function refusalOf(response: ResponseFrame): HsmError {
  const code = errorCodeFromWire(response.error);
  return code ? new HsmError(code) : new HsmError('hsm_response_invalid', `unknown error code ${JSON.stringify(response.error)}`);
}

function cryptogramFields(request: CryptogramRequest): Uint8Array[] {
  assert(request.amount_minor >= 0n && request.amount_minor <= 999_999_999_999n, 'amount_minor must fit n12');
  assert(Number.isInteger(request.currencyNumeric) && request.currencyNumeric >= 0 && request.currencyNumeric <= 999, 'currencyNumeric must be 0..999');
  assert(Number.isInteger(request.atc) && request.atc >= 0 && request.atc <= 0xffff, 'atc must be 0..65535');
  const atc = Buffer.alloc(2);
  atc.writeUInt16BE(request.atc, 0);
  return [
    ascii(request.keyId), ascii(request.tokenPan), ascii(request.amount_minor.toString().padStart(12, '0')),
    ascii(String(request.currencyNumeric).padStart(3, '0')), ascii(request.date), request.unpredictableNumber, atc,
  ];
}
