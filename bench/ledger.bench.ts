/**
 * `npm run bench -- ledger`: transfers per second of the embedded ledger with fsync on
 * (WAL, synchronous=FULL), (a) as requests of 8189 transfers and (b) as single-transfer
 * requests from 256 concurrent callers (group commit), side by side in the same run with the
 * ceiling on this disk: a bare better-sqlite3 loop inserting the same rows into the same table
 * and indexes, one transaction per 8189 rows, with no checks at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateAccountStatus, CreateTransferStatus, EmbeddedLedger, account, transfer, type Transfer } from '../ledger/index.js';
import { INSERT_TRANSFER_SQL, Storage, transferToRow } from '../ledger/storage.js';
import type { Figure } from './harness.js';

const accounts_count = 1_000;
const ledger_number = 978;
const batch_size = 8189;
const batches_count = 16;
const callers_count = 256;
const concurrent_transfers_total = 150_000;
const timestamp_base = 1_700_000_000_000_000_000n;

function makeTransfers(count: number, idBase: bigint, seed: number): Transfer[] {
  let state = seed >>> 0;
  const random = (): number => { state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0; return state; };
  return Array.from({ length: count }, (_, i) => {
    const debit = BigInt(1 + (random() % accounts_count));
    const credit = BigInt(1 + ((Number(debit) + (random() % (accounts_count - 1))) % accounts_count));
    return transfer({ id: idBase + BigInt(i), debit_account_id: debit, credit_account_id: credit,
      amount: BigInt(1 + (random() % 100_000)), ledger: ledger_number, code: 1, user_data_128: idBase + BigInt(i) });
  });
}

async function openWithAccounts(dir: string, name: string): Promise<EmbeddedLedger> {
  const ledger = new EmbeddedLedger({ file: path.join(dir, name) });
  const ids = Array.from({ length: accounts_count }, (_, i) => BigInt(i + 1));
  const results = await ledger.createAccounts(ids.map((id) => account({ id, ledger: ledger_number, code: 1 })));
  if (results.some((r) => r.status !== CreateAccountStatus.created)) throw new Error('bench accounts were not created');
  return ledger;
}

async function embeddedBatches(dir: string): Promise<number> {
  const ledger = await openWithAccounts(dir, 'batches.sqlite');
  const batches = Array.from({ length: batches_count }, (_, b) => makeTransfers(batch_size, BigInt(1 + b * batch_size), b + 1));
  await ledger.createTransfers(makeTransfers(batch_size, 10_000_000n, 99)); // warm-up
  const start = performance.now();
  for (const batch of batches) {
    const results = await ledger.createTransfers(batch);
    if (results.some((r) => r.status !== CreateTransferStatus.created)) throw new Error('bench transfer failed');
  }
  const elapsed_ms = performance.now() - start;
  await ledger.close();
  return (batches_count * batch_size) / (elapsed_ms / 1000);
}

function bareCeiling(dir: string): number {
  const storage = new Storage(path.join(dir, 'bare.sqlite'));
  const insert = storage.db.prepare(INSERT_TRANSFER_SQL);
  const begin = storage.db.prepare('BEGIN IMMEDIATE');
  const commit = storage.db.prepare('COMMIT');
  const batches = Array.from({ length: batches_count + 1 }, (_, b) => makeTransfers(batch_size, BigInt(1 + b * batch_size), b + 1));
  let timestamp = timestamp_base;
  const insertBatch = (batch: Transfer[]): void => {
    begin.run();
    for (const t of batch) { timestamp += 1n; insert.run(...transferToRow({ ...t, timestamp })); }
    commit.run();
  };
  insertBatch(batches[batches_count]!); // warm-up
  const start = performance.now();
  for (let b = 0; b < batches_count; b += 1) insertBatch(batches[b]!);
  const elapsed_ms = performance.now() - start;
  storage.close();
  return (batches_count * batch_size) / (elapsed_ms / 1000);
}

async function embeddedConcurrent(dir: string): Promise<{ rate: number; commits_note: string }> {
  const ledger = await openWithAccounts(dir, 'concurrent.sqlite');
  const all = makeTransfers(concurrent_transfers_total, 1n, 7);
  let nextIndex = 0;
  let failures = 0;
  const caller = async (): Promise<void> => {
    while (nextIndex < all.length) {
      const t = all[nextIndex];
      nextIndex += 1;
      const [result] = await ledger.createTransfers([t!]);
      if (result?.status !== CreateTransferStatus.created) failures += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: callers_count }, caller));
  const elapsed_ms = performance.now() - start;
  await ledger.close();
  if (failures > 0) throw new Error(`${failures} concurrent transfers failed`);
  return { rate: all.length / (elapsed_ms / 1000), commits_note: `${all.length} transfers in ${Math.round(elapsed_ms)} ms` };
}

export async function run(): Promise<{ figures: Figure[]; notes?: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-bench-ledger-'));
  try {
    const ceiling = bareCeiling(dir);
    const batches = await embeddedBatches(dir);
    const concurrent = await embeddedConcurrent(dir);
    const ratio = batches / ceiling;
    return {
      figures: [
        { name: 'embedded, batches of 8189 (fsync on)', value: batches, unit: 'transfers/s',
          peer: { name: 'bare better-sqlite3 insert ceiling', value: ceiling }, ratio, bar: '>= 0.60x of the bare ceiling', met: ratio >= 0.6 },
        { name: 'embedded, 256 concurrent single-transfer callers (group commit, fsync on)', value: concurrent.rate, unit: 'transfers/s',
          bar: '>= 50,000 transfers/s', met: concurrent.rate >= 50_000 },
        { name: 'bare better-sqlite3 insert ceiling (same rows, same table, no checks)', value: ceiling, unit: 'rows/s' },
      ],
      notes: [
        `${batches_count} requests of ${batch_size} transfers over ${accounts_count} accounts; the bare loop inserts the same rows into the same schema, one transaction per ${batch_size} rows`,
        `concurrent: ${concurrent.commits_note} from ${callers_count} callers`,
        `files in ${os.tmpdir()} (journal_mode=WAL, synchronous=FULL)`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
