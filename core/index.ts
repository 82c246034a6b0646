/**
 * core: the few things every module shares — assertions, the typed error base, masking,
 * the redacting logger, typed configuration, ISO 4217 currencies, SQLite WAL durability for
 * services (group-commit sync, checkpoints on a worker thread) and the spawner that starts a
 * service as its own process. Depends on nothing of ours.
 */
export { assert, unreachable, AssertionError } from './assert.js';
export { PalmswitchError } from './errors.js';
export { maskPan, maskPansInText, maskTrack2, maskAll } from './mask.js';
export { createLogger, REDACTED_KEYS, type Logger } from './logger.js';
export { loadConfig, type Config } from './config.js';
export { service_environment, service_node_flags } from './node-flags.js';
export { spawnServiceProcess, type ServiceProcess, type ServiceProcessOptions } from './service-process.js';
export { WalSync, WalSyncError } from './wal-sync.js';
export { WalCheckpointer } from './wal-checkpointer.js';
export { seededRandom, type Random } from './random.js';
export { startTypeScriptWorker } from './ts-worker.js';
export { CURRENCIES, currencyByAlpha, currencyByNumeric, formatMoney, type Currency, type Money } from './currency.js';
