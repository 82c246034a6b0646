/**
 * Goal: the impostor samples the gateway keeps are the ones the gallery takes, and they come
 * back after a restart. Against a real hsm-sim process: samples computed before each
 * enrolment give the same threshold as the gallery's own reservoir; the SQLite store returns
 * what it was given, stays a bounded reservoir, and survives closing and reopening the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BiometricError, FeatureModels, Gallery, hsmTemplateKeys, ImpostorReservoir, MemoryTemplateStore, SearchTail, renderHandCapture, syntheticTemplate, type Capture,
} from '../../biometric/index.js';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from '../../hsm-sim/index.js';
import { CalibrationStore, calibration_scores_max } from '../store/calibration.js';
import { openGatewayDatabase } from '../store/database.js';
import { impostorSamples } from './palm.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-calibration-'));
const seed = 8080;
let hsm: SpawnedHsm;
let client: HsmClient;
let models: FeatureModels;

const capture = (index: number, shot: number): Capture => ({ kind: 'hand', ...renderHandCapture(seed, index, shot) });

beforeAll(async () => {
  hsm = await spawnHsmProcess({ dataDir: path.join(dir, 'hsm') });
  client = new HsmClient({ port: hsm.port, connections: 1 });
  await client.generateKey({ keyId: 'perm', usage: 'M7', algorithm: 'H', modeOfUse: 'G', exportability: 'N' });
  await client.generateKey({ keyId: 'data', usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'N' });
  models = await FeatureModels.load();
}, 120_000);

afterAll(async () => {
  await models?.release();
  await client?.close();
  await hsm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('threshold calibration across restarts', () => {
  it('keeps the impostor samples the gallery takes at enrolment', async () => {
    const gallery = await Gallery.open({ models, keys: hsmTemplateKeys(client), store: new MemoryTemplateStore(), permutationKeyId: 'perm', dataKeyId: 'data' });
    let state = 0x2545f491;
    const next = (): number => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return state >>> 0; };
    for (let i = 0; i < 100; i += 1) gallery.index.add(1_000_000n + BigInt(i), syntheticTemplate(next));
    const kept = new ImpostorReservoir();
    let duplicates = 0;
    for (let i = 0; i < 5; i += 1) {
      const extracted = [await gallery.extract(capture(i, 0)), await gallery.extract(capture(i, 1))];
      const samples = impostorSamples(gallery, gallery.probe(extracted[0]!));
      for (const score of samples) kept.add(score);
      // A refused duplicate was sampled too (the gallery samples before its duplicate check).
      await gallery.enrolExtracted(BigInt(i + 1), extracted).catch((error: unknown) => {
        if (!(error instanceof BiometricError && error.code === 'enrol_duplicate')) throw error;
        duplicates += 1;
      });
    }
    expect(duplicates).toBeLessThan(5);
    expect(kept.size).toBe(gallery.reservoir.size);
    expect(kept.size).toBeGreaterThanOrEqual(100);
    for (const fmr of [0.5, 0.1, 0.01, 1e-6]) expect(kept.thresholdForFmr(fmr)).toBe(gallery.reservoir.thresholdForFmr(fmr));
  }, 120_000);

  it('stores the samples as a bounded reservoir that survives reopening the file', () => {
    const file = path.join(dir, 'gateway.sqlite');
    const db = openGatewayDatabase(file);
    const store = new CalibrationStore(db);
    const first = Array.from({ length: 64 }, (_, i) => i / 7 - 3);
    store.add(first);
    expect(store.scores()).toEqual(first);
    for (let round = 0; round < 4; round += 1) store.add(Array.from({ length: calibration_scores_max / 2 }, (_, i) => 100 + round + i / calibration_scores_max));
    expect(store.scores().length).toBe(calibration_scores_max);
    const before = store.scores();
    db.close();
    const again = openGatewayDatabase(file);
    expect(new CalibrationStore(again).scores()).toEqual(before);
    // A uniform sample of 40,064 scores keeps some of every round, and almost surely not all of the first 64.
    expect(before.filter((s) => s >= 103).length).toBeGreaterThan(0);
    again.close();
  });

  it('keeps the search tail across reopening the file, floor and all', () => {
    const file = path.join(dir, 'tail.sqlite');
    const db = openGatewayDatabase(file);
    const store = new CalibrationStore(db);
    expect(store.tail()).toBeUndefined();
    const tail = new SearchTail();
    store.saveTail(tail.state());
    expect(store.tail()).toEqual({ comparisons: 0, floor: -Infinity, scores: [] });
    for (let s = 0; s < 200; s += 1) tail.record(500, Array.from({ length: 20 }, (_, i) => 4 - i / 10 + ((s * 7919) % 101) / 100));
    store.saveTail(tail.state());
    db.close();
    const again = openGatewayDatabase(file);
    const restored = new SearchTail();
    restored.restore(new CalibrationStore(again).tail()!);
    expect(restored.state()).toEqual(tail.state());
    expect(restored.thresholdForFmr(1e-4)).toBe(tail.thresholdForFmr(1e-4));
    again.close();
  });
});
