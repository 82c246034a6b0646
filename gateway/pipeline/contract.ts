/**
 * What the HTTP layer asks of the payment pipeline, and what it gets back. The HTTP layer
 * owns transport concerns (mTLS, capture signatures, nonces, idempotency, rate limits, JSON);
 * by the time a command reaches the pipeline its terminal is authenticated and its capture
 * signature verified. Every failure is a `GatewayError` with a stable code.
 *
 * Amounts cross this boundary as `bigint` minor units with an ISO 4217 alpha code; ids as
 * u128 `bigint` rendered in JSON as 32 hex digits.
 */
import type { CurrencySheet, ReconReport } from '../../ledger/index.js';

/** One palm capture as uploaded: PNG bytes, never written anywhere. */
export interface CaptureUpload {
  readonly kind: 'hand' | 'roi';
  readonly visible: Uint8Array;
  readonly nir?: Uint8Array;
  /**
   * The image buffers belong to this request alone (the HTTP layer decoded them for it), so a
   * payment's extraction may move them to its worker instead of copying them; the caller must
   * not read them afterwards.
   */
  readonly owned?: boolean;
}

/** Milliseconds spent per stage (decode, quality, liveness, features, search, vault, cryptogram, network, ledger, total). */
export type StageTimings = Readonly<Record<string, number>>;

export interface EnrolCommand {
  readonly terminalId: string;
  readonly captures: readonly CaptureUpload[];
  /** Sent once, straight to the token service; never stored or logged. */
  readonly pan: string;
  /** YYMM. */
  readonly expiry: string;
  /** E.164. */
  readonly phone: string;
}

export interface EnrolOutcome {
  readonly shopperId: bigint;
  readonly network: string;
  readonly tokenLast4: string;
  readonly stages: StageTimings;
}

export interface AuthorizeCommand {
  readonly terminalId: string;
  readonly merchantId: string;
  readonly amount_minor: bigint;
  readonly currency: string;
  readonly capture: CaptureUpload;
  /** Set when an offline terminal forwards a capture taken earlier: stand-in rules, original time. */
  readonly offlineCapturedAt_ms?: number;
  /** Optional search-narrowing hint: the last 4 digits of the shopper's phone. */
  readonly phoneSuffix?: string;
  /**
   * Called with the identified shopper after the 1:N search and before any network or ledger
   * step; throwing (e.g. `rate_limited`) refuses the payment. The HTTP layer's per-palm-identity
   * rate limit lives here, because the identity is known only inside the pipeline.
   */
  readonly admitIdentity?: (shopperId: bigint) => void;
}

export interface IsoFieldView { readonly field: string; readonly name: string; readonly value: string }
export interface IsoMessageView { readonly direction: 'sent' | 'received'; readonly mti: string; readonly fields: readonly IsoFieldView[] }

export type PaymentDecision = 'approved' | 'declined' | 'not_identified';

export interface PaymentView {
  readonly paymentId: bigint;
  readonly decision: PaymentDecision;
  readonly status: 'authorized' | 'declined' | 'captured' | 'voided' | 'reversed' | 'refunded';
  readonly responseCode: string;
  readonly authCode: string | undefined;
  readonly source: 'network' | 'stand-in' | 'switch';
  readonly amount_minor: bigint;
  readonly captured_minor: bigint;
  readonly refunded_minor: bigint;
  readonly currency: string;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly network: string | undefined;
  readonly rrn: string | undefined;
  readonly stan: string | undefined;
  readonly created_at: string;
  readonly stages: StageTimings;
  /** The ISO 8583 exchange with card data masked (authorize only). */
  readonly exchange?: readonly IsoMessageView[];
  /** The 1:N decision's match score (authorize only), for /metrics; never sent to terminals. */
  readonly matchScore?: number;
}

export interface ShopperView {
  readonly shopperId: bigint;
  readonly phoneMasked: string;
  readonly network: string;
  readonly tokenLast4: string;
  readonly enrolled_at: string;
  readonly templates: number;
  readonly payments: number;
}

export interface DeletionOutcome { readonly shopperId: bigint; readonly templatesRemoved: number; readonly tokenDeleted: boolean }

export interface PaymentPipeline {
  enrol(command: EnrolCommand): Promise<EnrolOutcome>;
  authorize(command: AuthorizeCommand): Promise<PaymentView>;
  /** Full capture when `amount_minor` is absent; partial otherwise (the rest of the hold is released). */
  capture(command: { paymentId: bigint; amount_minor?: bigint }): Promise<PaymentView>;
  void(command: { paymentId: bigint }): Promise<PaymentView>;
  refund(command: { paymentId: bigint; amount_minor: bigint }): Promise<PaymentView>;
  payment(paymentId: bigint): PaymentView;
  payments(query: { limit: number; merchantId?: string }): PaymentView[];
  identityByPalm(command: { terminalId: string; capture: CaptureUpload }): Promise<ShopperView>;
  /** Sends a one-time code to the phone (the dev stack's SMS outbox), if a shopper has it. */
  requestOtp(phone: string): Promise<void>;
  identityByPhone(command: { phone: string; otp: string }): Promise<ShopperView>;
  deleteByPalm(command: { terminalId: string; capture: CaptureUpload }): Promise<DeletionOutcome>;
  deleteByPhone(command: { phone: string; otp: string }): Promise<DeletionOutcome>;
}

export interface ReconRunView {
  readonly id: number;
  readonly network: string;
  readonly date: string;
  readonly ran_at: string;
  readonly exceptions: number;
  readonly matched: number;
}

/** What finance screens and report routes ask for. Money values are bigint minor units. */
export interface ReportsPort {
  balances(): Promise<readonly CurrencySheet[]>;
  /** Fetches the network's settlement file for `date` (YYYY-MM-DD) and reconciles it against the ledger. */
  settleAndReconcile(network: string, date: string): Promise<ReconRunView>;
  reconRuns(limit: number): ReconRunView[];
  reconReport(id: number): ReconReport;
  reconReportCsv(id: number): string;
}

export interface LinkView { readonly network: string; readonly up: number; readonly inFlight: number; readonly reversalsPending: number; readonly advicesPending: number; readonly counters: Readonly<Record<string, number>> }

/** What the operations screen and /metrics read. */
export interface OperationsPort {
  links(): readonly LinkView[];
  gallerySize(): number;
  /** Dev stack only: the one-time codes "sent by SMS", newest first (phone masked). */
  smsOutbox(): readonly { readonly phoneMasked: string; readonly code: string; readonly at: string }[];
}
