/**
 * The keys the switch needs in hsm-sim, created at first start and reused afterwards (by id;
 * their values never leave the HSM). One MAC key (M3, the zone key shared with the network)
 * and one token-cryptogram master key (E0, the token service's) per network; the template
 * transform key (M7) and template sealing key (D0) of the biometric engine; and the vault
 * key (D0) that seals token PANs at rest.
 */
import type { HsmPort, KeySpec } from '../hsm-sim/index.js';

export const NETWORK_NAMES = ['visa-like', 'mastercard-like'] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export const KEY_IDS = {
  mac: (network: NetworkName): string => `zak-${network}`,
  tokenCryptogram: (network: NetworkName): string => `tsp-${network}`,
  templatePermutation: 'bio-perm',
  templateData: 'bio-data',
  vault: 'vault-data',
} as const;

function specs(): KeySpec[] {
  const list: KeySpec[] = [];
  for (const network of NETWORK_NAMES) {
    list.push({ keyId: KEY_IDS.mac(network), usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'N' });
    list.push({ keyId: KEY_IDS.tokenCryptogram(network), usage: 'E0', algorithm: 'T', modeOfUse: 'X', exportability: 'N' });
  }
  list.push({ keyId: KEY_IDS.templatePermutation, usage: 'M7', algorithm: 'H', modeOfUse: 'G', exportability: 'N' });
  list.push({ keyId: KEY_IDS.templateData, usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'N' });
  list.push({ keyId: KEY_IDS.vault, usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'N' });
  return list;
}

/** Creates the keys that are missing; returns the ids it created. Safe at every start. */
export async function ensureSwitchKeys(hsm: Pick<HsmPort, 'listKeys' | 'generateKey'>): Promise<string[]> {
  const existing = new Set((await hsm.listKeys()).map((key) => key.id));
  const created: string[] = [];
  for (const spec of specs()) {
    if (existing.has(spec.keyId)) continue;
    await hsm.generateKey(spec);
    created.push(spec.keyId);
  }
  return created;
}
