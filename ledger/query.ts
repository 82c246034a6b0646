/**
 * The read requests of the embedded adapter as SQL: get_account_transfers,
 * get_account_balances, query_accounts and query_transfers. Filters follow TigerBeetle: a zero
 * field filters nothing, timestamps are an inclusive range (zero = open), `limit` bounds the
 * page (and is itself bounded by one reply), and an invalid filter returns nothing.
 */
import { u128ToBlob, type AccountTransfersQuery } from './storage.js';
import {
  AccountFilterFlags, QueryFilterFlags, batch_events_max, u128_max, u64_max,
  type AccountFilter, type QueryFilter,
} from './types.js';

const timestamp_max_open = (1n << 64n) - 2n;
const u64ToSql = (value: bigint): bigint => BigInt.asIntN(64, value);

export interface Query { sql: string; params: unknown[] }

function timestampRange(min: bigint, max: bigint): [bigint, bigint] | null {
  // 2^64 - 1 is reserved in both bounds.
  if (min === u64_max || max === u64_max) return null;
  const low = min === 0n ? 1n : min;
  const high = max === 0n ? timestamp_max_open : max;
  if (low > high) return null;
  // SQLite integers are signed 64-bit; real timestamps stay below 2^63.
  const cap = (1n << 63n) - 1n;
  return [low > cap ? cap : low, high > cap ? cap : high];
}

function pageSize(limit: number): number {
  return Math.min(limit, batch_events_max);
}

function userDataClauses(prefix: string, filter: { user_data_128: bigint; user_data_64: bigint; user_data_32: number; code: number }): Query {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.user_data_128 !== 0n) { clauses.push(`${prefix}user_data_128 = ?`); params.push(u128ToBlob(filter.user_data_128)); }
  if (filter.user_data_64 !== 0n) { clauses.push(`${prefix}user_data_64 = ?`); params.push(u64ToSql(filter.user_data_64)); }
  if (filter.user_data_32 !== 0) { clauses.push(`${prefix}user_data_32 = ?`); params.push(filter.user_data_32); }
  if (filter.code !== 0) { clauses.push(`${prefix}code = ?`); params.push(filter.code); }
  return { sql: clauses.map((c) => ` AND ${c}`).join(''), params };
}

/** Returns null when the filter is invalid (TigerBeetle answers an invalid filter with no results). */
function accountFilterRange(filter: AccountFilter): [bigint, bigint] | null {
  const known = AccountFilterFlags.debits | AccountFilterFlags.credits | AccountFilterFlags.reversed;
  if (filter.account_id === 0n || filter.account_id === u128_max) return null;
  if (filter.limit === 0 || (filter.flags & ~known) !== 0) return null;
  if ((filter.flags & (AccountFilterFlags.debits | AccountFilterFlags.credits)) === 0) return null;
  return timestampRange(filter.timestamp_min, filter.timestamp_max);
}

/** get_account_transfers for the storage, which reads the account's runs and the unfolded tail. */
export function accountTransfersQuery(filter: AccountFilter): AccountTransfersQuery | null {
  const range = accountFilterRange(filter);
  if (!range) return null;
  return {
    account_id: u128ToBlob(filter.account_id), min: range[0], max: range[1],
    debits: (filter.flags & AccountFilterFlags.debits) !== 0, credits: (filter.flags & AccountFilterFlags.credits) !== 0,
    reversed: (filter.flags & AccountFilterFlags.reversed) !== 0, limit: pageSize(filter.limit), extra: userDataClauses('t.', filter),
  };
}

/** get_account_balances: the history rows of one account, joined to their transfers for the side and filters. */
export function accountBalancesQuery(filter: AccountFilter): Query | null {
  const range = accountFilterRange(filter);
  if (!range) return null;
  const debits = (filter.flags & AccountFilterFlags.debits) !== 0;
  const credits = (filter.flags & AccountFilterFlags.credits) !== 0;
  const account = u128ToBlob(filter.account_id);
  const sides = [debits ? 't.debit_account_id = ?' : '', credits ? 't.credit_account_id = ?' : ''].filter((s) => s !== '');
  const sideParams = [debits ? account : null, credits ? account : null].filter((p) => p !== null);
  const extra = userDataClauses('t.', filter);
  const order = (filter.flags & AccountFilterFlags.reversed) !== 0 ? 'DESC' : 'ASC';
  return {
    sql: 'SELECT b.timestamp, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted FROM account_balances b ' +
      `JOIN transfers t ON t.timestamp = b.timestamp WHERE b.account_id = ? AND (${sides.join(' OR ')}) ` +
      `AND b.timestamp BETWEEN ? AND ?${extra.sql} ORDER BY b.timestamp ${order} LIMIT ?`,
    params: [account, ...sideParams, range[0], range[1], ...extra.params, pageSize(filter.limit)],
  };
}

export function queryFilterQuery(filter: QueryFilter, table: 'transfers' | 'accounts'): Query | null {
  const known = QueryFilterFlags.reversed;
  if (filter.limit === 0 || (filter.flags & ~known) !== 0) return null;
  const range = timestampRange(filter.timestamp_min, filter.timestamp_max);
  if (!range) return null;
  const extra = userDataClauses('', filter);
  const ledger = filter.ledger !== 0 ? ' AND ledger = ?' : '';
  const order = (filter.flags & QueryFilterFlags.reversed) !== 0 ? 'DESC' : 'ASC';
  return {
    sql: `SELECT * FROM ${table} WHERE timestamp BETWEEN ? AND ?${extra.sql}${ledger} ORDER BY timestamp ${order} LIMIT ?`,
    params: [range[0], range[1], ...extra.params, ...(filter.ledger !== 0 ? [filter.ledger] : []), pageSize(filter.limit)],
  };
}
