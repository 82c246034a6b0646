/**
 * Deterministic byte-level mutations for fuzzing the codec's decoder (shared by the fuzz
 * test and the compiled-vs-interpreted differential test), and value-level mutations of
 * messages for the encoder.
 */
import type { FieldValue, Message } from '../../iso8583/index.js';

/** xorshift32: a tiny deterministic generator, so any failure replays from its seed. */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

export function mutate(frame: Buffer, next: () => number): Buffer {
  const bytes = Buffer.from(frame);
  switch (next() % 6) {
    case 0: { // flip a few bytes
      for (let i = next() % 4; i >= 0; i -= 1) if (bytes.length > 0) bytes[next() % bytes.length] = next() & 0xff;
      return bytes;
    }
    case 1: return bytes.subarray(0, next() % (bytes.length + 1)); // truncate
    case 2: { // insert bytes
      const at = next() % (bytes.length + 1);
      const extra = Buffer.from(Array.from({ length: 1 + (next() % 8) }, () => next() & 0xff));
      return Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
    }
    case 3: { // delete a run
      const at = next() % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + (next() % 8))]);
    }
    case 4: { // set a bitmap bit
      if (bytes.length > 4) bytes[2 + (next() % Math.min(16, bytes.length - 2))]! ^= 1 << (next() % 8);
      return bytes;
    }
    default: return Buffer.from(Array.from({ length: next() % 300 }, () => next() & 0xff)); // random frame
  }
}

const ODD_STRINGS = ['', ' ', '0', '12345', 'A', 'a', '9F', 'ABC', 'é', '\u0130', '\u01a0', '€', 'x'.repeat(300), '0'.repeat(19), 'D', '=', '0123456789ABCDEF'];

function oddValue(next: () => number, original: FieldValue | undefined): unknown {
  switch (next() % 9) {
    case 0: return ODD_STRINGS[next() % ODD_STRINGS.length];
    case 1: return typeof original === 'string' ? original.slice(0, next() % (original.length + 1)) : original;
    case 2: return typeof original === 'string' ? original + ODD_STRINGS[next() % ODD_STRINGS.length]! : original;
    case 3: return typeof original === 'string' && original.length > 0 ? original.slice(0, -1) + String.fromCharCode(next() % 0x200) : original;
    case 4: return next() % 2 === 0 ? 42 : null;
    case 5: return [{ tag: ODD_STRINGS[next() % ODD_STRINGS.length], value: ODD_STRINGS[next() % ODD_STRINGS.length] }];
    case 6: return Array.isArray(original) ? [...original, { tag: '9F', value: 'A' }] : { 1: 'x' };
    case 7: return Array.isArray(original) ? original.map((e) => ({ tag: e.tag, value: e.value + '0' })) : undefined;
    default: return undefined;
  }
}

/**
 * A message changed the ways callers get messages wrong: a field value out of range or of
 * the wrong type, an unknown or malformed key, an undefined value, a bad MTI, odd prototypes.
 */
export function mutateMessage(message: Message, next: () => number): unknown {
  const fields: Record<string, unknown> = { ...message.fields };
  const keys = Object.keys(fields);
  switch (next() % 8) {
    case 0: return { mti: ODD_STRINGS[next() % ODD_STRINGS.length], fields };
    case 1: fields[String(next() % 200)] = oddValue(next, undefined); break;
    case 2: fields[['foo', '02', '-1', '1e1', '0', '1'][next() % 6]!] = '0'; break;
    case 3: return { mti: message.mti, fields: Object.assign(Object.create({ 3: '000000' }) as object, fields) };
    case 4: return { mti: message.mti, fields: Object.assign(Object.create(null) as object, fields) };
    case 5: return next() % 2 === 0 ? { mti: message.mti, fields: Object.values(fields) } : null;
    default: {
      for (let i = next() % 3; i >= 0 && keys.length > 0; i -= 1) {
        const key = keys[next() % keys.length]!;
        fields[key] = oddValue(next, fields[key] as FieldValue);
      }
    }
  }
  return { mti: message.mti, fields };
}
