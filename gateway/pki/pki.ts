/**
 * The development PKI: created at first start under `<dataDir>/pki/`, reused afterwards.
 * A CA (ECDSA P-256), the gateway's server certificate for 127.0.0.1/localhost, and a
 * short-lived client certificate per terminal (CN = terminal id) issued at registration, its
 * serial recorded in the store; revocation is a list of serials in the store.
 *
 * The CA's private key sits in a 0600 file in a 0700 directory. That is for development only:
 * in production the CA key lives in an HSM (or an offline CA) and never in a file on the
 * gateway host — `issueTerminalCertificate` is the one place that would call it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, webcrypto } from 'node:crypto';
import path from 'node:path';
import { assert } from '../../core/index.js';
import type { CertificateRecords } from '../store/registry.js';
import { GatewayError } from '../errors.js';

/** Validity of the CA and of the server certificate. */
export const ca_validity_ms = 10 * 365 * 86_400_000;
export const server_validity_ms = 365 * 86_400_000;
/** A server certificate closer than this to expiry is re-issued at start. */
export const server_renew_before_ms = 30 * 86_400_000;
/** Default validity of a terminal certificate: short, so a lost terminal's certificate dies soon. */
export const terminal_validity_ms_default = 30 * 86_400_000;
export const terminal_validity_ms_max = 397 * 86_400_000;
/** Clock skew tolerated at the start of a certificate's validity. */
export const not_before_skew_ms = 5 * 60_000;

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const FILES = { caKey: 'ca.key.pem', caCert: 'ca.cert.pem', serverKey: 'server.key.pem', serverCert: 'server.cert.pem' } as const;

export interface IssuedCertificate {
  readonly certificatePem: string;
  /** Null when the terminal sent a signing request: its private key never left the terminal. */
  readonly privateKeyPem: string | null;
  /** Lowercase hex without leading zeros (as the registry keeps it). */
  readonly serial: string;
  readonly notAfter_ms: number;
}

export interface PkiOptions {
  readonly dataDir: string;
  readonly records: CertificateRecords;
  /** Extra names for the server certificate besides 127.0.0.1, ::1 and localhost. */
  readonly serverNames?: readonly string[];
  readonly terminalValidity_ms?: number;
  readonly now?: () => number;
}

/** A positive serial of 128 random bits whose first hex digit is never 0 (so every printer agrees on it). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x6f) | 0x10;
  return bytes.toString('hex');
}

function pemOfKey(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  assert(der !== undefined, 'a private key PEM holds one key');
  return await crypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export class DevPki {
  private constructor(
    private readonly options: PkiOptions,
    private readonly caKey: CryptoKey,
    readonly caCertificate: x509.X509Certificate,
    readonly serverCertificatePem: string,
    readonly serverKeyPem: string,
  ) {}

  /** Opens the PKI under `<dataDir>/pki`, creating the CA and the server certificate when missing. */
  static async open(options: PkiOptions): Promise<DevPki> {
    const dir = path.join(options.dataDir, 'pki');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const now = options.now?.() ?? Date.now();
    const file = (name: string): string => path.join(dir, name);
    if (!existsSync(file(FILES.caKey)) || !existsSync(file(FILES.caCert))) await createCa(dir, now);
    const caKey = await importPrivateKey(readFileSync(file(FILES.caKey), 'utf8'));
    const caCertificate = new x509.X509Certificate(readFileSync(file(FILES.caCert), 'utf8'));
    if (!existsSync(file(FILES.serverCert)) || serverNeedsRenewal(readFileSync(file(FILES.serverCert), 'utf8'), now, options.serverNames ?? [])) {
      await createServerCertificate(dir, caKey, caCertificate, now, options.serverNames ?? []);
    }
    return new DevPki(options, caKey, caCertificate, readFileSync(file(FILES.serverCert), 'utf8'), readFileSync(file(FILES.serverKey), 'utf8'));
  }

  get caPem(): string { return this.caCertificate.toString('pem'); }

  /**
   * A client certificate for a terminal: CN = terminal id, clientAuth only, short validity.
   * The serial is recorded before the certificate is returned, so every certificate in the
   * wild is on record (and can be revoked by serial).
   */
  async issueTerminalCertificate(terminalId: string, options: { validity_ms?: number; notBefore_ms?: number; certificateRequestPem?: string } = {}): Promise<IssuedCertificate> {
    assert(/^[\x21-\x7e]{1,64}$/.test(terminalId) && !/[,=+<>#;"\\]/.test(terminalId), 'terminal id is printable and needs no DN escaping');
    const validity_ms = options.validity_ms ?? this.options.terminalValidity_ms ?? terminal_validity_ms_default;
    assert(validity_ms > 0 && validity_ms <= terminal_validity_ms_max, 'terminal certificate validity within bounds');
    const notBefore_ms = options.notBefore_ms ?? (this.options.now?.() ?? Date.now()) - not_before_skew_ms;
    const requested = options.certificateRequestPem === undefined ? undefined : await publicKeyOfRequest(options.certificateRequestPem);
    const keys = requested === undefined ? await generateKeys() : undefined;
    const serial = newSerial();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial, subject: `CN=${terminalId}, O=palmswitch terminals`, issuer: this.caCertificate.subject,
      notBefore: new Date(notBefore_ms), notAfter: new Date(notBefore_ms + validity_ms), signingAlgorithm: EC,
      publicKey: requested ?? keys!.publicKey, signingKey: this.caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCertificate, false, crypto),
      ],
    }, crypto);
    const notAfter_ms = certificate.notAfter.getTime();
    this.options.records.recordIssued({ serial, subject: terminalId, notAfter_ms, issued_ms: this.options.now?.() ?? Date.now() });
    const privateKeyPem = keys === undefined ? null : pemOfKey(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    return { certificatePem: certificate.toString('pem'), privateKeyPem, serial, notAfter_ms };
  }

  revoke(serial: string, subject: string, reason: string): void {
    this.options.records.revoke({ serial, subject, revoked_ms: this.options.now?.() ?? Date.now(), reason });
  }

  isRevoked(serial: string): boolean {
    return this.options.records.isRevoked(serial);
  }
}

/** A PKCS#10 request is a few hundred bytes; anything far larger is not one. */
export const certificate_request_pem_chars_max = 4_096;

/**
 * The public key of a terminal's PKCS#10 signing request, after checking its self-signature
 * (the terminal holds the private key) and that the key is ECDSA P-256 like every other
 * key here. The request's subject is ignored: the CA names the terminal itself.
 */
async function publicKeyOfRequest(pem: string): Promise<CryptoKey> {
  if (pem.length > certificate_request_pem_chars_max) throw requestInvalid(`longer than ${certificate_request_pem_chars_max} characters`);
  const request = parseRequest(pem);
  const algorithm = request.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') throw requestInvalid('the key must be ECDSA P-256');
  let verified: boolean;
  try {
    verified = await request.verify(crypto);
  } catch (error) {
    throw requestInvalid('its signature cannot be checked', error);
  }
  if (!verified) throw requestInvalid('its signature does not match its key');
  return await crypto.subtle.importKey('spki', request.publicKey.rawData, EC, true, ['verify']);
}

function parseRequest(pem: string): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(pem);
  } catch (error) {
    throw requestInvalid('not a PEM PKCS#10 certificate request', error);
  }
}

function requestInvalid(why: string, cause?: unknown): GatewayError {
  return new GatewayError('request_invalid', `certificateRequestPem: ${why}`, cause === undefined ? undefined : { cause });
}

async function createCa(dir: string, now: number): Promise<void> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(), name: 'CN=palmswitch development CA, O=palmswitch', notBefore: new Date(now - not_before_skew_ms),
    notAfter: new Date(now + ca_validity_ms), signingAlgorithm: EC, keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    ],
  }, crypto);
  writeSecret(path.join(dir, FILES.caKey), pemOfKey(await crypto.subtle.exportKey('pkcs8', keys.privateKey)));
  writeFileSync(path.join(dir, FILES.caCert), certificate.toString('pem'));
}

function serverNames(extra: readonly string[]): { type: 'ip' | 'dns'; value: string }[] {
  const names = new Set(['127.0.0.1', '::1', 'localhost', ...extra]);
  return [...names].map((value) => ({ type: /^[\d.]+$|:/.test(value) ? 'ip' as const : 'dns' as const, value }));
}

function serverNeedsRenewal(pem: string, now: number, extra: readonly string[]): boolean {
  const certificate = new x509.X509Certificate(pem);
  if (certificate.notAfter.getTime() - now < server_renew_before_ms) return true;
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const present = new Set(san?.names.items.map((name) => name.value) ?? []);
  return serverNames(extra).some((name) => !present.has(name.value));
}

async function createServerCertificate(dir: string, caKey: CryptoKey, ca: x509.X509Certificate, now: number, extra: readonly string[]): Promise<void> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(), subject: 'CN=localhost, O=palmswitch gateway', issuer: ca.subject,
    notBefore: new Date(now - not_before_skew_ms), notAfter: new Date(now + server_validity_ms), signingAlgorithm: EC,
    publicKey: keys.publicKey, signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(serverNames(extra), false),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
    ],
  }, crypto);
  writeSecret(path.join(dir, FILES.serverKey), pemOfKey(await crypto.subtle.exportKey('pkcs8', keys.privateKey)));
  writeFileSync(path.join(dir, FILES.serverCert), certificate.toString('pem'));
}
