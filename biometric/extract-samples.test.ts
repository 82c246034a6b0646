import { describe, expect, it } from 'vitest';
import { FeatureModels } from './features.js';
import { openSource, type SynthOptions } from './dataset.js';
import { extractSamples, extractSamplesInParallel } from './extract-samples.js';

// Small on purpose: the point is that threads change nothing, not how fast they are.
const options: SynthOptions = {
  ids: 5, captures: 2, seed: 0xe57a_0001, kind: 'roi', attacksPerType: 0,
  capturesPlan: [{ below: 2, captures: 2 }, { below: 5, captures: 1 }],
};

describe('extractSamplesInParallel', () => {
  it('gives the same features, identity by identity, as extraction in this thread', async () => {
    const models = await FeatureModels.load();
    const serial = await extractSamples(models, openSource({ type: 'synthetic', options }));
    await models.release();
    const parallel = await extractSamplesInParallel({ type: 'synthetic', options }, options.ids, { workers: 2 });
    expect(parallel.samples.map((own) => own.length)).toEqual([2, 2, 1, 1, 1]);
    expect(parallel.acquisition).toEqual(serial.acquisition);
    for (const [id, own] of serial.samples.entries()) {
      for (const [n, sample] of own.entries()) {
        const other = parallel.samples[id]![n]!;
        expect(Buffer.from(other.palm.code)).toEqual(Buffer.from(sample.palm.code));
        expect(Buffer.from(other.palm.valid)).toEqual(Buffer.from(sample.palm.valid));
        expect(Buffer.from(other.visibleDigest)).toEqual(Buffer.from(sample.visibleDigest));
        expect(other.alternates?.length).toBe(sample.alternates?.length);
      }
    }
  }, 60_000);

  it('refuses a worker count outside its bound', async () => {
    await expect(extractSamplesInParallel({ type: 'synthetic', options }, options.ids, { workers: 0 })).rejects.toThrow(/workers must be/);
  });
});
