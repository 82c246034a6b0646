/**
 * Records to the views the API returns: payments, shoppers (phone masked), and the ISO 8583
 * exchange of an authorization field by field with names and card data masked.
 */
import { dialect } from '../../specs/index.js';
import { maskMessage, type FieldValue, type Message } from '../../iso8583/index.js';
import type { AuthorizationResult } from '../network/index.js';
import type { PaymentRecord, ShopperRecord } from '../store/port.js';
import type { AuthorizeCommand, IsoFieldView, IsoMessageView, PaymentView, ShopperView } from './contract.js';

export function viewOf(record: PaymentRecord): PaymentView {
  return {
    paymentId: record.id, decision: record.status === 'declined' ? (record.responseCode === 'P1' ? 'not_identified' : 'declined') : 'approved',
    status: record.status, responseCode: record.responseCode, authCode: record.authCode, source: record.source, amount_minor: record.amount_minor,
    captured_minor: record.captured_minor, refunded_minor: record.refunded_minor, currency: record.currency, merchantId: record.merchantId,
    terminalId: record.terminalId, network: record.network, rrn: record.rrn, stan: record.stan, created_at: new Date(record.created_ms).toISOString(),
    stages: record.stages,
  };
}

/** A payment refused before any network was asked (the palm was not identified). */
export function declinedRecord(id: bigint, command: AuthorizeCommand, responseCode: string, stages: Record<string, number>, now_ms: number): PaymentRecord {
  return {
    id, shopperId: undefined, merchantId: command.merchantId, terminalId: command.terminalId, network: undefined, amount_minor: command.amount_minor,
    currency: command.currency, status: 'declined', captured_minor: 0n, refunded_minor: 0n, captures: 0, refunds: 0, responseCode, authCode: undefined,
    source: 'switch', rrn: undefined, stan: undefined, created_ms: now_ms, captured_at_ms: undefined, updated_ms: now_ms, stages,
  };
}

export function shopperView(shopper: ShopperRecord, templates: number, payments: number): ShopperView {
  return {
    shopperId: shopper.id, phoneMasked: `${shopper.phone.slice(0, 3)}${'*'.repeat(Math.max(0, shopper.phone.length - 5))}${shopper.phone.slice(-2)}`,
    network: shopper.network, tokenLast4: shopper.tokenLast4, enrolled_at: new Date(shopper.enrolled_ms).toISOString(), templates, payments,
  };
}

function text(value: FieldValue): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((entry) => `${entry.tag}=${entry.value}`).join(' ');
  return Object.entries(value).map(([key, sub]) => `${key}:${text(sub)}`).join(' ');
}

function messageView(direction: IsoMessageView['direction'], message: Message, network: string): IsoMessageView {
  const { spec } = dialect(network);
  const masked = maskMessage(message, spec);
  const fields: IsoFieldView[] = Object.entries(masked.fields)
    .map(([key, value]) => ({ field: key, name: spec.fields[Number(key)]?.name ?? `field ${key}`, value: text(value) }))
    .sort((a, b) => Number(a.field) - Number(b.field));
  return { direction, mti: message.mti, fields };
}

export function exchangeOf(network: string, result: AuthorizationResult): IsoMessageView[] {
  const views = [messageView('sent', result.request, network)];
  if (result.response) views.push(messageView('received', result.response, network));
  return views;
}
