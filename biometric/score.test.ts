/**
 * Goal: the union-bound correction of a best-of-k score keeps one threshold's false-match rate
 * for probes with rotation alternates (it never raises a score, is monotone, and maps a score
 * to the z of k times its tail), and a roi probe's rotations recover a rotated crop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalQuantile } from './calibration.js';
import { extractCapture, rotateRoiMap } from './capture.js';
import { FeatureModels } from './features.js';
import { PalmIndex } from './index-store.js';
import { addSyntheticPalms } from './synthetic-gallery.js';
import { alongScaled, along_scale_factors, compare, compareAt, correctForAlternatives, makeProbe, makeTemplate, normalTail, poseCount } from './score.js';
import { toGray, warpAffine } from './image.js';
import { renderHandCapture, renderRoiCapture } from './synth-render.js';
import { IDENTITY } from './template.js';

describe('best-of-k score correction', () => {
  it('is the z of k times the tail, never above the score, and monotone', () => {
    expect(correctForAlternatives(5.5, 1)).toBe(5.5);
    expect(correctForAlternatives(5.5, 3)).toBeCloseTo(-normalQuantile(3 * normalTail(5.5)), 9);
    expect(normalTail(5)).toBeCloseTo(2.866515718791939e-7, 12);
    fc.assert(fc.property(fc.double({ min: -10, max: 12, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), fc.integer({ min: 2, max: 9 }), (z, dz, k) => {
      expect(correctForAlternatives(z, k)).toBeLessThanOrEqual(z + 1e-9);
      expect(correctForAlternatives(z + dz, k)).toBeGreaterThanOrEqual(correctForAlternatives(z, k) - 1e-9);
    }));
  });

  it('turns an ROI map about the ROI centre', () => {
    const map = { a: 1.25, b: 0, c: 0.125, d: 0, e: 1.25, f: 0.125 };
    const turned = rotateRoiMap(map, 90);
    // The centre stays; a step along u becomes a step along v.
    const centre = 63.5;
    expect(turned.a * centre + turned.b * centre + turned.c).toBeCloseTo(map.a * centre + map.c, 9);
    expect(turned.a).toBeCloseTo(0, 9);
    expect(turned.d).toBeCloseTo(1.25, 9);
  });
});

describe('roi probes with rotation alternates', () => {
  let models: FeatureModels;
  beforeAll(async () => { models = await FeatureModels.load(); });
  afterAll(async () => { await models.release(); });

  it('match whole-hand enrolments at least as well as their unrotated code, and compareAt agrees with compare', async () => {
    const seed = 0x7e57;
    const enrolled = makeTemplate(await extractCapture(models, { kind: 'hand', ...renderHandCapture(seed, 1, 0) }), IDENTITY);
    const roi = await extractCapture(models, { kind: 'roi', ...renderRoiCapture(seed, 1, 0) });
    expect(roi.alternates?.length).toBe(4);
    expect(roi.alternates?.filter((a) => a.coarse).length).toBe(2);
    const probe = makeProbe(roi, IDENTITY);
    const best = compare(probe, enrolled);
    const { alternates: _alternates, ...single } = probe;
    expect(poseCount(probe)).toBe(5 + along_scale_factors.length);
    expect(best.score).toBeGreaterThanOrEqual(correctForAlternatives(compare(single, enrolled).score, poseCount(probe)) - 1e-9);
    // compareAt picks one of the three rotations (scale 1); compare also tries the two scales.
    const atEach = [0, 1, 2].map((r) => compareAt(probe, enrolled, r).score);
    expect(Math.max(...atEach)).toBeLessThanOrEqual(best.score + 1e-9);
    expect(Math.max(...atEach)).toBeGreaterThan(best.score - 3);
    const other = makeTemplate(await extractCapture(models, { kind: 'hand', ...renderHandCapture(seed, 2, 0) }), IDENTITY);
    expect(best.score).toBeGreaterThan(compare(probe, other).score + 2);
  });

  it('are found by the staged 1:N search (hash over all rotations, vein stage picks the rotation, re-rank)', async () => {
    const seed = 0x7e58;
    const index = new PalmIndex();
    addSyntheticPalms(index, { firstId: 1000n, count: 600, seed: 7 });
    const enrol = [0, 1].map(async (n) => await extractCapture(models, { kind: 'hand', ...renderHandCapture(seed, 3, n) }));
    const [a, b] = await Promise.all(enrol);
    index.add(3n, makeTemplate(a!, IDENTITY));
    index.add(4n, makeTemplate(b!, IDENTITY));
    const probe = makeProbe(await extractCapture(models, { kind: 'roi', ...renderRoiCapture(seed, 3, 1) }), IDENTITY);
    // 16 candidates out of a 64 pool: the vein stage runs and chooses each candidate's rotation.
    const found = index.search(probe, { candidates: 16, pool: 64 });
    expect(found.length).toBe(16);
    expect([3n, 4n]).toContain(found[0]!.id);
    expect(found[0]!.score).toBeCloseTo(compare(probe, index.get(found[0]!.id)!).score, 9);
  });
});

describe('along-palm scale alternates (code space, valley line fixed)', () => {
  let models: FeatureModels;
  beforeAll(async () => { models = await FeatureModels.load(); });
  afterAll(async () => { await models.release(); });

  it('leave a grid unchanged at scale 1 and move far rows more than near ones', () => {
    const cells = 32;
    const code = Uint8Array.from({ length: cells * cells }, (_, i) => Math.floor(i / cells) % 6);
    const grid = { cells, code, valid: new Uint8Array(cells * cells).fill(1) };
    expect(alongScaled(grid, 1)).toEqual(grid);
    // Row y shows source row round(anchor + (y - anchor) / factor), the anchor 12.5 cells above the grid.
    const stretched = alongScaled(grid, 1.1);
    expect(stretched.valid[0]).toBe(0); // source row -1
    expect(stretched.code[1 * cells]).toBe(0); // source row 0: moved by one
    expect(stretched.code[31 * cells]).toBe(27 % 6); // source row 27: moved by four
    const shrunk = alongScaled(grid, 0.9);
    expect(shrunk.code[1 * cells]).toBe(3 % 6);
    expect(shrunk.valid[31 * cells]).toBe(0); // source row 36
  });

  it('recover a hand seen foreshortened along the palm (a tilted hand)', async () => {
    const seed = 0x7e59;
    const scores: { withAlong: number; without: number }[] = [];
    for (const identity of [1, 2, 3]) {
      const rendered = renderHandCapture(seed, identity, 0);
      const enrolled = await extractCapture(models, { kind: 'hand', ...rendered });
      const { valleys } = enrolled.hand!;
      // The palm axis is perpendicular to the valley line; stretch the image 9 % along it about the middle valley.
      const ux = valleys[2].x - valleys[0].x; const uy = valleys[2].y - valleys[0].y; const n = Math.hypot(ux, uy);
      const [ax, ay] = [-uy / n, ux / n];
      const k = 1 / 1.09 - 1; // output -> source: shrink distances along the axis
      const { x: ox, y: oy } = valleys[1];
      const map = { a: 1 + k * ax * ax, b: k * ax * ay, c: 0, d: k * ax * ay, e: 1 + k * ay * ay, f: 0 };
      map.c = ox - (map.a * ox + map.b * oy); map.f = oy - (map.d * ox + map.e * oy);
      const tilt = (image: typeof rendered.visible) => toGray(warpAffine(image, image.width, image.height, map, 28));
      const probe = makeProbe(await extractCapture(models, { kind: 'hand', visible: tilt(rendered.visible), nir: tilt(rendered.nir) }), IDENTITY);
      const template = makeTemplate(enrolled, IDENTITY);
      const withAlong = compare(probe, template).score;
      // The same probe without its along-scale alternates (scored as the best of fewer poses).
      const poses = probe.alternates!.slice(0, probe.alternates!.length - along_scale_factors.length);
      scores.push({ withAlong, without: compare({ ...probe, alternates: poses }, template).score });
    }
    for (const s of scores) expect(s.withAlong).toBeGreaterThan(s.without);
  });
});
