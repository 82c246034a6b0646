/**
 * Runs the shared ledger contract against a real TigerBeetle cluster when TB_ADDRESS is set
 * (TB_CLUSTER_ID optional). It formats nothing: the contract works in a fresh random id range.
 * Without TB_ADDRESS the suite is skipped and says so.
 */
import { describe, it } from 'vitest';
import { loadConfig } from '../core/index.js';
import { describeLedgerContract } from './contract.case.js';
import { TigerBeetleLedger } from './tigerbeetle.js';

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
