/**
 * The host commands: each reads its fields (refusing wrong counts, lengths and formats
 * before touching a key), checks the key's usage and mode of use, does its cryptography
 * and returns response fields. Keys leave only as key blocks under a key-encryption key;
 * results leave as MACs, cryptograms, ciphertexts and verdicts. Verification failures are
 * `hsm_verification_failed` (wire 01), which the client turns into `false`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { HsmError } from './errors.js';
import type { AuditTrail } from './audit.js';
import { unwrapKeyBlock, versionForKbpk, wrapKeyBlock } from './keyblock.js';
import { computeKcv, KEY_ID_PATTERN, type KeyInfo, type KeyStore, type StoredKey } from './keystore.js';
import { CmacContext, hasOddParity, MacContext, macMatches, webcrypto, withOddParity, type WebCryptoKey } from './primitives.js';
import type { CommandName, FieldReader } from './protocol.js';
import { checkAttributes, requireUsage } from './usages.js';
import { cryptogramCommand } from './cryptogram.js';

export const ECHO_BYTES_MAX = 4_096;
export const MAC_DATA_BYTES_MAX = 8_192;
export const PLAINTEXT_BYTES_MAX = 16_384;
export const AAD_BYTES_MAX = 1_024;
export const RANDOM_BYTES_MAX = 4_096;
export const INVENTORY_PAGE_KEYS_MAX = 100;
export const KEY_BLOCK_TEXT_CHARS_MAX = 1_024;
export const COMPONENTS_COUNT_MAX = 3;
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const ECDSA_P256_SIGNATURE_BYTES = 64;
export const SIMULATOR_VERSION = 'palmswitch-hsm-sim/1';

export interface CommandContext {
  readonly store: KeyStore;
  readonly audit: AuditTrail;
  readonly terminalKeys: Map<string, WebCryptoKey>;
  readonly peer: string;
}

export type Fields = Uint8Array[];
export type Handler = (r: FieldReader, ctx: CommandContext) => Fields | Promise<Fields>;

const ascii = (text: string): Buffer => Buffer.from(text, 'ascii');
const ID = KEY_ID_PATTERN;

function infoFields(info: KeyInfo): Fields {
  return [info.id, info.usage, info.algorithm, info.modeOfUse, info.exportability, info.kcv, String(info.lmkVersion)].map(ascii);
}

function readAttributes(r: FieldReader): { usage: string; algorithm: string; modeOfUse: string; exportability: string } {
  return { usage: r.text('usage', /^[A-Z0-9]{2}$/, 2), algorithm: r.text('algorithm', /^[A-Z]$/, 1), modeOfUse: r.text('mode of use', /^[A-Z]$/, 1), exportability: r.text('exportability', /^[A-Z]$/, 1) };
}

async function generateKey(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const id = r.text('key id', ID);
  const raw = readAttributes(r);
  const length = r.integer('key length', 1, 64);
  r.end();
  const attributes = checkAttributes(raw.usage, raw.algorithm, raw.modeOfUse, raw.exportability, length);
  const clear = attributes.algorithm === 'T' ? withOddParity(randomBytes(length)) : randomBytes(length);
  const info = await ctx.store.add(id, attributes, clear);
  ctx.audit.record({ command: 'generate-key', outcome: 'ok', keyId: id, usage: info.usage, kcv: info.kcv, peer: ctx.peer });
  return infoFields(info);
}

/** Forms a key from 2..3 clear components by XOR (split knowledge); each component's KCV is checked when given. */
async function formKeyFromComponents(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const id = r.text('key id', ID);
  const raw = readAttributes(r);
  const count = r.integer('component count', 2, COMPONENTS_COUNT_MAX);
  const components: { value: Buffer; kcv: string }[] = [];
  for (let i = 0; i < count; i += 1) components.push({ value: r.bytes(`component ${i + 1}`, 16, 32), kcv: r.text(`component ${i + 1} kcv`, /^([0-9A-F]{6})?$/, 6) });
  r.end();
  const length = components[0]?.value.length ?? 0;
  const attributes = checkAttributes(raw.usage, raw.algorithm, raw.modeOfUse, raw.exportability, length);
  if (components.some((c) => c.value.length !== length)) throw new HsmError('hsm_component_invalid', 'components differ in length');
  if (attributes.algorithm === 'T' && components.some((c) => !hasOddParity(c.value))) throw new HsmError('hsm_component_invalid', 'TDES components must have odd parity');
  for (const [i, component] of components.entries()) {
    if (component.kcv !== '' && (await computeKcv(attributes.algorithm, component.value)) !== component.kcv) throw new HsmError('hsm_kcv_mismatch', `component ${i + 1} KCV does not match`);
  }
  const clear = Buffer.alloc(length);
  for (const c of components) for (let i = 0; i < length; i += 1) clear[i] = (clear[i] ?? 0) ^ (c.value[i] ?? 0);
  const distinct = new Set(components.map((c) => c.value.toString('hex'))).size === components.length;
  if (!distinct || clear.every((b) => b === 0)) throw new HsmError('hsm_component_invalid', 'components are equal or cancel out');
  const info = await ctx.store.add(id, attributes, attributes.algorithm === 'T' ? withOddParity(clear) : clear);
  ctx.audit.record({ command: 'form-key-from-components', outcome: 'ok', keyId: id, usage: info.usage, kcv: info.kcv, peer: ctx.peer });
  return infoFields(info);
}

function kekFor(ctx: CommandContext, zmkId: string, direction: 'wrap' | 'unwrap'): StoredKey {
  const zmk = ctx.store.get(zmkId);
  requireUsage(zmk, ['K0'], direction === 'wrap' ? ['E', 'B'] : ['D', 'B']);
  return zmk;
}

function exportKey(r: FieldReader, ctx: CommandContext): Fields {
  const id = r.text('key id', ID);
  const zmkId = r.text('zmk id', ID);
  r.end();
  const key = ctx.store.get(id);
  const zmk = kekFor(ctx, zmkId, 'wrap');
  if (key.exportability !== 'E') throw new HsmError('hsm_key_not_exportable', `key ${id} has exportability ${key.exportability}`);
  if (zmk.algorithm === 'T' && key.algorithm !== 'T') throw new HsmError('hsm_key_usage_wrong', 'a TDES ZMK cannot protect an AES or HMAC key (X9.24: weaker key)');
  const block = wrapKeyBlock(zmk.clear, { version: versionForKbpk(zmk.algorithm === 'A' ? 'A' : 'T'), usage: key.usage, algorithm: key.algorithm, modeOfUse: key.modeOfUse, keyVersion: '00', exportability: key.exportability, optionalBlocks: [] }, key.clear);
  ctx.audit.record({ command: 'export-key', outcome: 'ok', keyId: id, usage: key.usage, kcv: key.kcv, peer: ctx.peer });
  return [ascii(block), ascii(key.kcv)];
}

async function importKey(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const id = r.text('key id', ID);
  const zmkId = r.text('zmk id', ID);
  const block = r.text('key block', /^[\x20-\x7e]{16,}$/, KEY_BLOCK_TEXT_CHARS_MAX);
  const expectedKcv = r.text('kcv', /^[0-9A-F]{6}$/, 6);
  r.end();
  const zmk = kekFor(ctx, zmkId, 'unwrap');
  if (block[0] !== versionForKbpk(zmk.algorithm === 'A' ? 'A' : 'T')) throw new HsmError('hsm_key_block_header_invalid', `key block version ${block[0] ?? ''} does not fit a ${zmk.algorithm} ZMK`);
  const { header, key } = unwrapKeyBlock(zmk.clear, block);
  const attributes = checkAttributes(header.usage, header.algorithm, header.modeOfUse, header.exportability, key.length);
  if ((await computeKcv(attributes.algorithm, key)) !== expectedKcv) {
    ctx.audit.record({ command: 'import-key', outcome: 'hsm_kcv_mismatch', keyId: id, usage: attributes.usage, peer: ctx.peer });
    throw new HsmError('hsm_kcv_mismatch', 'imported key does not match the KCV given');
  }
  const info = await ctx.store.add(id, attributes, key);
  ctx.audit.record({ command: 'import-key', outcome: 'ok', keyId: id, usage: info.usage, kcv: info.kcv, peer: ctx.peer });
  return infoFields(info);
}

function rotateLmk(r: FieldReader, ctx: CommandContext): Fields {
  r.end();
  const { lmkVersion, rewrapped } = ctx.store.rotateLmk();
  ctx.audit.record({ command: 'rotate-lmk', outcome: 'ok', lmkVersion, kcv: ctx.store.lmkKcv, peer: ctx.peer });
  return [ascii(String(lmkVersion)), ascii(String(rewrapped)), ascii(ctx.store.lmkKcv)];
}

function listKeys(r: FieldReader, ctx: CommandContext): Fields {
  const offset = r.integer('offset', 0, 1_000_000);
  r.end();
  const { total, keys } = ctx.store.list(offset, INVENTORY_PAGE_KEYS_MAX);
  return [ascii(String(total)), Buffer.from(JSON.stringify(keys), 'utf8')];
}

function deleteKey(r: FieldReader, ctx: CommandContext): Fields {
  const id = r.text('key id', ID);
  r.end();
  const info = ctx.store.delete(id);
  ctx.audit.record({ command: 'delete-key', outcome: 'ok', keyId: id, usage: info.usage, kcv: info.kcv, peer: ctx.peer });
  return infoFields(info);
}

/** Cipher objects kept per key (by its clear-key buffer, so a deleted key's context goes with it). */
const MAC_CONTEXTS = new WeakMap<Buffer, MacContext | CmacContext>();

/** M1/M3: ISO 9797-1 algorithms 1 and 3 (padding from the request); M6: AES-CMAC (its own padding). */
function computeMac(key: StoredKey, data: Buffer, padding: 1 | 2): Buffer {
  let context = MAC_CONTEXTS.get(key.clear);
  if (!context) {
    context = key.usage === 'M6' ? new CmacContext(key.clear) : new MacContext(key.clear);
    MAC_CONTEXTS.set(key.clear, context);
  }
  if (context instanceof CmacContext) return context.mac(data);
  return key.usage === 'M3' ? context.retail(data, padding) : context.algorithm1(data, padding);
}

function readMacRequest(r: FieldReader, ctx: CommandContext, verify: boolean): { key: StoredKey; data: Buffer; padding: 1 | 2; mac?: Buffer } {
  const key = ctx.store.get(r.text('key id', ID));
  const data = r.bytes('data', 0, MAC_DATA_BYTES_MAX);
  const padding = r.text('padding', /^[12]$/, 1) === '2' ? 2 : 1;
  const mac = verify ? r.bytes('mac', 4, 16) : undefined;
  r.end();
  requireUsage(key, ['M1', 'M3', 'M6'], verify ? ['V', 'C'] : ['G', 'C']);
  return { key, data, padding, ...(mac ? { mac } : {}) };
}

function generateMac(r: FieldReader, ctx: CommandContext): Fields {
  const { key, data, padding } = readMacRequest(r, ctx, false);
  // Synchronous: answering without a promise keeps the hot path short.
  return [computeMac(key, data, padding)];
}

function verifyMac(r: FieldReader, ctx: CommandContext): Fields {
  const { key, data, padding, mac } = readMacRequest(r, ctx, true);
  if (!mac || !macMatches(computeMac(key, data, padding), mac)) throw new HsmError('hsm_verification_failed', 'MAC does not verify');
  return [];
}

async function gcmKey(key: StoredKey): Promise<WebCryptoKey> {
  let handle = key.handles.get('gcm');
  if (!handle) {
    handle = await webcrypto.subtle.importKey('raw', key.clear, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    key.handles.set('gcm', handle);
  }
  return handle;
}

/** AES-GCM with a fresh 96-bit IV per message; the sealed form is IV || ciphertext || 128-bit tag. */
async function encrypt(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const key = ctx.store.get(r.text('key id', ID));
  const plaintext = r.bytes('plaintext', 0, PLAINTEXT_BYTES_MAX);
  const aad = r.bytes('associated data', 0, AAD_BYTES_MAX);
  r.end();
  requireUsage(key, ['D0'], ['E', 'B']);
  const iv = randomBytes(GCM_IV_BYTES);
  const sealed = await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: GCM_TAG_BYTES * 8 }, await gcmKey(key), plaintext);
  return [Buffer.concat([iv, Buffer.from(sealed)])];
}

async function decrypt(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const key = ctx.store.get(r.text('key id', ID));
  const sealed = r.bytes('sealed', GCM_IV_BYTES + GCM_TAG_BYTES, GCM_IV_BYTES + PLAINTEXT_BYTES_MAX + GCM_TAG_BYTES);
  const aad = r.bytes('associated data', 0, AAD_BYTES_MAX);
  r.end();
  requireUsage(key, ['D0'], ['D', 'B']);
  try {
    const plaintext = await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, GCM_IV_BYTES), additionalData: aad, tagLength: GCM_TAG_BYTES * 8 }, await gcmKey(key), sealed.subarray(GCM_IV_BYTES));
    return [Buffer.from(plaintext)];
  } catch (error) {
    throw new HsmError('hsm_data_authentication_failed', undefined, { cause: error });
  }
}

function keyedHash(r: FieldReader, ctx: CommandContext): Fields {
  const key = ctx.store.get(r.text('key id', ID));
  const data = r.bytes('data', 0, ECHO_BYTES_MAX);
  r.end();
  requireUsage(key, ['M7'], ['G', 'C']);
  return [createHmac('sha256', key.clear).update(data).digest()];
}

async function registerTerminalKey(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const terminalId = r.text('terminal id', ID);
  const publicKey = r.bytes('public key', 65, 256);
  r.end();
  let handle: WebCryptoKey;
  try {
    const raw = publicKey.length === 65 && publicKey[0] === 0x04;
    handle = await webcrypto.subtle.importKey(raw ? 'raw' : 'spki', publicKey, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  } catch (error) {
    throw new HsmError('hsm_terminal_key_invalid', undefined, { cause: error });
  }
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', handle));
  const { replaced } = ctx.store.registerTerminal(terminalId, spki);
  ctx.terminalKeys.set(terminalId, handle);
  const fingerprint = createHash('sha256').update(spki).digest();
  ctx.audit.record({ command: 'register-terminal-key', outcome: replaced ? 'replaced' : 'ok', terminalId, kcv: fingerprint.subarray(0, 3).toString('hex').toUpperCase(), peer: ctx.peer });
  return [fingerprint, ascii(replaced ? '1' : '0')];
}

async function verifyTerminalSignature(r: FieldReader, ctx: CommandContext): Promise<Fields> {
  const terminalId = r.text('terminal id', ID);
  const data = r.bytes('data', 0, MAC_DATA_BYTES_MAX);
  const signature = r.bytes('signature', ECDSA_P256_SIGNATURE_BYTES, ECDSA_P256_SIGNATURE_BYTES);
  r.end();
  let handle = ctx.terminalKeys.get(terminalId);
  if (!handle) {
    const record = ctx.store.terminal(terminalId);
    handle = await webcrypto.subtle.importKey('spki', record.publicKeySpki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    ctx.terminalKeys.set(terminalId, handle);
  }
  const valid = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, handle, signature, data);
  if (!valid) throw new HsmError('hsm_verification_failed', 'signature does not verify');
  return [];
}

function diagnostics(r: FieldReader, ctx: CommandContext): Fields {
  r.end();
  const { store } = ctx;
  return [String(store.lmkVersion), store.lmkKcv, String(store.keyCount), String(store.terminalCount), SIMULATOR_VERSION].map(ascii);
}

function echo(r: FieldReader): Fields {
  const data = r.bytes('data', 0, ECHO_BYTES_MAX);
  r.end();
  return [data];
}

function random(r: FieldReader): Fields {
  const length = r.integer('length', 1, RANDOM_BYTES_MAX);
  r.end();
  return [randomBytes(length)];
}

export const HANDLERS: Record<CommandName, Handler> = {
  echo, diagnostics, generateKey, formKeyFromComponents, importKey, exportKey, rotateLmk, listKeys, deleteKey,
  generateMac, verifyMac, encrypt, decrypt, keyedHash, registerTerminalKey, verifyTerminalSignature, random,
  generateCryptogram: (r, ctx) => cryptogramCommand(r, ctx.store, false),
  verifyCryptogram: (r, ctx) => cryptogramCommand(r, ctx.store, true),
};
