/**
 * Goal: checkpoints leave the service's connection. With automatic checkpoints off, the
 * worker's checkpoints copy the WAL back into the database; when the worker cannot work (here
 * its file cannot be opened), the service checkpoints on its own after the staleness bound.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WalCheckpointer } from './wal-checkpointer.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-core-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(condition: () => boolean, timeout_ms: number): Promise<void> {
  const end = Date.now() + timeout_ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WalCheckpointer', () => {
  it('checkpoints the WAL from its worker while the service writes', async () => {
    const file = path.join(dir, 'a.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, zeroblob(2000))');
    const checkpointer = new WalCheckpointer({ file, interval_ms: 30, checkpointHere: () => { throw new Error('the worker is alive'); } });
    for (let k = 0; k < 300; k += 1) insert.run(k);
    const before = statSync(file).size;
    await until(() => checkpointer.done >= 3 && statSync(file).size > before, 10_000);
    expect(statSync(file).size).toBeGreaterThan(300 * 2000);
    expect(checkpointer.fallbacks).toBe(0);
    await checkpointer.close();
    db.close();
  });

  it('takes checkpoints back when the worker completes none', async () => {
    let here = 0;
    const checkpointer = new WalCheckpointer({
      file: path.join(dir, 'missing', 'b.sqlite'), interval_ms: 20, stale_after_ms: 200,
      checkpointHere: () => { here += 1; },
    });
    await until(() => here >= 1, 10_000);
    expect(checkpointer.done).toBe(0);
    expect(checkpointer.fallbacks).toBe(here);
    await checkpointer.close();
  });
});
