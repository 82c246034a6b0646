/**
 * Conversions between the API's JSON and the pipeline's types: u128 ids as 32 hex digits,
 * amounts as digit strings with a currency, base64 images decoded only after their size was
 * checked. Nothing here logs or keeps what it converts.
 */
import { currencyByAlpha } from '../../core/index.js';
import { GatewayError } from '../errors.js';
import type { CaptureUpload, DeletionOutcome, EnrolOutcome, PaymentView, ShopperView } from '../pipeline/contract.js';
import type { MerchantRecord, TerminalRecord } from '../store/port.js';
import { isLiftedImage, type LiftedImages } from './lifted-images.js';
import { base64DecodedBytes, checkImageSize, type GatewayLimits } from './limits.js';

export function hex32(id: bigint): string {
  return id.toString(16).padStart(32, '0');
}

export function parseHex32(text: string, what: string): bigint {
  if (!/^[0-9a-f]{32}$/.test(text)) throw new GatewayError('request_invalid', `${what} must be 32 lowercase hex digits`);
  return BigInt(`0x${text}`);
}

export interface AmountJson { readonly minor: string; readonly currency: string }

export function amountJson(minor: bigint, currency: string): AmountJson {
  return { minor: minor.toString(), currency };
}

export function parseAmount(amount: AmountJson): { amount_minor: bigint; currency: string } {
  try {
    currencyByAlpha(amount.currency);
  } catch {
    throw new GatewayError('currency_unsupported', `unknown currency ${amount.currency}`);
  }
  return { amount_minor: BigInt(amount.minor), currency: amount.currency };
}

export interface CaptureJson { readonly kind: 'hand' | 'roi'; readonly visible: string; readonly nir?: string | undefined }

/**
 * Checks every image's size first, then decodes them all. `images`: the request's images lifted
 * out of its text before parsing (lifted-images.ts); a member is base64 text or one of their placeholders.
 */
export function decodeCaptures(captures: readonly CaptureJson[], limits: GatewayLimits, images: LiftedImages | undefined): CaptureUpload[] {
  const decodedBytes = (member: string): number => images?.decodedLength(member) ?? base64DecodedBytes(member);
  captures.forEach((capture, i) => {
    checkImageSize(decodedBytes(capture.visible), limits, `capture ${i + 1} visible image`);
    if (capture.nir !== undefined) checkImageSize(decodedBytes(capture.nir), limits, `capture ${i + 1} NIR image`);
  });
  const decode = (member: string): Buffer => (isLiftedImage(member) ? liftedOf(images).decode(member) : Buffer.from(member, 'base64'));
  // Decoded here for this request alone: the pipeline may move the bytes to a worker (`owned`).
  return captures.map((capture) => ({
    kind: capture.kind, owned: true,
    visible: decode(capture.visible),
    ...(capture.nir !== undefined ? { nir: decode(capture.nir) } : {}),
  }));
}

function liftedOf(images: LiftedImages | undefined): LiftedImages {
  if (images === undefined) throw new GatewayError('request_invalid', 'an image placeholder that this request did not carry');
  return images;
}

export function paymentJson(view: PaymentView) {
  return {
    paymentId: hex32(view.paymentId), decision: view.decision, status: view.status, responseCode: view.responseCode, authCode: view.authCode ?? null,
    source: view.source, amount: amountJson(view.amount_minor, view.currency), captured: amountJson(view.captured_minor, view.currency),
    refunded: amountJson(view.refunded_minor, view.currency), merchantId: view.merchantId, terminalId: view.terminalId, network: view.network ?? null,
    rrn: view.rrn ?? null, stan: view.stan ?? null, created_at: view.created_at, stages: { ...view.stages },
    ...(view.exchange ? { exchange: view.exchange.map((m) => ({ direction: m.direction, mti: m.mti, fields: m.fields.map((f) => ({ ...f })) })) } : {}),
  };
}

export function shopperJson(view: ShopperView) {
  return {
    shopperId: hex32(view.shopperId), phoneMasked: view.phoneMasked, network: view.network, tokenLast4: view.tokenLast4,
    enrolled_at: view.enrolled_at, templates: view.templates, payments: view.payments,
  };
}

export function deletionJson(outcome: DeletionOutcome) {
  return { shopperId: hex32(outcome.shopperId), templatesRemoved: outcome.templatesRemoved, tokenDeleted: outcome.tokenDeleted };
}

export function enrolledJson(outcome: EnrolOutcome) {
  return { shopperId: hex32(outcome.shopperId), network: outcome.network, tokenLast4: outcome.tokenLast4, stages: { ...outcome.stages } };
}

export function merchantJson(merchant: MerchantRecord) {
  return { id: merchant.id, name: merchant.name, mcc: merchant.mcc, currency: merchant.currency, status: merchant.status, created_at: new Date(merchant.created_ms).toISOString() };
}

export function terminalJson(terminal: TerminalRecord) {
  return {
    id: terminal.id, merchantId: terminal.merchantId, status: terminal.status, certificateSerial: terminal.certificateSerial,
    certificateNotAfter: new Date(terminal.certificateNotAfter_ms).toISOString(), sensorKeyFingerprint: terminal.sensorKeyFingerprint,
    created_at: new Date(terminal.created_ms).toISOString(),
  };
}
