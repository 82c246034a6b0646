/**
 * `npm run bench -- ledger`: transfers per second of the embedded ledger with fsync on
 * (WAL, synchronous=FULL), (a) as requests of 8189 transfers and (b) as single-transfer
 * requests from 256 concurrent callers (group commit), side by side in the same run with the
 * ceiling on this disk: a bare better-sqlite3 loop inserting the same rows into the same table
 * and indexes, one transaction per 8189 rows, with no checks at all.
 *
 * Two account shapes: `acquiring` (the money model's shape: 2 network receivables debited,
 * 1000 merchant payables credited) carries the bars; `uniform` (1000 accounts, both sides
 * uniformly random, so every commit touches index pages all over the file) is shown beside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateAccountStatus, CreateTransferStatus, EmbeddedLedger, account_index_fold_transfers, INSERT_TRANSFER_SQL, TRANSFERS_SCHEMA_SQL, account, openLedgerDatabase,
  TransferRowEncoder, transfer, type Transfer,
} from '../ledger/index.js';
import type { Figure } from './harness.js';

type Shape = 'acquiring' | 'uniform';
const networks_count = 2;
const accounts_count = 1_000;
const ledger_number = 978;
const batch_size = 8189;
const batches_count = 16;
const callers_count = 256;
const concurrent_transfers_total = 120_000;
const timestamp_base = 1_700_000_000_000_000_000n;

interface Measured { rate: number; cpu_us_per_transfer: number }

function makeTransfers(shape: Shape, count: number, idBase: bigint, seed: number): Transfer[] {
  let state = seed >>> 0;
  const random = (): number => { state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0; return state; };
  return Array.from({ length: count }, (_, i) => {
    // Accounts 1..accounts_count; in the acquiring shape the first two are the networks.
    const debit = shape === 'acquiring' ? BigInt(1 + (random() % networks_count)) : BigInt(1 + (random() % accounts_count));
    const credit = shape === 'acquiring'
      ? BigInt(1 + networks_count + (random() % (accounts_count - networks_count)))
      : BigInt(1 + ((Number(debit) + (random() % (accounts_count - 1))) % accounts_count));
    return transfer({ id: idBase + BigInt(i), debit_account_id: debit, credit_account_id: credit,
      amount: BigInt(1 + (random() % 100_000)), ledger: ledger_number, code: 1, user_data_128: idBase + BigInt(i) });
  });
}

async function openWithAccounts(file: string): Promise<EmbeddedLedger> {
  const ledger = new EmbeddedLedger({ file });
  const ids = Array.from({ length: accounts_count }, (_, i) => BigInt(i + 1));
  const results = await ledger.createAccounts(ids.map((id) => account({ id, ledger: ledger_number, code: 1 })));
  if (results.some((r) => r.status !== CreateAccountStatus.created)) throw new Error('bench accounts were not created');
  return ledger;
}

async function timed(count: number, body: () => Promise<void>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await body();
  const elapsed_ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { rate: count / (elapsed_ms / 1000), cpu_us_per_transfer: (used.user + used.system) / count };
}

/**
 * (a) and its ceiling, interleaved request by request (bare, then embedded, on the same rows), so
 * that a disk or CPU shared with other work slows both alike and the ratio stays meaningful.
 * The ceiling is better-sqlite3 alone: same pragmas, same schema, same row encoder, no checks.
 */
async function batchesAgainstCeiling(dir: string, shape: Shape): Promise<{ batches: Measured; ceiling: Measured }> {
  const ledger = await openWithAccounts(path.join(dir, `${shape}-batches.sqlite`));
  const db = openLedgerDatabase(path.join(dir, `${shape}-bare.sqlite`));
  db.exec(TRANSFERS_SCHEMA_SQL);
  const insert = db.prepare(INSERT_TRANSFER_SQL);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  let timestamp = timestamp_base;
  const encoder = new TransferRowEncoder();
  const bare = (batch: Transfer[]): Promise<void> => {
    begin.run();
    for (const t of batch) { timestamp += 1n; insert.run(encoder.encode({ ...t, timestamp })); }
    commit.run();
    return Promise.resolve();
  };
  const embedded = async (batch: Transfer[]): Promise<void> => {
    const results = await ledger.createTransfers(batch);
    if (results.some((r) => r.status !== CreateTransferStatus.created)) throw new Error('bench transfer failed');
  };
  const warmup = makeTransfers(shape, batch_size, 10_000_000n, 99);
  await bare(warmup);
  await embedded(warmup);
  const totals = { bare: { ms: 0, cpu: 0 }, embedded: { ms: 0, cpu: 0 } };
  for (let b = 0; b < batches_count; b += 1) {
    const batch = makeTransfers(shape, batch_size, BigInt(1 + b * batch_size), b + 1);
    for (const [name, body] of [['bare', bare], ['embedded', embedded]] as const) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await body(batch);
      totals[name].ms += performance.now() - start;
      const used = process.cpuUsage(cpu);
      totals[name].cpu += used.user + used.system;
    }
  }
  await ledger.close();
  db.close();
  const count = batches_count * batch_size;
  const measured = (t: { ms: number; cpu: number }): Measured => ({ rate: count / (t.ms / 1000), cpu_us_per_transfer: t.cpu / count });
  return { batches: measured(totals.embedded), ceiling: measured(totals.bare) };
}

async function embeddedConcurrent(dir: string, shape: Shape): Promise<Measured> {
  const ledger = await openWithAccounts(path.join(dir, `${shape}-concurrent.sqlite`));
  const all = makeTransfers(shape, concurrent_transfers_total, 1n, 7);
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
  const measured = await timed(all.length, () => Promise.all(Array.from({ length: callers_count }, caller)).then(() => undefined));
  await ledger.close();
  if (failures > 0) throw new Error(`${failures} concurrent transfers failed`);
  return measured;
}

export async function run(): Promise<{ figures: Figure[]; notes?: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-bench-ledger-'));
  try {
    const figures: Figure[] = [];
    const notes: string[] = [];
    for (const shape of ['acquiring', 'uniform'] as const) {
      const { batches, ceiling } = await batchesAgainstCeiling(dir, shape);
      const concurrent = await embeddedConcurrent(dir, shape);
      const ratio = batches.rate / ceiling.rate;
      const barred = shape === 'acquiring';
      figures.push(
        { name: `${shape}: embedded, requests of 8189 (fsync on)`, value: batches.rate, unit: 'transfers/s',
          peer: { name: 'bare better-sqlite3 insert ceiling', value: ceiling.rate }, ratio,
          ...(barred ? { bar: '>= 0.60x of the bare ceiling', met: ratio >= 0.6 } : {}) },
        { name: `${shape}: embedded, 256 concurrent single-transfer callers (group commit, fsync on)`, value: concurrent.rate, unit: 'transfers/s',
          ...(barred ? { bar: '>= 50,000 transfers/s', met: concurrent.rate >= 50_000 } : {}) },
      );
      notes.push(`${shape}: CPU per transfer: bare ${ceiling.cpu_us_per_transfer.toFixed(1)} us, batches ${batches.cpu_us_per_transfer.toFixed(1)} us, ` +
        `256 callers ${concurrent.cpu_us_per_transfer.toFixed(1)} us (wall-clock rates suffer first when the disk or CPUs are shared)`);
    }
    notes.push(`${batches_count} requests of ${batch_size} transfers; ${concurrent_transfers_total} single-transfer requests from ${callers_count} callers; ` +
      `the bare loop inserts the same rows into the same schema (table + id and user_data_128 indexes; the embedded adapter also writes its account log and, every ${account_index_fold_transfers} transfers, the per-account runs, which the bare loop does not), one transaction per ${batch_size} rows, interleaved request by request with the embedded run`);
    notes.push(`acquiring: ${networks_count} network receivables debited, ${accounts_count - networks_count} merchant payables credited; uniform: ${accounts_count} accounts, both sides random`);
    notes.push(`files in ${os.tmpdir()} (journal_mode=WAL, synchronous=FULL); load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    return { figures, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
