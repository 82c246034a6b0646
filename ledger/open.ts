/**
 * Chooses the adapter from configuration: TigerBeetle when replica addresses are configured
 * (TB_ADDRESS), otherwise the embedded file under the data directory. Reports open the
 * embedded file read-only, so they can run beside the process that writes it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/index.js';
import { EmbeddedLedger } from './embedded.js';
import { TigerBeetleLedger } from './tigerbeetle.js';
import type { Ledger } from './types.js';

export const ledger_file_name = 'ledger.sqlite';

export function openLedger(config: Pick<Config, 'dataDir' | 'ledger'>, options: { readonly?: boolean } = {}): Ledger {
  if (config.ledger.tigerbeetleAddresses.length > 0) {
    return new TigerBeetleLedger({
      cluster_id: config.ledger.tigerbeetleClusterId,
      replica_addresses: config.ledger.tigerbeetleAddresses,
    });
  }
  const file = path.join(config.dataDir, ledger_file_name);
  if (options.readonly === true) return new EmbeddedLedger({ file, readonly: true });
  mkdirSync(config.dataDir, { recursive: true });
  // A service's writer: checkpoints off its event loop.
  return new EmbeddedLedger({ file, checkpoints: 'worker' });
}
