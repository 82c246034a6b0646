/**
 * Goal: the whole capture pipeline (PNG decode, hand and valley finding, ROI, quality, ONNX
 * features) turns two poses of one synthetic hand into a match and two different hands into a
 * non-match, and poor captures are rejected with the reason a terminal can show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractCapture } from './capture.js';
import { BiometricError } from './errors.js';
import { FeatureModels } from './features.js';
import { encodePng } from './png.js';
import { compare, makeProbe, makeTemplate } from './score.js';
import { renderHandCapture, renderRoiCapture } from './synth-render.js';
import { IDENTITY } from './template.js';
import type { GrayImage } from './image.js';

let models: FeatureModels;
beforeAll(async () => { models = await FeatureModels.load(); });
afterAll(async () => { await models.release(); });

const seed = 4242;
const codeOf = async (f: () => Promise<unknown>): Promise<string> => {
  try { await f(); } catch (error) { if (error instanceof BiometricError) return error.code; throw error; }
  return 'ok';
};

describe('capture pipeline', () => {
  it('matches one hand across poses (rotation, translation, scale) and separates different hands', async () => {
    const extract = async (id: number, n: number) => {
      const c = renderHandCapture(seed, id, n);
      return await extractCapture(models, { kind: 'hand', visible: encodePng(c.visible), nir: encodePng(c.nir) });
    };
    const a0 = await extract(1, 0);
    const a1 = await extract(1, 1);
    const b0 = await extract(2, 0);
    expect(a0.hand?.valleys.length).toBe(3);
    const genuine = compare(makeProbe(a0, IDENTITY), makeTemplate(a1, IDENTITY));
    const impostor = compare(makeProbe(a0, IDENTITY), makeTemplate(b0, IDENTITY));
    expect(genuine.veinDistance).toBeDefined();
    expect(genuine.score).toBeGreaterThan(impostor.score + 3);
    expect(impostor.score).toBeLessThan(4);
  });

  it('reads terminal-cropped ROI captures', async () => {
    const c0 = renderRoiCapture(seed, 3, 0);
    const c1 = renderRoiCapture(seed, 3, 1);
    const other = renderRoiCapture(seed, 4, 0);
    const e0 = await extractCapture(models, { kind: 'roi', ...c0 });
    const genuine = compare(makeProbe(e0, IDENTITY), makeTemplate(await extractCapture(models, { kind: 'roi', ...c1 }), IDENTITY));
    const impostor = compare(makeProbe(e0, IDENTITY), makeTemplate(await extractCapture(models, { kind: 'roi', ...other }), IDENTITY));
    expect(genuine.score).toBeGreaterThan(impostor.score);
  });

  it('rejects poor captures with a reason', async () => {
    const flat = (value: number, size = 256): GrayImage => ({ width: size, height: size, data: new Uint8Array(size * size).fill(value) });
    expect(await codeOf(() => extractCapture(models, { kind: 'hand', visible: flat(20) }))).toBe('hand_not_found');
    expect(await codeOf(() => extractCapture(models, { kind: 'roi', visible: flat(10) }))).toBe('capture_quality');
    expect(await codeOf(() => extractCapture(models, { kind: 'roi', visible: flat(100, 64) }))).toBe('image_invalid');
    const hand = renderHandCapture(seed, 5, 0);
    const dark = { ...hand.visible, data: hand.visible.data.map((v) => v >> 3) };
    expect(await codeOf(() => extractCapture(models, { kind: 'hand', visible: dark }))).toBe('capture_quality');
    expect(await codeOf(() => extractCapture(models, { kind: 'hand', visible: Uint8Array.from([1, 2, 3]) }))).toBe('image_invalid');
    const mismatched = { kind: 'hand' as const, visible: hand.visible, nir: flat(50, 100) };
    expect(await codeOf(() => extractCapture(models, mismatched))).toBe('image_invalid');
  });
});
