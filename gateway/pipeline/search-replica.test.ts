/**
 * Goal: the extraction workers' index replicas decide exactly as the gallery on the event loop
 * would. Against a real hsm-sim process and real worker threads: after the start snapshot a
 * worker's search returns the gallery's own candidates and scores; a palm removed from the
 * replicas is never found again; a palm added is found; both workers receive every update; a
 * worker that dies is replaced by one whose replica is the gallery's again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveTransform, encodePng, FeatureModels, Gallery, hsmTemplateKeys, makeTemplate, MemoryTemplateStore, renderHandCapture, syntheticTemplate, type Capture, type TemplateTransform,
} from '../../biometric/index.js';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from '../../hsm-sim/index.js';
import { ExtractPool, ownedBuffers } from './extract-pool.js';
import { search_candidates_returned, snapshotOf, templateCopy } from './search-replica.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-replica-'));
const seed = 7171;
/** Random-bit palms beside the enrolled ones (biometric/search-ties.test.ts covers thousands behind a genuine palm). */
const filler = 200;
let hsm: SpawnedHsm;
let client: HsmClient;
let models: FeatureModels;
let gallery: Gallery;
let pool: ExtractPool;
let transform: TemplateTransform;

const capture = (index: number, shot: number): Capture => ({ kind: 'hand', ...renderHandCapture(seed, index, shot) });

beforeAll(async () => {
  hsm = await spawnHsmProcess({ dataDir: dir });
  client = new HsmClient({ port: hsm.port, connections: 1 });
  await client.generateKey({ keyId: 'perm', usage: 'M7', algorithm: 'H', modeOfUse: 'G', exportability: 'N' });
  await client.generateKey({ keyId: 'data', usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'N' });
  models = await FeatureModels.load();
  const keys = hsmTemplateKeys(client);
  gallery = await Gallery.open({ models, keys, store: new MemoryTemplateStore(), permutationKeyId: 'perm', dataKeyId: 'data' });
  // Random-bit templates (as the benchmark preloads): they fill the index without outscoring a genuine palm.
  let state = 0x9e3779b9;
  const next = (): number => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return state >>> 0; };
  for (let i = 0; i < filler; i += 1) gallery.index.add(1_000_000n + BigInt(i), syntheticTemplate(next));
  transform = await deriveTransform(keys, 'perm', gallery.keyVersion);
  // Palms go straight into the index: enrolment's own checks are the engine's tests, not these.
  for (let i = 0; i < 3; i += 1) gallery.index.add(BigInt(i + 1), makeTemplate(await gallery.extract(capture(i, 0)), transform));
  pool = await ExtractPool.start(2, { transform, scoreModel: gallery.index.scoreModel }, () => snapshotOf(gallery));
  await pool.loadIndex(snapshotOf(gallery));
}, 120_000);

afterAll(async () => {
  await pool?.close();
  await models?.release();
  await client?.close();
  await hsm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('index replicas in the extraction workers', () => {
  it('return the gallery\'s own candidates and scores, from either worker', async () => {
    // Two searches at once: each worker answers one.
    const results = await Promise.all([pool.extractAndSearch(capture(0, 2)), pool.extractAndSearch(capture(1, 2))]);
    for (const { extracted, found } of results) {
      const expected = gallery.index.search(gallery.probe(extracted)).slice(0, search_candidates_returned);
      expect(found.candidates).toEqual(expected.map((c) => ({ id: c.id, score: c.score })));
      expect(Array.from(found.hash)).toEqual(Array.from(gallery.probe(extracted).hash));
    }
    expect(results[0].found.candidates[0]!.id).toBe(1n);
    expect(results[1].found.candidates[0]!.id).toBe(2n);
  }, 60_000);

  it('never find a palm once its removal has resolved, and find one added', async () => {
    await gallery.delete(2n);
    await pool.indexRemove(2n);
    const after = await Promise.all([pool.extractAndSearch(capture(1, 3)), pool.extractAndSearch(capture(1, 4))]);
    for (const { found } of after) expect(found.candidates.map((c) => c.id)).not.toContain(2n);
    // Added straight to the index: the point is the replica update, not enrolment's duplicate check.
    gallery.index.add(9n, makeTemplate(await gallery.extract(capture(5, 0)), transform));
    await pool.indexAdd(9n, templateCopy(gallery.index.get(9n)!));
    const added = await Promise.all([pool.extractAndSearch(capture(5, 2)), pool.extractAndSearch(capture(5, 3))]);
    for (const { found } of added) expect(found.candidates[0]!.id).toBe(9n);
  }, 60_000);

  it('move an owned capture\'s bytes to the worker (the caller\'s copy is gone) and find what a copied capture finds; a view into a larger buffer is never moved', async () => {
    const rendered = renderHandCapture(seed, 0, 5);
    const owned: Capture = { kind: 'hand', visible: new Uint8Array(encodePng(rendered.visible)), nir: new Uint8Array(encodePng(rendered.nir)) };
    const copied: Capture = { kind: 'hand', visible: (owned.visible as Uint8Array).slice(), nir: (owned.nir as Uint8Array).slice() };
    const larger = new Uint8Array((owned.visible as Uint8Array).length + 16);
    larger.set(owned.visible as Uint8Array, 16);
    expect(ownedBuffers(owned)).toHaveLength(2);
    expect(ownedBuffers({ kind: 'hand', visible: larger.subarray(16) })).toHaveLength(0);
    const moved = await pool.extractAndSearch(owned, { transfer: true });
    expect((owned.visible as Uint8Array).byteLength).toBe(0);
    const kept = await pool.extractAndSearch(copied);
    expect((copied.visible as Uint8Array).byteLength).toBeGreaterThan(0);
    expect(moved.found.candidates).toEqual(kept.found.candidates);
    expect(moved.found.candidates[0]!.id).toBe(1n);
  }, 60_000);

  it('refuse an update that does not apply, without losing the worker', async () => {
    const template = templateCopy(gallery.index.get(1n)!);
    await expect(pool.indexAdd(77n, { ...template, hash: new Uint32Array(1) })).rejects.toThrow(/replica update failed/);
    const { extracted, found } = await pool.extractAndSearch(capture(0, 3));
    expect(found.candidates.map((c) => c.id)).toEqual(gallery.index.search(gallery.probe(extracted)).slice(0, search_candidates_returned).map((c) => c.id));
  }, 60_000);

  it('replace a worker that died with one loaded from the index as it is then, updates included', async () => {
    const restarts = pool.restarts;
    await pool.recycle(0);
    // An enrolment while the replacement is on its way: the snapshot or the update brings it (an add it already has replaces itself).
    gallery.index.add(11n, makeTemplate(await gallery.extract(capture(6, 0)), transform));
    await pool.indexAdd(11n, templateCopy(gallery.index.get(11n)!));
    const deadline = Date.now() + 30_000;
    while (pool.liveWorkers < 2 || pool.restarts === restarts) {
      if (Date.now() > deadline) throw new Error('the worker was not replaced within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await pool.indexAdd(11n, templateCopy(gallery.index.get(11n)!));
    // Four searches at once: both workers, the replacement included, answer from a full replica.
    const results = await Promise.all([capture(6, 2), capture(6, 3), capture(0, 4), capture(5, 4)].map((c) => pool.extractAndSearch(c)));
    expect(results.map(({ found }) => found.candidates[0]!.id)).toEqual([11n, 11n, 1n, 9n]);
  }, 90_000);
});
