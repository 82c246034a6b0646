/**
 * Goal: the group commit's barrier on a real SQLite file. The connection commits without an
 * fsync (synchronous=NORMAL); a barrier after writes syncs the WAL once for every caller
 * waiting together; a barrier with nothing new to sync resolves without one; writes made
 * while a sync runs get a sync of their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGatewayDatabase } from './database.js';
import { gatewayWalSync } from './durability.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-walsync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WalSync', () => {
  it('shares one WAL sync among barriers waiting together, and syncs again only for new commits', async () => {
    const file = path.join(dir, 'g.sqlite');
    const db = openGatewayDatabase(file, { syncAtBarrier: true });
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const sync = gatewayWalSync(db, file);
    await sync.barrier();
    expect(sync.syncs).toBe(0);
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    for (let k = 0; k < 20; k += 1) insert.run(k);
    await Promise.all(Array.from({ length: 20 }, () => sync.barrier()));
    expect(sync.syncs).toBe(1);
    await sync.barrier();
    expect(sync.syncs).toBe(1);
    // A commit made while a sync is running is not covered by it.
    insert.run(100);
    const first = sync.barrier();
    insert.run(101);
    const second = sync.barrier();
    await Promise.all([first, second]);
    expect(sync.syncs).toBe(3);
    db.close();
  });

  it('keeps every commit each barrier covered when the file is opened again', async () => {
    const file = path.join(dir, 'h.sqlite');
    const db = openGatewayDatabase(file, { syncAtBarrier: true });
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const sync = gatewayWalSync(db, file);
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    for (let k = 0; k < 50; k += 1) { insert.run(k); await sync.barrier(); }
    db.close();
    const again = openGatewayDatabase(file);
    expect(again.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 50 });
    again.close();
  });
});
