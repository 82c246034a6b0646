/**
 * The canonical form a terminal's sensor key signs for a request that carries palm captures
 * (shared by the gateway and the terminal client so both compute it from one definition;
 * documented in gateway/README.md). Lines joined by "\n", no trailing newline:
 *
 *   palmswitch-capture-v1
 *   <METHOD>                 upper case, e.g. POST
 *   <path>                   the request path without query, e.g. /v1/payments
 *   <terminal id>            the X-Terminal-Id header (= client certificate CN)
 *   <timestamp>              ms since the epoch, decimal, as sent in X-Palm-Timestamp
 *   <nonce>                  as sent in X-Palm-Nonce (16..64 of [A-Za-z0-9_-])
 *   <capture digest>         hex SHA-256 over each capture in order: u32be(len visible) || visible || u32be(len nir) || nir
 *   <body digest>            hex SHA-256 of the canonical JSON of the body with every capture's `visible` and `nir` removed
 *
 * Canonical JSON: object keys sorted by code unit, no whitespace, strings and integers as
 * JSON.stringify writes them (amounts travel as digit strings, so no float formatting enters).
 */
import { createHash } from 'node:crypto';
import { assert } from '../../core/index.js';
import { GatewayError } from '../errors.js';
import { isLiftedImage } from './lifted-images.js';

export const signing_scheme = 'palmswitch-capture-v1';
export const nonce_pattern = /^[A-Za-z0-9_-]{16,64}$/;
/** Depth of JSON the canonicaliser walks; request bodies are shallow, deeper is refused. */
export const canonical_depth_max = 16;

export const SIGNATURE_HEADERS = { terminal: 'x-terminal-id', timestamp: 'x-palm-timestamp', nonce: 'x-palm-nonce', signature: 'x-palm-signature' } as const;

export interface CaptureBytes { readonly visible: Uint8Array; readonly nir?: Uint8Array | undefined }

/** SHA-256 over the captures' image bytes, each length-prefixed so bytes cannot move between images. */
export function captureDigest(captures: readonly CaptureBytes[]): string {
  const hash = createHash('sha256');
  const length = Buffer.alloc(4);
  for (const capture of captures) {
    for (const image of [capture.visible, capture.nir ?? new Uint8Array(0)]) {
      length.writeUInt32BE(image.length, 0);
      hash.update(length);
      hash.update(image);
    }
  }
  return hash.digest('hex');
}

/** Canonical JSON (sorted keys, no whitespace) of a JSON value. */
export function canonicalJson(value: unknown, depth = 0): string {
  // Outside input reaches here (unknown body members are signed too): too deep is a refusal, not a crash.
  if (depth > canonical_depth_max) throw new GatewayError('request_invalid', `the body is nested deeper than ${canonical_depth_max} levels`);
  // An image lifted out of the body (lifted-images.ts) is signed through the capture digest only
  // where bodyWithoutImages strips it; anywhere else its text is not here to sign.
  if (typeof value === 'string' && isLiftedImage(value)) throw new GatewayError('request_invalid', 'an image member (visible, nir) is accepted only inside a capture');
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    assert(Number.isFinite(value), 'finite JSON number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  assert(typeof value === 'object', 'JSON value');
  const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item, depth + 1)}`).join(',')}}`;
}

/** The body without image bytes: `capture` and each of `captures` keep every member except `visible` and `nir`. */
export function bodyWithoutImages(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const strip = (capture: unknown): unknown => {
    if (capture === null || typeof capture !== 'object' || Array.isArray(capture)) return capture;
    const { visible: _visible, nir: _nir, ...rest } = capture as Record<string, unknown>;
    return rest;
  };
  const copy: Record<string, unknown> = { ...body };
  if ('capture' in copy) copy.capture = strip(copy.capture);
  if (Array.isArray(copy.captures)) copy.captures = copy.captures.map(strip);
  return copy;
}

export function bodyDigest(body: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJson(bodyWithoutImages(body))).digest('hex');
}

export interface SigningInput {
  readonly method: string;
  readonly path: string;
  readonly terminalId: string;
  readonly timestamp_ms: number;
  readonly nonce: string;
  readonly captureDigest: string;
  readonly bodyDigest: string;
}

export function signingString(input: SigningInput): string {
  assert(Number.isSafeInteger(input.timestamp_ms) && input.timestamp_ms >= 0, 'timestamp is a non-negative integer');
  assert(nonce_pattern.test(input.nonce), 'nonce is 16..64 of [A-Za-z0-9_-]');
  return [signing_scheme, input.method.toUpperCase(), input.path, input.terminalId, String(input.timestamp_ms), input.nonce, input.captureDigest, input.bodyDigest].join('\n');
}
