/**
 * preloadGallery against a real hsm-sim process and a real SQLite file: the rows it writes open
 * under the gateway's keys exactly as enrolled templates do (Gallery.open over the store), each
 * identity once, and a second preload of the same ids replaces rather than duplicates them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureModels, Gallery, hsmTemplateKeys } from '../biometric/index.js';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from '../hsm-sim/index.js';
import { preloadGallery, preload_identity_base } from './bench-support.js';
import { KEY_IDS } from './keys.js';
import { openGatewayDatabase } from './store/database.js';
import { ShopperStore } from './store/shoppers.js';
import { gateway_database_file } from './switch.js';

describe('preloadGallery', () => {
  let dir: string;
  let hsm: SpawnedHsm;
  let client: HsmClient;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-bench-support-'));
    hsm = await spawnHsmProcess({ dataDir: path.join(dir, 'hsm') });
    client = new HsmClient({ port: hsm.port, connections: 2 });
  });

  afterAll(async () => {
    await client.close();
    await hsm.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes sealed templates the gateway\'s gallery opens, one per identity', async () => {
    const dataDir = path.join(dir, 'data');
    const first = await preloadGallery({ dataDir, hsm: client, count: 300 });
    expect(first.count).toBe(300);
    await preloadGallery({ dataDir, hsm: client, count: 300 });
    const db = openGatewayDatabase(path.join(dataDir, gateway_database_file));
    const models = await FeatureModels.load();
    try {
      const gallery = await Gallery.open({
        models, keys: hsmTemplateKeys(client), store: new ShopperStore(db), permutationKeyId: KEY_IDS.templatePermutation, dataKeyId: KEY_IDS.templateData,
      });
      expect(gallery.size).toBe(300);
      expect(gallery.index.has(preload_identity_base)).toBe(true);
      expect(gallery.index.has(preload_identity_base + 299n)).toBe(true);
      expect(gallery.index.has(preload_identity_base + 300n)).toBe(false);
    } finally {
      await models.release();
      db.close();
    }
  });

  it('refuses a count outside its bound', async () => {
    await expect(preloadGallery({ dataDir: path.join(dir, 'other'), hsm: client, count: -1 })).rejects.toThrow();
  });
});
