/**
 * Terminal routes (mutual TLS): enrolment, payments (authorize, capture, void, refund, read)
 * and the shopper's identity (see what is held, delete it). Requests that carry palm captures
 * are signed by the terminal's sensor key and verified before the pipeline sees them. A
 * terminal only reaches payments of its own merchant; another merchant's payment is "not found".
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { GatewayError } from '../errors.js';
import type { PaymentView } from '../pipeline/contract.js';
import type { TerminalRecord } from '../store/port.js';
import type { GatewayEnv } from './auth.js';
import {
  decodeCaptures, deletionJson, enrolledJson, parseAmount, parseHex32, paymentJson, shopperJson, type CaptureJson,
} from './convert.js';
import { errorResponses, jsonBody, jsonContent, SignedHeaders, TERMINAL_SECURITY, TerminalHeaders, type RouteDeps } from './deps.js';
import {
  AcceptedSchema, AuthorizeSchema, CaptureBodySchema, DeletionSchema, EmptyBodySchema, EnrolledSchema, EnrolSchema, HexId, OtpRequestSchema,
  PalmLookupSchema, PaymentSchema, PhoneOtpSchema, RefundBodySchema, ShopperSchema,
} from './schemas.js';

const PaymentParams = z.object({ id: HexId });
const GetHeaders = z.object({ 'x-terminal-id': z.string().optional() });
const signedErrors = errorResponses(400, 401, 403, 409, 413, 422, 429, 502, 503);
const t = (tag: string) => ({ tags: [tag], security: TERMINAL_SECURITY });

const routes = {
  enrol: createRoute({
    method: 'post', path: '/v1/enrolments', ...t('enrolment'), summary: 'Enrol a shopper: 2+ signed palm captures, card (to the token service only) and phone',
    request: { headers: SignedHeaders, body: jsonBody(EnrolSchema) },
    responses: { 201: jsonContent(EnrolledSchema, 'The shopper is enrolled.'), ...signedErrors },
  }),
  authorize: createRoute({
    method: 'post', path: '/v1/payments', ...t('payments'), summary: 'Authorize a palm payment (signed capture)',
    request: { headers: SignedHeaders, body: jsonBody(AuthorizeSchema) },
    responses: { 201: jsonContent(PaymentSchema, 'The payment created: decision, codes and per-stage timings (a decline is a payment too).'), ...signedErrors },
  }),
  capture: createRoute({
    method: 'post', path: '/v1/payments/{id}/capture', ...t('payments'), summary: 'Capture an authorization, in full or in part',
    request: { headers: TerminalHeaders, params: PaymentParams, body: jsonBody(CaptureBodySchema) },
    responses: { 200: jsonContent(PaymentSchema, 'The payment.'), ...errorResponses(400, 401, 403, 404, 409, 422, 429) },
  }),
  void: createRoute({
    method: 'post', path: '/v1/payments/{id}/void', ...t('payments'), summary: 'Void an uncaptured authorization (the hold is released, the network gets a reversal)',
    request: { headers: TerminalHeaders, params: PaymentParams, body: jsonBody(EmptyBodySchema) },
    responses: { 200: jsonContent(PaymentSchema, 'The payment.'), ...errorResponses(400, 401, 403, 404, 409, 429) },
  }),
  refund: createRoute({
    method: 'post', path: '/v1/payments/{id}/refund', ...t('payments'), summary: 'Refund part or all of a captured payment',
    request: { headers: TerminalHeaders, params: PaymentParams, body: jsonBody(RefundBodySchema) },
    responses: { 200: jsonContent(PaymentSchema, 'The payment.'), ...errorResponses(400, 401, 403, 404, 409, 422, 429) },
  }),
  payment: createRoute({
    method: 'get', path: '/v1/payments/{id}', ...t('payments'), summary: 'Read a payment of this terminal\'s merchant',
    request: { headers: GetHeaders, params: PaymentParams },
    responses: { 200: jsonContent(PaymentSchema, 'The payment.'), ...errorResponses(400, 401, 403, 404, 429) },
  }),
  lookup: createRoute({
    method: 'post', path: '/v1/identity/lookup', ...t('identity'), summary: 'What is held about the shopper whose palm this is (signed capture)',
    request: { headers: SignedHeaders, body: jsonBody(PalmLookupSchema) },
    responses: { 200: jsonContent(ShopperSchema, 'The shopper (phone masked, token last 4).'), ...signedErrors, ...errorResponses(404) },
  }),
  otp: createRoute({
    method: 'post', path: '/v1/identity/otp', ...t('identity'), summary: 'Send a one-time code to a phone (same answer whether or not it is enrolled)',
    request: { headers: TerminalHeaders, body: jsonBody(OtpRequestSchema) },
    responses: { 202: jsonContent(AcceptedSchema, 'Accepted.'), ...errorResponses(400, 401, 403, 429) },
  }),
  byPhone: createRoute({
    method: 'post', path: '/v1/identity/by-phone', ...t('identity'), summary: 'What is held about the shopper with this phone (one-time code)',
    request: { headers: TerminalHeaders, body: jsonBody(PhoneOtpSchema) },
    responses: { 200: jsonContent(ShopperSchema, 'The shopper.'), ...errorResponses(400, 401, 403, 404, 429) },
  }),
  deleteByPalm: createRoute({
    method: 'post', path: '/v1/identity/delete', ...t('identity'), summary: 'Delete the shopper whose palm this is: templates removed, token deleted (signed capture)',
    request: { headers: SignedHeaders, body: jsonBody(PalmLookupSchema) },
    responses: { 200: jsonContent(DeletionSchema, 'What was removed.'), ...signedErrors, ...errorResponses(404) },
  }),
  deleteByPhone: createRoute({
    method: 'post', path: '/v1/identity/delete-by-phone', ...t('identity'), summary: 'Delete the shopper with this phone (one-time code)',
    request: { headers: TerminalHeaders, body: jsonBody(PhoneOtpSchema) },
    responses: { 200: jsonContent(DeletionSchema, 'What was removed.'), ...errorResponses(400, 401, 403, 404, 429) },
  }),
};

/** Verifies the request's capture signature over the raw JSON body and returns the decoded captures. */
async function signedCaptures(c: Context<GatewayEnv>, deps: RouteDeps, captures: readonly CaptureJson[]) {
  const decoded = decodeCaptures(captures, deps.limits, c.get('images'));
  const raw: unknown = await c.req.json();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new GatewayError('request_invalid', 'the body must be a JSON object');
  await deps.verifier.verify({
    terminalId: c.get('terminal').id, method: c.req.method, path: c.req.path, header: (name) => c.req.header(name),
    body: raw as Record<string, unknown>, captures: decoded,
  });
  return decoded;
}

function ownPayment(deps: RouteDeps, terminal: TerminalRecord, idText: string): bigint {
  const id = parseHex32(idText, 'payment id');
  const view = deps.pipeline.payment(id);
  if (view.merchantId !== terminal.merchantId) throw new GatewayError('payment_not_found', 'no such payment');
  return id;
}

const phoneKey = (phone: string): string => `phone:${createHash('sha256').update(phone).digest('hex')}`;

function observe(deps: RouteDeps, view: PaymentView): void {
  for (const [stage, ms] of Object.entries(view.stages)) {
    deps.metrics.stageSeconds.observe(ms / 1000, { stage });
    if (stage === 'ledger') deps.onLedgerStage(ms);
  }
  deps.metrics.decisions.inc({ decision: view.decision, response_code: view.responseCode, source: view.source });
  if (view.matchScore !== undefined) deps.metrics.matchScore.observe(view.matchScore, { decision: view.decision });
}

export function registerTerminalRoutes(app: OpenAPIHono<GatewayEnv>, deps: RouteDeps): void {
  const { pipeline } = deps;
  app.openapi(routes.enrol, async (c) => {
    const body = c.req.valid('json');
    const captures = await signedCaptures(c, deps, body.captures);
    const outcome = await pipeline.enrol({ terminalId: c.get('terminal').id, captures, pan: body.pan, expiry: body.expiry, phone: body.phone });
    return c.json(enrolledJson(outcome), 201);
  });
  app.openapi(routes.authorize, async (c) => {
    const body = c.req.valid('json');
    const [capture] = await signedCaptures(c, deps, [body.capture]);
    if (!capture) throw new GatewayError('request_invalid', 'a capture is required');
    const view = await pipeline.authorize({
      terminalId: c.get('terminal').id, merchantId: body.merchantId, ...parseAmount(body.amount), capture,
      ...(body.offlineCapturedAt_ms !== undefined ? { offlineCapturedAt_ms: body.offlineCapturedAt_ms } : {}),
      ...(body.phoneSuffix !== undefined ? { phoneSuffix: body.phoneSuffix } : {}),
      admitIdentity: (shopperId) => deps.identityLimiter.take(`shopper:${shopperId.toString(16)}`, 'palm identity'),
    });
    observe(deps, view);
    return c.json(paymentJson(view), 201);
  });
  app.openapi(routes.capture, async (c) => {
    const paymentId = ownPayment(deps, c.get('terminal'), c.req.valid('param').id);
    const amount = c.req.valid('json').amount;
    return c.json(paymentJson(await pipeline.capture({ paymentId, ...(amount ? { amount_minor: parseAmount(amount).amount_minor } : {}) })), 200);
  });
  app.openapi(routes.void, async (c) => {
    const paymentId = ownPayment(deps, c.get('terminal'), c.req.valid('param').id);
    return c.json(paymentJson(await pipeline.void({ paymentId })), 200);
  });
  app.openapi(routes.refund, async (c) => {
    const paymentId = ownPayment(deps, c.get('terminal'), c.req.valid('param').id);
    return c.json(paymentJson(await pipeline.refund({ paymentId, amount_minor: parseAmount(c.req.valid('json').amount).amount_minor })), 200);
  });
  app.openapi(routes.payment, (c) => {
    const paymentId = ownPayment(deps, c.get('terminal'), c.req.valid('param').id);
    return c.json(paymentJson(pipeline.payment(paymentId)), 200);
  });
  registerIdentityRoutes(app, deps);
}

function registerIdentityRoutes(app: OpenAPIHono<GatewayEnv>, deps: RouteDeps): void {
  const { pipeline, identityLimiter } = deps;
  app.openapi(routes.lookup, async (c) => {
    const [capture] = await signedCaptures(c, deps, [c.req.valid('json').capture]);
    if (!capture) throw new GatewayError('request_invalid', 'a capture is required');
    const view = await pipeline.identityByPalm({ terminalId: c.get('terminal').id, capture });
    identityLimiter.take(`shopper:${view.shopperId.toString(16)}`, 'shopper');
    return c.json(shopperJson(view), 200);
  });
  app.openapi(routes.otp, async (c) => {
    const { phone } = c.req.valid('json');
    identityLimiter.take(phoneKey(phone), 'phone number');
    await pipeline.requestOtp(phone);
    return c.json({ accepted: true as const }, 202);
  });
  app.openapi(routes.byPhone, async (c) => {
    const body = c.req.valid('json');
    identityLimiter.take(phoneKey(body.phone), 'phone number');
    return c.json(shopperJson(await pipeline.identityByPhone(body)), 200);
  });
  app.openapi(routes.deleteByPalm, async (c) => {
    const [capture] = await signedCaptures(c, deps, [c.req.valid('json').capture]);
    if (!capture) throw new GatewayError('request_invalid', 'a capture is required');
    const outcome = await pipeline.deleteByPalm({ terminalId: c.get('terminal').id, capture });
    deps.logger.info({ terminal: c.get('terminal').id, channel: 'palm' }, 'shopper deletion requested');
    return c.json(deletionJson(outcome), 200);
  });
  app.openapi(routes.deleteByPhone, async (c) => {
    const body = c.req.valid('json');
    identityLimiter.take(phoneKey(body.phone), 'phone number');
    const outcome = await pipeline.deleteByPhone(body);
    deps.logger.info({ terminal: c.get('terminal').id, channel: 'phone' }, 'shopper deletion requested');
    return c.json(deletionJson(outcome), 200);
  });
}
