/**
 * Template protection (ISO/IEC 24745): a renewable keyed transform (cell permutation + XOR
 * pad, derived from a keyed hash computed inside hsm-sim, so the HSM key never leaves it),
 * re-keying of stored templates without re-enrolment, and AES-256-GCM sealing at rest under an
 * hsm-sim data key. `TemplateKeyProvider` is the narrow port the engine needs from an HSM;
 * `hsmTemplateKeys` adapts the hsm-sim client to it.
 */
import { createHash } from 'node:crypto';
import { assert } from '../core/index.js';
import type { HsmClient } from '../hsm-sim/index.js';
import { BiometricError } from './errors.js';
import { palm_grid_cells, prefilter_bits, vein_grid_cells } from './model.js';
import {
  deserialiseTemplate, hash_words, planeWords, serialiseTemplate,
  type CellTransform, type PackedCode, type Template, type TemplateTransform,
} from './template.js';

/** What the biometric engine needs from an HSM. Keys are named by id and stay inside. */
export interface TemplateKeyProvider {
  /** A keyed hash (HMAC-SHA-256) of `data` under the permutation key `keyId`. */
  keyedHash(keyId: string, data: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM under the data key `keyId`; `aad` is bound, not encrypted. */
  seal(keyId: string, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  open(keyId: string, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** The port over the real hsm-sim client (M7 key for the transform, D0 key for sealing). */
export function hsmTemplateKeys(client: HsmClient): TemplateKeyProvider {
  return {
    keyedHash: async (keyId, data) => await client.keyedHash({ keyId, data }),
    seal: async (keyId, plaintext, aad) => await client.encrypt({ keyId, plaintext, aad }),
    open: async (keyId, sealed, aad) => await client.decrypt({ keyId, sealed, aad }),
  };
}

const TRANSFORM_LABEL = 'palmswitch/biometric/template-transform/v1';

/** A deterministic byte stream (SHA-256 in counter mode) from the HSM-derived seed. */
function stream(seed: Uint8Array, label: string): () => number {
  let counter = 0;
  let block = new Uint8Array(0);
  let offset = 0;
  return () => {
    if (offset + 4 > block.length) {
      block = createHash('sha256').update(seed).update(label).update(String(counter)).digest();
      counter += 1;
      offset = 0;
    }
    const value = ((block[offset]! << 24) | (block[offset + 1]! << 16) | (block[offset + 2]! << 8) | block[offset + 3]!) >>> 0;
    offset += 4;
    return value;
  };
}

function cellTransform(seed: Uint8Array, label: string, cells: number, padWords: number): CellTransform {
  const next = stream(seed, label);
  const permutation = Uint16Array.from({ length: cells }, (_, i) => i);
  // Fisher-Yates with rejection sampling, so every permutation is equally likely.
  for (let i = cells - 1; i > 0; i -= 1) {
    const range = i + 1;
    const limit = Math.floor(0x100000000 / range) * range;
    let r = next();
    while (r >= limit) r = next();
    const j = r % range;
    const t = permutation[i]!;
    permutation[i] = permutation[j]!;
    permutation[j] = t;
  }
  const pad = Uint32Array.from({ length: padWords }, () => next());
  return { permutation, pad };
}

/** Derives the transform for key version `version` of permutation key `keyId`. */
export async function deriveTransform(keys: TemplateKeyProvider, keyId: string, version: number): Promise<TemplateTransform> {
  assert(Number.isInteger(version) && version > 0, 'key version is a positive integer');
  const seed = await keys.keyedHash(keyId, new TextEncoder().encode(`${TRANSFORM_LABEL}/${version}`));
  assert(seed.length >= 16, 'keyed hash long enough to seed the transform');
  return {
    version,
    palm: cellTransform(seed, 'palm', palm_grid_cells ** 2, 3 * planeWords(palm_grid_cells)),
    vein: cellTransform(seed, 'vein', vein_grid_cells ** 2, 3 * planeWords(vein_grid_cells)),
    hash: cellTransform(seed, 'hash', prefilter_bits, hash_words),
  };
}

function getBit(words: Uint32Array, offset: number, bit: number): number { return ((words[offset + (bit >>> 5)] ?? 0) >>> (bit & 31)) & 1; }
function setBit(words: Uint32Array, offset: number, bit: number): void { words[offset + (bit >>> 5)] = ((words[offset + (bit >>> 5)] ?? 0) | (1 << (bit & 31))) >>> 0; }

/** Moves every cell of `planes` planes from `from`'s domain into `to`'s; the pad covers `padPlanes`. */
function remap(words: Uint32Array, cells: number, planes: number, padPlanes: number, from: CellTransform, to: CellTransform): Uint32Array {
  const plane = Math.ceil(cells / 32);
  const clear = Uint32Array.from(words);
  for (let i = 0; i < padPlanes * plane; i += 1) clear[i] = ((clear[i] ?? 0) ^ (from.pad[i] ?? 0)) >>> 0;
  const out = new Uint32Array(words.length);
  for (let cell = 0; cell < cells; cell += 1) {
    const source = from.permutation[cell]!;
    const target = to.permutation[cell]!;
    for (let p = 0; p < planes; p += 1) if (getBit(clear, p * plane, source)) setBit(out, p * plane, target);
  }
  for (let i = 0; i < padPlanes * plane; i += 1) out[i] = ((out[i] ?? 0) ^ (to.pad[i] ?? 0)) >>> 0;
  return out;
}

const remapCode = (code: PackedCode, from: CellTransform, to: CellTransform): PackedCode =>
  ({ cells: code.cells, words: remap(code.words, code.cells * code.cells, 4, 3, from, to) });

/** Re-keys one protected template from transform `from` to `to` (no re-enrolment needed). */
export function retransform(template: Template, from: TemplateTransform, to: TemplateTransform): Template {
  const palm = remapCode(template.palm, from.palm, to.palm);
  const hash = remap(template.hash, prefilter_bits, 1, 1, from.hash, to.hash);
  return template.vein ? { palm, hash, vein: remapCode(template.vein, from.vein, to.vein) } : { palm, hash };
}

const aadFor = (identity: bigint): Uint8Array => new TextEncoder().encode(`palmswitch/template/${identity.toString(16)}`);

/** Encrypts a protected template for storage; the identity is bound as associated data. */
export async function sealTemplate(keys: TemplateKeyProvider, dataKeyId: string, identity: bigint, template: Template, keyVersion: number): Promise<Uint8Array> {
  return await keys.seal(dataKeyId, serialiseTemplate(template, keyVersion), aadFor(identity));
}

export async function openTemplate(keys: TemplateKeyProvider, dataKeyId: string, identity: bigint, sealed: Uint8Array): Promise<{ template: Template; keyVersion: number }> {
  let plain: Uint8Array;
  try {
    plain = await keys.open(dataKeyId, sealed, aadFor(identity));
  } catch (error) {
    throw new BiometricError('template_invalid', 'sealed template does not open under the data key', { cause: error });
  }
  return deserialiseTemplate(plain);
}
