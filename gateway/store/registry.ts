/**
 * The SQLite adapter of the merchant/terminal registry (`RegistryStore` in port.ts) and of the
 * PKI's certificate records: every terminal certificate issued (serial, terminal, expiry) and
 * the revocation list the mTLS check consults on every request. Revocation is a row, not a
 * file, so every gateway node sharing the store sees it at once.
 */
import { assert } from '../../core/index.js';
import { GatewayError } from '../errors.js';
import { ensureSchema, type GatewayDatabase } from './database.js';
import type { MerchantRecord, MerchantStatus, RegistryStore, TerminalRecord, TerminalStatus } from './port.js';

/** Largest page a list query returns. */
export const registry_list_rows_max = 1_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS merchants (id TEXT PRIMARY KEY, name TEXT NOT NULL, mcc TEXT NOT NULL, currency TEXT NOT NULL,
  status TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS terminals (id TEXT PRIMARY KEY, merchant_id TEXT NOT NULL REFERENCES merchants (id), status TEXT NOT NULL,
  certificate_serial TEXT NOT NULL, certificate_not_after_ms INTEGER NOT NULL, sensor_key_fingerprint TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS terminals_merchant ON terminals (merchant_id);
CREATE TABLE IF NOT EXISTS certificates_issued (serial TEXT PRIMARY KEY, subject TEXT NOT NULL, not_after_ms INTEGER NOT NULL, issued_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS certificates_revoked (serial TEXT PRIMARY KEY, subject TEXT NOT NULL, revoked_ms INTEGER NOT NULL, reason TEXT NOT NULL);
`;

/** What the PKI and the mTLS check need: issued serials and the revocation list (serials as lowercase hex). */
export interface CertificateRecords {
  recordIssued(record: { serial: string; subject: string; notAfter_ms: number; issued_ms: number }): void;
  revoke(record: { serial: string; subject: string; revoked_ms: number; reason: string }): void;
  isRevoked(serial: string): boolean;
  revokedSerials(limit: number): string[];
}

interface MerchantRow { id: string; name: string; mcc: string; currency: string; status: string; created_ms: number }
interface TerminalRow {
  id: string; merchant_id: string; status: string; certificate_serial: string; certificate_not_after_ms: number; sensor_key_fingerprint: string; created_ms: number;
}

const merchantOf = (row: MerchantRow): MerchantRecord => ({
  id: row.id, name: row.name, mcc: row.mcc, currency: row.currency, status: row.status === 'active' ? 'active' : 'suspended', created_ms: row.created_ms,
});

const terminalOf = (row: TerminalRow): TerminalRecord => ({
  id: row.id, merchantId: row.merchant_id, status: row.status as TerminalStatus, certificateSerial: row.certificate_serial,
  certificateNotAfter_ms: row.certificate_not_after_ms, sensorKeyFingerprint: row.sensor_key_fingerprint, created_ms: row.created_ms,
});

/** Serials compare as lowercase hex without leading zeros (Node prints them upper case, x509 with zeros). */
export function normaliseSerial(serial: string): string {
  const text = serial.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
  assert(/^[0-9a-f]{1,64}$/.test(text), 'certificate serial is hex');
  return text;
}

export class SqliteRegistry implements RegistryStore, CertificateRecords {
  private readonly statements;

  constructor(db: GatewayDatabase) {
    ensureSchema(db, SCHEMA);
    this.statements = {
      insertMerchant: db.prepare('INSERT INTO merchants (id, name, mcc, currency, status, created_ms) VALUES (@id, @name, @mcc, @currency, @status, @created_ms)'),
      merchant: db.prepare<[string], MerchantRow>('SELECT * FROM merchants WHERE id = ?'),
      merchants: db.prepare<[number], MerchantRow>('SELECT * FROM merchants ORDER BY created_ms, id LIMIT ?'),
      merchantStatus: db.prepare('UPDATE merchants SET status = ? WHERE id = ?'),
      insertTerminal: db.prepare(`INSERT INTO terminals (id, merchant_id, status, certificate_serial, certificate_not_after_ms, sensor_key_fingerprint, created_ms)
        VALUES (@id, @merchant_id, @status, @certificate_serial, @certificate_not_after_ms, @sensor_key_fingerprint, @created_ms)`),
      terminal: db.prepare<[string], TerminalRow>('SELECT * FROM terminals WHERE id = ?'),
      terminals: db.prepare<[number], TerminalRow>('SELECT * FROM terminals ORDER BY created_ms, id LIMIT ?'),
      terminalsOf: db.prepare<[string, number], TerminalRow>('SELECT * FROM terminals WHERE merchant_id = ? ORDER BY created_ms, id LIMIT ?'),
      terminalStatus: db.prepare('UPDATE terminals SET status = ? WHERE id = ?'),
      issued: db.prepare('INSERT INTO certificates_issued (serial, subject, not_after_ms, issued_ms) VALUES (?, ?, ?, ?)'),
      revoke: db.prepare('INSERT INTO certificates_revoked (serial, subject, revoked_ms, reason) VALUES (?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING'),
      revoked: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM certificates_revoked WHERE serial = ?'),
      revokedList: db.prepare<[number], { serial: string }>('SELECT serial FROM certificates_revoked ORDER BY revoked_ms LIMIT ?'),
    };
  }

  createMerchant(merchant: MerchantRecord): void {
    if (this.getMerchant(merchant.id)) throw new GatewayError('already_exists', `merchant ${merchant.id} exists`);
    this.statements.insertMerchant.run({ ...merchant });
  }

  getMerchant(id: string): MerchantRecord | undefined {
    const row = this.statements.merchant.get(id);
    return row ? merchantOf(row) : undefined;
  }

  listMerchants(limit: number): MerchantRecord[] {
    return this.statements.merchants.all(clampLimit(limit)).map(merchantOf);
  }

  setMerchantStatus(id: string, status: MerchantStatus): MerchantRecord {
    if (this.statements.merchantStatus.run(status, id).changes === 0) throw new GatewayError('merchant_not_found', `no merchant ${id}`);
    const merchant = this.getMerchant(id);
    assert(merchant?.status === status, 'merchant status written');
    return merchant;
  }

  createTerminal(terminal: TerminalRecord): void {
    if (!this.getMerchant(terminal.merchantId)) throw new GatewayError('merchant_not_found', `no merchant ${terminal.merchantId}`);
    if (this.getTerminal(terminal.id)) throw new GatewayError('already_exists', `terminal ${terminal.id} exists`);
    this.statements.insertTerminal.run({
      id: terminal.id, merchant_id: terminal.merchantId, status: terminal.status, certificate_serial: normaliseSerial(terminal.certificateSerial),
      certificate_not_after_ms: terminal.certificateNotAfter_ms, sensor_key_fingerprint: terminal.sensorKeyFingerprint, created_ms: terminal.created_ms,
    });
  }

  getTerminal(id: string): TerminalRecord | undefined {
    const row = this.statements.terminal.get(id);
    return row ? terminalOf(row) : undefined;
  }

  listTerminals(limit: number, merchantId?: string): TerminalRecord[] {
    const rows = merchantId === undefined ? this.statements.terminals.all(clampLimit(limit)) : this.statements.terminalsOf.all(merchantId, clampLimit(limit));
    return rows.map(terminalOf);
  }

  setTerminalStatus(id: string, status: TerminalStatus): TerminalRecord {
    const current = this.getTerminal(id);
    if (!current) throw new GatewayError('terminal_not_found', `no terminal ${id}`);
    // Revocation is final: a revoked terminal's certificate is on the list for good.
    if (current.status === 'revoked' && status !== 'revoked') throw new GatewayError('conflict', 'a revoked terminal cannot be reactivated');
    this.statements.terminalStatus.run(status, id);
    return { ...current, status };
  }

  recordIssued(record: { serial: string; subject: string; notAfter_ms: number; issued_ms: number }): void {
    this.statements.issued.run(normaliseSerial(record.serial), record.subject, record.notAfter_ms, record.issued_ms);
  }

  revoke(record: { serial: string; subject: string; revoked_ms: number; reason: string }): void {
    this.statements.revoke.run(normaliseSerial(record.serial), record.subject, record.revoked_ms, record.reason);
  }

  isRevoked(serial: string): boolean {
    return (this.statements.revoked.get(normaliseSerial(serial))?.n ?? 0) > 0;
  }

  revokedSerials(limit: number): string[] {
    return this.statements.revokedList.all(clampLimit(limit)).map((row) => row.serial);
  }
}

function clampLimit(limit: number): number {
  assert(Number.isInteger(limit) && limit >= 1, 'list limit is a positive integer');
  return Math.min(limit, registry_list_rows_max);
}

/** The registry on the gateway's database: what `openSwitch({ openRegistry })` takes. */
export function openRegistry(db: GatewayDatabase): SqliteRegistry {
  return new SqliteRegistry(db);
}
