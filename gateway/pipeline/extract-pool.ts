/**
 * A pool of feature-extraction worker threads. Extraction is the heaviest step of a payment
 * (image decode, hand geometry, ONNX features: milliseconds of CPU); on the event loop it
 * would stall every other request, so it runs beside it, one worker per core. The queue in
 * front of the workers is bounded: a full queue is `overloaded`, not an ever-growing wait.
 */
import { Worker } from 'node:worker_threads';
import { assert } from '../../core/index.js';
import { BiometricError, type BiometricErrorCode, type Capture, type Extracted } from '../../biometric/index.js';
import { GatewayError } from '../errors.js';

export const extract_workers_max = 16;
export const extract_queue_max = 512;
export const extract_worker_start_timeout_ms = 60_000;

const WORKER_URL = new URL('./extract-worker.ts', import.meta.url).href;

type Reply = { id: number; extracted: Omit<Extracted, 'roi' | 'nirRoi'> } | { id: number; error: { code: string; message: string } };
interface Waiter { resolve(value: Extracted): void; reject(error: Error): void }

export class ExtractPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private readonly queue: { id: number; capture: Capture }[] = [];
  private readonly assigned = new Map<number, number>();
  private nextId = 1;
  private closed = false;

  private constructor() {}

  static async start(workers: number): Promise<ExtractPool> {
    assert(Number.isInteger(workers) && workers >= 1 && workers <= extract_workers_max, `1..${extract_workers_max} workers`);
    const pool = new ExtractPool();
    await Promise.all(Array.from({ length: workers }, (_, i) => pool.spawn(i)));
    return pool;
  }

  private spawn(slot: number): Promise<void> {
    // Workers do not inherit the TypeScript loader, so the bootstrap registers tsx's first.
    const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); })`;
    const worker = new Worker(bootstrap, { eval: true });
    this.workers[slot] = worker;
    this.busy[slot] = 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new GatewayError('not_ready', 'extraction worker did not start')), extract_worker_start_timeout_ms);
      worker.on('message', (message: Reply | { ready: true }) => {
        if ('ready' in message) { clearTimeout(timer); resolve(); this.pump(); return; }
        this.settle(slot, message);
      });
      worker.on('error', (error) => { clearTimeout(timer); reject(error); this.failSlot(slot, error); });
    });
  }

  /** Extracts `capture` on a worker; the bytes are copied, never written anywhere. */
  extract(capture: Capture): Promise<Extracted> {
    if (this.closed) return Promise.reject(new GatewayError('not_ready', 'extraction pool is closed'));
    if (this.queue.length >= extract_queue_max) return Promise.reject(new GatewayError('overloaded', 'too many captures waiting for extraction'));
    const id = this.nextId++;
    return new Promise<Extracted>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.queue.push({ id, capture });
      this.pump();
    });
  }

  private pump(): void {
    if (this.queue.length > 0 && this.busy.every((state) => state === -1)) {
      for (const job of this.queue.splice(0)) {
        this.waiting.get(job.id)?.reject(new GatewayError('internal', 'no extraction worker is alive'));
        this.waiting.delete(job.id);
      }
    }
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (slot === undefined) return;
      const job = this.queue.shift()!;
      this.busy[slot] = job.id;
      this.assigned.set(job.id, slot);
      this.workers[slot]!.postMessage(job);
    }
  }

  private idleSlot(): number | undefined {
    for (let slot = 0; slot < this.workers.length; slot += 1) if (this.busy[slot] === 0) return slot;
    return undefined;
  }

  private settle(slot: number, reply: Reply): void {
    const waiter = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    this.assigned.delete(reply.id);
    this.busy[slot] = 0;
    if (waiter) {
      if ('error' in reply) waiter.reject(reply.error.code === 'internal' ? new GatewayError('internal', reply.error.message) : new BiometricError(reply.error.code as BiometricErrorCode, reply.error.message));
      else waiter.resolve(reply.extracted as Extracted);
    }
    this.pump();
  }

  private failSlot(slot: number, error: Error): void {
    const id = this.busy[slot];
    if (id !== undefined && id !== 0) {
      this.waiting.get(id)?.reject(new GatewayError('internal', `extraction worker failed: ${error.message}`));
      this.waiting.delete(id);
    }
    this.busy[slot] = -1;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.values()) waiter.reject(new GatewayError('not_ready', 'extraction pool closed'));
    this.waiting.clear();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
