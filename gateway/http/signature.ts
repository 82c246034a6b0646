/**
 * Verification of signed captures (the canonical form is in canonical.ts and gateway/README.md).
 * Order: headers well formed -> timestamp inside the window -> signature verified by hsm-sim
 * with the sensor key registered for the terminal -> nonce claimed. The nonce is claimed last
 * so a request that fails any other check cannot burn a nonce its terminal will still use.
 */
import type { HsmPort } from '../../hsm-sim/index.js';
import { HsmError } from '../../hsm-sim/index.js';
import { GatewayError } from '../errors.js';
import type { NonceStore } from '../store/nonces.js';
import { bodyDigest, captureDigest, nonce_pattern, SIGNATURE_HEADERS, signingString, type CaptureBytes } from './canonical.js';

/** A capture's timestamp may be this far from the gateway's clock, either way. */
export const signature_window_ms_default = 5 * 60_000;
/** Nonces are kept this much longer than the window reaches, so a forgotten nonce is always stale. */
export const nonce_retention_margin_ms = 60_000;
/** ECDSA P-256 signature in IEEE P1363 form (r || s). */
export const signature_bytes = 64;
/** Expired nonces are purged at most this often, from the request path. */
export const nonce_purge_interval_ms = 60_000;

export interface SignedRequest {
  readonly terminalId: string;
  readonly method: string;
  readonly path: string;
  readonly header: (name: string) => string | undefined;
  /** The request body as parsed JSON (before schema parsing, so unknown members are covered too). */
  readonly body: Readonly<Record<string, unknown>>;
  readonly captures: readonly CaptureBytes[];
}

export class CaptureVerifier {
  private purged_ms = 0;

  constructor(
    private readonly hsm: Pick<HsmPort, 'verifyTerminalSignature'>,
    private readonly nonces: NonceStore,
    private readonly window_ms: number = signature_window_ms_default,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(request: SignedRequest): Promise<void> {
    const timestampText = request.header(SIGNATURE_HEADERS.timestamp);
    const nonce = request.header(SIGNATURE_HEADERS.nonce);
    const signatureText = request.header(SIGNATURE_HEADERS.signature);
    if (timestampText === undefined || nonce === undefined || signatureText === undefined) {
      throw new GatewayError('signature_invalid', `a signed capture needs ${SIGNATURE_HEADERS.timestamp}, ${SIGNATURE_HEADERS.nonce} and ${SIGNATURE_HEADERS.signature}`);
    }
    if (!nonce_pattern.test(nonce)) throw new GatewayError('signature_invalid', 'the nonce must be 16..64 of [A-Za-z0-9_-]');
    if (!/^\d{1,15}$/.test(timestampText)) throw new GatewayError('timestamp_stale', 'the timestamp must be milliseconds since the epoch');
    const timestamp_ms = Number(timestampText);
    const now_ms = this.now();
    if (Math.abs(now_ms - timestamp_ms) > this.window_ms) {
      throw new GatewayError('timestamp_stale', `the capture timestamp is more than ${this.window_ms / 1000} s from the switch's clock`);
    }
    const signature = Buffer.from(signatureText, 'base64');
    if (signature.length !== signature_bytes) throw new GatewayError('signature_invalid', `the signature must be ${signature_bytes} bytes (r || s), base64`);
    const data = Buffer.from(signingString({
      method: request.method, path: request.path, terminalId: request.terminalId, timestamp_ms, nonce,
      captureDigest: captureDigest(request.captures), bodyDigest: bodyDigest(request.body),
    }), 'utf8');
    let valid: boolean;
    try {
      valid = await this.hsm.verifyTerminalSignature({ terminalId: request.terminalId, data, signature });
    } catch (error) {
      if (error instanceof HsmError && error.code === 'hsm_terminal_unknown') throw new GatewayError('signature_invalid', 'no sensor key is registered for this terminal');
      throw error;
    }
    if (!valid) throw new GatewayError('signature_invalid', 'the capture signature does not verify (changed body, image or headers)');
    if (now_ms - this.purged_ms >= nonce_purge_interval_ms) {
      this.purged_ms = now_ms;
      this.nonces.purge(now_ms);
    }
    if (!this.nonces.claim(request.terminalId, nonce, now_ms + 2 * this.window_ms + nonce_retention_margin_ms)) {
      throw new GatewayError('nonce_reused', 'this nonce was used before: a replayed request is refused');
    }
  }
}
