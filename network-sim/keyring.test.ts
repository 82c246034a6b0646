/**
 * The off-heap key ring and the books built on it behave like a Map that forgets its oldest
 * key when full: checked against exactly that model over random operation sequences, with
 * rings small enough that eviction and backward-shift deletion happen all the time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KEY_LENGTH_MAX, KeyRing, TextColumn } from './keyring.js';
import { AnswerBook, ClearedBook } from './books.js';
import type { Account } from './issuer.js';

const RUNS = 200;

/** Keys from a small alphabet and short lengths, so collisions of probe runs are common. */
const key = fc.string({ unit: fc.constantFrom('0', '1', '2', '|', 'A', 'é'), minLength: 0, maxLength: 6 });

describe('KeyRing', () => {
  it('finds exactly the last `capacity` distinct keys added, each at its row', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.array(key, { maxLength: 60 }), (capacity, keys) => {
      const ring = new KeyRing(capacity);
      const model = new Map<string, number>();
      const order: string[] = [];
      for (const k of keys) {
        expect(ring.find(k)).toBe(model.get(k) ?? -1);
        if (model.has(k)) continue;
        const { row, evicted } = ring.add(k);
        expect(evicted).toBe(order.length >= capacity);
        if (order.length >= capacity) model.delete(order.shift()!);
        model.set(k, row);
        order.push(k);
      }
      expect(ring.size).toBe(model.size);
      for (const [k, row] of model) { expect(ring.find(k)).toBe(row); expect(ring.keyOf(row)).toBe(k); }
      expect([...ring.rows()].map((row) => ring.keyOf(row))).toEqual(order);
    }), { numRuns: RUNS });
  });

  it('refuses a key longer than KEY_LENGTH_MAX and never finds one', () => {
    const ring = new KeyRing(4);
    const long = 'x'.repeat(KEY_LENGTH_MAX + 1);
    expect(ring.find(long)).toBe(-1);
    expect(() => ring.add(long)).toThrow();
    expect(ring.add('x'.repeat(KEY_LENGTH_MAX)).row).toBe(0);
  });

  it('keeps latin1 texts per row in a TextColumn', () => {
    const column = new TextColumn(3, 12);
    column.set(2, 'ÿ00ABC123456');
    column.set(0, '');
    expect(column.get(2)).toBe('ÿ00ABC123456');
    expect(column.get(0)).toBe('');
    expect(() => column.set(1, 'x'.repeat(13))).toThrow();
    expect(() => column.set(1, 'Ā')).toThrow();
  });
});

describe('books', () => {
  it('AnswerBook replaces an answer given twice and forgets the oldest when full', () => {
    const book = new AnswerBook(2);
    book.set('a', '00ABC123');
    book.set('a', '94');
    book.set('b', '05');
    expect(book.get('a')).toBe('94');
    book.set('c', '51');
    expect(book.get('a')).toBeUndefined();
    expect([book.get('b'), book.get('c'), book.size]).toEqual(['05', '51', 2]);
  });

  it('ClearedBook reverses once, releases what was held, and lists records oldest first', () => {
    const account = { pan: '4111110000000001' } as unknown as Account;
    const book = new ClearedBook(2);
    const now_ms = Date.UTC(2026, 10, 24, 23, 59);
    expect(book.add('k1', { rrn: '632812345678', authCode: 'A1B2C3', amount_minor: 1234n, currency: 978, now_ms, account, kind: 'sale' }, false)).toBe(false);
    expect(book.add('k2', { rrn: '632812345679', authCode: '', amount_minor: 999_999_999_999n, currency: 840, now_ms: now_ms + 60_000, account: undefined, kind: 'refund' }, true)).toBe(false);
    expect(book.reverse('k1')).toEqual({ account, amount_minor: 1234n, kind: 'sale' });
    expect(book.reverse('k1')).toBe('already');
    expect(book.reverse('k2')).toBe('already');
    expect(book.reverse('nope')).toBe('unknown');
    expect([...book.entries()]).toEqual([
      { rrn: '632812345678', authCode: 'A1B2C3', amount_minor: 1234n, currency: 978, date: '2026-11-24', account, reversed: true, kind: 'sale' },
      { rrn: '632812345679', authCode: '', amount_minor: 999_999_999_999n, currency: 840, date: '2026-11-25', account: undefined, reversed: true, kind: 'refund' },
    ]);
    expect(book.add('k3', { rrn: '1', authCode: 'X', amount_minor: 1n, currency: 978, now_ms, account, kind: 'sale' }, false)).toBe(true);
    expect(book.reverse('k1')).toBe('unknown');
    expect([...book.entries()].map((e) => e.rrn)).toEqual(['632812345679', '1']);
  });

  it('ClearedBook reverses in part down to DE 95\'s amount, never up, and a repeat gives back nothing', () => {
    const account = { pan: '4111110000000001' } as unknown as Account;
    const book = new ClearedBook(4);
    const now_ms = Date.UTC(2026, 10, 24, 12);
    book.add('k', { rrn: '632812345678', authCode: 'A1B2C3', amount_minor: 10_000n, currency: 978, now_ms, account, kind: 'sale' }, false);
    expect(book.reverse('k', 12_000n)).toEqual({ account, amount_minor: 0n, kind: 'sale' });
    expect(book.reverse('k', 7_500n)).toEqual({ account, amount_minor: 2_500n, kind: 'sale' });
    expect(book.reverse('k', 7_500n)).toEqual({ account, amount_minor: 0n, kind: 'sale' });
    expect([...book.entries()][0]).toMatchObject({ amount_minor: 7_500n, reversed: false });
    expect(book.reverse('k', 0n)).toEqual({ account, amount_minor: 7_500n, kind: 'sale' });
    expect(book.reverse('k', 1n)).toBe('already');
  });
});
