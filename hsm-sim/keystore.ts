/**
 * The key store. The local master key (LMK) lives in `lmk.json` (mode 0600, created at first
 * start) with a version per generation; every other key lives in `keys.json` only as a TR-31
 * version D key block under the LMK, with its id bound into the block (optional block `10`),
 * and terminal public keys carry an HMAC under an LMK-derived key so a swapped record is
 * refused. Clear keys exist only in this process's memory. LMK rotation re-wraps every block
 * under a new LMK generation while requests keep being served from memory.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assert, PalmswitchError } from '../core/index.js';
import { HsmError } from './errors.js';
import type { WebCryptoKey } from './primitives.js';
import { unwrapKeyBlock, wrapKeyBlock } from './keyblock.js';
import { cmac, kcvAes, kcvHmac, kcvTdes } from './primitives.js';
import { checkAttributes, type KeyAttributes } from './usages.js';

export const KEYS_COUNT_MAX = 10_000;
export const TERMINALS_COUNT_MAX = 10_000;
export const KEY_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
const LMK_BYTES = 32;
const LMK_FORMAT = 'palmswitch-hsm-lmk/1';
const KEYS_FORMAT = 'palmswitch-hsm-keys/1';
/** Proprietary TR-31 optional block (numeric ids are reserved for proprietary use) binding the key id. */
const KEY_ID_BLOCK = '10';

export interface StoredKey extends KeyAttributes {
  readonly id: string;
  readonly kcv: string;
  readonly lmkVersion: number;
  /** Clear key bytes; never leave this process. */
  readonly clear: Buffer;
  /** WebCrypto handles made on first use, so hot paths do not re-import the key. */
  readonly handles: Map<string, WebCryptoKey>;
  /** This key's TR-31 block under LMK generation `lmkVersion`, made once (wrapping every key on every save would be quadratic). */
  readonly block: string;
}

/** What the inventory shows about a key: never key material. */
export interface KeyInfo extends KeyAttributes {
  readonly id: string;
  readonly kcv: string;
  readonly lmkVersion: number;
}

export interface TerminalRecord {
  readonly terminalId: string;
  readonly publicKeySpki: Buffer;
  readonly lmkVersion: number;
  /** HMAC of id and key under a key derived from LMK generation `lmkVersion`, hex. */
  readonly mac: string;
}

export interface KeyStoreLimits {
  readonly keys_count_max: number;
  readonly terminals_count_max: number;
}

interface LmkFile { format: string; current: number; versions: { version: number; key: string; kcv: string; created_at: string }[] }
interface KeysFile { format: string; keys: { id: string; lmkVersion: number; block: string }[]; terminals: { terminalId: string; lmkVersion: number; publicKey: string; mac: string }[] }

export async function computeKcv(algorithm: KeyAttributes['algorithm'], key: Uint8Array): Promise<string> {
  if (algorithm === 'T') return kcvTdes(key);
  if (algorithm === 'A') return await kcvAes(key);
  return kcvHmac(key);
}

export function keyInfo(key: StoredKey): KeyInfo {
  return { id: key.id, usage: key.usage, algorithm: key.algorithm, modeOfUse: key.modeOfUse, exportability: key.exportability, kcv: key.kcv, lmkVersion: key.lmkVersion };
}

/** Writes a file atomically (temp file + rename) with mode 0600, so a crash never leaves half a key store. */
function writeFileAtomic(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, file);
  chmodSync(file, 0o600);
}

export class KeyStore {
  private readonly keys = new Map<string, StoredKey>();
  private readonly terminals = new Map<string, TerminalRecord>();
  private lmks = new Map<number, Buffer>();
  private lmkCurrent = 0;
  private lmkKcvCurrent = '';

  private constructor(private readonly dir: string, private readonly limits: KeyStoreLimits) {}

  /** Opens (or at first start creates) the key store under `dir`; a tampered file stops the start. */
  static async open(dir: string, limits: KeyStoreLimits = { keys_count_max: KEYS_COUNT_MAX, terminals_count_max: TERMINALS_COUNT_MAX }): Promise<KeyStore> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const store = new KeyStore(dir, limits);
    await store.loadLmk();
    await store.loadKeys();
    return store;
  }

  get lmkVersion(): number { return this.lmkCurrent; }
  get lmkKcv(): string { return this.lmkKcvCurrent; }
  get keyCount(): number { return this.keys.size; }
  get terminalCount(): number { return this.terminals.size; }
  get lmkFile(): string { return path.join(this.dir, 'lmk.json'); }
  get keysFile(): string { return path.join(this.dir, 'keys.json'); }

  private async loadLmk(): Promise<void> {
    if (!existsSync(this.lmkFile)) {
      const key = randomBytes(LMK_BYTES);
      const file: LmkFile = { format: LMK_FORMAT, current: 1, versions: [{ version: 1, key: key.toString('hex'), kcv: await kcvAes(key), created_at: new Date().toISOString() }] };
      writeFileAtomic(this.lmkFile, JSON.stringify(file, null, 2) + '\n');
    }
    const mode = statSync(this.lmkFile).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new PalmswitchError('hsm_key_file_insecure', `${this.lmkFile} has mode ${mode.toString(8)}; it must be 0600`);
    const parsed = JSON.parse(readFileSync(this.lmkFile, 'utf8')) as LmkFile;
    if (parsed.format !== LMK_FORMAT || !Array.isArray(parsed.versions)) throw new PalmswitchError('hsm_key_file_invalid', `${this.lmkFile} is not a palmswitch LMK file`);
    for (const version of parsed.versions) {
      const key = Buffer.from(version.key, 'hex');
      if (key.length !== LMK_BYTES || (await kcvAes(key)) !== version.kcv) throw new PalmswitchError('hsm_key_file_invalid', `LMK version ${version.version} does not match its KCV`);
      this.lmks.set(version.version, key);
      if (version.version === parsed.current) this.lmkKcvCurrent = version.kcv;
    }
    if (!this.lmks.has(parsed.current)) throw new PalmswitchError('hsm_key_file_invalid', 'current LMK version missing');
    this.lmkCurrent = parsed.current;
  }

  private lmk(version: number): Buffer {
    const key = this.lmks.get(version);
    if (!key) throw new PalmswitchError('hsm_key_file_invalid', `no LMK version ${version}`);
    return key;
  }

  private async loadKeys(): Promise<void> {
    if (!existsSync(this.keysFile)) return;
    const parsed = JSON.parse(readFileSync(this.keysFile, 'utf8')) as KeysFile;
    if (parsed.format !== KEYS_FORMAT) throw new PalmswitchError('hsm_key_file_invalid', `${this.keysFile} is not a palmswitch key store`);
    for (const record of parsed.keys) {
      const { header, key } = unwrapKeyBlock(this.lmk(record.lmkVersion), record.block);
      const boundId = header.optionalBlocks.find((b) => b.id === KEY_ID_BLOCK)?.data;
      if (boundId !== record.id) throw new HsmError('hsm_key_block_tampered', `key block for ${record.id} is bound to another id`);
      const attributes = checkAttributes(header.usage, header.algorithm, header.modeOfUse, header.exportability, key.length);
      this.keys.set(record.id, { ...attributes, id: record.id, kcv: await computeKcv(attributes.algorithm, key), lmkVersion: record.lmkVersion, clear: key, handles: new Map(), block: record.block });
    }
    for (const record of parsed.terminals) {
      const publicKeySpki = Buffer.from(record.publicKey, 'hex');
      const expected = this.terminalMac(record.lmkVersion, record.terminalId, publicKeySpki);
      const received = Buffer.from(record.mac, 'hex');
      if (received.length !== expected.length || !timingSafeEqual(expected, received)) {
        throw new HsmError('hsm_key_block_tampered', `terminal record ${record.terminalId} does not verify`);
      }
      this.terminals.set(record.terminalId, { terminalId: record.terminalId, publicKeySpki, lmkVersion: record.lmkVersion, mac: record.mac });
    }
  }

  private terminalMac(lmkVersion: number, terminalId: string, spki: Buffer): Buffer {
    const macKey = cmac('aes', this.lmk(lmkVersion), Buffer.from('palmswitch terminal records v1', 'ascii'));
    return createHmac('sha256', macKey).update(`${terminalId}\n`).update(spki).digest();
  }

  private wrapForStore(lmkVersion: number, key: KeyAttributes & { id: string; clear: Buffer }): string {
    const header = { version: 'D' as const, usage: key.usage, algorithm: key.algorithm, modeOfUse: key.modeOfUse, keyVersion: '00', exportability: key.exportability, optionalBlocks: [{ id: KEY_ID_BLOCK, data: key.id }] };
    return wrapKeyBlock(this.lmk(lmkVersion), header, key.clear);
  }

  private terminalRecord(lmkVersion: number, terminalId: string, publicKeySpki: Buffer): TerminalRecord {
    return { terminalId, publicKeySpki, lmkVersion, mac: this.terminalMac(lmkVersion, terminalId, publicKeySpki).toString('hex') };
  }

  private static serialise(keys: Iterable<StoredKey>, terminals: Iterable<TerminalRecord>): string {
    const file: KeysFile = {
      format: KEYS_FORMAT,
      keys: [...keys].map((k) => ({ id: k.id, lmkVersion: k.lmkVersion, block: k.block })),
      terminals: [...terminals].map((t) => ({ terminalId: t.terminalId, lmkVersion: t.lmkVersion, publicKey: t.publicKeySpki.toString('hex'), mac: t.mac })),
    };
    return JSON.stringify(file, null, 1) + '\n';
  }

  private persist(): void {
    writeFileAtomic(this.keysFile, KeyStore.serialise(this.keys.values(), this.terminals.values()));
  }

  get(id: string): StoredKey {
    const key = this.keys.get(id);
    if (!key) throw new HsmError('hsm_key_not_found', `no key ${id}`);
    return key;
  }

  async add(id: string, attributes: KeyAttributes, clear: Buffer): Promise<KeyInfo> {
    assert(KEY_ID_PATTERN.test(id), 'key id checked by the caller');
    if (this.keys.has(id)) throw new HsmError('hsm_key_exists', `key ${id} exists`);
    if (this.keys.size >= this.limits.keys_count_max) throw new HsmError('hsm_store_full', `key store holds ${this.limits.keys_count_max} keys`);
    const kcv = await computeKcv(attributes.algorithm, clear);
    // From here on synchronous: an LMK rotation cannot slip between wrapping and saving.
    if (this.keys.has(id)) throw new HsmError('hsm_key_exists', `key ${id} exists`);
    const block = this.wrapForStore(this.lmkCurrent, { ...attributes, id, clear });
    const key: StoredKey = { ...attributes, id, kcv, lmkVersion: this.lmkCurrent, clear, handles: new Map(), block };
    this.keys.set(id, key);
    try {
      this.persist();
    } catch (error) {
      this.keys.delete(id);
      throw error;
    }
    return keyInfo(key);
  }

  delete(id: string): KeyInfo {
    const key = this.get(id);
    this.keys.delete(id);
    this.persist();
    key.clear.fill(0);
    return keyInfo(key);
  }

  list(offset: number, limit: number): { total: number; keys: KeyInfo[] } {
    const sorted = [...this.keys.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { total: sorted.length, keys: sorted.slice(offset, offset + limit).map(keyInfo) };
  }

  terminal(terminalId: string): TerminalRecord {
    const record = this.terminals.get(terminalId);
    if (!record) throw new HsmError('hsm_terminal_unknown', `no key for terminal ${terminalId}`);
    return record;
  }

  /** Registers (or replaces, when a sensor is re-keyed) a terminal's public key. */
  registerTerminal(terminalId: string, publicKeySpki: Buffer): { replaced: boolean } {
    const replaced = this.terminals.has(terminalId);
    if (!replaced && this.terminals.size >= this.limits.terminals_count_max) throw new HsmError('hsm_store_full', `key store holds ${this.limits.terminals_count_max} terminals`);
    const previous = this.terminals.get(terminalId);
    this.terminals.set(terminalId, this.terminalRecord(this.lmkCurrent, terminalId, publicKeySpki));
    try {
      this.persist();
    } catch (error) {
      if (previous) this.terminals.set(terminalId, previous); else this.terminals.delete(terminalId);
      throw error;
    }
    return { replaced };
  }

  /**
   * Rotation: (1) add LMK generation n+1 to lmk.json beside n, (2) rewrite keys.json under
   * n+1, (3) make n+1 current and drop n. A crash between steps leaves files that still load,
   * because each record names its LMK generation and both generations are on disk.
   */
  rotateLmk(): { lmkVersion: number; rewrapped: number } {
    // Synchronous from start to end, so no other command (or second rotation) interleaves.
    const next = this.lmkCurrent + 1;
    const key = randomBytes(LMK_BYTES);
    const kcv = cmac('aes', key, Buffer.alloc(16)).subarray(0, 3).toString('hex').toUpperCase();
    const now = new Date().toISOString();
    const old = JSON.parse(readFileSync(this.lmkFile, 'utf8')) as LmkFile;
    writeFileAtomic(this.lmkFile, JSON.stringify({ ...old, versions: [...old.versions, { version: next, key: key.toString('hex'), kcv, created_at: now }] }, null, 2) + '\n');
    this.lmks.set(next, key);
    const keys = new Map([...this.keys].map(([id, k]) => [id, { ...k, lmkVersion: next, block: this.wrapForStore(next, k) }]));
    const terminals = new Map([...this.terminals].map(([id, t]) => [id, this.terminalRecord(next, id, t.publicKeySpki)]));
    writeFileAtomic(this.keysFile, KeyStore.serialise(keys.values(), terminals.values()));
    writeFileAtomic(this.lmkFile, JSON.stringify({ format: LMK_FORMAT, current: next, versions: [{ version: next, key: key.toString('hex'), kcv, created_at: now }] }, null, 2) + '\n');
    const previous = this.lmkCurrent;
    this.lmkCurrent = next;
    this.lmkKcvCurrent = kcv;
    this.lmks.get(previous)?.fill(0);
    this.lmks = new Map([[next, key]]);
    for (const [id, stored] of keys) this.keys.set(id, stored);
    for (const [id, record] of terminals) this.terminals.set(id, record);
    return { lmkVersion: next, rewrapped: this.keys.size };
  }
}
