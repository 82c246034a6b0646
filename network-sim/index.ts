/**
 * network-sim: a card network for development and tests, one process per dialect. An ISO
 * 8583 server over TCP with issuer accounts and realistic DE 39 answers, a token service
 * behind a JSON HTTP API, MAC and token cryptogram checks through hsm-sim, network
 * management, settlement files in the ledger's format, and fault injection.
 *
 * ```ts
 * const sim = await spawnNetworkSim({ spec: 'visa-like', dataDir });
 * await sim.api('POST', '/accounts', { pan, expiry: '2912', currency: 978, balance_minor: '100000', limit_minor: '50000' });
 * const token = await sim.api('POST', '/tokens', { pan, expiry: '2912', trid: '40000000001' });
 * ```
 */
export { startNetworkSim, type NetworkSim, type NetworkSimOptions } from './sim.js';
export { spawnNetworkSim, type SpawnedNetworkSim, type SpawnOptions } from './spawn.js';
export { NetworkSimError, type NetworkSimErrorCode } from './errors.js';
export { FaultSchema, NO_FAULTS, FAULT_DELAY_MS_MAX, type Faults } from './faults.js';
export { luhnDigit, type TokenView } from './tokens.js';
export { DiscrepancySchema, type Discrepancies, type InjectedDiscrepancy } from './settlement.js';
