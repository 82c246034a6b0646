/**
 * The link's requests awaiting an answer, by match key: a fixed open-addressing table
 * (linear probing, backward-shift deletion) on arrays allocated once.
 *
 * Why not a Map: entries come and go thousands of times a second, so V8 rebuilds a Map's
 * hash table every few hundred inserts, and each abandoned table keeps a pointer to its
 * successor and the entries it held. Once one table has reached the old generation (every
 * mark-compact moves the live one there), that dead table keeps every later table alive
 * through scavenges, with every request, promise and answer they referenced. The network
 * bench measured it: after the bench process's first mark-compact, each scavenge promoted
 * 0.5-3 MB instead of ~20 KB, and the old generation grew until mark-compacts of 30-40 ms.
 * Here a slot is emptied when its entry leaves, and nothing is ever reallocated.
 */
import { assert } from '../../core/index.js';

/** Slots per entry the table may hold: at most half full, so probe runs stay short. */
const SLOTS_PER_ENTRY = 2;

/** FNV-1a over the key's UTF-16 code units (match keys are short ASCII texts). */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export class PendingTable<T> {
  private readonly keys: (string | undefined)[];
  private readonly values: (T | undefined)[];
  /** Each occupied slot's home slot (its hash masked), so moves need no rehashing. */
  private readonly homes: Int32Array;
  private readonly mask: number;
  private count = 0;

  constructor(readonly entries_max: number) {
    assert(Number.isInteger(entries_max) && entries_max >= 1 && entries_max <= 1 << 20, 'pending entries bound 1..2^20');
    let slots = 2;
    while (slots < entries_max * SLOTS_PER_ENTRY) slots *= 2;
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.values = new Array<T | undefined>(slots).fill(undefined);
    this.homes = new Int32Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.entries_max;
  }

  private slotOf(key: string): number {
    for (let slot = hashOf(key) & this.mask; ; slot = (slot + 1) & this.mask) {
      const found = this.keys[slot];
      if (found === undefined) return -1;
      if (found === key) return slot;
    }
  }

  has(key: string): boolean {
    return this.slotOf(key) >= 0;
  }

  get(key: string): T | undefined {
    const slot = this.slotOf(key);
    return slot < 0 ? undefined : this.values[slot];
  }

  /** Adds an entry under a key not yet present; the caller checks `full` first. */
  add(key: string, value: T): void {
    assert(this.count < this.entries_max, 'a pending table within its bound');
    const home = hashOf(key) & this.mask;
    let slot = home;
    for (let found = this.keys[slot]; found !== undefined; slot = (slot + 1) & this.mask, found = this.keys[slot]) assert(found !== key, 'one pending entry per key');
    this.keys[slot] = key;
    this.values[slot] = value;
    this.homes[slot] = home;
    this.count += 1;
  }

  /** Removes and returns the entry of `key`, if any. */
  take(key: string): T | undefined {
    const slot = this.slotOf(key);
    if (slot < 0) return undefined;
    const value = this.values[slot];
    this.clear(slot);
    return value;
  }

  /** Removes every entry `picked` chooses and returns them (in slot order; the caller orders them if it matters). */
  takeWhere(picked: (value: T) => boolean): T[] {
    const taken: T[] = [];
    if (this.count === 0) return taken;
    const keys: string[] = [];
    for (let slot = 0; slot <= this.mask; slot += 1) {
      const key = this.keys[slot];
      const value = this.values[slot];
      if (key !== undefined && value !== undefined && picked(value)) keys.push(key);
    }
    for (const key of keys) {
      const value = this.take(key);
      if (value !== undefined) taken.push(value);
    }
    return taken;
  }

  /** Empties `slot`, then moves later entries of its probe run back so every entry stays reachable from its home. */
  private clear(slot: number): void {
    let hole = slot;
    for (let next = (hole + 1) & this.mask; this.keys[next] !== undefined; next = (next + 1) & this.mask) {
      const home = this.homes[next]!;
      // The entry at `next` may fill the hole only if its home is not cyclically within (hole, next].
      const staysPut = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (staysPut) continue;
      this.keys[hole] = this.keys[next];
      this.values[hole] = this.values[next];
      this.homes[hole] = home;
      hole = next;
    }
    this.keys[hole] = undefined;
    this.values[hole] = undefined;
    this.count -= 1;
  }
}
