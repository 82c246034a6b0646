/**
 * Feature extraction of a whole dataset for the evaluation, in this thread or spread over worker
 * threads. Extraction (and, for synthetic sets, rendering) is nearly all of an evaluation's time:
 * a 10,000-identity identification run is about 22,000 captures, which one core needs tens of
 * minutes for. Each worker opens the same source from its `DatasetSpec`, takes every k-th
 * identity, and sends back only the features the evaluation reads (never pixels).
 */
import { availableParallelism } from 'node:os';
import { assert, startTypeScriptWorker } from '../core/index.js';
import { BiometricError } from './errors.js';
import { extractCapture, type Capture, type Extracted } from './capture.js';
import type { DatasetSource, DatasetSpec } from './dataset.js';
import type { FeatureModels } from './features.js';

/** What the evaluation keeps of one capture's extraction. */
export type EvalSample = Pick<Extracted, 'palm' | 'vein' | 'hash' | 'pad' | 'visibleDigest' | 'alternates'>;

export interface Acquisition { attempts: number; failures: number; fta: number; reasons: Record<string, number> }
export interface ExtractedSet { samples: EvalSample[][]; acquisition: Acquisition; extract_ms: number }

interface IdentityResult { position: number; own: EvalSample[]; attempts: number; reasons: Record<string, number>; elapsed_ms: number }

export const extract_workers_max = 16;
/** Identities a worker sends per message: progress stays visible, messages stay small. */
const identities_per_message = 25;
/** Loading the TypeScript loader and the models; generous because a loaded machine slows it most. */
const worker_start_timeout_ms = 180_000;

async function extractIdentity(models: FeatureModels, position: number, captures: Capture[]): Promise<IdentityResult> {
  const result: IdentityResult = { position, own: [], attempts: 0, reasons: {}, elapsed_ms: 0 };
  for (const capture of captures) {
    result.attempts += 1;
    const start = performance.now();
    try {
      const e = await extractCapture(models, capture);
      result.own.push({ palm: e.palm, vein: e.vein, hash: e.hash, pad: e.pad, visibleDigest: e.visibleDigest, alternates: e.alternates });
    } catch (error) {
      if (!(error instanceof BiometricError)) throw error;
      result.reasons[error.code] = (result.reasons[error.code] ?? 0) + 1;
    }
    result.elapsed_ms += performance.now() - start;
  }
  return result;
}

function assemble(results: IdentityResult[], identities: number): ExtractedSet {
  const samples: EvalSample[][] = Array.from({ length: identities }, () => []);
  const reasons: Record<string, number> = {};
  let attempts = 0;
  let elapsed = 0;
  for (const r of results) {
    samples[r.position] = r.own;
    attempts += r.attempts;
    elapsed += r.elapsed_ms;
    for (const [code, n] of Object.entries(r.reasons)) reasons[code] = (reasons[code] ?? 0) + n;
  }
  assert(results.length === identities, 'every identity extracted exactly once');
  const failures = Object.values(reasons).reduce((a, b) => a + b, 0);
  return { samples, acquisition: { attempts, failures, fta: failures / Math.max(1, attempts), reasons }, extract_ms: elapsed / Math.max(1, attempts) };
}

/** Every identity of `source`, in this thread. */
export async function extractSamples(models: FeatureModels, source: DatasetSource, onProgress?: (message: string) => void): Promise<ExtractedSet> {
  const results: IdentityResult[] = [];
  for (const [position, identity] of source.identities.entries()) {
    results.push(await extractIdentity(models, position, source.captures(identity)));
    if (position % 100 === 99) onProgress?.(`extracted ${position + 1}/${source.identities.length} identities`);
  }
  return assemble(results, source.identities.length);
}

/** The worker side: identities `worker`, `worker + workers`, ... of the spec's source. */
export async function extractShare(models: FeatureModels, source: DatasetSource, worker: number, workers: number, send: (batch: IdentityResult[]) => void): Promise<void> {
  let batch: IdentityResult[] = [];
  for (let position = worker; position < source.identities.length; position += workers) {
    batch.push(await extractIdentity(models, position, source.captures(source.identities[position]!)));
    if (batch.length === identities_per_message) { send(batch); batch = []; }
  }
  send(batch);
}

const WORKER_URL = new URL('./extract-worker.ts', import.meta.url).href;

/** Every identity of the spec's source, spread over `workers` threads (default: one per core). */
export async function extractSamplesInParallel(spec: DatasetSpec, identities: number, options: { workers?: number; onProgress?: (message: string) => void } = {}): Promise<ExtractedSet> {
  const workers = Math.min(identities, options.workers ?? availableParallelism());
  assert(workers >= 1 && workers <= extract_workers_max, `workers must be 1..${extract_workers_max}`);
  const results: IdentityResult[] = [];
  let reported = 0;
  const threads = Array.from({ length: workers }, (_, worker) => startTypeScriptWorker(WORKER_URL, { workerData: { spec, worker, workers } }));
  try {
    await Promise.all(threads.map((thread) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BiometricError('extract_worker_failed', 'extraction worker did not start')), worker_start_timeout_ms);
      thread.on('message', (message: { ready: true } | { batch: IdentityResult[]; last: boolean }) => {
        clearTimeout(timer);
        if ('ready' in message) return;
        results.push(...message.batch);
        if (Math.floor(results.length / 500) > reported) { reported = Math.floor(results.length / 500); options.onProgress?.(`extracted ${results.length}/${identities} identities`); }
        if (message.last) resolve();
      });
      thread.once('error', (error) => { clearTimeout(timer); reject(error); });
      thread.once('exit', (code) => { clearTimeout(timer); reject(new BiometricError('extract_worker_failed', `extraction worker exited (${code}) before its last identity`)); });
    })));
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  return assemble(results, identities);
}
