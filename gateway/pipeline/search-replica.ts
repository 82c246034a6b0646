/**
 * The messages that keep the extraction workers' copies of the 1:N index equal to the
 * gallery's (a snapshot at start, then each enrolment and deletion, acknowledged by every
 * worker before the enrolment or deletion returns), and the snapshot itself: the gallery's
 * protected templates packed into a few flat typed arrays, so loading 100,000 palms into a
 * worker is a handful of buffer copies instead of 100,000 messages.
 */
import { assert } from '../../core/index.js';
import type { Gallery, Template } from '../../biometric/index.js';

/** Best candidates a worker returns per search (the decision needs the first; the rest are for scores and metrics). */
export const search_candidates_returned = 5;

export interface IndexSnapshot {
  readonly ids: bigint[];
  readonly palm: Uint32Array;
  readonly vein: Uint32Array;
  readonly hasVein: Uint8Array;
  readonly hash: Uint32Array;
  readonly palmCells: number;
  readonly veinCells: number;
}

export type ToWorker =
  | { readonly kind: 'load'; readonly control: number; readonly snapshot: IndexSnapshot }
  | { readonly kind: 'add'; readonly control: number; readonly id: bigint; readonly template: Template }
  | { readonly kind: 'remove'; readonly control: number; readonly id: bigint };

/** What a worker found for a probe: its prefilter hash (for the replay guard) and the best candidates. */
export interface WorkerSearch {
  readonly hash: Uint32Array;
  /** Time the worker spent on the probe and the search (the payment's search stage). */
  readonly ms: number;
  readonly candidates: readonly { readonly id: bigint; readonly score: number }[];
}

/** The gallery's templates as one snapshot (copies: the index's slabs stay where they are). */
export function snapshotOf(gallery: Gallery): IndexSnapshot {
  const count = gallery.index.size;
  const ids: bigint[] = [];
  let palm = new Uint32Array(0);
  let vein = new Uint32Array(0);
  let hash = new Uint32Array(0);
  const hasVein = new Uint8Array(count);
  let palmCells = 0;
  let veinCells = 0;
  let i = 0;
  for (const { id, template } of gallery.index.entries()) {
    if (i === 0) {
      palm = new Uint32Array(count * template.palm.words.length);
      hash = new Uint32Array(count * template.hash.length);
      palmCells = template.palm.cells;
    }
    if (template.vein && vein.length === 0) {
      vein = new Uint32Array(count * template.vein.words.length);
      veinCells = template.vein.cells;
    }
    assert(template.palm.words.length * count === palm.length && template.hash.length * count === hash.length, 'templates share one shape');
    palm.set(template.palm.words, i * template.palm.words.length);
    hash.set(template.hash, i * template.hash.length);
    if (template.vein) {
      assert(template.vein.words.length * count === vein.length, 'vein codes share one shape');
      vein.set(template.vein.words, i * template.vein.words.length);
      hasVein[i] = 1;
    }
    ids.push(id);
    i += 1;
  }
  assert(i === count, 'the snapshot holds every palm');
  return { ids, palm, vein, hasVein, hash, palmCells, veinCells };
}

/** A template copied out of the index (its views would not survive a later move in the slabs). */
export function templateCopy(template: Template): Template {
  return {
    palm: { cells: template.palm.cells, words: Uint32Array.from(template.palm.words) }, hash: Uint32Array.from(template.hash),
    ...(template.vein ? { vein: { cells: template.vein.cells, words: Uint32Array.from(template.vein.words) } } : {}),
  };
}
