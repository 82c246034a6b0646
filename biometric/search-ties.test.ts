/**
 * Regression: the vein stage of a 1:N search admitted candidates tied at its cutoff distance in
 * slot order. Random-bit gallery fillers saturate that distance, so hundreds tie, and a genuine
 * palm enrolled after them was dropped before the re-rank: 25 of 36 genuine searches against
 * 300..2,000 fillers came back without their mate. Ties may only fill what closer candidates left.
 */
import { describe, expect, it } from 'vitest';
import { FeatureModels } from './features.js';
import { extractCapture } from './capture.js';
import { encodePng } from './png.js';
import { makeProbe, makeTemplate } from './score.js';
import { PalmIndex } from './index-store.js';
import { addSyntheticPalms } from './synthetic-gallery.js';
import { renderHandCapture } from './synth-render.js';
import { IDENTITY } from './template.js';

const SEED = 7171;
const GENUINE = 3;

describe('1:N search behind many tied gallery codes', () => {
  it('finds each genuine palm enrolled after 1,000 random-bit palms, with the default options', async () => {
    const models = await FeatureModels.load();
    const extract = async (who: number, capture: number) => {
      const rendered = renderHandCapture(SEED, who, capture);
      return await extractCapture(models, { kind: 'hand', visible: encodePng(rendered.visible), nir: encodePng(rendered.nir) });
    };
    const index = new PalmIndex();
    addSyntheticPalms(index, { count: 1_000, firstId: 1_000n, seed: 99 });
    for (let who = 0; who < GENUINE; who += 1) index.add(BigInt(who + 1), makeTemplate(await extract(who, 0), IDENTITY));
    const found: (bigint | undefined)[] = [];
    for (let who = 0; who < GENUINE; who += 1) found.push(index.search(makeProbe(await extract(who, 2), IDENTITY))[0]?.id);
    expect(found).toEqual([1n, 2n, 3n]);
  }, 60_000);
});
