/**
 * Runs the shared ledger contract against a real TigerBeetle cluster when TB_ADDRESS is set
 * (TB_CLUSTER_ID optional). It formats nothing: the contract works in a fresh random id range.
 * Without TB_ADDRESS the suite is skipped and says so.
 */
import * as client from 'tigerbeetle-node';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/index.js';
import { describeLedgerContract } from './contract.case.js';
import { TigerBeetleLedger } from './tigerbeetle.js';
import * as port from './types.js';

describe('ledger port and tigerbeetle-node 0.17.9', () => {
  it('takes its statuses, flags and limits from the pinned client, so the adapters cannot drift', () => {
    expect(port.u128_max).toBe(client.amount_max);
    expect(port.CreateTransferStatus).toBe(client.CreateTransferStatus);
    expect(port.CreateAccountStatus).toBe(client.CreateAccountStatus);
    expect(port.TransferFlags).toBe(client.TransferFlags);
    expect(port.AccountFlags).toBe(client.AccountFlags);
    expect(port.AccountFilterFlags).toBe(client.AccountFilterFlags);
    expect(port.QueryFilterFlags).toBe(client.QueryFilterFlags);
  });
});

const config = loadConfig();
const addresses = config.ledger.tigerbeetleAddresses;

if (addresses.length > 0) {
  describeLedgerContract(`tigerbeetle ${addresses.join(',')}`, () => Promise.resolve(new TigerBeetleLedger({
    cluster_id: config.ledger.tigerbeetleClusterId,
    replica_addresses: addresses,
  })));
} else {
  describe('ledger contract: tigerbeetle', () => {
    it.skip('skipped: set TB_ADDRESS (and TB_CLUSTER_ID) to run the contract against a TigerBeetle cluster', () => undefined);
  });
  process.stderr.write('ledger contract: tigerbeetle skipped (TB_ADDRESS is not set)\n');
}
