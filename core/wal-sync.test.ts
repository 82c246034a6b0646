/**
 * Goal: the WAL barrier's two promises on real files. A barrier with new commits syncs once for
 * every caller waiting together; a failed sync is final (fail-stop): later barriers fail too,
 * even once the file could be synced, because a sync after a failure proves nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WalSync } from './wal-sync.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-core-wal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WalSync', () => {
  it('shares one sync among waiting barriers and skips it when nothing changed', async () => {
    const wal = path.join(dir, 'a.sqlite-wal');
    writeFileSync(wal, 'x');
    let changes = 0;
    const sync = new WalSync(wal, () => changes);
    await sync.barrier();
    expect(sync.syncs).toBe(0);
    changes = 5;
    await Promise.all([sync.barrier(), sync.barrier(), sync.barrier()]);
    expect(sync.syncs).toBe(1);
    await sync.close();
  });

  it('fails every barrier after a failed sync', async () => {
    const wal = path.join(dir, 'missing.sqlite-wal');
    let changes = 0;
    const sync = new WalSync(wal, () => changes);
    changes = 1;
    await expect(sync.barrier()).rejects.toMatchObject({ code: 'wal_sync_failed' });
    writeFileSync(wal, 'x');
    changes = 2;
    await expect(sync.barrier()).rejects.toMatchObject({ code: 'wal_sync_failed' });
    expect(sync.syncs).toBe(0);
    await sync.close();
  });
});
