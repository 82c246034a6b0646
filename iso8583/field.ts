/**
 * Compiles a field spec into an encoder/decoder pair. Compilation checks the spec itself
 * (a BCD field that can be odd must say how it pads, a prefix must be able to express the
 * maximum, ...) so a bad dialect table fails at load time, not on the first live message.
 */
import { assert } from '../core/index.js';
import type { EbcdicTables } from './encoding.js';
import type { Reader, Writer } from './io.js';
import { prefixCapacity } from './prefix.js';
import { decodePrimitive, encodePrimitive, PrimitiveField } from './primitive.js';
import type { FieldSpec, FieldValue, LengthUnit } from './spec.js';
import { compileComposite } from './composite.js';

export interface FieldCodec {
  readonly spec: FieldSpec;
  readonly path: string;
  /** Set for primitive fields, which the message loop handles without a closure call. */
  readonly primitive?: PrimitiveField;
  encode(value: FieldValue, writer: Writer): void;
  decode(reader: Reader): FieldValue;
}

/** Field lengths above this are a spec error: no ISO 8583 field is longer than LLLL allows. */
const FIELD_LENGTH_MAX = 9_999;
/** Composite specs nest at most this deep (DE 127.25.x is three levels). */
export const COMPOSITE_DEPTH_MAX = 4;

export function compileField(spec: FieldSpec, path: string, ebcdic: EbcdicTables | undefined, depth = 0): FieldCodec {
  checkSpec(spec, path);
  assert(depth <= COMPOSITE_DEPTH_MAX, `spec nests deeper than ${COMPOSITE_DEPTH_MAX} at ${path}`);
  if (spec.subfields) return compileComposite(spec, spec.subfields, path, ebcdic, depth);
  return compilePrimitive(spec, path, ebcdic);
}

function unitOf(spec: FieldSpec): LengthUnit | 'chars' {
  if (spec.lengthUnit) return spec.lengthUnit;
  if (spec.type === 'b') return 'bytes';
  if (spec.encoding === 'bcd') return 'digits';
  return 'chars';
}

function checkSpec(spec: FieldSpec, path: string): void {
  const where = `spec for field ${path}`;
  assert(Number.isInteger(spec.length) && spec.length >= 0 && spec.length <= FIELD_LENGTH_MAX, `${where}: bad length`);
  assert(spec.prefix !== undefined || spec.length > 0, `${where}: a fixed field needs a positive length`);
  if (spec.prefix) assert(spec.length <= prefixCapacity(spec.prefix), `${where}: the prefix cannot express the maximum length`);
  if (spec.subfields) return;
  const textual = spec.encoding === 'ascii' || spec.encoding === 'ebcdic';
  if (spec.type === 'b') assert(spec.encoding === 'binary' || spec.encoding === 'hex', `${where}: binary content needs binary or hex encoding`);
  else if (spec.type === 'n' || spec.type === 'z') assert(textual || spec.encoding === 'bcd', `${where}: numeric content needs ascii, ebcdic or bcd`);
  else assert(textual, `${where}: text content needs ascii or ebcdic`);
  if (spec.encoding === 'bcd') {
    const canBeOdd = spec.prefix !== undefined ? unitOf(spec) === 'digits' : spec.length % 2 === 1;
    if (canBeOdd) assert(spec.bcdPad !== undefined, `${where}: BCD with odd lengths needs a bcdPad rule`);
  }
  if (spec.pad) assert(spec.prefix === undefined && spec.pad.char.length === 1, `${where}: padding applies to fixed fields, one character`);
}

function compilePrimitive(spec: FieldSpec, path: string, ebcdic: EbcdicTables | undefined): FieldCodec {
  assert(spec.encoding !== 'ebcdic' || ebcdic !== undefined, `spec for field ${path}: EBCDIC needs a code page`);
  const primitive = new PrimitiveField(spec, unitOf(spec), path, ebcdic);
  return {
    spec,
    path,
    primitive,
    decode: (reader) => decodePrimitive(primitive, reader),
    encode: (value, writer) => encodePrimitive(primitive, value, writer),
  };
}
