/**
 * The day's settlement file, written with the ledger's own writer so that `palmswitch recon`
 * reads exactly what the simulator writes. Discrepancy injection changes the file the way
 * real files go wrong — a missing line, a wrong amount, a wrong currency, a line the
 * acquirer never saw — so reconciliation tests have exceptions to find.
 */
import { currencyByNumeric } from '../core/index.js';
import { writeSettlementFile, type SettlementTransaction } from '../ledger/index.js';
import { z } from 'zod';
import { NetworkSimError } from './errors.js';
import { seededRandom } from '../core/index.js';
import type { Cleared } from './books.js';
import { interchangeOf } from './network.js';

/** Injected discrepancies per kind and file; a reconciliation test needs a handful, not thousands. */
export const DISCREPANCIES_PER_KIND_MAX = 1_000;

const count = z.number().int().min(0).max(DISCREPANCIES_PER_KIND_MAX);
export const DiscrepancySchema = z.object({
  missing: count.default(0), amount: count.default(0), currency: count.default(0), extra: count.default(0), seed: z.number().int().default(1),
}).strict();
export type Discrepancies = z.infer<typeof DiscrepancySchema>;

export interface InjectedDiscrepancy { kind: 'missing' | 'amount' | 'currency' | 'extra'; rrn: string }

export function buildSettlement(network: string, date: string, cleared: Iterable<Cleared>, discrepancies: Discrepancies): { text: string; transactions: number; injected: InjectedDiscrepancy[] } {
  const lines: SettlementTransaction[] = [];
  for (const record of cleared) {
    if (record.reversed || record.date !== date) continue;
    lines.push({
      rrn: record.rrn, auth_code: record.authCode, type: record.kind === 'refund' ? 'REFUND' : 'SALE', amount_minor: record.amount_minor,
      // Interchange is earned on sales; a refund carries none in this simulator.
      currency: currencyByNumeric(record.currency).alpha, date: record.date, interchange_minor: record.kind === 'refund' ? 0n : interchangeOf(record.amount_minor),
    });
  }
  const injected = inject(lines, date, discrepancies);
  try {
    return { text: writeSettlementFile({ network, date, file_id: `${network}-${date}`, transactions: lines }), transactions: lines.length, injected };
  } catch (error) {
    throw new NetworkSimError('netsim_request_invalid', `settlement file not written: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function inject(lines: SettlementTransaction[], date: string, d: Discrepancies): InjectedDiscrepancy[] {
  const random = seededRandom(d.seed);
  const injected: InjectedDiscrepancy[] = [];
  const pick = (): number => Math.floor(random() * lines.length);
  for (let i = 0; i < d.missing && lines.length > 0; i += 1) {
    const [removed] = lines.splice(pick(), 1);
    if (removed) injected.push({ kind: 'missing', rrn: removed.rrn });
  }
  for (let i = 0; i < d.amount && lines.length > 0; i += 1) {
    const line = lines[pick()]!;
    line.amount_minor += 1n;
    injected.push({ kind: 'amount', rrn: line.rrn });
  }
  for (let i = 0; i < d.currency && lines.length > 0; i += 1) {
    const line = lines[pick()]!;
    line.currency = line.currency === 'EUR' ? 'USD' : 'EUR';
    injected.push({ kind: 'currency', rrn: line.rrn });
  }
  for (let i = 0; i < d.extra; i += 1) {
    const rrn = `9${String(Math.floor(random() * 1e11)).padStart(11, '0')}`;
    lines.push({ rrn, auth_code: 'XTRA01', type: 'SALE', amount_minor: 1000n + BigInt(i), currency: 'EUR', date, interchange_minor: 2n });
    injected.push({ kind: 'extra', rrn });
  }
  return injected;
}
