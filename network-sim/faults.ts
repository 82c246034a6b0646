/**
 * Fault injection: what a flaky card network does to an acquirer. Set at start
 * (`--faults JSON`) or at run time (`PUT /faults`). Faults hit authorization, financial,
 * advice and reversal requests; network management (0800) only sees a total outage, so a
 * test can choose between "slow network" and "dead network". Draws come from a seeded PRNG
 * so a failing run replays from its seed.
 */
import { z } from 'zod';
import { NetworkSimError } from './errors.js';

/** No fault delays an answer longer than this, so a test's worst case stays bounded. */
export const FAULT_DELAY_MS_MAX = 60_000;

const rate = z.number().min(0).max(1);
const delay = z.number().int().min(0).max(FAULT_DELAY_MS_MAX);

export const FaultSchema = z.object({
  latency: z.object({
    kind: z.enum(['fixed', 'uniform', 'exponential']),
    min_ms: delay,
    max_ms: delay,
    /** Mean of the exponential part (added to min_ms, capped at max_ms). */
    mean_ms: delay,
  }).strict(),
  /** Requests answered never. */
  drop_rate: rate,
  /** Requests answered by closing the connection. */
  disconnect_rate: rate,
  /** Requests answered after `late_ms` (longer than the acquirer's time-out). */
  late_rate: rate,
  late_ms: delay,
  /** Requests answered with bytes that do not decode. */
  malformed_rate: rate,
  /** Requests answered 91 (issuer unavailable) without reaching the issuer. */
  issuer_unavailable_rate: rate,
  /** Total outage: no connection is accepted, open ones are closed, nothing is answered. */
  outage: z.boolean(),
  /** Which requests the per-request faults hit (MTI classes 01/02 authorization, 012x advice, 04xx reversal). */
  applies_to: z.array(z.enum(['authorization', 'advice', 'reversal'])).max(3),
}).strict();

export type Faults = z.infer<typeof FaultSchema>;

export const NO_FAULTS: Faults = {
  latency: { kind: 'fixed', min_ms: 0, max_ms: 0, mean_ms: 0 },
  drop_rate: 0, disconnect_rate: 0, late_rate: 0, late_ms: 0, malformed_rate: 0, issuer_unavailable_rate: 0, outage: false,
  applies_to: ['authorization', 'advice', 'reversal'],
};

/** The fault kind of a request MTI, or undefined for network management (only outages hit those). */
export function faultTarget(mti: string): Faults['applies_to'][number] | undefined {
  if (mti[1] === '4') return 'reversal';
  if (mti[1] === '1' && mti[2] === '2') return 'advice';
  if (mti[1] === '1' || mti[1] === '2') return 'authorization';
  return undefined;
}

/** Merges a partial fault setting into the current one and validates the result. */
export function mergeFaults(current: Faults, patch: unknown): Faults {
  const partial = FaultSchema.partial().strict().safeParse(patch);
  if (!partial.success) throw new NetworkSimError('netsim_request_invalid', `faults: ${partial.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const merged = { ...current, ...partial.data };
  const whole = FaultSchema.safeParse(merged);
  if (!whole.success) throw new NetworkSimError('netsim_request_invalid', `faults: ${whole.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (whole.data.latency.min_ms > whole.data.latency.max_ms) throw new NetworkSimError('netsim_request_invalid', 'faults: latency.min_ms exceeds max_ms');
  return whole.data;
}

export type FaultAction = { kind: 'answer'; delay_ms: number } | { kind: 'drop' } | { kind: 'disconnect' } | { kind: 'malformed'; delay_ms: number } | { kind: 'unavailable'; delay_ms: number };

export function drawFault(faults: Faults, random: () => number): FaultAction {
  if (faults.drop_rate > 0 && random() < faults.drop_rate) return { kind: 'drop' };
  if (faults.disconnect_rate > 0 && random() < faults.disconnect_rate) return { kind: 'disconnect' };
  let delay_ms = drawLatency(faults.latency, random);
  if (faults.late_rate > 0 && random() < faults.late_rate) delay_ms = faults.late_ms;
  if (faults.malformed_rate > 0 && random() < faults.malformed_rate) return { kind: 'malformed', delay_ms };
  if (faults.issuer_unavailable_rate > 0 && random() < faults.issuer_unavailable_rate) return { kind: 'unavailable', delay_ms };
  return { kind: 'answer', delay_ms };
}

function drawLatency(latency: Faults['latency'], random: () => number): number {
  if (latency.max_ms === 0) return 0;
  switch (latency.kind) {
    case 'fixed': return latency.min_ms;
    case 'uniform': return latency.min_ms + random() * (latency.max_ms - latency.min_ms);
    case 'exponential': return Math.min(latency.max_ms, latency.min_ms - Math.log(1 - random()) * latency.mean_ms);
  }
}
