/**
 * Goal: the engine's working surface against a real hsm-sim process. Enrolment fuses
 * captures, refuses inconsistent ones and a palm already enrolled; identification finds the
 * enrolled palm and nobody else; 1:1 verification works; deletion removes the template from
 * the store and the index; a re-key keeps every palm identifiable without re-enrolment; the
 * store holds only AES-GCM-sealed bytes, and a gallery reopened from it works.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from '../hsm-sim/index.js';
import { BiometricError } from './errors.js';
import { FeatureModels } from './features.js';
import { Gallery, MemoryTemplateStore } from './gallery.js';
import { hsmTemplateKeys } from './protection.js';
import { renderHandCapture } from './synth-render.js';
import { serialiseTemplate } from './template.js';
import type { Capture } from './capture.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-bio-gallery-'));
let hsm: SpawnedHsm;
let client: HsmClient;
let models: FeatureModels;
const seed = 8080;

beforeAll(async () => {
  hsm = await spawnHsmProcess({ dataDir: dir });
  client = new HsmClient({ port: hsm.port, connections: 1 });
  await client.generateKey({ keyId: 'bio-perm', usage: 'M7', algorithm: 'H', modeOfUse: 'G', exportability: 'N' });
  await client.generateKey({ keyId: 'bio-perm-2', usage: 'M7', algorithm: 'H', modeOfUse: 'G', exportability: 'N' });
  await client.generateKey({ keyId: 'bio-data', usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'N' });
  models = await FeatureModels.load();
});

afterAll(async () => {
  await models.release();
  await client.close();
  await hsm.stop();
  rmSync(dir, { recursive: true, force: true });
});

const capture = (id: number, n: number): Capture => ({ kind: 'hand', ...renderHandCapture(seed, id, n) });
const codeOf = async (f: () => Promise<unknown>): Promise<string> => {
  try { await f(); } catch (error) { if (error instanceof BiometricError) return error.code; throw error; }
  return 'ok';
};

describe('gallery on hsm-sim', () => {
  it('enrols, dedupes, identifies, verifies, deletes, re-keys and reopens', async () => {
    const store = new MemoryTemplateStore();
    const options = { models, keys: hsmTemplateKeys(client), store, permutationKeyId: 'bio-perm', dataKeyId: 'bio-data' };
    const gallery = await Gallery.open(options);
    for (const id of [1, 2, 3]) await gallery.enrol(BigInt(id), [capture(id, 0), capture(id, 1)], id);
    expect(gallery.size).toBe(3);
    expect(await codeOf(() => gallery.enrol(99n, [capture(2, 2), capture(2, 3)]))).toBe('enrol_duplicate');
    expect(await codeOf(() => gallery.enrol(98n, [capture(4, 0), capture(5, 0)]))).toBe('enrol_inconsistent');
    expect(await codeOf(() => gallery.enrol(97n, [capture(4, 0)]))).toBe('enrol_too_few_captures');

    const found = await gallery.identify(capture(2, 4));
    expect(found.outcome).toBe('match');
    expect(found.outcome === 'match' && found.identity).toBe(2n);
    expect((await gallery.identify(capture(6, 0))).outcome).toBe('no_match');
    expect((await gallery.identify(capture(2, 4), { region: 2 })).outcome).toBe('match');
    expect((await gallery.verify(3n, capture(3, 2))).outcome).toBe('match');
    expect((await gallery.verify(1n, capture(3, 2))).outcome).toBe('no_match');

    // At rest only sealed bytes: no stored record contains the clear serialised template.
    for (const sealed of store.records.values()) expect(sealed.length).toBe(12 + 16 + 8 + 512 + 32 + 128);
    const clear = serialiseTemplate(gallery.index.get(1n)!, 1);
    expect(Buffer.from(store.records.get(1n)!).includes(Buffer.from(clear.subarray(8, 72)))).toBe(false);

    expect(await gallery.delete(2n)).toBe(true);
    expect(store.records.has(2n)).toBe(false);
    expect((await gallery.identify(capture(2, 4))).outcome).toBe('no_match');

    await gallery.rekey('bio-perm-2', 2);
    expect(gallery.keyVersion).toBe(2);
    const afterRekey = await gallery.identify(capture(3, 3));
    expect(afterRekey.outcome === 'match' && afterRekey.identity).toBe(3n);

    const reopened = await Gallery.open({ ...options, permutationKeyId: 'bio-perm-2', keyVersion: 2 });
    expect(reopened.size).toBe(2);
    const again = await reopened.identify(capture(1, 2));
    expect(again.outcome === 'match' && again.identity).toBe(1n);
    expect(await codeOf(() => Gallery.open({ ...options, keyVersion: 1 }))).toBe('template_key_mismatch');
  });
});
