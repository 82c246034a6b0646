/**
 * ledger: the ledger port with TigerBeetle's data model, its two adapters (embedded, the
 * default, and tigerbeetle), the chart of accounts and money operations for acquiring palm
 * payments, and the settlement file format with reconciliation. Other modules import only this.
 */
export * from './types.js';
export { EmbeddedLedger, LedgerError, commit_events_max, queue_events_max, type EmbeddedOptions } from './embedded.js';
export { account_index_fold_transfers } from './state_machine.js';
export { TigerBeetleLedger, type TigerBeetleOptions } from './tigerbeetle.js';
export { openLedger, ledger_file_name } from './open.js';
export {
  AccountKind, account_kind_names, accountId, chartAccount, chartAccounts, decodeOwner, encodeOwner, hashToU128, house_owner, ledgerOf,
  ChartError, type ChartSpec,
} from './chart.js';
export {
  TransferCode, LedgerOperationError, holdTransfers, captureTransfers, voidTransfers, reversalTransfers, refundTransfers,
  settlementTransfers, payoutTransfers, standInClearedTransfers, execute, ensureChart, operationId, encodeRrn, decodeRrn,
  encodeAuthCode, decodeAuthCode, hold_timeout_seconds_max, holdTimeoutSeconds,
  type HoldInput, type CaptureInput, type ReversalInput, type RefundInput, type SettlementInput,
} from './operations.js';
export {
  parseSettlementFile, writeSettlementFile, settlementTotals, SettlementFileError, settlement_format_tag, settlement_format_version,
  type SettlementFile, type SettlementTransaction, type SettlementTotals, type SettlementType, type SettlementProblem,
} from './settlement.js';
export { reconcile, reconReportJson, reconReportCsv, type ReconReport, type ReconLine, type ReconTotal, type ReconStatus } from './recon.js';
export { balanceSheet, type CurrencySheet, type BalanceRow } from './balances.js';
/** The embedded file's schema and row encoding, for the benchmark's bare better-sqlite3 ceiling. */
export { openDatabase as openLedgerDatabase, TRANSFERS_SCHEMA_SQL, INSERT_TRANSFER_SQL, TransferRowEncoder } from './storage.js';
