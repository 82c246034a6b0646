/**
 * Goal: each presentation attack the generator makes is caught by the physical cue aimed at
 * it, bona fide captures are not, and the replay guard flags exact and near-exact repeats but
 * not a fresh capture of the same palm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractCapture, type Capture, type Extracted } from './capture.js';
import { BiometricError } from './errors.js';
import { FeatureModels } from './features.js';
import { calibratePad, padScore, ReplayGuard } from './pad.js';
import { seeded } from './random.js';
import { makeProbe } from './score.js';
import { renderAttack, renderHandCapture, replayOf } from './synth-render.js';
import { IDENTITY } from './template.js';

let models: FeatureModels;
beforeAll(async () => { models = await FeatureModels.load(); });
afterAll(async () => { await models.release(); });
const seed = 515;

async function acquire(capture: Capture): Promise<Extracted | undefined> {
  try { return await extractCapture(models, capture); } catch (error) { if (error instanceof BiometricError) return undefined; throw error; }
}

describe('presentation attack detection', () => {
  it('scores printed photos and screens above every bona fide capture', async () => {
    const bonaFide: Extracted[] = [];
    // A synthetic pose can hide a finger valley (failure to acquire); those are skipped.
    for (let id = 0; id < 14; id += 1) await acquire({ kind: 'hand', ...renderHandCapture(seed, id, 0) }).then((e) => e && bonaFide.push(e));
    expect(bonaFide.length).toBeGreaterThanOrEqual(11);
    const model = calibratePad(bonaFide.map((e) => e.pad), 0.01);
    const worstBonaFide = Math.max(...bonaFide.map((e) => padScore(e.pad, model)));
    let judged = 0;
    for (const type of ['print', 'screen'] as const) {
      for (let k = 0; k < 3; k += 1) {
        const attack = await acquire({ kind: 'hand', ...renderAttack(type, seed, 20 + k, 'hand', k) });
        if (!attack) continue;
        judged += 1;
        expect(padScore(attack.pad, model)).toBeGreaterThan(worstBonaFide);
      }
    }
    expect(judged).toBeGreaterThanOrEqual(4);
  });

  it('flags exact and near-exact replays, not a new capture of the same palm', async () => {
    const guard = new ReplayGuard();
    const original = renderHandCapture(seed, 30, 0);
    const remember = async (capture: typeof original): Promise<boolean> => {
      const e = await extractCapture(models, { kind: 'hand', ...capture });
      return guard.checkAndRemember(makeProbe(e, IDENTITY).hash, e.visibleDigest);
    };
    expect(await remember(original)).toBe(false);
    expect(await remember(renderHandCapture(seed, 30, 1))).toBe(false);
    expect(await remember(original)).toBe(true);
    expect(await remember(replayOf(original, seeded(1), false))).toBe(true);
  });
});
