/**
 * What a key may be: TR-31 key usages, algorithms, modes of use and exportability as
 * tables of data, and the one check that a combination fits together. A key's attributes
 * are fixed when it is made and travel with it in its key block header.
 */
import { HsmError } from './errors.js';

export const KEY_ALGORITHMS = { A: 'AES', T: 'triple DES', H: 'HMAC (SHA-256)' } as const;
export type KeyAlgorithm = keyof typeof KEY_ALGORITHMS;

export const MODES_OF_USE = {
  B: 'encrypt and decrypt / wrap and unwrap', C: 'generate and verify', D: 'decrypt / unwrap only',
  E: 'encrypt / wrap only', G: 'generate only', V: 'verify only', X: 'derive keys only', N: 'no special restrictions',
} as const;
export type ModeOfUse = keyof typeof MODES_OF_USE;

export const EXPORTABILITY = { E: 'exportable under a key-encryption key', N: 'not exportable', S: 'sensitive (not exportable here)' } as const;
export type Exportability = keyof typeof EXPORTABILITY;

const MAC_MODES: readonly ModeOfUse[] = ['C', 'G', 'V'];
const CIPHER_MODES: readonly ModeOfUse[] = ['B', 'D', 'E'];
const DERIVE_MODES: readonly ModeOfUse[] = ['X'];

export const KEY_USAGES = {
  K0: { text: 'key encryption or wrapping (ZMK, KEK)', algorithms: ['A', 'T'], modes: CIPHER_MODES },
  M1: { text: 'ISO 9797-1 MAC algorithm 1 (TDES CBC-MAC)', algorithms: ['T'], modes: MAC_MODES },
  M3: { text: 'ISO 9797-1 MAC algorithm 3 (X9.19 retail MAC)', algorithms: ['T'], modes: MAC_MODES },
  M6: { text: 'ISO 9797-1:2011 MAC algorithm 5 (AES-CMAC)', algorithms: ['A'], modes: MAC_MODES },
  M7: { text: 'HMAC keyed hash', algorithms: ['H'], modes: MAC_MODES },
  D0: { text: 'symmetric data encryption (AES-256-GCM data keys)', algorithms: ['A'], modes: CIPHER_MODES },
  E0: { text: 'EMV/token master key for application cryptograms (issuer/TSP)', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  E1: { text: 'EMV master key for secure messaging confidentiality', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  E2: { text: 'EMV master key for secure messaging integrity', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  E3: { text: 'EMV master key for data authentication codes', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  E4: { text: 'EMV master key for dynamic numbers', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  E5: { text: 'EMV master key for card personalisation', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  E6: { text: 'EMV other', algorithms: ['A', 'T'], modes: DERIVE_MODES },
  B0: { text: 'base derivation key (BDK)', algorithms: ['A', 'T'], modes: DERIVE_MODES },
} as const satisfies Record<string, { text: string; algorithms: readonly KeyAlgorithm[]; modes: readonly ModeOfUse[] }>;
export type KeyUsage = keyof typeof KEY_USAGES;

/** Key lengths in bytes per algorithm; a retail MAC (M3) key is always double length. */
export const KEY_LENGTHS_BYTES: Record<KeyAlgorithm, readonly number[]> = { A: [16, 24, 32], T: [16, 24], H: [32] };

export interface KeyAttributes {
  readonly usage: KeyUsage;
  readonly algorithm: KeyAlgorithm;
  readonly modeOfUse: ModeOfUse;
  readonly exportability: Exportability;
}

export function isKeyUsage(value: string): value is KeyUsage {
  return Object.hasOwn(KEY_USAGES, value);
}

/** Refuses attribute combinations the tables do not allow (`hsm_key_attributes_invalid`). */
export function checkAttributes(usage: string, algorithm: string, modeOfUse: string, exportability: string, length_bytes: number): KeyAttributes {
  const invalid = (why: string): HsmError => new HsmError('hsm_key_attributes_invalid', why);
  if (!isKeyUsage(usage)) throw invalid(`usage ${JSON.stringify(usage)} not supported`);
  const spec = KEY_USAGES[usage];
  if (!(spec.algorithms as readonly string[]).includes(algorithm)) throw invalid(`usage ${usage} does not allow algorithm ${JSON.stringify(algorithm)}`);
  if (!(spec.modes as readonly string[]).includes(modeOfUse)) throw invalid(`usage ${usage} does not allow mode of use ${JSON.stringify(modeOfUse)}`);
  if (!Object.hasOwn(EXPORTABILITY, exportability)) throw invalid(`exportability ${JSON.stringify(exportability)} not supported`);
  const lengths = KEY_LENGTHS_BYTES[algorithm as KeyAlgorithm];
  if (!lengths.includes(length_bytes) || (usage === 'M3' && length_bytes !== 16)) throw invalid(`key length ${length_bytes} bytes not allowed for ${usage}/${algorithm}`);
  return { usage, algorithm: algorithm as KeyAlgorithm, modeOfUse: modeOfUse as ModeOfUse, exportability: exportability as Exportability };
}

/** Refuses a key used outside its usage or mode of use (`hsm_key_usage_wrong`). */
export function requireUsage(key: KeyAttributes & { id: string }, usages: readonly KeyUsage[], modes: readonly ModeOfUse[]): void {
  if (!usages.includes(key.usage)) throw new HsmError('hsm_key_usage_wrong', `key ${key.id} has usage ${key.usage}; this command needs ${usages.join(' or ')}`);
  if (!modes.includes(key.modeOfUse)) throw new HsmError('hsm_key_usage_wrong', `key ${key.id} has mode of use ${key.modeOfUse}; this command needs ${modes.join(' or ')}`);
}
