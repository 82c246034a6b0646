/**
 * The API's JSON shapes as zod schemas (the OpenAPI 3.1 document is generated from these).
 * Conventions: amounts `{ "minor": "1250", "currency": "EUR" }` with minor units as a digit
 * string (no float ever touches money), ids of payments and shoppers as 32 hex digits,
 * images as base64 PNG, times as ISO 8601 strings.
 */
import { z } from '@hono/zod-openapi';
import { isLiftedImage } from './lifted-images.js';

/** Captures an enrolment takes (the pipeline needs two or more). */
export const enrol_captures_min = 2;
export const enrol_captures_max = 6;
/** Longest base64 string the schema admits; the real image bound (smaller) is checked before decoding. */
export const base64_chars_max = 64 * 1024 * 1024;

export const ErrorSchema = z.object({
  error: z.object({ code: z.string().openapi({ example: 'signature_invalid' }), message: z.string() }),
}).openapi('Error');

export const AmountSchema = z.object({
  minor: z.string().regex(/^\d{1,12}$/).openapi({ description: 'Minor units as decimal digits (DE 4 is n12).', example: '1250' }),
  currency: z.string().regex(/^[A-Z]{3}$/).openapi({ description: 'ISO 4217 alphabetic code.', example: 'EUR' }),
}).openapi('Amount');

export const HexId = z.string().regex(/^[0-9a-f]{32}$/).openapi({ description: 'u128 as 32 lowercase hex digits.', example: '0123456789abcdef0123456789abcdef' });
const base64_pattern = '^[A-Za-z0-9+/]*={0,2}$';
const base64_character_outside = /[^A-Za-z0-9+/=]/;
/**
 * The same language as `base64_pattern`, checked in two linear native scans: V8 ran the anchored
 * pattern over a 130 KB capture at about 0.75 ms, a tenth of the gateway's main-thread time per
 * payment; searching for one character outside the alphabet takes about 0.08 ms.
 */
export function isBase64Text(text: string): boolean {
  if (base64_character_outside.test(text)) return false;
  const padding = text.indexOf('=');
  if (padding === -1) return true;
  return padding === text.length - 1 || (padding === text.length - 2 && text.charCodeAt(text.length - 1) === 0x3d);
}
const base64_message = { message: 'must be base64 (A-Z a-z 0-9 + /, at most two = at the end)' };
const Base64 = z.string().max(base64_chars_max).refine(isBase64Text, base64_message).openapi({ pattern: base64_pattern });
/** A capture image: base64 text, or the placeholder of one lifted out of the body (lifted-images.ts); nothing else takes a placeholder. */
const ImageBase64 = z.string().max(base64_chars_max).refine((text) => isLiftedImage(text) || isBase64Text(text), base64_message).openapi({ pattern: base64_pattern });

export const CaptureSchema = z.object({
  kind: z.enum(['hand', 'roi']).openapi({ description: 'A whole-hand image or a palm region of interest.' }),
  visible: ImageBase64.openapi({ description: 'Visible-light capture, PNG, base64.' }),
  nir: ImageBase64.optional().openapi({ description: 'Near-infrared capture, PNG, base64.' }),
}).openapi('Capture');

export const TerminalIdParam = z.string().regex(/^[\x21-\x7e]{8}$/).openapi({ description: 'DE 41 terminal id: 8 printable characters; the client certificate CN.', example: 'T1A2B3C4' });
export const MerchantIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,15}$/).openapi({ description: 'DE 42 card acceptor id, 1..15 characters.', example: 'M00000000000001' });
const Phone = z.string().regex(/^\+[1-9]\d{6,14}$/).openapi({ description: 'E.164 phone number.', example: '+447700900123' });

export const MerchantCreateSchema = z.object({
  id: MerchantIdParam.optional(),
  name: z.string().min(1).max(40),
  mcc: z.string().regex(/^\d{4}$/).openapi({ example: '5411' }),
  currency: z.string().regex(/^[A-Z]{3}$/).openapi({ example: 'EUR' }),
}).openapi('MerchantCreate');

export const MerchantSchema = z.object({
  id: z.string(), name: z.string(), mcc: z.string(), currency: z.string(), status: z.enum(['active', 'suspended']), created_at: z.string(),
}).openapi('Merchant');

export const TerminalCreateSchema = z.object({
  id: TerminalIdParam.optional(),
  merchantId: MerchantIdParam,
  sensorPublicKey: Base64.max(1024).openapi({ description: 'The sensor\'s ECDSA P-256 public key (SPKI DER, base64); registered in hsm-sim, it verifies capture signatures.' }),
  certificateValidityDays: z.number().int().min(1).max(397).optional(),
  certificateRequestPem: z.string().max(4096).optional().openapi({ description: 'A PKCS#10 signing request (PEM, ECDSA P-256) made on the terminal: the certificate is issued for its key, and no private key is ever created or returned here (`privateKeyPem` is null). Without it, a development key pair is generated and returned once.' }),
}).openapi('TerminalCreate');

export const TerminalSchema = z.object({
  id: z.string(), merchantId: z.string(), status: z.enum(['active', 'suspended', 'revoked']), certificateSerial: z.string(),
  certificateNotAfter: z.string(), sensorKeyFingerprint: z.string(), created_at: z.string(),
}).openapi('Terminal');

export const TerminalRegisteredSchema = z.object({
  terminal: TerminalSchema,
  certificatePem: z.string(),
  privateKeyPem: z.string().nullable().openapi({ description: 'The client certificate\'s private key: in the first answer only (null in an idempotent replay).' }),
  caPem: z.string(),
}).openapi('TerminalRegistered');

export const EnrolSchema = z.object({
  captures: z.array(CaptureSchema).min(enrol_captures_min).max(enrol_captures_max),
  pan: z.string().regex(/^\d{12,19}$/).openapi({ description: 'Card number: sent once to the network token service, never stored or logged.' }),
  expiry: z.string().regex(/^\d{4}$/).openapi({ description: 'YYMM.', example: '2912' }),
  phone: Phone,
}).openapi('Enrolment');

export const EnrolledSchema = z.object({
  shopperId: HexId, network: z.string(), tokenLast4: z.string(), stages: z.record(z.string(), z.number()),
}).openapi('Enrolled');

export const AuthorizeSchema = z.object({
  merchantId: MerchantIdParam,
  amount: AmountSchema,
  capture: CaptureSchema,
  offlineCapturedAt_ms: z.number().int().nonnegative().optional().openapi({ description: 'Set by an offline terminal forwarding a capture taken earlier (ms since the epoch): stand-in rules, original time.' }),
  phoneSuffix: z.string().regex(/^\d{4}$/).optional().openapi({ description: 'Optional search hint: the last 4 digits of the shopper\'s phone.' }),
}).openapi('Authorize');

export const CaptureBodySchema = z.object({ amount: AmountSchema.optional() }).openapi('CaptureRequest');
export const RefundBodySchema = z.object({ amount: AmountSchema }).openapi('RefundRequest');
export const EmptyBodySchema = z.object({}).openapi('Empty');

const IsoMessage = z.object({
  direction: z.enum(['sent', 'received']), mti: z.string(),
  fields: z.array(z.object({ field: z.string(), name: z.string(), value: z.string() })),
}).openapi('IsoMessage');

export const PaymentSchema = z.object({
  paymentId: HexId,
  decision: z.enum(['approved', 'declined', 'not_identified']),
  status: z.enum(['authorized', 'declined', 'captured', 'voided', 'reversed', 'refunded']),
  responseCode: z.string(), authCode: z.string().nullable(), source: z.enum(['network', 'stand-in', 'switch']),
  amount: AmountSchema, captured: AmountSchema, refunded: AmountSchema,
  merchantId: z.string(), terminalId: z.string(), network: z.string().nullable(), rrn: z.string().nullable(), stan: z.string().nullable(),
  created_at: z.string(),
  stages: z.record(z.string(), z.number()).openapi({ description: 'Milliseconds per pipeline stage.' }),
  exchange: z.array(IsoMessage).optional().openapi({ description: 'The ISO 8583 exchange, card data masked (authorize only).' }),
}).openapi('Payment');

export const PalmLookupSchema = z.object({ capture: CaptureSchema }).openapi('PalmLookup');
export const OtpRequestSchema = z.object({ phone: Phone }).openapi('OtpRequest');
export const PhoneOtpSchema = z.object({ phone: Phone, otp: z.string().regex(/^\d{6}$/) }).openapi('PhoneOtp');

export const ShopperSchema = z.object({
  shopperId: HexId, phoneMasked: z.string(), network: z.string(), tokenLast4: z.string(), enrolled_at: z.string(),
  templates: z.number().int(), payments: z.number().int(),
}).openapi('Shopper');

export const DeletionSchema = z.object({ shopperId: HexId, templatesRemoved: z.number().int(), tokenDeleted: z.boolean() }).openapi('Deletion');
export const AcceptedSchema = z.object({ accepted: z.literal(true) }).openapi('Accepted');

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1_000).optional().openapi({ param: { name: 'limit', in: 'query' } }),
});
export const TerminalListQuery = ListQuery.extend({
  merchantId: MerchantIdParam.optional().openapi({ param: { name: 'merchantId', in: 'query' } }),
});
