/**
 * One extraction thread of `extractSamplesInParallel`: opens the dataset from its spec, loads the
 * models, extracts its share of the identities and posts the features back in batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../core/index.js';
import { openSource, type DatasetSpec } from './dataset.js';
import { extractShare } from './extract-samples.js';
import { FeatureModels } from './features.js';

const { spec, worker, workers } = workerData as { spec: DatasetSpec; worker: number; workers: number };
assert(parentPort !== null, 'extract-worker runs as a worker thread');
const port = parentPort;
const models = await FeatureModels.load();
const source = openSource(spec);
port.postMessage({ ready: true });
let pending: Parameters<Parameters<typeof extractShare>[4]>[0] | undefined;
await extractShare(models, source, worker, workers, (batch) => {
  // Each batch goes out when the next one is ready, so the final one can carry `last`.
  if (pending) port.postMessage({ batch: pending, last: false });
  pending = batch;
});
port.postMessage({ batch: pending ?? [], last: true });
await models.release();
