/**
 * gateway/pki: the development PKI (CA, server certificate, terminal client certificates,
 * revocation by serial). See pki.ts for why the CA key is a file here and an HSM in production.
 */
export {
  DevPki, ca_validity_ms, server_validity_ms, terminal_validity_ms_default, terminal_validity_ms_max, not_before_skew_ms,
  type IssuedCertificate, type PkiOptions,
} from './pki.js';
