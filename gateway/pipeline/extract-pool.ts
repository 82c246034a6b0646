/**
 * A pool of feature-extraction worker threads. Extraction is the heaviest step of a payment
 * (image decode, hand geometry, ONNX features: milliseconds of CPU); on the event loop it
 * would stall every other request, so it runs beside it, one worker per core. The queue in
 * front of the workers is bounded: a full queue is `overloaded`, not an ever-growing wait.
 *
 * Given the gallery's transform, each worker also keeps a replica of the 1:N index and can
 * search right after extracting (see extract-worker.ts and search-replica.ts). Replica updates
 * go to every worker in order and resolve once all live workers have applied them.
 */
import type { Worker } from 'node:worker_threads';
import { assert, startTypeScriptWorker } from '../../core/index.js';
import { BiometricError, type BiometricErrorCode, type Capture, type Extracted, type ScoreModel, type Template, type TemplateTransform } from '../../biometric/index.js';
import { GatewayError } from '../errors.js';
import type { IndexSnapshot, ToWorker, WorkerSearch } from './search-replica.js';

export const extract_workers_max = 16;
export const extract_queue_max = 512;
export const extract_worker_start_timeout_ms = 60_000;
/** Index updates waiting for the workers' acknowledgements (enrolments and deletions in flight). */
export const replica_updates_in_flight_max = 4_096;
/** A worker that dies is replaced after this long, doubling per death in a row of its slot, up to the max. */
export const worker_restart_delay_ms_min = 250;
export const worker_restart_delay_ms_max = 30_000;

const WORKER_URL = new URL('./extract-worker.ts', import.meta.url).href;

type JobReply = { id: number; extracted: Omit<Extracted, 'roi' | 'nirRoi'>; found?: WorkerSearch } | { id: number; error: { code: string; message: string } };
type Reply = JobReply | { ack: number; error?: string };
interface Waiter { resolve(value: { extracted: Extracted; found: WorkerSearch | undefined }): void; reject(error: Error): void }
interface ControlWaiter { readonly pending: Set<number>; resolve(): void; reject(error: Error): void }

/** What the workers need to search: the gallery's transform (to make probes) and its score model. */
export interface ReplicaSetup { readonly transform: TemplateTransform; readonly scoreModel: ScoreModel }

export class ExtractPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private readonly queue: { kind: 'extract'; id: number; capture: Capture; search: boolean }[] = [];
  private readonly controls = new Map<number, ControlWaiter>();
  private nextControl = 1;
  private readonly assigned = new Map<number, number>();
  /** Image buffers of queued jobs that move to their worker instead of being copied (a hand capture's PNGs are ~220 KB). */
  private readonly transfers = new Map<number, ArrayBuffer[]>();
  private nextId = 1;
  private closed = false;
  /** Deaths in a row per slot (reset once a replacement has answered a job). */
  private readonly deaths: number[] = [];
  /** Workers replaced so far (for the operator: a climbing count is a crashing engine). */
  restarts = 0;

  private constructor(private readonly replica: ReplicaSetup | undefined, private readonly snapshot: (() => IndexSnapshot) | undefined) {}

  get searches(): boolean { return this.replica !== undefined; }

  /**
   * `replica`: the workers keep a copy of the 1:N index and search after extracting (see
   * `loadIndex`); `snapshot` then gives the index as it is now, for a worker that replaces
   * one that died (without it, a dead worker is not replaced).
   */
  static async start(workers: number, replica?: ReplicaSetup, snapshot?: () => IndexSnapshot): Promise<ExtractPool> {
    assert(Number.isInteger(workers) && workers >= 1 && workers <= extract_workers_max, `1..${extract_workers_max} workers`);
    const pool = new ExtractPool(replica, snapshot);
    await Promise.all(Array.from({ length: workers }, (_, i) => pool.spawn(i)));
    return pool;
  }

  /** Workers alive now (a replacement counts once it is up). */
  get liveWorkers(): number {
    return this.busy.filter((state) => state !== -1).length;
  }

  /** Replaces the worker in `slot` (one whose memory grew, say); its job in progress fails. */
  async recycle(slot: number): Promise<void> {
    assert(Number.isInteger(slot) && slot >= 0 && slot < this.workers.length, 'a worker slot');
    await this.workers[slot]!.terminate();
  }

  private spawn(slot: number): Promise<void> {
    const replica = this.replica;
    const worker = startTypeScriptWorker(WORKER_URL, { workerData: { transform: replica?.transform, scoreModel: replica?.scoreModel } });
    this.workers[slot] = worker;
    this.busy[slot] = 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new GatewayError('not_ready', 'extraction worker did not start')), extract_worker_start_timeout_ms);
      worker.on('message', (message: Reply | { ready: true }) => {
        if ('ready' in message) { clearTimeout(timer); resolve(); this.pump(); return; }
        if ('ack' in message) { this.acknowledge(slot, message); return; }
        this.settle(slot, message);
      });
      worker.on('error', (error) => { clearTimeout(timer); reject(error); this.failSlot(slot, error); });
      worker.on('exit', (code) => {
        if (this.closed || this.workers[slot] !== worker) return;
        this.failSlot(slot, new Error(`worker exited with code ${code}`));
        this.replace(slot);
      });
    });
  }

  /**
   * A worker died: after a back-off, a new one takes its slot, loaded with the index as it is at
   * that moment. Every update broadcast from then on reaches it in order after that snapshot
   * (and an add it already has replaces itself), so its replica ends up the gallery's.
   */
  private replace(slot: number): void {
    if (this.replica !== undefined && this.snapshot === undefined) return;
    const deaths = (this.deaths[slot] ?? 0) + 1;
    this.deaths[slot] = deaths;
    const delay = Math.min(worker_restart_delay_ms_max, worker_restart_delay_ms_min * 2 ** Math.min(deaths - 1, 16));
    setTimeout(() => {
      if (this.closed) return;
      this.restarts += 1;
      const started = this.spawn(slot);
      if (this.snapshot) this.loadSlot(slot, this.snapshot());
      started.catch(() => { /* the worker's 'exit' schedules the next attempt */ });
    }, delay).unref();
  }

  /** The start snapshot for one replacement worker, queued before any job can reach it. */
  private loadSlot(slot: number, snapshot: IndexSnapshot): void {
    const control = this.nextControl++;
    // A replica that could not load must not answer searches: that worker is replaced again.
    this.controls.set(control, { pending: new Set([slot]), resolve: () => undefined, reject: () => { void this.recycle(slot); } });
    this.workers[slot]!.postMessage({ kind: 'load', control, snapshot } satisfies ToWorker);
  }

  /** Extracts `capture` on a worker; the bytes are copied, never written anywhere. */
  async extract(capture: Capture): Promise<Extracted> {
    return (await this.run(capture, false)).extracted;
  }

  /** Extracts `capture` and searches the worker's index replica with its probe. */
  async extractAndSearch(capture: Capture, options: { transfer?: boolean } = {}): Promise<{ extracted: Extracted; found: WorkerSearch }> {
    assert(this.searches, 'the pool was started with an index replica');
    const { extracted, found } = await this.run(capture, true, options.transfer === true ? ownedBuffers(capture) : []);
    if (!found) throw new GatewayError('internal', 'the extraction worker returned no search');
    return { extracted, found };
  }

  private run(capture: Capture, search: boolean, transfer: ArrayBuffer[] = []): Promise<{ extracted: Extracted; found: WorkerSearch | undefined }> {
    if (this.closed) return Promise.reject(new GatewayError('not_ready', 'extraction pool is closed'));
    if (this.queue.length >= extract_queue_max) return Promise.reject(new GatewayError('overloaded', 'too many captures waiting for extraction'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (transfer.length > 0) this.transfers.set(id, transfer);
      this.queue.push({ kind: 'extract', id, capture, search });
      this.pump();
    });
  }

  /** Loads the gallery's templates into every worker's replica (once, at start). */
  async loadIndex(snapshot: IndexSnapshot): Promise<void> {
    await this.broadcast((control) => ({ kind: 'load', control, snapshot }));
  }

  /** Adds an enrolled palm to every replica; resolves once all live workers have it. */
  async indexAdd(id: bigint, template: Template): Promise<void> {
    await this.broadcast((control) => ({ kind: 'add', control, id, template }));
  }

  /** Removes a palm from every replica; resolves once no live worker can find it any more. */
  async indexRemove(id: bigint): Promise<void> {
    await this.broadcast((control) => ({ kind: 'remove', control, id }));
  }

  private broadcast(message: (control: number) => ToWorker): Promise<void> {
    if (this.closed) return Promise.reject(new GatewayError('not_ready', 'extraction pool is closed'));
    if (this.controls.size >= replica_updates_in_flight_max) return Promise.reject(new GatewayError('overloaded', 'too many index updates in flight'));
    const control = this.nextControl++;
    const live = this.workers.map((_, slot) => slot).filter((slot) => this.busy[slot] !== -1);
    if (live.length === 0) return Promise.reject(new GatewayError('internal', 'no extraction worker is alive'));
    const body = message(control);
    return new Promise<void>((resolve, reject) => {
      this.controls.set(control, { pending: new Set(live), resolve, reject });
      for (const slot of live) this.workers[slot]!.postMessage(body);
    });
  }

  private acknowledge(slot: number, reply: { ack: number; error?: string }): void {
    const waiter = this.controls.get(reply.ack);
    if (!waiter) return;
    if (reply.error !== undefined) {
      this.controls.delete(reply.ack);
      waiter.reject(new GatewayError('internal', `index replica update failed: ${reply.error}`));
      return;
    }
    waiter.pending.delete(slot);
    if (waiter.pending.size === 0) { this.controls.delete(reply.ack); waiter.resolve(); }
  }

  private pump(): void {
    if (this.queue.length > 0 && this.busy.every((state) => state === -1)) {
      for (const job of this.queue.splice(0)) {
        this.waiting.get(job.id)?.reject(new GatewayError('internal', 'no extraction worker is alive'));
        this.waiting.delete(job.id);
        this.transfers.delete(job.id);
      }
    }
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (slot === undefined) return;
      const job = this.queue.shift()!;
      this.busy[slot] = job.id;
      this.assigned.set(job.id, slot);
      const transfer = this.transfers.get(job.id) ?? [];
      this.transfers.delete(job.id);
      this.workers[slot]!.postMessage(job, transfer);
    }
  }

  private idleSlot(): number | undefined {
    for (let slot = 0; slot < this.workers.length; slot += 1) if (this.busy[slot] === 0) return slot;
    return undefined;
  }

  private settle(slot: number, reply: JobReply): void {
    this.deaths[slot] = 0;
    const waiter = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    this.assigned.delete(reply.id);
    this.busy[slot] = 0;
    if (waiter) {
      if ('error' in reply) waiter.reject(reply.error.code === 'internal' ? new GatewayError('internal', reply.error.message) : new BiometricError(reply.error.code as BiometricErrorCode, reply.error.message));
      else waiter.resolve({ extracted: reply.extracted as Extracted, found: reply.found });
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
    // A dead worker's replica no longer matters: updates wait only for the live ones.
    for (const [control, waiter] of this.controls) {
      waiter.pending.delete(slot);
      if (waiter.pending.size === 0) { this.controls.delete(control); waiter.resolve(); }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.values()) waiter.reject(new GatewayError('not_ready', 'extraction pool closed'));
    this.waiting.clear();
    // Queued jobs were rejected above; their buffers and slots must not outlive the pool's answer.
    this.queue.length = 0;
    this.transfers.clear();
    this.assigned.clear();
    for (const waiter of this.controls.values()) waiter.reject(new GatewayError('not_ready', 'extraction pool closed'));
    this.controls.clear();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/**
 * The capture's image buffers that own all of their memory. A view into a larger buffer (Node's
 * pool for small Buffers, a slice) is copied instead: moving its memory would take the rest away.
 */
export function ownedBuffers(capture: Capture): ArrayBuffer[] {
  const owned: ArrayBuffer[] = [];
  for (const image of [capture.visible, capture.nir]) {
    // A decoded image (GrayImage) is not bytes from a request: it is never moved.
    if (!(image instanceof Uint8Array) || !(image.buffer instanceof ArrayBuffer)) continue;
    if (image.byteOffset === 0 && image.byteLength === image.buffer.byteLength && !owned.includes(image.buffer)) owned.push(image.buffer);
  }
  return owned;
}
