/**
 * Benchmark support (not part of the switch's contract): fills the templates table of a
 * gateway's database with sealed synthetic templates before the gateway starts, so the
 * end-to-end benchmark measures payments against a gallery of 100,000 palms without enrolling
 * each one through the API. Each template is a real extracted template whose bits are replaced
 * by random bits (the 1:N search costs the same whatever the bits are), protected with the
 * gateway's own keyed transform and sealed under its template key, as Gallery.enrol stores
 * them: the gateway opens them at start like any other enrolment.
 */
import path from 'node:path';
import { assert } from '../core/index.js';
import {
  deriveTransform, extractCapture, FeatureModels, hsmTemplateKeys, makeTemplate, renderHandCapture, sealTemplate,
  type Template, type TemplateTransform,
} from '../biometric/index.js';
import type { HsmClient } from '../hsm-sim/index.js';
import { ensureSwitchKeys, KEY_IDS } from './keys.js';
import { openGatewayDatabase } from './store/database.js';
import { ShopperStore } from './store/shoppers.js';
import { gateway_database_file } from './switch.js';

/** Seal commands in flight at hsm-sim at once (the client's queue holds 10,000). */
export const preload_seal_in_flight_max = 512;
/** Sealed templates written per SQLite transaction. */
export const preload_rows_per_transaction = 4_096;
/** Real templates the random ones take their shape from (vein or not, grid sizes). */
export const preload_base_templates = 4;
/** Preloaded identities start here: far from the random 128-bit ids enrolment gives. */
export const preload_identity_base = 0xbe7c_0000n << 96n;
export const preload_count_max = 2_000_000;
/** The synthetic identities the base templates are rendered from (their own seed, never a shopper's). */
const preload_seed = 0x9a11e7;
const key_version = 1;

export interface PreloadResult { readonly count: number; readonly seal_ms: number; readonly write_ms: number }

/** Writes `count` sealed random templates into <dataDir>/gateway.sqlite (creating the switch keys in hsm-sim first). */
export async function preloadGallery(options: { dataDir: string; hsm: HsmClient; count: number }): Promise<PreloadResult> {
  assert(Number.isInteger(options.count) && options.count >= 0 && options.count <= preload_count_max, `0..${preload_count_max} templates`);
  await ensureSwitchKeys(options.hsm);
  const keys = hsmTemplateKeys(options.hsm);
  const transform = await deriveTransform(keys, KEY_IDS.templatePermutation, key_version);
  const bases = await baseTemplates(transform);
  const db = openGatewayDatabase(path.join(options.dataDir, gateway_database_file));
  const store = new ShopperStore(db);
  const next = xorshift(0x2545f491);
  let seal_ms = 0;
  let write_ms = 0;
  try {
    for (let start = 0; start < options.count; start += preload_rows_per_transaction) {
      const end = Math.min(options.count, start + preload_rows_per_transaction);
      const sealStart = performance.now();
      const rows: { identity: bigint; sealed: Uint8Array }[] = [];
      for (let from = start; from < end; from += preload_seal_in_flight_max) {
        const to = Math.min(end, from + preload_seal_in_flight_max);
        const batch = Array.from({ length: to - from }, (_, k) => {
          const identity = preload_identity_base + BigInt(from + k);
          return sealTemplate(keys, KEY_IDS.templateData, identity, randomTemplate(bases[(from + k) % bases.length]!, next), key_version)
            .then((sealed) => ({ identity, sealed }));
        });
        rows.push(...await Promise.all(batch));
      }
      const writeStart = performance.now();
      seal_ms += writeStart - sealStart;
      // ShopperStore.put runs its statement synchronously, so the whole batch is one transaction.
      db.transaction(() => { for (const row of rows) void store.put(row.identity, row.sealed); })();
      write_ms += performance.now() - writeStart;
    }
  } finally {
    db.close();
  }
  return { count: options.count, seal_ms, write_ms };
}

async function baseTemplates(transform: TemplateTransform): Promise<Template[]> {
  const models = await FeatureModels.load();
  try {
    const bases: Template[] = [];
    for (let i = 0; i < preload_base_templates; i += 1) {
      bases.push(makeTemplate(await extractCapture(models, { kind: 'hand', ...renderHandCapture(preload_seed, i, 0) }), transform));
    }
    return bases;
  } finally {
    await models.release();
  }
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    return state >>> 0;
  };
}

/** The shape of `base` with every code, mask and hash bit random. */
function randomTemplate(base: Template, next: () => number): Template {
  const palm = { cells: base.palm.cells, words: Uint32Array.from(base.palm.words, () => next()) };
  const hash = Uint32Array.from(base.hash, () => next());
  return base.vein ? { palm, hash, vein: { cells: base.vein.cells, words: Uint32Array.from(base.vein.words, () => next()) } } : { palm, hash };
}
