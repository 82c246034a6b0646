/**
 * The contract every ledger adapter must pass, in the style of hono's shared router cases:
 * one case file, run by `embedded.test.ts` against the embedded adapter and by
 * `tigerbeetle.test.ts` against a real cluster (when TB_ADDRESS is set). Each run works in a
 * fresh, random id range and ledger numbers, so it never needs a freshly formatted cluster.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountFilterFlags, AccountFlags, CreateAccountStatus as A, CreateTransferStatus as T, QueryFilterFlags, TransferFlags as F,
  account, accountFilter, queryFilter, transfer, u128_max,
  type Account, type Ledger, type Transfer,
} from './types.js';

/** Seconds: the shortest timeout TigerBeetle accepts, plus slack for the expiry pass. */
const expiry_wait_ms = 2_500;

export function describeLedgerContract(name: string, open: () => Promise<Ledger>): void {
  describe(`ledger contract: ${name}`, () => {
    let ledger: Ledger;
    // A random 64-bit prefix keeps this run's ids apart from every earlier run on the same cluster.
    const prefix = BigInt('0x' + randomBytes(8).toString('hex')) << 64n;
    let counter = 0n;
    const next = (): bigint => prefix | (counter += 1n);
    const L = 100_000 + Math.floor(Math.random() * 1_000_000);

    beforeAll(async () => { ledger = await open(); });
    afterAll(async () => { await ledger.close(); });

    async function accounts(count: number, fields: Partial<Account> = {}): Promise<bigint[]> {
      const ids = Array.from({ length: count }, () => next());
      const results = await ledger.createAccounts(ids.map((id) => account({ id, ledger: L, code: 1, ...fields })));
      expect(results.map((r) => r.status)).toEqual(ids.map(() => A.created));
      return ids;
    }
    async function one(t: Partial<Transfer>): Promise<T> {
      const [result] = await ledger.createTransfers([transfer({ id: next(), ledger: L, code: 1, ...t })]);
      return result!.status;
    }
    async function balances(id: bigint): Promise<[bigint, bigint, bigint, bigint]> {
      const [a] = await ledger.lookupAccounts([id]);
      return [a!.debits_pending, a!.debits_posted, a!.credits_pending, a!.credits_posted];
    }

    it('creates accounts and answers a resent account with exists, a changed one with exists_with_different_*', async () => {
      const id = next();
      const base = account({ id, ledger: L, code: 7, user_data_128: 5n, user_data_64: 6n, user_data_32: 7 });
      expect((await ledger.createAccounts([base]))[0]!.status).toBe(A.created);
      const resend = await ledger.createAccounts([
        base, { ...base, flags: AccountFlags.history }, { ...base, user_data_128: 9n }, { ...base, user_data_64: 9n },
        { ...base, user_data_32: 9 }, { ...base, ledger: L + 1 }, { ...base, code: 9 },
      ]);
      expect(resend.map((r) => r.status)).toEqual([A.exists, A.exists_with_different_flags, A.exists_with_different_user_data_128,
        A.exists_with_different_user_data_64, A.exists_with_different_user_data_32, A.exists_with_different_ledger, A.exists_with_different_code]);
      const [stored] = await ledger.lookupAccounts([id]);
      expect(resend[0]!.timestamp).toBe(stored!.timestamp);
    });

    it('rejects invalid accounts in the documented precedence', async () => {
      const bad = (fields: Partial<Account>): Account => account({ id: next(), ledger: L, code: 1, ...fields });
      const results = await ledger.createAccounts([
        bad({ id: 0n }), bad({ id: u128_max }), bad({ timestamp: 1n }), bad({ flags: 1 << 10 }), bad({ reserved: 1 }),
        bad({ flags: AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits }),
        bad({ debits_pending: 1n }), bad({ debits_posted: 1n }), bad({ credits_pending: 1n }), bad({ credits_posted: 1n }),
        bad({ ledger: 0 }), bad({ code: 0 }), bad({ id: 0n, timestamp: 1n }),
      ]);
      expect(results.map((r) => r.status)).toEqual([A.id_must_not_be_zero, A.id_must_not_be_int_max, A.timestamp_must_be_zero,
        A.reserved_flag, A.reserved_field, A.flags_are_mutually_exclusive, A.debits_pending_must_be_zero, A.debits_posted_must_be_zero,
        A.credits_pending_must_be_zero, A.credits_posted_must_be_zero, A.ledger_must_not_be_zero, A.code_must_not_be_zero,
        A.timestamp_must_be_zero]);
    });

    it('creates linked accounts all or nothing and refuses an open chain', async () => {
      const [a, b, c] = [next(), next(), next()];
      const results = await ledger.createAccounts([
        account({ id: a, ledger: L, code: 1, flags: AccountFlags.linked }),
        account({ id: b, ledger: 0, code: 1, flags: AccountFlags.linked }),
        account({ id: c, ledger: L, code: 1 }),
        account({ id: next(), ledger: L, code: 1, flags: AccountFlags.linked }),
      ]);
      expect(results.map((r) => r.status)).toEqual([A.linked_event_failed, A.ledger_must_not_be_zero, A.linked_event_failed, A.linked_event_chain_open]);
      expect(await ledger.lookupAccounts([a, b, c])).toEqual([]);
    });

    it('gives every event a unique, strictly increasing timestamp shared by accounts and transfers', async () => {
      const [a, b] = await accounts(2);
      const results = await ledger.createTransfers([
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1 }),
        transfer({ id: 0n, debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1 }),
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1 }),
      ]);
      const [accountA] = await ledger.lookupAccounts([b!]);
      const stamps = [accountA!.timestamp, ...results.map((r) => r.timestamp)];
      for (let i = 1; i < stamps.length; i += 1) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
    });

    it('rejects invalid transfers with each documented status', async () => {
      const [a, b] = await accounts(2);
      const [other] = await accounts(1, { ledger: L + 1 });
      const ok = { debit_account_id: a!, credit_account_id: b!, amount: 1n };
      const cases: Array<[Partial<Transfer>, T]> = [
        [{ ...ok, id: 0n }, T.id_must_not_be_zero], [{ ...ok, id: u128_max }, T.id_must_not_be_int_max],
        [{ ...ok, timestamp: 5n }, T.timestamp_must_be_zero], [{ ...ok, flags: 1 << 12 }, T.reserved_flag],
        [{ ...ok, flags: F.pending | F.post_pending_transfer }, T.flags_are_mutually_exclusive],
        [{ ...ok, flags: F.post_pending_transfer | F.void_pending_transfer }, T.flags_are_mutually_exclusive],
        [{ ...ok, flags: F.balancing_debit | F.void_pending_transfer }, T.flags_are_mutually_exclusive],
        [{ ...ok, debit_account_id: 0n }, T.debit_account_id_must_not_be_zero], [{ ...ok, debit_account_id: u128_max }, T.debit_account_id_must_not_be_int_max],
        [{ ...ok, credit_account_id: 0n }, T.credit_account_id_must_not_be_zero], [{ ...ok, credit_account_id: u128_max }, T.credit_account_id_must_not_be_int_max],
        [{ ...ok, credit_account_id: a! }, T.accounts_must_be_different], [{ ...ok, pending_id: 3n }, T.pending_id_must_be_zero],
        [{ ...ok, timeout: 1 }, T.timeout_reserved_for_pending_transfer], [{ ...ok, flags: F.closing_debit }, T.closing_transfer_must_be_pending],
        [{ ...ok, ledger: 0 }, T.ledger_must_not_be_zero], [{ ...ok, code: 0 }, T.code_must_not_be_zero],
        [{ ...ok, debit_account_id: next() }, T.debit_account_not_found], [{ ...ok, credit_account_id: next() }, T.credit_account_not_found],
        [{ ...ok, credit_account_id: other! }, T.accounts_must_have_the_same_ledger], [{ ...ok, ledger: L + 1 }, T.transfer_must_have_the_same_ledger_as_accounts],
      ];
      for (const [fields, status] of cases) expect([fields, await one(fields)]).toEqual([fields, status]);
      expect(await balances(a!)).toEqual([0n, 0n, 0n, 0n]);
    });

    it('rejects invalid post/void references and imported timestamps with their statuses', async () => {
      const [a, b] = await accounts(2);
      const holdId = next();
      expect((await ledger.createTransfers([transfer({ id: holdId, debit_account_id: a!, credit_account_id: b!, amount: 5n, ledger: L, code: 1, flags: F.pending })]))[0]!.status).toBe(T.created);
      const selfId = next();
      const results = await ledger.createTransfers([
        transfer({ id: selfId, pending_id: selfId, flags: F.void_pending_transfer }),
        transfer({ id: next(), pending_id: u128_max, flags: F.void_pending_transfer }),
        transfer({ id: next(), pending_id: holdId, timeout: 5, flags: F.void_pending_transfer }),
        transfer({ id: next(), pending_id: holdId, credit_account_id: a!, flags: F.void_pending_transfer }),
      ]);
      expect(results.map((r) => r.status)).toEqual([T.pending_id_must_be_different, T.pending_id_must_not_be_int_max,
        T.timeout_reserved_for_pending_transfer, T.pending_transfer_has_different_credit_account_id]);
      const imported = (timestamp: bigint): Transfer => transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1, flags: F.imported, timestamp });
      expect((await ledger.createTransfers([imported(1n << 63n)]))[0]!.status).toBe(T.imported_event_timestamp_out_of_range);
      expect((await ledger.createTransfers([imported(BigInt(Date.now() + 3_600_000) * 1_000_000n)]))[0]!.status).toBe(T.imported_event_timestamp_must_not_advance);
    });

    it('names the first differing field of a resent pending transfer', async () => {
      const [a, b] = await accounts(2);
      const base = transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 4n, ledger: L, code: 1, flags: F.pending, timeout: 3600 });
      expect((await ledger.createTransfers([base]))[0]!.status).toBe(T.created);
      const results = await ledger.createTransfers([base, { ...base, timeout: 7200 }, { ...base, pending_id: 9n }, { ...base, ledger: L + 1 }]);
      expect(results.map((r) => r.status)).toEqual([T.exists, T.exists_with_different_timeout, T.exists_with_different_pending_id, T.exists_with_different_ledger]);
    });

    it('answers a resent transfer with exists and a changed one with exists_with_different_*', async () => {
      const [a, b, c] = await accounts(3);
      const base = transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 10n, ledger: L, code: 1,
        user_data_128: 1n, user_data_64: 2n, user_data_32: 3 });
      const [first] = await ledger.createTransfers([base]);
      expect(first!.status).toBe(T.created);
      const results = await ledger.createTransfers([
        base, { ...base, flags: F.pending }, { ...base, debit_account_id: c! }, { ...base, credit_account_id: c! }, { ...base, amount: 11n },
        { ...base, user_data_128: 9n }, { ...base, user_data_64: 9n }, { ...base, user_data_32: 9 }, { ...base, code: 2 },
      ]);
      expect(results.map((r) => r.status)).toEqual([T.exists, T.exists_with_different_flags, T.exists_with_different_debit_account_id,
        T.exists_with_different_credit_account_id, T.exists_with_different_amount, T.exists_with_different_user_data_128,
        T.exists_with_different_user_data_64, T.exists_with_different_user_data_32, T.exists_with_different_code]);
      expect(results[0]!.timestamp).toBe(first!.timestamp);
      expect(await balances(a!)).toEqual([0n, 10n, 0n, 0n]);
    });

    it('enforces limit flags and burns the id of a transfer that failed on one (id_already_failed)', async () => {
      const [funded] = await accounts(1, { flags: AccountFlags.debits_must_not_exceed_credits });
      const [capped] = await accounts(1, { flags: AccountFlags.credits_must_not_exceed_debits });
      const [plain] = await accounts(1);
      expect(await one({ debit_account_id: plain!, credit_account_id: funded!, amount: 100n })).toBe(T.created);
      const over = transfer({ id: next(), debit_account_id: funded!, credit_account_id: plain!, amount: 101n, ledger: L, code: 1 });
      expect((await ledger.createTransfers([over]))[0]!.status).toBe(T.exceeds_credits);
      expect((await ledger.createTransfers([{ ...over, amount: 100n }]))[0]!.status).toBe(T.id_already_failed);
      expect(await one({ debit_account_id: funded!, credit_account_id: plain!, amount: 100n })).toBe(T.created);
      expect(await one({ debit_account_id: plain!, credit_account_id: capped!, amount: 1n })).toBe(T.exceeds_debits);
      expect(await one({ debit_account_id: capped!, credit_account_id: plain!, amount: 5n })).toBe(T.created);
      expect(await one({ debit_account_id: plain!, credit_account_id: capped!, amount: 5n })).toBe(T.created);
      expect(await balances(funded!)).toEqual([0n, 100n, 0n, 100n]);
    });

    it('applies a linked chain all or nothing', async () => {
      const [a, b, c] = await accounts(3);
      const chain = [
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 5n, ledger: L, code: 1, flags: F.linked }),
        transfer({ id: next(), debit_account_id: b!, credit_account_id: c!, amount: 3n, ledger: L, code: 1, flags: F.linked }),
        transfer({ id: next(), debit_account_id: c!, credit_account_id: c!, amount: 1n, ledger: L, code: 1 }),
        transfer({ id: next(), debit_account_id: a!, credit_account_id: c!, amount: 2n, ledger: L, code: 1 }),
      ];
      const results = await ledger.createTransfers(chain);
      expect(results.map((r) => r.status)).toEqual([T.linked_event_failed, T.linked_event_failed, T.accounts_must_be_different, T.created]);
      expect(await balances(a!)).toEqual([0n, 2n, 0n, 0n]);
      expect(await balances(b!)).toEqual([0n, 0n, 0n, 0n]);
      expect(await ledger.lookupTransfers([chain[0]!.id, chain[1]!.id])).toEqual([]);
      const open = await ledger.createTransfers([{ ...chain[3]!, id: next(), flags: F.linked }]);
      expect(open[0]!.status).toBe(T.linked_event_chain_open);
      const ok = await ledger.createTransfers([chain[0]!, { ...chain[1]!, flags: 0 }]);
      expect(ok.map((r) => r.status)).toEqual([T.created, T.created]);
      expect(await balances(b!)).toEqual([0n, 3n, 0n, 5n]);
      // `exists` is not `created`: a resent chain fails as a chain, and moves nothing twice.
      const again = await ledger.createTransfers([chain[0]!, { ...chain[1]!, flags: 0 }]);
      expect(again.map((r) => r.status)).toEqual([T.exists, T.linked_event_failed]);
      expect(await balances(b!)).toEqual([0n, 3n, 0n, 5n]);
    });

    it('two-phase: posts in full, posts in part, voids, and refuses a second resolution', async () => {
      const [a, b] = await accounts(2);
      const hold = async (amount: bigint): Promise<bigint> => {
        const id = next();
        expect((await ledger.createTransfers([transfer({ id, debit_account_id: a!, credit_account_id: b!, amount, ledger: L, code: 1, flags: F.pending })]))[0]!.status).toBe(T.created);
        return id;
      };
      const [h1, h2, h3] = [await hold(100n), await hold(100n), await hold(100n)];
      expect(await balances(a!)).toEqual([300n, 0n, 0n, 0n]);
      expect(await one({ pending_id: h1, amount: u128_max, ledger: 0, code: 0, flags: F.post_pending_transfer })).toBe(T.created);
      expect(await one({ pending_id: h2, amount: 101n, flags: F.post_pending_transfer })).toBe(T.exceeds_pending_transfer_amount);
      expect(await one({ pending_id: h2, amount: 60n, flags: F.post_pending_transfer })).toBe(T.created);
      expect(await one({ pending_id: h3, amount: 7n, flags: F.void_pending_transfer })).toBe(T.pending_transfer_has_different_amount);
      expect(await one({ pending_id: h3, debit_account_id: b!, flags: F.void_pending_transfer })).toBe(T.pending_transfer_has_different_debit_account_id);
      expect(await one({ pending_id: h3, code: 2, flags: F.void_pending_transfer })).toBe(T.pending_transfer_has_different_code);
      expect(await one({ pending_id: h3, ledger: L + 1, flags: F.void_pending_transfer })).toBe(T.pending_transfer_has_different_ledger);
      expect(await one({ pending_id: h3, flags: F.void_pending_transfer })).toBe(T.created);
      expect(await balances(a!)).toEqual([0n, 160n, 0n, 0n]);
      expect(await balances(b!)).toEqual([0n, 0n, 0n, 160n]);
      expect(await one({ pending_id: h1, flags: F.void_pending_transfer })).toBe(T.pending_transfer_already_posted);
      expect(await one({ pending_id: h3, amount: 1n, flags: F.post_pending_transfer })).toBe(T.pending_transfer_already_voided);
      expect(await one({ pending_id: next(), flags: F.void_pending_transfer })).toBe(T.pending_transfer_not_found);
      expect(await one({ pending_id: 0n, flags: F.void_pending_transfer })).toBe(T.pending_id_must_not_be_zero);
      const single = next();
      await ledger.createTransfers([transfer({ id: single, debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1 })]);
      expect(await one({ pending_id: single, flags: F.void_pending_transfer })).toBe(T.pending_transfer_not_pending);
      const [posted] = await ledger.lookupTransfers([h2]);
      expect(posted!.amount).toBe(100n);
    });

    it('resolves a post against its stored form: zero fields inherit, so a resend is exists', async () => {
      const [a, b] = await accounts(2);
      const holdId = next();
      await ledger.createTransfers([transfer({ id: holdId, debit_account_id: a!, credit_account_id: b!, amount: 50n, ledger: L, code: 3, user_data_128: 77n, flags: F.pending })]);
      const post = transfer({ id: next(), pending_id: holdId, amount: 20n, flags: F.post_pending_transfer });
      expect((await ledger.createTransfers([post]))[0]!.status).toBe(T.created);
      expect((await ledger.createTransfers([post]))[0]!.status).toBe(T.exists);
      expect((await ledger.createTransfers([{ ...post, amount: 21n }]))[0]!.status).toBe(T.exists_with_different_amount);
      const [stored] = await ledger.lookupTransfers([post.id]);
      expect(stored).toMatchObject({ debit_account_id: a!, credit_account_id: b!, amount: 20n, ledger: L, code: 3, user_data_128: 77n });
      // A zero must match what the pending transfer had; an explicit value must match what was stored.
      const tagged = transfer({ id: next(), pending_id: holdId, amount: 5n, user_data_128: 88n, flags: F.void_pending_transfer });
      expect((await ledger.createTransfers([tagged]))[0]!.status).toBe(T.pending_transfer_has_different_amount);
      const holdTwo = next();
      await ledger.createTransfers([transfer({ id: holdTwo, debit_account_id: a!, credit_account_id: b!, amount: 9n, ledger: L, code: 3, user_data_128: 77n, flags: F.pending })]);
      const voidTagged = transfer({ id: next(), pending_id: holdTwo, user_data_128: 88n, flags: F.void_pending_transfer });
      expect((await ledger.createTransfers([voidTagged]))[0]!.status).toBe(T.created);
      const resent = await ledger.createTransfers([{ ...voidTagged, user_data_128: 0n }, { ...voidTagged, amount: 9n }, { ...voidTagged, amount: 10n }]);
      expect(resent.map((r) => r.status)).toEqual([T.exists_with_different_user_data_128, T.exists, T.exists_with_different_amount]);
    });

    it('expires a pending transfer on time and refuses to post it afterwards', async () => {
      const [a, b] = await accounts(2);
      const holdId = next();
      const created = await ledger.createTransfers([transfer({ id: holdId, debit_account_id: a!, credit_account_id: b!, amount: 9n, ledger: L, code: 1, flags: F.pending, timeout: 1 })]);
      expect(created[0]!.status).toBe(T.created);
      expect(await balances(a!)).toEqual([9n, 0n, 0n, 0n]);
      await new Promise((resolve) => setTimeout(resolve, expiry_wait_ms));
      expect(await balances(a!)).toEqual([0n, 0n, 0n, 0n]);
      expect(await one({ pending_id: holdId, amount: u128_max, flags: F.post_pending_transfer })).toBe(T.pending_transfer_expired);
    });

    it('balancing transfers move at most the available balance; a retry allowing that much is exists', async () => {
      const [a, b] = await accounts(2);
      expect(await one({ debit_account_id: b!, credit_account_id: a!, amount: 30n })).toBe(T.created);
      const sweep = transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 100n, ledger: L, code: 1, flags: F.balancing_debit });
      expect((await ledger.createTransfers([sweep]))[0]!.status).toBe(T.created);
      expect((await ledger.lookupTransfers([sweep.id]))[0]!.amount).toBe(30n);
      expect((await ledger.createTransfers([{ ...sweep, amount: 40n }]))[0]!.status).toBe(T.exists);
      expect((await ledger.createTransfers([{ ...sweep, amount: 29n }]))[0]!.status).toBe(T.exists_with_different_amount);
      expect(await balances(a!)).toEqual([0n, 30n, 0n, 30n]);
      const credit = transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 100n, ledger: L, code: 1, flags: F.balancing_credit });
      expect((await ledger.createTransfers([credit]))[0]!.status).toBe(T.created);
      expect((await ledger.lookupTransfers([credit.id]))[0]!.amount).toBe(0n);
    });

    it('closing transfers close an account until they are voided', async () => {
      const [a, b] = await accounts(2);
      const closeId = next();
      expect((await ledger.createTransfers([transfer({ id: closeId, debit_account_id: a!, credit_account_id: b!, amount: 0n, ledger: L, code: 1, flags: F.pending | F.closing_debit })]))[0]!.status).toBe(T.created);
      expect(((await ledger.lookupAccounts([a!]))[0]!.flags & AccountFlags.closed) !== 0).toBe(true);
      expect(await one({ debit_account_id: a!, credit_account_id: b!, amount: 1n })).toBe(T.debit_account_already_closed);
      expect(await one({ debit_account_id: b!, credit_account_id: a!, amount: 1n })).toBe(T.credit_account_already_closed);
      // The only movement a closed account allows is a void: even the closing transfer cannot be posted.
      expect(await one({ pending_id: closeId, amount: u128_max, flags: F.post_pending_transfer })).toBe(T.debit_account_already_closed);
      expect(await one({ pending_id: closeId, flags: F.void_pending_transfer })).toBe(T.created);
      expect(((await ledger.lookupAccounts([a!]))[0]!.flags & AccountFlags.closed)).toBe(0);
      expect(await one({ debit_account_id: a!, credit_account_id: b!, amount: 1n })).toBe(T.created);
    });

    it('detects overflow of u128 balances', async () => {
      const [a, b] = await accounts(2);
      expect(await one({ debit_account_id: a!, credit_account_id: b!, amount: u128_max })).toBe(T.created);
      expect(await one({ debit_account_id: a!, credit_account_id: b!, amount: 1n })).toBe(T.overflows_debits_posted);
      expect(await one({ debit_account_id: b!, credit_account_id: a!, amount: 1n })).toBe(T.created);
    });

    it('keeps history balances for history accounts only', async () => {
      const [h] = await accounts(1, { flags: AccountFlags.history });
      const [p] = await accounts(1);
      for (const amount of [5n, 7n]) expect(await one({ debit_account_id: h!, credit_account_id: p!, amount })).toBe(T.created);
      expect(await one({ debit_account_id: p!, credit_account_id: h!, amount: 2n, flags: F.pending })).toBe(T.created);
      const history = await ledger.getAccountBalances(accountFilter({ account_id: h! }));
      expect(history.map((b) => [b.debits_posted, b.credits_pending])).toEqual([[5n, 0n], [12n, 0n], [12n, 2n]]);
      const reversed = await ledger.getAccountBalances(accountFilter({ account_id: h!, limit: 1, flags: AccountFilterFlags.debits | AccountFilterFlags.credits | AccountFilterFlags.reversed }));
      expect(reversed.map((b) => b.credits_pending)).toEqual([2n]);
      expect(await ledger.getAccountBalances(accountFilter({ account_id: p! }))).toEqual([]);
    });

    it('filters account transfers and queries by the documented fields', async () => {
      const [a, b, c] = await accounts(3, { user_data_32: 4242 });
      const ids = [next(), next(), next()];
      await ledger.createTransfers([
        transfer({ id: ids[0]!, debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 11, user_data_128: 555n }),
        transfer({ id: ids[1]!, debit_account_id: b!, credit_account_id: a!, amount: 2n, ledger: L, code: 12, user_data_64: 666n }),
        transfer({ id: ids[2]!, debit_account_id: a!, credit_account_id: c!, amount: 3n, ledger: L, code: 11, user_data_128: 555n }),
      ]);
      const of = async (flags: number, extra: object = {}): Promise<bigint[]> =>
        (await ledger.getAccountTransfers(accountFilter({ account_id: a!, flags, ...extra }))).map((t) => t.id);
      expect(await of(AccountFilterFlags.debits)).toEqual([ids[0], ids[2]]);
      expect(await of(AccountFilterFlags.credits)).toEqual([ids[1]]);
      expect(await of(AccountFilterFlags.debits | AccountFilterFlags.credits | AccountFilterFlags.reversed)).toEqual([ids[2], ids[1], ids[0]]);
      expect(await of(AccountFilterFlags.debits | AccountFilterFlags.credits, { limit: 2 })).toEqual([ids[0], ids[1]]);
      expect(await of(AccountFilterFlags.debits | AccountFilterFlags.credits, { code: 12 })).toEqual([ids[1]]);
      expect(await of(AccountFilterFlags.none)).toEqual([]);
      expect(await of(AccountFilterFlags.debits, { limit: 0 })).toEqual([]);
      const [t2] = await ledger.lookupTransfers([ids[1]!]);
      expect(await of(AccountFilterFlags.debits | AccountFilterFlags.credits, { timestamp_min: t2!.timestamp })).toEqual([ids[1], ids[2]]);
      expect((await ledger.queryTransfers(queryFilter({ ledger: L, user_data_128: 555n }))).map((t) => t.id)).toEqual([ids[0], ids[2]]);
      expect((await ledger.queryTransfers(queryFilter({ user_data_64: 666n, ledger: L, flags: QueryFilterFlags.reversed }))).map((t) => t.id)).toEqual([ids[1]]);
      expect((await ledger.queryAccounts(queryFilter({ ledger: L, user_data_32: 4242 }))).map((x) => x.id)).toEqual([a, b, c]);
      expect(await ledger.lookupTransfers([ids[2]!, next(), ids[0]!])).toMatchObject([{ id: ids[2] }, { id: ids[0] }]);
    });

    it('imports past events with their own timestamps, never mixed with live events', async () => {
      const [a, b] = await accounts(2);
      const [live] = await ledger.lookupAccounts([b!]);
      const mixed = await ledger.createTransfers([
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1 }),
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1, flags: F.imported, timestamp: live!.timestamp + 1n }),
      ]);
      expect(mixed.map((r) => r.status)).toEqual([T.created, T.imported_event_not_expected]);
      const regress = await ledger.createTransfers([
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1, flags: F.imported, timestamp: live!.timestamp + 1n }),
        transfer({ id: next(), debit_account_id: a!, credit_account_id: b!, amount: 1n, ledger: L, code: 1 }),
      ]);
      expect(regress.map((r) => r.status)).toEqual([T.imported_event_timestamp_must_not_regress, T.imported_event_expected]);
    });
  });
}
