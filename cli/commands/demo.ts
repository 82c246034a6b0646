/**
 * `palmswitch demo` (`npm run demo`): a fleet of simulated terminals against the running stack
 * over the real HTTPS API — the demo shoppers paying with fresh captures, a few unknown palms
 * and printed photos, a short outage of one network in the middle (stand-in, then the advices
 * drain) — then captures (some in part), voids and partial refunds, the day's reconciliation
 * for both networks, and a summary.
 */
import type { Command } from 'commander';
import { loadConfig, PalmswitchError } from '../../core/index.js';
import {
  AdminClient, adminKeyFor, attackCapture, demo_seed, loadDemoWorld, palmCapture, terminalCredentials, TerminalClient, type DemoWorld,
} from '../../gateway/index.js';

interface DemoOptions { payments: string; terminals: string; outage: string }
interface Tally { decisions: Map<string, number>; latencies: Map<string, number[]>; standIns: number; refusals: Map<string, number>; followUps: Map<string, number> }

const bump = (map: Map<string, number>, key: string): void => { map.set(key, (map.get(key) ?? 0) + 1); };

function positive(text: string, what: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new PalmswitchError('cli_argument_invalid', `${what} must be 0..${max}`);
  return value;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('drive a fleet of simulated terminals against the running stack (npm start first)')
    .option('--payments <n>', 'payments to make', '120')
    .option('--terminals <n>', 'terminals paying at once', '4')
    .option('--outage <seconds>', 'seconds of visa-like outage in the middle (0: none)', '3')
    .action(async (options: DemoOptions) => {
      const config = loadConfig();
      const world = loadDemoWorld(config.dataDir);
      if (!world) throw new PalmswitchError('demo_not_seeded', `no demo world in ${config.dataDir}; run npm start first`);
      const url = `https://${config.host}:${config.gatewayPort}`;
      const payments = positive(options.payments, '--payments', 100_000);
      const fleet = Math.max(1, Math.min(positive(options.terminals, '--terminals', 64), world.terminals.length));
      const outage_s = positive(options.outage, '--outage', 60);
      const tally = await runFleet(url, world, payments, fleet, outage_s, `http://${config.host}:${config.networkSimPorts['visa-like'] + 100}`);
      const admin = new AdminClient({ url, adminKey: adminKeyFor(config.dataDir), caPem: world.terminals[0]!.caPem });
      try {
        printSummary(tally, payments);
        await reconcileToday(admin);
      } finally {
        admin.close();
      }
    });
}

async function runFleet(url: string, world: DemoWorld, payments: number, fleet: number, outage_s: number, visaApi: string): Promise<Tally> {
  const tally: Tally = { decisions: new Map(), latencies: new Map(), standIns: 0, refusals: new Map(), followUps: new Map() };
  const clients = world.terminals.slice(0, fleet).map((t) => ({ terminal: t, client: new TerminalClient({ url, ...terminalCredentials(t) }) }));
  // Captures never repeat: each run starts its capture numbers past every earlier run's.
  let captureNumber = 1_000 + (Math.floor(Date.now() / 1000) % 1_000_000) * 1_000;
  let next = 0;
  let done = 0;
  const outageAt = outage_s > 0 ? Math.floor(payments / 3) : -1;
  const worker = async (slot: number): Promise<void> => {
    const { terminal, client } = clients[slot]!;
    for (let i = next++; i < payments; i = next++) {
      if (i === outageAt) void outage(visaApi, outage_s);
      captureNumber += 1;
      await onePayment(client, terminal.merchantId, world, i, captureNumber, tally);
      done += 1;
      progress(done, payments);
    }
  };
  try {
    await Promise.all(clients.map((_, slot) => worker(slot)));
  } finally {
    for (const { client } of clients) client.close();
  }
  process.stderr.write('\n');
  return tally;
}

async function onePayment(client: TerminalClient, merchantId: string, world: DemoWorld, i: number, captureNumber: number, tally: Tally): Promise<void> {
  const roll = (i * 7_919) % 100;
  const shopper = world.shoppers[(i * 31) % world.shoppers.length]!;
  const capture = roll < 4 ? attackCapture('print', demo_seed, shopper.index, captureNumber) : roll < 9 ? palmCapture(demo_seed, 800_000 + captureNumber, 0) : palmCapture(demo_seed, shopper.index, captureNumber);
  const amount_minor = BigInt(150 + ((i * 2_654_435_761) % 4_850));
  const response = await client.authorize({ merchantId, amount_minor, currency: 'EUR', capture });
  const body = response.body as { paymentId?: string; decision?: string; responseCode?: string; source?: string; stages?: Record<string, number>; error?: { code: string } };
  if (response.status !== 201 && response.status !== 200) { bump(tally.refusals, body.error?.code ?? `http_${response.status}`); return; }
  bump(tally.decisions, body.decision === 'declined' ? `declined ${body.responseCode ?? ''}` : body.decision ?? 'unknown');
  if (body.source === 'stand-in') tally.standIns += 1;
  for (const [stage, ms] of Object.entries(body.stages ?? {})) tally.latencies.set(stage, [...(tally.latencies.get(stage) ?? []), ms]);
  if (body.decision === 'approved' && body.paymentId) {
    // Most sales go ahead; one in ten is cancelled before capture (a void: the network gets a
    // reversal), one in ten is captured in part (a partial reversal releases the rest), and one
    // in ten is refunded in part after capture (a refund authorization at the network).
    if (i % 10 === 9) await client.void(body.paymentId);
    else if (i % 10 === 3) {
      const captured = await client.capture(body.paymentId, { minor: amount_minor - amount_minor / 4n, currency: 'EUR' });
      bump(tally.followUps, captured.status === 200 ? 'captured in part' : `partial capture refused (${captured.status})`);
    }
    else {
      await client.capture(body.paymentId);
      if (i % 10 === 6) {
        const refunded = await client.refund(body.paymentId, { minor: amount_minor / 3n, currency: 'EUR' });
        bump(tally.followUps, refunded.status === 200 || refunded.status === 201 ? 'refunded in part' : `refund refused (${refunded.status})`);
      }
    }
  }
}

async function outage(apiUrl: string, seconds: number): Promise<void> {
  const put = (outage: boolean): Promise<Response> => fetch(new URL('/faults', apiUrl), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outage }), signal: AbortSignal.timeout(5_000) });
  await put(true);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await put(false);
}

function progress(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} payments`);
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function printSummary(tally: Tally, payments: number): void {
  const out: string[] = ['', `payments attempted: ${payments}`, ''];
  out.push('outcome                         count');
  for (const [key, n] of [...tally.decisions].sort()) out.push(`${key.padEnd(32)}${String(n).padStart(5)}`);
  for (const [key, n] of [...tally.refusals].sort()) out.push(`${`refused: ${key}`.padEnd(32)}${String(n).padStart(5)}`);
  out.push(`${'of which stand-in approvals'.padEnd(32)}${String(tally.standIns).padStart(5)}`);
  for (const [key, n] of [...tally.followUps].sort()) out.push(`${`then ${key}`.padEnd(32)}${String(n).padStart(5)}`);
  out.push('');
  out.push('stage (ms)        p50      p95      p99');
  for (const [stage, values] of tally.latencies) {
    const sorted = [...values].sort((a, b) => a - b);
    out.push(`${stage.padEnd(14)}${[0.5, 0.95, 0.99].map((q) => percentile(sorted, q).toFixed(1).padStart(9)).join('')}`);
  }
  process.stdout.write(`${out.join('\n')}\n\n`);
}

async function reconcileToday(admin: AdminClient): Promise<void> {
  // Advices queued during the outage drain once the link is back; give them a moment.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const date = new Date().toISOString().slice(0, 10);
  process.stdout.write(`reconciliation of ${date}\nnetwork            matched  exceptions\n`);
  for (const network of ['visa-like', 'mastercard-like']) {
    const run = await admin.admin<{ matched?: number; exceptions?: number; error?: { code: string } }>('POST', '/v1/reports/reconciliations', { network, date });
    if (run.status !== 201) { process.stdout.write(`${network.padEnd(18)} failed: ${run.body.error?.code ?? run.status}\n`); continue; }
    process.stdout.write(`${network.padEnd(18)}${String(run.body.matched).padStart(8)}${String(run.body.exceptions).padStart(12)}\n`);
  }
}
