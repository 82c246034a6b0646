/**
 * The terminal simulator the dashboard drives. The dashboard does not make captures or talk to
 * the terminal API itself: whoever composes the gateway supplies a `TerminalSimulator` that
 * does what a real terminal would. In `npm start` that is a client of the real HTTPS API with a
 * terminal certificate and a sensor key, so an attack meets every real check (a replayed
 * request is refused by the nonce check, a printed palm by liveness, an unknown palm by 1:N).
 *
 * Contract for implementers:
 * - `shoppers()` lists the synthetic shoppers the simulator can present a palm for (the demo's
 *   enrolled shoppers). `id` is opaque to the dashboard and comes back in `pay({ shopper })`;
 *   `label` is shown as is, so it must hold no personal data beyond what a demo shows
 *   (a name and masked phone or token last four).
 * - `pay()` presents one palm at `terminalId` for `amount_minor` in `currency`. Exactly one of
 *   `shopper` or `attack` is set. It resolves with either the payment the switch answered
 *   (approved, declined or not identified) or the refusal the switch gave (a typed error code
 *   and the HTTP status the terminal saw). It rejects only for faults of the simulator itself.
 * - `replayed_request` re-sends a request the simulator already sent (same signed capture,
 *   nonce and body, a fresh idempotency key so the idempotency store does not simply repeat
 *   the first answer), so the switch must refuse it.
 * - Exchanges in the answer are shown after the dashboard cuts every card number to its last
 *   four digits; implementers need not mask further, but must not add card data.
 */
import type { PaymentView, StageTimings } from '../pipeline/contract.js';

/** The attacks the simulator can stage. */
export const SIMULATED_ATTACKS = ['printed_palm', 'replayed_request', 'unknown_palm'] as const;
export type SimulatedAttack = (typeof SIMULATED_ATTACKS)[number];

export const attack_labels: Readonly<Record<SimulatedAttack, string>> = {
  printed_palm: 'Printed palm (presentation attack)',
  replayed_request: 'Replayed request (same signed capture sent again)',
  unknown_palm: 'Unknown palm (never enrolled)',
};

export interface SimulatedShopper {
  /** Opaque to the dashboard; handed back in `pay({ shopper })`. */
  readonly id: string;
  /** Shown in the shopper list. */
  readonly label: string;
}

export type SimulatedPaymentRequest = {
  readonly amount_minor: bigint;
  /** ISO 4217 alpha code. */
  readonly currency: string;
  /** DE 41 terminal id of a registered terminal (its merchant comes from the registry). */
  readonly terminalId: string;
} & ({ readonly shopper: string; readonly attack?: undefined } | { readonly attack: SimulatedAttack; readonly shopper?: undefined });

export type SimulatorOutcome =
  /** The switch answered with a payment (approved, declined or not identified). */
  | { readonly kind: 'payment'; readonly payment: PaymentView; readonly httpStatus: number }
  /** The switch refused the request: a stable error code (e.g. liveness_failed, nonce_reused). */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string; readonly httpStatus: number; readonly stages?: StageTimings };

export interface TerminalSimulator {
  shoppers(): readonly SimulatedShopper[] | Promise<readonly SimulatedShopper[]>;
  pay(request: SimulatedPaymentRequest): Promise<SimulatorOutcome>;
}
