import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { PendingTable } from './pending.js';

type Op = { kind: 'add'; key: string } | { kind: 'take'; key: string } | { kind: 'takeWhere'; below: number };

describe('PendingTable', () => {
  it('behaves as a map under any sequence of adds, takes and sweeps (keys chosen to collide)', () => {
    // Few distinct keys and a small table: probe runs wrap around the end and deletions shift entries back.
    const key = fc.integer({ min: 0, max: 40 }).map((n) => `0110|${String(n).padStart(6, '0')}|PALM0001|1124095311`);
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: key.map((k) => ({ kind: 'add' as const, key: k })) },
      { weight: 4, arbitrary: key.map((k) => ({ kind: 'take' as const, key: k })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 1000 }).map((below) => ({ kind: 'takeWhere' as const, below })) },
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const table = new PendingTable<number>(12);
      const model = new Map<string, number>();
      let serial = 0;
      for (const step of ops) {
        if (step.kind === 'add') {
          if (model.has(step.key) || model.size >= 12) { expect(table.has(step.key) || table.full).toBe(true); continue; }
          serial += 1;
          table.add(step.key, serial);
          model.set(step.key, serial);
        } else if (step.kind === 'take') {
          expect(table.take(step.key)).toBe(model.get(step.key));
          model.delete(step.key);
        } else {
          const below = step.below;
          const taken = table.takeWhere((value) => value % 1000 < below).sort((a, b) => a - b);
          const expected = [...model].filter(([, value]) => value % 1000 < below).map(([k, value]) => { model.delete(k); return value; }).sort((a, b) => a - b);
          expect(taken).toEqual(expected);
        }
        expect(table.size).toBe(model.size);
        for (const [k, value] of model) expect(table.get(k)).toBe(value);
      }
    }), { numRuns: 300 });
  });

  it('refuses a second entry under one key and an entry beyond its bound', () => {
    const table = new PendingTable<string>(2);
    table.add('a', 'first');
    expect(() => table.add('a', 'again')).toThrow();
    table.add('b', 'second');
    expect(table.full).toBe(true);
    expect(() => table.add('c', 'third')).toThrow();
    expect(table.take('a')).toBe('first');
    expect(table.full).toBe(false);
  });
});
