/**
 * gateway: the switch's front — the payment pipeline, the network links (client side of the
 * card networks), the state store, the token vault, reports, and the composition root that
 * opens them all from configuration. Other modules (cli, bench, test) import only this file.
 */
export * from './network/index.js';
export { GatewayError, GATEWAY_ERRORS, type GatewayErrorCode } from './errors.js';
export { KEY_IDS, NETWORK_NAMES, ensureSwitchKeys, type NetworkName } from './keys.js';
export { openSwitch, networkOfCard, dev_acquirer_id, dev_token_requestor_id, type Switch, type SwitchOptions } from './switch.js';
export { PalmPipeline, amount_minor_max, hold_lifetime_ms_default } from './pipeline/pipeline.js';
export type * from './pipeline/contract.js';
export { Reports, type SettlementSource } from './reports.js';
export { openGatewayDatabase, type GatewayDatabase } from './store/database.js';
export type * from './store/port.js';
export { startTestStack, startNetworkSims, spawnGateway, spawnGatewayProcess, issueCard, palmCapture, attackCapture, type TestStack, type SpawnedGateway } from './testing.js';
export { startGateway, adminKeyFor, type RunningGateway, type GatewayStartOptions } from './serve.js';
export { seedDemo, loadDemoWorld, demoFile, terminalCredentials, paymentFromJson, DemoTerminals, demo_seed, type DemoWorld, type DemoShopper, type DemoTerminal } from './demo.js';
export * from './http/index.js';
export { createDashboard, type TerminalSimulator, type DashboardDeps } from './dashboard/index.js';
export { preloadGallery, preload_identity_base, type PreloadResult } from './bench-support.js';
export {
  measureSearchTail, readCalibrationFile, importSearchTail, engineFingerprint, describeCrossCheck, calibration_identities_default, type SearchTailCalibration,
} from './calibration-import.js';
