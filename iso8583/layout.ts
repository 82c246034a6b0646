/**
 * Message layouts: a fixed list of fields, made once, whose messages are encoded from their
 * values by position, without a fields object:
 *
 * ```ts
 * const authorization = codec.layout([2, 3, 4, 7, 11, 12, 13, 14, 18, 22, 25, 32, 37, 41, 42, 43, 49, 55]);
 * const bytes = authorization.encode('0100', [pan, '000000', amount, ...]);
 * ```
 *
 * `layout.encode(mti, values)` gives exactly what `codec.encode({ mti, fields })` gives for
 * `fields[ids[i]] = values[i]` — the same bytes, or the same Iso8583Error (code, path, offset):
 * an undefined value leaves its field out, as encode skips one, and every value encode
 * refuses is handed to encode, which throws. What a layout saves is encode's look at a fields
 * object it has never seen (which keys it holds, and a copy of them to look at safely), and
 * its encoder writes only its own fields: on the compiled engine, which
 * generates a layout's own encoder (generate-layout.ts), the typical 0100 took ~1.4 µs through
 * its layout against ~2.1 µs through encode (2026-11-25, one process, alternating windows).
 *
 * Rules of the list, checked when the layout is made: every id is a field the spec defines
 * (else `field_unknown`), no id twice (`field_duplicate`); any order (the fields go out in
 * ascending order, whatever the list's); fields above 64 bring the secondary bitmap when
 * present, as in encode. A values array of another length throws `input_invalid`.
 * A layout compiles code: make it once per message shape, not per message (a codec keeps up
 * to LAYOUTS_KEPT_MAX of them by field list, so that a layout made per message is slow, not
 * a leak).
 */
import { Iso8583Error } from './errors.js';
import type { FieldValue, FieldValues, Message } from './spec.js';

export interface MessageLayout {
  /** The field ids, in the order of the values. */
  readonly ids: readonly number[];
  /** The message `mti` with `values[i]` as field `ids[i]` (undefined: absent). */
  encode(mti: string, values: readonly (FieldValue | undefined)[]): Buffer;
}

export const LAYOUTS_KEPT_MAX = 64;

/** Throws unless every id is one `defined` holds, each once. */
export function checkLayoutIds(ids: readonly number[], defined: (id: number) => boolean): void {
  const list: unknown = ids;
  if (!Array.isArray(list)) throw new Iso8583Error('input_invalid', 'a layout is a list of field numbers', '', 0);
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isInteger(id) || !defined(id)) throw new Iso8583Error('field_unknown', `field ${String(id)} is not defined by this spec`, String(id), 0);
    if (seen.has(id)) throw new Iso8583Error('field_duplicate', `field ${id} is listed twice in the layout`, String(id), 0);
    seen.add(id);
  }
}

/** The message a layout's values stand for, for the codec's encode. */
export function layoutMessage(ids: readonly number[], mti: string, values: readonly (FieldValue | undefined)[]): Message {
  const list: unknown = values;
  if (!Array.isArray(list) || list.length !== ids.length) {
    throw new Iso8583Error('input_invalid', `a layout of ${ids.length} fields takes ${ids.length} values, got ${Array.isArray(list) ? list.length : typeof list}`, '', 0);
  }
  const fields: FieldValues = {};
  for (let i = 0; i < ids.length; i += 1) {
    const value = values[i];
    if (value !== undefined) fields[ids[i]!] = value;
  }
  return { mti, fields };
}

/**
 * A codec's layouts, kept by field list (up to LAYOUTS_KEPT_MAX). `fast` (compiled engine)
 * compiles a list's generated encoder, tried first; `encode` is the codec's own, for what
 * that does not take.
 */
export function layoutMaker(defined: (id: number) => boolean, encode: (message: Message) => Buffer,
  fast?: (ids: readonly number[]) => (mti: string, values: readonly (FieldValue | undefined)[]) => Buffer | undefined): (ids: readonly number[]) => MessageLayout {
  const kept = new Map<string, MessageLayout>();
  return (ids) => {
    checkLayoutIds(ids, defined);
    const key = ids.join(',');
    const known = kept.get(key);
    if (known !== undefined) return known;
    const own = Object.freeze([...ids]);
    const attempt = fast?.(own);
    const layout: MessageLayout = {
      ids: own,
      encode: attempt === undefined
        ? (mti, values) => encode(layoutMessage(own, mti, values))
        : (mti, values) => attempt(mti, values) ?? encode(layoutMessage(own, mti, values)),
    };
    if (kept.size < LAYOUTS_KEPT_MAX) kept.set(key, layout);
    return layout;
  };
}
