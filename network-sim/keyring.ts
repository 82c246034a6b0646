/**
 * A bounded, insertion-ordered set of short text keys kept in typed arrays, outside the
 * JavaScript heap. The simulator remembers every request it answered (duplicates, repeats) and
 * every transaction it cleared (reversals, settlement): hundreds of thousands of keys that
 * live for the rest of the run. Held as strings in Maps, each new one survived two young-
 * generation collections and was copied twice, and the old generation grew without end; at
 * 5,000 requests/s that made every scavenge copy about a megabyte (5-20 ms pauses) and brought
 * mark-compacts of 10-27 ms. Here a key costs a few bytes in a slab the collector never scans.
 *
 * A key is given a row (0 .. capacity-1); rows are reused oldest first when the ring is full,
 * and the caller keeps its own per-row columns in typed arrays. Lookup is open addressing with
 * linear probing over a table at most half full; eviction deletes by backward shift, so no
 * tombstones pile up.
 */
import { assert } from '../core/index.js';

/** Longest key: the simulator's keys join bounded ISO 8583 fields (MTI class, DE 32 ..11, 11, 41, 7: at most 42 characters). */
export const KEY_LENGTH_MAX = 48;
/** Longest text a TextColumn cell holds. */
export const CELL_LENGTH_MAX = 64;
/** Rows a ring may hold (the index table is twice this, rounded up to a power of two). */
export const RING_ROWS_MAX = 4_000_000;

/** FNV-1a over the key's character codes (latin1: every code is below 256). */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export class KeyRing {
  readonly capacity: number;
  private readonly keys: Uint8Array;
  private readonly lengths: Uint8Array;
  private readonly hashes: Uint32Array;
  /** Row + 1 per slot; 0 is an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Keys ever added; the oldest live row is `added - size` (mod capacity). */
  private added = 0;

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity >= 1 && capacity <= RING_ROWS_MAX, 'ring capacity within 1..RING_ROWS_MAX');
    this.capacity = capacity;
    this.keys = new Uint8Array(capacity * KEY_LENGTH_MAX);
    this.lengths = new Uint8Array(capacity);
    this.hashes = new Uint32Array(capacity);
    let size = 2;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return Math.min(this.added, this.capacity);
  }

  /** The key's row, or -1. */
  find(key: string): number {
    if (key.length > KEY_LENGTH_MAX) return -1;
    for (let slot = hashOf(key) & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      if (this.equals(entry - 1, key)) return entry - 1;
    }
  }

  /**
   * Adds a key that is not in the ring and returns its row. When the ring is full the oldest
   * key is forgotten first and its row reused; `evicted` says so, for callers that count it.
   */
  add(key: string): { row: number; evicted: boolean } {
    assert(key.length <= KEY_LENGTH_MAX, 'key within KEY_LENGTH_MAX');
    const row = this.added % this.capacity;
    const evicted = this.added >= this.capacity;
    if (evicted) this.unlink(row);
    const hash = hashOf(key);
    const base = row * KEY_LENGTH_MAX;
    for (let i = 0; i < key.length; i += 1) {
      const code = key.charCodeAt(i);
      assert(code < 256, 'latin1 key');
      this.keys[base + i] = code;
    }
    this.lengths[row] = key.length;
    this.hashes[row] = hash;
    let slot = hash & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = row + 1;
    this.added += 1;
    return { row, evicted };
  }

  /** The key held by a live row. */
  keyOf(row: number): string {
    assert(row >= 0 && row < this.size, 'a live row');
    const base = row * KEY_LENGTH_MAX;
    return String.fromCharCode(...this.keys.subarray(base, base + this.lengths[row]!));
  }

  /** Live rows, oldest first. */
  *rows(): IterableIterator<number> {
    const size = this.size;
    const oldest = this.added - size;
    for (let i = 0; i < size; i += 1) yield (oldest + i) % this.capacity;
  }

  private equals(row: number, key: string): boolean {
    if (this.lengths[row] !== key.length) return false;
    const base = row * KEY_LENGTH_MAX;
    for (let i = 0; i < key.length; i += 1) if (this.keys[base + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Removes a row from the index; later entries of its probe run shift back into the gap. */
  private unlink(row: number): void {
    let gap = this.hashes[row]! & this.mask;
    while (this.slots[gap] !== row + 1) {
      assert(this.slots[gap] !== 0, 'a live row is in the index');
      gap = (gap + 1) & this.mask;
    }
    for (let next = (gap + 1) & this.mask; this.slots[next] !== 0; next = (next + 1) & this.mask) {
      const home = this.hashes[this.slots[next]! - 1]! & this.mask;
      // The entry at `next` may fill the gap only if its home is not inside (gap, next].
      const movable = gap <= next ? home <= gap || home > next : home <= gap && home > next;
      if (movable) {
        this.slots[gap] = this.slots[next]!;
        gap = next;
      }
    }
    this.slots[gap] = 0;
  }
}

/** Short latin1 texts (response codes, RRNs, authorization codes) per row, in one slab. */
export class TextColumn {
  private readonly bytes: Uint8Array;
  private readonly lengths: Uint8Array;

  constructor(rows: number, private readonly width: number) {
    assert(Number.isInteger(width) && width >= 1 && width <= CELL_LENGTH_MAX, 'cell width within 1..CELL_LENGTH_MAX');
    assert(Number.isInteger(rows) && rows >= 1 && rows <= RING_ROWS_MAX, 'rows within 1..RING_ROWS_MAX');
    this.bytes = new Uint8Array(rows * width);
    this.lengths = new Uint8Array(rows);
  }

  set(row: number, text: string): void {
    assert(text.length <= this.width, 'text fits its column');
    const base = row * this.width;
    for (let i = 0; i < text.length; i += 1) {
      const code = text.charCodeAt(i);
      assert(code < 256, 'latin1 text');
      this.bytes[base + i] = code;
    }
    this.lengths[row] = text.length;
  }

  get(row: number): string {
    const base = row * this.width;
    return String.fromCharCode(...this.bytes.subarray(base, base + this.lengths[row]!));
  }
}
