/**
 * A feature-extraction worker: decodes one capture, checks its quality and runs the ONNX
 * feature models, off the gateway's event loop. The pixels live and die in this thread;
 * only codes, liveness cues and a digest go back.
 */
import { parentPort } from 'node:worker_threads';
import { BiometricError, extractCapture, FeatureModels, type Capture } from '../../biometric/index.js';

export interface ExtractJob { readonly id: number; readonly capture: Capture }

const port = parentPort;
if (port === null) throw new Error('extract-worker runs as a worker thread');
const models = await FeatureModels.load();
port.on('message', (job: ExtractJob) => {
  void extractCapture(models, job.capture).then(
    (extracted) => {
      // The normalised images stay here: liveness needs only the cues and the digest.
      const { roi: _roi, nirRoi: _nirRoi, ...rest } = extracted;
      port.postMessage({ id: job.id, extracted: rest });
    },
    (error: unknown) => {
      const code = error instanceof BiometricError ? error.code : 'internal';
      port.postMessage({ id: job.id, error: { code, message: error instanceof Error ? error.message : String(error) } });
    },
  );
});
port.postMessage({ ready: true });
