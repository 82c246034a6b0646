/**
 * The `tigerbeetle` adapter: the port over `tigerbeetle-node`, used whenever replica addresses
 * are configured. The client is pinned to one exact release because a cluster accepts only
 * clients of its own release or older (a newer client is evicted with
 * ERR_CLIENT_RELEASE_TOO_HIGH): upgrade the cluster first, then this pin.
 */
import { createClient, type Client } from 'tigerbeetle-node';
import { assert } from '../core/index.js';
import {
  batch_events_max,
  type Account, type AccountBalance, type AccountFilter, type CreateAccountResult, type CreateTransferResult,
  type Ledger, type QueryFilter, type Transfer,
} from './types.js';

export interface TigerBeetleOptions {
  cluster_id: bigint;
  /** Replica addresses, e.g. ["3000"] or ["127.0.0.1:3000", "127.0.0.1:3001"]. */
  replica_addresses: readonly string[];
}

export class TigerBeetleLedger implements Ledger {
  readonly adapter = 'tigerbeetle' as const;
  private readonly client: Client;

  constructor(options: TigerBeetleOptions) {
    assert(options.replica_addresses.length > 0, 'at least one replica address');
    this.client = createClient({ cluster_id: options.cluster_id, replica_addresses: [...options.replica_addresses] });
  }

  createAccounts(batch: readonly Account[]): Promise<CreateAccountResult[]> {
    assert(batch.length <= batch_events_max, `at most ${batch_events_max} events per request`);
    return this.client.createAccounts([...batch]);
  }

  createTransfers(batch: readonly Transfer[]): Promise<CreateTransferResult[]> {
    assert(batch.length <= batch_events_max, `at most ${batch_events_max} events per request`);
    return this.client.createTransfers([...batch]);
  }

  lookupAccounts(ids: readonly bigint[]): Promise<Account[]> { return this.client.lookupAccounts([...ids]); }
  lookupTransfers(ids: readonly bigint[]): Promise<Transfer[]> { return this.client.lookupTransfers([...ids]); }
  getAccountTransfers(filter: AccountFilter): Promise<Transfer[]> { return this.client.getAccountTransfers(filter); }
  getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]> { return this.client.getAccountBalances(filter); }
  queryAccounts(filter: QueryFilter): Promise<Account[]> { return this.client.queryAccounts(filter); }
  queryTransfers(filter: QueryFilter): Promise<Transfer[]> { return this.client.queryTransfers(filter); }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
