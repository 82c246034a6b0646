/**
 * The state store port: what the gateway keeps besides the ledger and the network links.
 * Narrow on purpose — each method is one statement or one short transaction — so that a
 * PostgreSQL adapter can follow table for table. The SQLite adapter (default) implements
 * every interface on one file (database.ts).
 *
 * No card number is ever part of a record: a shopper holds a network token reference and
 * the token PAN sealed under an hsm-sim data key.
 */

export type MerchantStatus = 'active' | 'suspended';
export type TerminalStatus = 'active' | 'suspended' | 'revoked';

export interface MerchantRecord {
  /** DE 42 card acceptor id: 1..15 printable characters. */
  readonly id: string;
  readonly name: string;
  /** DE 18 merchant category code, 4 digits. */
  readonly mcc: string;
  /** ISO 4217 alpha code the merchant settles in. */
  readonly currency: string;
  readonly status: MerchantStatus;
  readonly created_ms: number;
}

export interface TerminalRecord {
  /** DE 41 terminal id: exactly 8 printable characters; also the client certificate's CN. */
  readonly id: string;
  readonly merchantId: string;
  readonly status: TerminalStatus;
  /** Serial (hex) of the client certificate issued at registration. */
  readonly certificateSerial: string;
  readonly certificateNotAfter_ms: number;
  /** SHA-256 (hex) of the sensor public key registered in hsm-sim. */
  readonly sensorKeyFingerprint: string;
  readonly created_ms: number;
}

export interface RegistryStore {
  createMerchant(merchant: MerchantRecord): void;
  getMerchant(id: string): MerchantRecord | undefined;
  listMerchants(limit: number): MerchantRecord[];
  setMerchantStatus(id: string, status: MerchantStatus): MerchantRecord;
  createTerminal(terminal: TerminalRecord): void;
  getTerminal(id: string): TerminalRecord | undefined;
  listTerminals(limit: number, merchantId?: string): TerminalRecord[];
  setTerminalStatus(id: string, status: TerminalStatus): TerminalRecord;
}

export type ShopperStatus = 'active' | 'deleted';

export interface ShopperRecord {
  /** u128, random; also the biometric identity of the shopper's templates. */
  readonly id: bigint;
  /** E.164 phone number, kept for deletion by phone; never logged. */
  readonly phone: string;
  /** The network whose token service issued the token. */
  readonly network: string;
  /** The token service's reference of the token (for suspend/delete). */
  readonly tokenRef: string;
  /** Token PAN and expiry sealed (AES-GCM) under the vault data key in hsm-sim. */
  readonly tokenSealed: Uint8Array;
  readonly tokenLast4: string;
  readonly status: ShopperStatus;
  readonly enrolled_ms: number;
  readonly deleted_ms: number | undefined;
}

export type PaymentStatus = 'authorized' | 'declined' | 'captured' | 'voided' | 'reversed' | 'refunded';

export interface PaymentRecord {
  /** u128: the ledger's authorization id. */
  readonly id: bigint;
  readonly shopperId: bigint | undefined;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly network: string | undefined;
  readonly amount_minor: bigint;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly captured_minor: bigint;
  readonly refunded_minor: bigint;
  /** Captures and refunds done so far; their ids derive from these counters. */
  readonly captures: number;
  readonly refunds: number;
  readonly responseCode: string;
  readonly authCode: string | undefined;
  readonly source: 'network' | 'stand-in' | 'switch';
  readonly rrn: string | undefined;
  readonly stan: string | undefined;
  readonly created_ms: number;
  readonly captured_at_ms: number | undefined;
  readonly updated_ms: number;
  /** The per-stage timings of the authorization, ms (JSON). */
  readonly stages: Readonly<Record<string, number>>;
}
