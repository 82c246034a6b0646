/**
 * Admin routes (X-Admin-Key): merchants and terminals. Registering a terminal issues its
 * client certificate (CN = terminal id) and registers its sensor public key in hsm-sim, which
 * then verifies every capture the terminal signs. A terminal that sends a PKCS#10 signing
 * request keeps its private key to itself; otherwise (development) a key pair is made here and
 * its private key is in the first answer only: an idempotent replay returns `privateKeyPem: null` (the store never keeps
 * a private key); a terminal that lost it is revoked and registered again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { HsmError } from '../../hsm-sim/index.js';
import { GatewayError } from '../errors.js';
import type { TerminalRecord } from '../store/port.js';
import type { GatewayEnv } from './auth.js';
import { merchantJson, terminalJson } from './convert.js';
import { ADMIN_SECURITY, AdminHeaders, errorResponses, jsonBody, jsonContent, type RouteDeps } from './deps.js';
import {
  ListQuery, MerchantCreateSchema, MerchantIdParam, MerchantSchema, TerminalCreateSchema, TerminalIdParam, TerminalListQuery, TerminalRegisteredSchema, TerminalSchema,
} from './schemas.js';

/** Default page size of list routes. */
export const list_limit_default = 100;
const tags = ['admin'];

const routes = {
  createMerchant: createRoute({
    method: 'post', path: '/v1/merchants', tags, security: ADMIN_SECURITY, summary: 'Register a merchant',
    request: { headers: AdminHeaders, body: jsonBody(MerchantCreateSchema) },
    responses: { 201: jsonContent(MerchantSchema, 'The merchant.'), ...errorResponses(400, 401, 409, 422) },
  }),
  listMerchants: createRoute({
    method: 'get', path: '/v1/merchants', tags, security: ADMIN_SECURITY, summary: 'List merchants',
    request: { query: ListQuery },
    responses: { 200: jsonContent(z.object({ merchants: z.array(MerchantSchema) }), 'Merchants, oldest first.'), ...errorResponses(400, 401) },
  }),
  suspendMerchant: createRoute({
    method: 'post', path: '/v1/merchants/{id}/suspend', tags, security: ADMIN_SECURITY, summary: 'Suspend a merchant (its terminals can no longer authorize)',
    request: { headers: AdminHeaders, params: z.object({ id: MerchantIdParam }) },
    responses: { 200: jsonContent(MerchantSchema, 'The merchant.'), ...errorResponses(400, 401, 404) },
  }),
  createTerminal: createRoute({
    method: 'post', path: '/v1/terminals', tags, security: ADMIN_SECURITY, summary: 'Register a terminal: client certificate + key, sensor key into hsm-sim',
    request: { headers: AdminHeaders, body: jsonBody(TerminalCreateSchema) },
    responses: { 201: jsonContent(TerminalRegisteredSchema, 'The terminal and its credentials.'), ...errorResponses(400, 401, 403, 404, 409, 422) },
  }),
  listTerminals: createRoute({
    method: 'get', path: '/v1/terminals', tags, security: ADMIN_SECURITY, summary: 'List terminals',
    request: { query: TerminalListQuery },
    responses: { 200: jsonContent(z.object({ terminals: z.array(TerminalSchema) }), 'Terminals, oldest first.'), ...errorResponses(400, 401) },
  }),
  suspendTerminal: createRoute({
    method: 'post', path: '/v1/terminals/{id}/suspend', tags, security: ADMIN_SECURITY, summary: 'Suspend a terminal',
    request: { headers: AdminHeaders, params: z.object({ id: TerminalIdParam }) },
    responses: { 200: jsonContent(TerminalSchema, 'The terminal.'), ...errorResponses(400, 401, 404, 409) },
  }),
  revokeTerminal: createRoute({
    method: 'post', path: '/v1/terminals/{id}/revoke', tags, security: ADMIN_SECURITY, summary: 'Revoke a terminal and its certificate (final)',
    request: { headers: AdminHeaders, params: z.object({ id: TerminalIdParam }) },
    responses: { 200: jsonContent(TerminalSchema, 'The terminal.'), ...errorResponses(400, 401, 404) },
  }),
};

const randomId = (prefix: string, length: number): string => (prefix + randomBytes(16).toString('hex').toUpperCase()).slice(0, length);

export function registerAdminRoutes(app: OpenAPIHono<GatewayEnv>, deps: RouteDeps): void {
  const { registry } = deps;
  app.openapi(routes.createMerchant, (c) => {
    const body = c.req.valid('json');
    const merchant = { id: body.id ?? randomId('M', 15), name: body.name, mcc: body.mcc, currency: body.currency, status: 'active' as const, created_ms: deps.now() };
    registry.createMerchant(merchant);
    deps.logger.info({ merchant: merchant.id }, 'merchant registered');
    return c.json(merchantJson(merchant), 201);
  });
  app.openapi(routes.listMerchants, (c) => {
    const limit = c.req.valid('query').limit ?? list_limit_default;
    return c.json({ merchants: registry.listMerchants(limit).map(merchantJson) }, 200);
  });
  app.openapi(routes.suspendMerchant, (c) => c.json(merchantJson(registry.setMerchantStatus(c.req.valid('param').id, 'suspended')), 200));
  app.openapi(routes.createTerminal, async (c) => {
    const registered = await registerTerminal(deps, c.req.valid('json'));
    c.set('idempotentBody', JSON.stringify({ ...registered, privateKeyPem: null }));
    return c.json(registered, 201);
  });
  app.openapi(routes.listTerminals, (c) => {
    const query = c.req.valid('query');
    return c.json({ terminals: registry.listTerminals(query.limit ?? list_limit_default, query.merchantId).map(terminalJson) }, 200);
  });
  app.openapi(routes.suspendTerminal, (c) => c.json(terminalJson(registry.setTerminalStatus(c.req.valid('param').id, 'suspended')), 200));
  app.openapi(routes.revokeTerminal, (c) => {
    const terminal = registry.setTerminalStatus(c.req.valid('param').id, 'revoked');
    deps.pki.revoke(terminal.certificateSerial, terminal.id, 'terminal revoked');
    deps.logger.info({ terminal: terminal.id }, 'terminal revoked');
    return c.json(terminalJson(terminal), 200);
  });
}

async function registerTerminal(deps: RouteDeps, body: z.infer<typeof TerminalCreateSchema>) {
  const merchant = deps.registry.getMerchant(body.merchantId);
  if (!merchant) throw new GatewayError('merchant_not_found', `no merchant ${body.merchantId}`);
  if (merchant.status !== 'active') throw new GatewayError('merchant_suspended', 'the merchant is suspended');
  const id = body.id ?? randomId('T', 8);
  if (deps.registry.getTerminal(id)) throw new GatewayError('already_exists', `terminal ${id} exists`);
  const sensorKey = Buffer.from(body.sensorPublicKey, 'base64');
  let fingerprint: Buffer;
  try {
    ({ fingerprint } = await deps.hsm.registerTerminalKey({ terminalId: id, publicKey: sensorKey }));
  } catch (error) {
    if (error instanceof HsmError && (error.code === 'hsm_terminal_key_invalid' || error.code.startsWith('hsm_field_'))) {
      throw new GatewayError('request_invalid', 'sensorPublicKey is not an ECDSA P-256 public key (SPKI DER or raw point)');
    }
    throw error;
  }
  const issued = await deps.pki.issueTerminalCertificate(id, {
    ...(body.certificateValidityDays === undefined ? {} : { validity_ms: body.certificateValidityDays * 86_400_000 }),
    ...(body.certificateRequestPem === undefined ? {} : { certificateRequestPem: body.certificateRequestPem }),
  });
  const terminal: TerminalRecord = {
    id, merchantId: merchant.id, status: 'active', certificateSerial: issued.serial, certificateNotAfter_ms: issued.notAfter_ms,
    sensorKeyFingerprint: fingerprint.length > 0 ? fingerprint.toString('hex') : createHash('sha256').update(sensorKey).digest('hex'), created_ms: deps.now(),
  };
  deps.registry.createTerminal(terminal);
  deps.logger.info({ terminal: id, merchant: merchant.id }, 'terminal registered');
  return { terminal: terminalJson(terminal), certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem, caPem: deps.pki.caPem };
}
