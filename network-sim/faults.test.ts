/**
 * Fault draws and settings: seeded draws replay, every latency stays within its bounds, rates
 * come out near what was asked, and invalid settings are refused with the simulator's error.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../core/index.js';
import { drawFault, faultTarget, mergeFaults, NO_FAULTS } from './faults.js';

const DRAWS = 20_000;

describe('faults', () => {
  it('keeps every latency kind within min..max and replays from a seed', () => {
    for (const kind of ['fixed', 'uniform', 'exponential'] as const) {
      const faults = mergeFaults(NO_FAULTS, { latency: { kind, min_ms: 5, max_ms: 50, mean_ms: 10 } });
      const first = seededRandom(9);
      const second = seededRandom(9);
      for (let i = 0; i < 1_000; i += 1) {
        const action = drawFault(faults, first);
        expect(action).toEqual(drawFault(faults, second));
        if (action.kind !== 'answer') throw new Error('only latency was asked for');
        expect(action.delay_ms).toBeGreaterThanOrEqual(5);
        expect(action.delay_ms).toBeLessThanOrEqual(50);
      }
    }
  });

  it('fires drops, disconnects, late and malformed answers at about the asked rates', () => {
    const faults = mergeFaults(NO_FAULTS, { drop_rate: 0.1, disconnect_rate: 0.1, late_rate: 0.2, late_ms: 900, malformed_rate: 0.1 });
    const random = seededRandom(1);
    const counts: Record<string, number> = {};
    let late = 0;
    for (let i = 0; i < DRAWS; i += 1) {
      const action = drawFault(faults, random);
      counts[action.kind] = (counts[action.kind] ?? 0) + 1;
      if ('delay_ms' in action && action.delay_ms === 900) late += 1;
    }
    expect(counts.drop! / DRAWS).toBeCloseTo(0.1, 1);
    expect(counts.disconnect! / DRAWS).toBeCloseTo(0.09, 1);
    expect(late / DRAWS).toBeCloseTo(0.16, 1);
    expect(counts.malformed! / DRAWS).toBeCloseTo(0.08, 1);
  });

  it('refuses bad settings and maps MTIs to the kinds faults apply to', () => {
    expect(() => mergeFaults(NO_FAULTS, { drop_rate: 1.5 })).toThrow(expect.objectContaining({ code: 'netsim_request_invalid' }) as Error);
    expect(() => mergeFaults(NO_FAULTS, { latency: { kind: 'uniform', min_ms: 10, max_ms: 5, mean_ms: 0 } })).toThrow(/min_ms/);
    expect(() => mergeFaults(NO_FAULTS, { surprise: true })).toThrow(expect.objectContaining({ code: 'netsim_request_invalid' }) as Error);
    expect(() => mergeFaults(NO_FAULTS, { late_ms: 600_000 })).toThrow();
    expect([faultTarget('0100'), faultTarget('0200'), faultTarget('0121'), faultTarget('0401'), faultTarget('0800')]).toEqual(['authorization', 'authorization', 'advice', 'reversal', undefined]);
  });
});
