/**
 * Crash safety: the embedded ledger runs in a child process that is killed with SIGKILL at
 * random points while it posts, restarted, and made to retry the same operations. At the end
 * no transfer is lost, none is doubled, and every balance equals a run without crashes.
 * Bounded: a fixed number of kill points, each child with a time limit.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrashPlan } from './crash_plan.js';
import { EmbeddedLedger } from './embedded.js';
import { balanceSheet } from './balances.js';
import { accountFilter, queryFilter, batch_events_max, type Ledger, type Transfer } from './types.js';

const kill_points = Number(process.env.LEDGER_CRASH_KILLS ?? 50);
const payments = 80;
const seed = 20_261_124;
const child_time_limit_ms = 30_000;
/** The worker folds its per-account index about every other commit, so kills land with and without an unfolded tail. */
const fold_transfers = 40;
const repo = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-crash-'));
const worker = path.join(dir, 'build', 'ledger', 'crash_worker.js');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The worker is restarted dozens of times; loading it through tsx costs about a second of CPU
 * per start, so the test transpiles the ledger and core sources once (TypeScript's own
 * transpiler, no type check) into a temp dir and starts plain `node` on the result.
 */
function buildWorker(): void {
  const build = path.join(dir, 'build');
  for (const folder of ['ledger', 'core']) {
    mkdirSync(path.join(build, folder), { recursive: true });
    for (const name of readdirSync(path.join(repo, folder)).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && !n.endsWith('.case.ts'))) {
      const source = readFileSync(path.join(repo, folder, name), 'utf8');
      const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
      writeFileSync(path.join(build, folder, name.replace(/\.ts$/, '.js')), output.outputText);
    }
  }
  writeFileSync(path.join(build, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(path.join(repo, 'node_modules'), path.join(build, 'node_modules'), 'dir');
}

beforeAll(buildWorker);

/** Starts the worker; kills it with SIGKILL once it reports `killAfter` steps (never, if null). */
function runWorker(file: string, killAfter: number | null): Promise<{ killed: boolean; steps: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, file, String(seed), String(payments), String(fold_transfers)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let steps = 0;
    let killed = false;
    let stderr = '';
    const limit = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('crash worker exceeded its time limit')); }, child_time_limit_ms);
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^progress (\d+)$/.exec(line);
      if (!match) return;
      steps = Number(match[1]);
      if (killAfter !== null && steps >= killAfter && !killed) {
        killed = true;
        // A sub-millisecond to few-millisecond delay moves the kill into the middle of later commits.
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 3));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      if (signal === 'SIGKILL' && killed) resolve({ killed: true, steps });
      else if (code === 0) resolve({ killed: false, steps });
      else reject(new Error(`crash worker failed (code ${code}, signal ${signal}): ${stderr.slice(0, 2000)}`));
    });
  });
}

async function allTransfers(ledger: Ledger): Promise<Map<bigint, Transfer>> {
  const all = new Map<bigint, Transfer>();
  let from = 0n;
  for (;;) {
    const page = await ledger.queryTransfers(queryFilter({ timestamp_min: from, limit: batch_events_max }));
    for (const t of page) {
      expect(all.has(t.id)).toBe(false);
      all.set(t.id, t);
    }
    const last = page[page.length - 1];
    if (page.length < batch_events_max || !last) return all;
    from = last.timestamp + 1n;
  }
}

describe('embedded ledger crash safety', () => {
  it(`loses and doubles nothing across ${kill_points} SIGKILLs while posting`, async () => {
    const reference = new EmbeddedLedger({ file: path.join(dir, 'reference.sqlite') });
    let total = 0;
    await runCrashPlan(reference, seed, payments, (steps) => { total = steps; });
    expect(total).toBeGreaterThan(payments);

    const file = path.join(dir, 'crashed.sqlite');
    let kills = 0;
    for (let attempt = 0; kills < kill_points && attempt < kill_points * 2; attempt += 1) {
      const killAfter = 1 + Math.floor(Math.random() * total);
      const outcome = await runWorker(file, killAfter);
      if (outcome.killed) kills += 1;
    }
    expect(kills).toBe(kill_points);
    expect((await runWorker(file, null)).killed).toBe(false);

    const crashed = new EmbeddedLedger({ file });
    const [expected, actual] = [await allTransfers(reference), await allTransfers(crashed)];
    expect(actual.size).toBe(expected.size);
    for (const [id, t] of expected) expect(actual.get(id)?.amount).toBe(t.amount);
    const strip = (sheets: Awaited<ReturnType<typeof balanceSheet>>): unknown => sheets.map((s) => ({ ...s, rows: s.rows.map((r) => ({ ...r })) }));
    const [sheetExpected, sheetActual] = [await balanceSheet(reference), await balanceSheet(crashed)];
    expect(strip(sheetActual)).toEqual(strip(sheetExpected));
    for (const sheet of sheetActual) expect(sheet.balanced).toBe(true);
    // The per-account index survived the kills: each account's transfers, as the table has them.
    const accountIds = new Set([...actual.values()].flatMap((t) => [t.debit_account_id, t.credit_account_id]));
    const byTimestamp = [...actual.values()].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
    for (const account_id of accountIds) {
      const indexed = await crashed.getAccountTransfers(accountFilter({ account_id }));
      expect(indexed.map((t) => t.id)).toEqual(byTimestamp.filter((t) => t.debit_account_id === account_id || t.credit_account_id === account_id).map((t) => t.id));
    }
    await reference.close();
    await crashed.close();
  }, 150_000);
});
