/**
 * gateway/http: the HTTPS API (mutual TLS, signed captures, idempotency, limits, OpenAPI 3.1,
 * /metrics) and the terminal-side client the tests, the demo and the benchmark share.
 *
 * @example
 *   const app = createGatewayApp({ pipeline, registry, hsm, pki, stores, adminKey, logger });
 *   const server = await startGatewayServer({ app, pki, host: '127.0.0.1', port: 8443 });
 */
export { createGatewayApp, ADMIN_PATH_PREFIXES, OPENAPI_INFO, type GatewayAppOptions } from './app.js';
export { startGatewayServer, type GatewayServer } from './server.js';
export { ADMIN_KEY_HEADER, admin_key_chars_min, type GatewayEnv } from './auth.js';
export { IDEMPOTENCY_HEADER, isDefinitive } from './idempotent.js';
export { limits_default, RateLimiter, type GatewayLimits, type BucketRule } from './limits.js';
export { createGatewayMetrics, registerLinkGauges, MetricsRegistry, Counter, Gauge, Histogram, type GatewayMetrics, type GaugeSample } from './metrics.js';
export { signature_window_ms_default } from './signature.js';
export { SIGNATURE_HEADERS, signingString, captureDigest, bodyDigest, canonicalJson, signing_scheme } from './canonical.js';
export {
  AdminClient, TerminalClient, HttpsJsonClient, generateSensorKey, signCapture, captureJson,
  type TerminalCredentials, type SensorKey, type ApiResponse, type CallOptions, type MerchantJson, type TerminalJson,
} from './terminal-client.js';
