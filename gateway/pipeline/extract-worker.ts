/**
 * A feature-extraction worker: decodes one capture, checks its quality and runs the ONNX
 * feature models, off the gateway's event loop. The pixels live and die in this thread;
 * only codes, liveness cues and a digest go back.
 *
 * It also holds a replica of the gallery's 1:N index (protected templates only, fed by the
 * pool: a snapshot at start, then every enrolment and deletion in order), so a payment's
 * search runs here right after its extraction instead of on the event loop, where it was
 * about half of the main thread's CPU per payment.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import {
  BiometricError, extractCapture, FeatureModels, makeProbe, PalmIndex, type Capture, type ScoreModel, type Template, type TemplateTransform,
} from '../../biometric/index.js';
import { search_candidates_returned, type IndexSnapshot, type ToWorker } from './search-replica.js';

export interface ExtractJob { readonly kind: 'extract'; readonly id: number; readonly capture: Capture; readonly search: boolean }

if (parentPort === null) throw new Error('extract-worker runs as a worker thread');
const port = parentPort;
const setup = workerData as { transform: TemplateTransform | undefined; scoreModel: ScoreModel | undefined };
const models = await FeatureModels.load();
const index = new PalmIndex();
if (setup.scoreModel) index.scoreModel = setup.scoreModel;

function load(snapshot: IndexSnapshot): void {
  const { ids, palm, vein, hasVein, hash, palmCells, veinCells } = snapshot;
  const palmWords = palm.length / Math.max(1, ids.length);
  const veinWords = vein.length / Math.max(1, ids.length);
  const hashWords = hash.length / Math.max(1, ids.length);
  index.reserve(index.size + ids.length);
  for (let i = 0; i < ids.length; i += 1) {
    const template: Template = {
      palm: { cells: palmCells, words: palm.subarray(i * palmWords, (i + 1) * palmWords) }, hash: hash.subarray(i * hashWords, (i + 1) * hashWords),
      ...(hasVein[i] ? { vein: { cells: veinCells, words: vein.subarray(i * veinWords, (i + 1) * veinWords) } } : {}),
    };
    index.add(ids[i]!, template);
  }
}

function extract(job: ExtractJob): void {
  void extractCapture(models, job.capture).then(
    (extracted) => {
      // The normalised images stay here: liveness needs only the cues and the digest.
      const { roi: _roi, nirRoi: _nirRoi, ...rest } = extracted;
      if (!job.search || !setup.transform) { port.postMessage({ id: job.id, extracted: rest }); return; }
      const started = performance.now();
      const probe = makeProbe(extracted, setup.transform);
      const candidates = index.search(probe).slice(0, search_candidates_returned).map((c) => ({ id: c.id, score: c.score }));
      const ms = Math.round((performance.now() - started) * 1000) / 1000;
      port.postMessage({ id: job.id, extracted: rest, found: { hash: probe.hash, candidates, ms } });
    },
    (error: unknown) => {
      const code = error instanceof BiometricError ? error.code : 'internal';
      port.postMessage({ id: job.id, error: { code, message: error instanceof Error ? error.message : String(error) } });
    },
  );
}

port.on('message', (message: ExtractJob | ToWorker) => {
  if (message.kind === 'extract') { extract(message); return; }
  try {
    if (message.kind === 'load') load(message.snapshot);
    else if (message.kind === 'add') {
      // The pool mirrors the gallery: a worker restarted from a snapshot that already holds the
      // palm may get its 'add' too, so an add replaces rather than refuses.
      index.remove(message.id);
      index.add(message.id, message.template);
    }
    else index.remove(message.id);
    port.postMessage({ ack: message.control });
  } catch (error) {
    port.postMessage({ ack: message.control, error: error instanceof Error ? error.message : String(error) });
  }
});
port.postMessage({ ready: true });
