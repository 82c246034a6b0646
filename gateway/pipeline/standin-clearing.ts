/**
 * A stand-in approval is our exposure until the network accepts its 0120 advice; from then on
 * it is an ordinary receivable from the network. The ledger moves the captured amount from
 * the stand-in exposure account to the settlement receivable once both have happened —
 * the capture and the network's acknowledgement — in whichever order they come. The move
 * has a deterministic transfer id, so doing it twice (a race, a retry, a restart catching up)
 * books it once. Declined and expired advices stay as exposure: the link flags them for finance.
 */
import { assert, type Logger } from '../../core/index.js';
import { batch_events_max, execute, standInClearedTransfers, type Ledger, type Transfer } from '../../ledger/index.js';
import type { NetworkLink } from '../network/index.js';
import type { PaymentRecord } from '../store/port.js';
import type { ShopperStore } from '../store/shoppers.js';

export interface StandInClearingOptions {
  readonly ledger: Ledger;
  readonly shoppers: Pick<ShopperStore, 'payment'>;
  readonly links: ReadonlyMap<string, NetworkLink>;
  readonly logger: Logger;
}

/** The name a payment's advice carries in the link's queue. */
export function adviceReference(paymentId: bigint): string {
  return paymentId.toString(16);
}

export class StandInClearing {
  constructor(private readonly options: StandInClearingOptions) {
    for (const link of options.links.values()) {
      link.onAdviceOutcome((outcome) => {
        if (outcome.status !== 'acked') return;
        const payment = this.paymentOf(outcome.reference);
        if (payment) this.clearInBackground(payment);
      });
    }
  }

  /** After a capture: clears now if the network has already accepted the advice. */
  async afterCapture(payment: PaymentRecord): Promise<void> {
    if (payment.source !== 'stand-in' || payment.network === undefined) return;
    const outcome = this.options.links.get(payment.network)?.adviceOutcome(adviceReference(payment.id));
    if (outcome?.status !== 'acked') return;
    // The capture itself is done; a failed move waits for the next start's catch-up.
    try {
      await this.clear(payment);
    } catch (error) {
      this.options.logger.error({ payment: payment.id.toString(16), err: error instanceof Error ? error.message : String(error) }, 'stand-in exposure not cleared');
    }
  }

  /**
   * At start: the acknowledgements a crash may have cut off from their clearing. The queue keeps
   * days of advices, so the clearings already booked are looked up in batches and only the
   * missing ones are submitted. Returns how many were booked now.
   */
  async catchUp(): Promise<number> {
    const due: Transfer[][] = [];
    for (const link of this.options.links.values()) {
      for (const outcome of link.adviceOutcomes()) {
        const payment = outcome.status === 'acked' ? this.paymentOf(outcome.reference) : undefined;
        const transfers = payment === undefined ? undefined : clearingOf(payment);
        if (transfers) due.push(transfers);
      }
    }
    let booked = 0;
    for (let start = 0; start < due.length; start += batch_events_max) {
      const batch = due.slice(start, start + batch_events_max);
      const done = new Set((await this.options.ledger.lookupTransfers(batch.map((transfers) => transfers[0]!.id))).map((transfer) => transfer.id));
      for (const transfers of batch.filter((t) => !done.has(t[0]!.id))) {
        await execute(this.options.ledger, transfers);
        booked += 1;
      }
    }
    return booked;
  }

  /** Moves the captured amount; false when there is nothing (yet) to move. */
  private async clear(payment: PaymentRecord): Promise<boolean> {
    const transfers = clearingOf(payment);
    if (!transfers) return false;
    await execute(this.options.ledger, transfers);
    return true;
  }

  private clearInBackground(payment: PaymentRecord): void {
    this.clear(payment).catch((error: unknown) => {
      // Left as exposure; the next start's catch-up (or a later capture) moves it.
      this.options.logger.error({ payment: payment.id.toString(16), err: error instanceof Error ? error.message : String(error) }, 'stand-in exposure not cleared');
    });
  }

  private paymentOf(reference: string): PaymentRecord | undefined {
    if (!/^[0-9a-f]{1,32}$/.test(reference)) return undefined;
    return this.options.shoppers.payment(BigInt(`0x${reference}`));
  }
}

/** The ledger transfer that moves a captured stand-in payment's exposure; undefined when there is none to move. */
function clearingOf(payment: PaymentRecord): Transfer[] | undefined {
  if (payment.source !== 'stand-in' || payment.captured_minor === 0n) return undefined;
  assert(payment.network !== undefined, 'a stand-in payment has a network');
  return standInClearedTransfers({ authorization_id: payment.id, network: payment.network, currency: payment.currency, amount_minor: payment.captured_minor });
}
