/**
 * The audit trail: one JSON line per key-management command and per refused misuse, in
 * `<hsm dir>/audit.log` (mode 0600). Entries name keys by id, usage and KCV, never by key
 * material. Written synchronously because key management is rare and an audit entry that
 * a crash lost is worse than a slow key import. The file rolls over at a bound.
 */
import { appendFileSync, existsSync, renameSync, statSync } from 'node:fs';

export const AUDIT_FILE_BYTES_MAX = 16 * 1024 * 1024;

export interface AuditEvent {
  readonly command: string;
  readonly outcome: string;
  readonly keyId?: string;
  readonly usage?: string;
  readonly kcv?: string;
  readonly terminalId?: string;
  readonly lmkVersion?: number;
  readonly peer?: string;
}

export class AuditTrail {
  private sequence = 0;
  private size_bytes: number;

  constructor(readonly file: string) {
    this.size_bytes = existsSync(file) ? statSync(file).size : 0;
  }

  record(event: AuditEvent): void {
    this.sequence += 1;
    const line = JSON.stringify({ at: new Date().toISOString(), sequence: this.sequence, ...event }) + '\n';
    if (this.size_bytes + line.length > AUDIT_FILE_BYTES_MAX) {
      renameSync(this.file, `${this.file}.1`);
      this.size_bytes = 0;
    }
    appendFileSync(this.file, line, { mode: 0o600 });
    this.size_bytes += line.length;
  }
}
