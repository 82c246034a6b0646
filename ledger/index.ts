/**
 * ledger: the ledger port with TigerBeetle's data model, its two adapters (embedded, the
 * default, and tigerbeetle), the chart of accounts and money operations for acquiring palm
 * payments, and the settlement file format with reconciliation. Other modules import only this.
 */
export * from './types.js';
export { EmbeddedLedger, LedgerError, commit_events_max, queue_events_max, type EmbeddedOptions } from './embedded.js';
export { TigerBeetleLedger, type TigerBeetleOptions } from './tigerbeetle.js';
export { openLedger, ledger_file_name } from './open.js';
