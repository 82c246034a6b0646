/**
 * Request limits: token buckets per key (a terminal, a palm identity, a phone number) in a
 * bounded map, and the size limits checked before any parsing or decoding. A refused request
 * gets `rate_limited` (429) or `body_too_large` (413) with `Retry-After` where waiting helps.
 */
import { assert } from '../../core/index.js';
import { png_file_size_bytes_max } from '../../biometric/index.js';
import { GatewayError } from '../errors.js';

/** Keys a limiter tracks at most; past this the least recently used key is forgotten (it starts full again). */
export const rate_limit_keys_max = 100_000;

export interface BucketRule {
  /** Tokens added per second (the sustained rate). */
  readonly rate_per_s: number;
  /** Bucket size (the burst). */
  readonly burst: number;
}

export interface GatewayLimits {
  /** Bytes of a request body, checked from Content-Length and while reading, before parsing. */
  readonly body_size_bytes_max: number;
  /** Bytes of one decoded image (visible or NIR), checked from the base64 length before decoding. */
  readonly image_size_bytes_max: number;
  readonly perTerminal: BucketRule;
  readonly perIdentity: BucketRule;
}

export const limits_default: GatewayLimits = {
  body_size_bytes_max: 24 * 1024 * 1024,
  image_size_bytes_max: png_file_size_bytes_max,
  perTerminal: { rate_per_s: 200, burst: 400 },
  perIdentity: { rate_per_s: 0.5, burst: 10 },
};

interface Bucket { tokens: number; updated_ms: number }

export class RateLimiter {
  /** Insertion order is recency order: a touched key is re-inserted at the end. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly rule: BucketRule, private readonly keys_max = rate_limit_keys_max, private readonly now: () => number = Date.now) {
    assert(rule.rate_per_s > 0 && rule.burst >= 1, 'a bucket refills and holds at least one token');
    assert(Number.isInteger(keys_max) && keys_max >= 1, 'key bound');
  }

  get size(): number { return this.buckets.size; }

  /** Takes one token for `key`, or throws `rate_limited` saying when the next token arrives. */
  take(key: string, what: string): void {
    const now_ms = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.rule.burst, updated_ms: now_ms };
    this.buckets.delete(key);
    bucket.tokens = Math.min(this.rule.burst, bucket.tokens + ((now_ms - bucket.updated_ms) / 1000) * this.rule.rate_per_s);
    bucket.updated_ms = now_ms;
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.keys_max) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retry_after_s = (1 - bucket.tokens) / this.rule.rate_per_s;
    throw new GatewayError('rate_limited', `too many requests for this ${what}; retry in ${Math.ceil(retry_after_s)} s`, { details: { retry_after_s } });
  }
}

/** Decoded size of a base64 string without decoding it. */
export function base64DecodedBytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/** Refuses an image larger than the bound before a byte of it is decoded. */
export function checkImageSize(bytes: number, limits: GatewayLimits, what: string): void {
  if (bytes > limits.image_size_bytes_max) {
    throw new GatewayError('body_too_large', `${what} is ${bytes} bytes; at most ${limits.image_size_bytes_max}`);
  }
}
