/**
 * A deterministic workload of acquiring operations (holds, partial and full captures with fees,
 * voids, refunds) derived from a seed, used by the crash-safety test: the same plan runs once
 * without crashes and once under repeated SIGKILLs, and the two ledgers must end up equal.
 * Payments run concurrently (so commits group callers), each payment's steps in order.
 */
import {
  captureTransfers, ensureChart, execute, holdTransfers, refundTransfers, voidTransfers, type ChartSpec,
} from './index.js';
import type { Ledger, Transfer } from './types.js';
import { seededRandom } from '../core/index.js';

export const crash_plan_chart: ChartSpec = { currencies: ['EUR', 'USD'], networks: ['visa-like', 'mc-like'], merchants: ['m-0', 'm-1', 'm-2', 'm-3', 'm-4'] };
/** Payments in flight at once: enough that commits carry several callers. */
export const crash_plan_concurrency = 16;

/** Each payment is a list of operations (each one or more transfers) that must run in order. */
export function crashPlan(seed: number, payments: number): Transfer[][][] {
  const random = seededRandom(seed);
  const plan: Transfer[][][] = [];
  for (let p = 0; p < payments; p += 1) {
    const authorization_id = BigInt(seed) * 1_000_000n + BigInt(p + 1);
    const currency = random() < 0.5 ? 'EUR' : 'USD';
    const network = random() < 0.5 ? 'visa-like' : 'mc-like';
    const merchant = `m-${Math.floor(random() * 5)}`;
    const amount = BigInt(100 + Math.floor(random() * 9_900));
    const rrn = String(p + 1).padStart(12, '0');
    const auth_code = `C${String(p % 100_000).padStart(5, '0')}`;
    const steps: Transfer[][] = [holdTransfers({ authorization_id, network, merchant, currency, amount_minor: amount, rrn, auth_code, timeout_seconds: 86_400 })];
    if (random() < 0.7) {
      const captured = random() < 0.5 ? amount : (amount * BigInt(1 + Math.floor(random() * 3))) / 4n;
      steps.push(captureTransfers({ authorization_id, capture_id: 1n, merchant, currency, amount_minor: captured, fee_minor: captured / 100n }));
      if (random() < 0.3) {
        steps.push(refundTransfers({ refund_id: 1n, authorization_id, network, merchant, currency, amount_minor: captured / 2n, rrn, auth_code }));
      }
    } else {
      steps.push(voidTransfers({ authorization_id }));
    }
    plan.push(steps);
  }
  return plan;
}

/** Runs (or re-runs: every step is idempotent) the plan; `progress` is called after each step. */
export async function runCrashPlan(ledger: Ledger, seed: number, payments: number, progress: (steps: number) => void): Promise<void> {
  await ensureChart(ledger, crash_plan_chart);
  const plan = crashPlan(seed, payments);
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < plan.length) {
      const steps = plan[next];
      next += 1;
      for (const step of steps ?? []) {
        await execute(ledger, step);
        done += 1;
        progress(done);
      }
    }
  };
  await Promise.all(Array.from({ length: crash_plan_concurrency }, lane));
}
