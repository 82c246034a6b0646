/**
 * Durability across a gateway restart: a real gateway process takes stand-in approvals
 * while the network is down and is killed (SIGKILL) with its advices still queued; a new
 * link on the same SQLite file drains them once the network is back — each advice reaches
 * the network exactly once, in order — and STANs never repeat across the restart.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpawnedNetworkSim } from '../../network-sim/index.js';
import { LinkStore, STAN_BLOCK_SIZE } from './store.js';
import { eventually, issueCard, openLink, startSim, tempDir } from './testing.js';

const WORKER = fileURLToPath(new URL('./restart-worker.ts', import.meta.url));
const WORKER_TIMEOUT_MS = 30_000;
const temp = tempDir('palmswitch-restart-');
let sim: SpawnedNetworkSim;

beforeAll(async () => { sim = await startSim(temp.dir); });
// The sim writes into the folder until it has exited: stop() waits for that, then the folder goes.
afterAll(async () => { await sim.stop(); temp.remove(); }, 30_000);

interface WorkerResult { approved: boolean; source: string; adviceId: number; stan: string }

/** The worker's results once it has printed them; `kill` resolves when the process has exited. */
function runWorker(args: string[]): Promise<{ results: WorkerResult[]; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`worker gave no result in ${WORKER_TIMEOUT_MS} ms: ${output}`)); }, WORKER_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith('['));
      if (line) {
        clearTimeout(timer);
        const kill = (): Promise<void> => new Promise((exited) => {
          if (child.exitCode !== null || child.signalCode !== null) { exited(); return; }
          child.once('exit', () => exited());
          child.kill('SIGKILL');
        });
        resolve({ results: JSON.parse(line) as WorkerResult[], kill });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited with ${code}: ${output}`)); });
  });
}

describe('gateway restart', () => {
  it('restarts with a non-empty store-and-forward queue and drains it, each advice once', async () => {
    const file = path.join(temp.dir, 'gateway.db');
    const card = await issueCard(sim, { balance_minor: 100_000n });
    await sim.api('PUT', '/faults', { outage: true });
    const worker = await runWorker([String(sim.port), file, '3', card.token.tokenPan, card.token.tokenExpiry, '777000111']);
    await worker.kill();
    expect(worker.results.every((r) => r.approved && r.source === 'stand-in')).toBe(true);
    const before = await sim.api<{ advicesBooked: number; duplicates: number; byMti: Record<string, number> }>('GET', '/stats');
    await sim.api('PUT', '/faults', { outage: false });
    const { link, store } = openLink(sim, file, { acquirerId: '777000111' });
    expect(store.advices('visa-like').map((row) => row.status)).toEqual(['pending', 'pending', 'pending']);
    await eventually(() => link.status().advicesPending === 0);
    const after = await sim.api<{ advicesBooked: number; duplicates: number; byMti: Record<string, number> }>('GET', '/stats');
    expect(after.advicesBooked - before.advicesBooked).toBe(3);
    expect(after.duplicates).toBe(before.duplicates);
    expect(store.advices('visa-like').map((row) => [row.id, row.status])).toEqual(worker.results.map((r) => [r.adviceId, 'acked']));
    expect(BigInt((await sim.api<{ balance_minor: string }>('GET', `/accounts/${card.ref}`)).balance_minor)).toBe(100_000n - 300n - 301n - 302n);
    // STANs after the restart continue past the block the dead process had reserved.
    const stanAfter = Number(store.allocateStan('visa-like', Date.now()));
    expect(stanAfter).toBeGreaterThan(Math.max(...worker.results.map((r) => Number(r.stan))));
    await link.close();
    store.close();
  });

  it('never hands out a STAN twice on one day, across reopenings and two stores on one file', () => {
    const file = path.join(temp.dir, 'stan.db');
    const now = Date.UTC(2026, 10, 24, 12);
    const seen = new Set<string>();
    const first = new LinkStore(file);
    const second = new LinkStore(file);
    for (let i = 0; i < STAN_BLOCK_SIZE + 10; i += 1) {
      for (const store of [first, second]) {
        const stan = store.allocateStan('visa-like', now);
        expect(seen.has(stan)).toBe(false);
        seen.add(stan);
      }
    }
    first.close();
    second.close();
    const reopened = new LinkStore(file);
    const next = reopened.allocateStan('visa-like', now);
    expect(seen.has(next)).toBe(false);
    expect(reopened.allocateStan('visa-like', now + 86_400_000)).toBe('000001');
    expect(reopened.allocateStan('mastercard-like', now)).toBe('000001');
    reopened.close();
  });
});
