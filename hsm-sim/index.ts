/**
 * hsm-sim: a payment HSM simulator in its own process, and its typed client. Other modules
 * import only this file. Keys never leave the HSM in clear: callers name keys by id and get
 * back MACs, cryptograms, ciphertexts, key blocks under a ZMK, KCVs and verdicts.
 * See hsm-sim/README.md for the protocol, the error table and client examples.
 */
export { HsmClient, CLIENT_CONNECTIONS_MAX, CLIENT_QUEUE_MAX, type HsmPort, type HsmClientOptions, type KeySpec, type CryptogramRequest, type HsmDiagnostics } from './client.js';
export { HsmError, HSM_ERRORS, type HsmErrorCode, type HsmClientErrorCode } from './errors.js';
export type { KeyInfo } from './keystore.js';
export { KEY_USAGES, KEY_ALGORITHMS, MODES_OF_USE, EXPORTABILITY, type KeyUsage, type KeyAlgorithm, type ModeOfUse, type Exportability } from './usages.js';
export { startHsmServer, type HsmServer, type HsmServerOptions } from './server.js';
export { spawnHsmProcess, type SpawnedHsm } from './spawn.js';
export { COMMANDS, FRAME_SIZE_BYTES_MAX } from './protocol.js';
