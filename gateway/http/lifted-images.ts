/**
 * Capture images leave the request body as bytes, never as JavaScript strings.
 *
 * A hand payment's body is ~325 KB of JSON, nearly all of it two base64 PNGs of ~160 KB each.
 * Decoding it to text and parsing it made three strings over V8's 128 KB large-object bound
 * (the body, then each image), and every large object is a fresh memory mapping whose pages
 * fault in one by one. Measured on the 2-core machines (a harness of 200 hand bodies): the
 * text 1.68 ms (79 faults) and the parse 2.03 ms (81 faults) per body, about 3.7 ms of the
 * event loop's ~13 ms per hand payment.
 *
 * So before parsing, each `"visible"` / `"nir"` member whose value is well-formed padded base64
 * is cut out of the text and replaced by a short placeholder; the JSON that remains is small.
 * The placeholder carries a per-process secret, so a body cannot forge one, and the schema
 * accepts it only in the image members (`isLiftedImage`). The route reads the bytes back by
 * placeholder (`LiftedImages.decode`), straight from the body's bytes.
 * A member that is not well-formed stays in the text and meets the schema's refusal as before.
 */
import { randomBytes } from 'node:crypto';
import { assert } from '../../core/index.js';
import { GatewayError } from '../errors.js';

/** Images lifted from one body at most (an enrolment carries 2..6 captures of two images each). */
export const lifted_images_max = 16;

const placeholder_prefix = `\u0000palmswitch-image:${randomBytes(16).toString('hex')}:`;

/** True for a placeholder this process made (the schema's image members accept it). */
export function isLiftedImage(text: string): boolean {
  return text.startsWith(placeholder_prefix);
}

/** The base64 alphabet's values; -1 outside it. */
const BASE64_VALUE = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i += 1) table[alphabet.charCodeAt(i)] = i;
  return table;
})();
/** Two base64 characters (first << 8 | second) to their 12 bits: half the lookups of one table per character. */
const BASE64_PAIR_VALUE = (() => {
  const table = new Int16Array(65536).fill(-1);
  for (let first = 0; first < 256; first += 1) {
    if (BASE64_VALUE[first]! < 0) continue;
    for (let second = 0; second < 256; second += 1) if (BASE64_VALUE[second]! >= 0) table[(first << 8) | second] = (BASE64_VALUE[first]! << 6) | BASE64_VALUE[second]!;
  }
  return table;
})();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const EQUALS = 0x3d;
const isJsonSpace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** The images of one request body, by placeholder: byte ranges of the body holding base64 text. */
export class LiftedImages {
  private readonly ranges = new Map<string, { start: number; end: number }>();

  constructor(private readonly body: Uint8Array) {}

  /** @internal Records a range and returns its placeholder. */
  add(start: number, end: number): string {
    assert(this.ranges.size < lifted_images_max && start <= end && end <= this.body.length, 'lifted image range');
    const placeholder = `${placeholder_prefix}${this.ranges.size}`;
    this.ranges.set(placeholder, { start, end });
    return placeholder;
  }

  get size(): number { return this.ranges.size; }

  /** Bytes the image behind a placeholder decodes to (what the size limit counts), or undefined if it is not one of these. */
  decodedLength(placeholder: string): number | undefined {
    const range = this.ranges.get(placeholder);
    return range === undefined ? undefined : decodedLengthOf(this.body, range.start, range.end);
  }

  /** The decoded bytes behind a placeholder (a new buffer the caller owns). */
  decode(placeholder: string): Buffer {
    const range = this.ranges.get(placeholder);
    if (range === undefined) throw new GatewayError('request_invalid', 'an image placeholder that this request did not carry');
    return decodePaddedBase64(this.body, range.start, range.end);
  }
}

/**
 * Decodes well-formed padded base64 (checked when lifted: length a multiple of 4, alphabet only,
 * at most two `=` at the end) from `bytes[start, end)`; the same bytes as `Buffer.from(text, 'base64')`.
 */
export function decodePaddedBase64(bytes: Uint8Array, start: number, end: number): Buffer {
  assert((end - start) % 4 === 0, 'padded base64');
  const padding = paddingOf(bytes, start, end);
  const out = Buffer.allocUnsafe(decodedLengthOf(bytes, start, end));
  let o = 0;
  const full = end - (padding > 0 ? 4 : 0);
  for (let i = start; i < full; i += 4) {
    const n = (BASE64_PAIR_VALUE[(bytes[i]! << 8) | bytes[i + 1]!]! << 12) | BASE64_PAIR_VALUE[(bytes[i + 2]! << 8) | bytes[i + 3]!]!;
    out[o] = n >>> 16; out[o + 1] = (n >>> 8) & 0xff; out[o + 2] = n & 0xff;
    o += 3;
  }
  if (padding > 0) {
    const n = (BASE64_VALUE[bytes[full]!]! << 18) | (BASE64_VALUE[bytes[full + 1]!]! << 12) | (padding === 1 ? BASE64_VALUE[bytes[full + 2]!]! << 6 : 0);
    out[o] = n >>> 16;
    if (padding === 1) out[o + 1] = (n >>> 8) & 0xff;
  }
  return out;
}

/** The `=` characters (0, 1 or 2) that end the text `bytes[start, end)`. */
function paddingOf(bytes: Uint8Array, start: number, end: number): number {
  if (end - start === 0 || bytes[end - 1] !== EQUALS) return 0;
  return end - start >= 2 && bytes[end - 2] === EQUALS ? 2 : 1;
}

/** Bytes that the padded base64 text `bytes[start, end)` decodes to. */
function decodedLengthOf(bytes: Uint8Array, start: number, end: number): number {
  return ((end - start) / 4) * 3 - paddingOf(bytes, start, end);
}

/** Whether `bytes[start, end)` is padded base64: alphabet only, length a multiple of 4, `=` only as the last one or two. */
function isPaddedBase64(bytes: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0 || length % 4 !== 0) return false;
  const padding = paddingOf(bytes, start, end);
  for (let i = start; i < end - padding; i += 1) if (BASE64_VALUE[bytes[i]!]! < 0) return false;
  return true;
}

/** Whether the string token at `[start, end)` (quotes excluded) is the key `"visible"` or `"nir"`. */
function isImageKey(bytes: Uint8Array, start: number, end: number): boolean {
  const key = end - start === 7 ? 'visible' : end - start === 3 ? 'nir' : undefined;
  if (key === undefined) return false;
  for (let i = 0; i < key.length; i += 1) if (bytes[start + i] !== key.charCodeAt(i)) return false;
  return true;
}

/** The index of the quote closing the string opened at `open`, or -1 if the body ends first. */
function closingQuote(bytes: Uint8Array, open: number): number {
  // indexOf is a native scan; a quote is the closing one unless an odd run of backslashes escapes it.
  for (let at = bytes.indexOf(QUOTE, open + 1); at !== -1; at = bytes.indexOf(QUOTE, at + 1)) {
    let backslashes = 0;
    while (bytes[at - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}

/**
 * The body's JSON text with every well-formed image member replaced by a placeholder, and the
 * lifted images. Replacing one string token by another leaves the JSON's validity and shape as
 * they were: the parse refuses exactly the bodies it refused before. A leading byte order mark
 * is dropped, as a fetch Response's text() does.
 */
export function liftImages(body: Uint8Array): { text: string; images: LiftedImages } {
  const images = new LiftedImages(body);
  const parts: string[] = [];
  let copiedTo = 0;
  let lastKey: { start: number; end: number } | undefined;
  let colonAfterKey = false;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i]!;
    if (byte !== QUOTE) {
      if (byte === COLON && lastKey !== undefined) colonAfterKey = true;
      else if (!isJsonSpace(byte)) { lastKey = undefined; colonAfterKey = false; }
      continue;
    }
    const close = closingQuote(body, i);
    if (close === -1) break;
    if (colonAfterKey && lastKey !== undefined && isImageKey(body, lastKey.start, lastKey.end) && images.size < lifted_images_max && isPaddedBase64(body, i + 1, close)) {
      parts.push(Buffer.from(body.buffer, body.byteOffset + copiedTo, i - copiedTo).toString('utf8'));
      parts.push(JSON.stringify(images.add(i + 1, close)));
      copiedTo = close + 1;
      lastKey = undefined;
    } else lastKey = { start: i + 1, end: close };
    colonAfterKey = false;
    i = close;
  }
  parts.push(Buffer.from(body.buffer, body.byteOffset + copiedTo, body.length - copiedTo).toString('utf8'));
  const text = parts.join('');
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, images };
}
