/**
 * Writes, from a message spec, the JavaScript source of one encoder and one decoder for
 * that spec alone: every field's checks inlined with its constants (lengths, prefix form,
 * character classes, code page), no per-field dispatch, so each function stays monomorphic.
 * The source is plain text that can be printed and read (`generatedSource`).
 *
 * The generated code takes only the common road. Whenever something is not as it expects
 * (a bad byte, a short value that a fixed field would pad, an unknown key, a rare field
 * form), it returns "no" (undefined / -1) and compiled.ts hands the message to the
 * interpreted codec, which decodes/encodes it or throws the precise Iso8583Error. The
 * generated code therefore never throws and never builds an error.
 */
import { assert } from '../core/index.js';
import { berDecodeLines, berEncodeLines, berValueLines } from './generate-ber.js';
import { allowedClasses } from './content.js';
import { DECODE_CHARS_MAX, DIGIT_STRINGS_LENGTH_MAX } from './fast-runtime.js';
import { CLASS_DIGIT, CLASS_PRINT_ASCII, MESSAGE_SIZE_BYTES_MAX } from './io.js';
import { prefixSize } from './prefix.js';
import type { FieldSpec, LengthPrefix, MessageSpec } from './spec.js';

/** How the generated code handles one field: inline, or through the interpreted field codec. */
export type FieldPlan =
  | { readonly id: number; readonly kind: 'text'; readonly spec: FieldSpec; readonly ebcdic: boolean }
  | { readonly id: number; readonly kind: 'bcd'; readonly spec: FieldSpec }
  | { readonly id: number; readonly kind: 'binary'; readonly spec: FieldSpec }
  | { readonly id: number; readonly kind: 'ber'; readonly spec: FieldSpec }
  | { readonly id: number; readonly kind: 'delegate'; readonly spec: FieldSpec };

export function planField(id: number, spec: FieldSpec): FieldPlan {
  if (spec.subfields) return { id, kind: spec.subfields.kind === 'ber-tlv' ? 'ber' : 'delegate', spec };
  if (spec.encoding === 'ascii' || spec.encoding === 'ebcdic') return { id, kind: 'text', spec, ebcdic: spec.encoding === 'ebcdic' };
  const digitUnit = spec.lengthUnit === undefined || spec.lengthUnit === 'digits';
  if (spec.encoding === 'bcd' && spec.type === 'n' && digitUnit) return { id, kind: 'bcd', spec };
  if (spec.encoding === 'binary' && (spec.lengthUnit === undefined || spec.lengthUnit === 'bytes')) return { id, kind: 'binary', spec };
  // Track data in BCD, byte-counted BCD and hex text are rare: the interpreted codec does them.
  return { id, kind: 'delegate', spec };
}

/** Field id -> bitmap word (32 fields each) and the bit's mask as an int32 literal. */
function word(id: number): number {
  return (id - 1) >> 5;
}
function bit(id: number): number {
  return (0x80000000 >>> ((id - 1) & 31)) | 0;
}
/** An int32 bit pattern as a readable hex literal (bitwise operators read it back as int32). */
const hex = (bits: number): string => `0x${(bits >>> 0).toString(16).padStart(8, '0')}`;
const at = (id: number): string => `(w${word(id)} & ${hex(bit(id))}) !== 0`;

/** Reads a byte as Latin-1: through the code page for EBCDIC. */
const latin1Of = (ebcdic: boolean, byte: string): string => (ebcdic ? `E2L[${byte}]` : byte);
const byteOf = (ebcdic: boolean, code: string): string => (ebcdic ? `L2E[${code}]` : code);

/** Decode: reads a length prefix into `n` (then `p` is past it), or gives up. Unrolled: no loops here. */
function readPrefix(prefix: LengthPrefix, max: number): string[] {
  const size = prefixSize(prefix);
  const lines = [`if (end - p < ${size}) return undefined;`];
  const indexes = Array.from({ length: size }, (_, i) => i);
  switch (prefix.encoding) {
    case 'ascii':
    case 'ebcdic': {
      const ebcdic = prefix.encoding === 'ebcdic';
      lines.push(`const ${indexes.map((i) => `c${i} = ${latin1Of(ebcdic, `buf[p + ${i}]`)} - 48`).join(', ')};`);
      lines.push(`if ((${indexes.map((i) => `(c${i} >>> 0) > 9`).join(' || ')})) return undefined;`);
      lines.push(`const n = ${indexes.reduce((sum, i) => (i === 0 ? 'c0' : `(${sum}) * 10 + c${i}`), '')};`);
      break;
    }
    case 'bcd':
      lines.push(`const ${indexes.map((i) => `b${i} = buf[p + ${i}]`).join(', ')};`);
      lines.push(`if (${indexes.map((i) => `b${i} > 0x99 || (b${i} & 15) > 9`).join(' || ')}) return undefined;`);
      lines.push(`const n = ${indexes.reduce((sum, i) => { const pair = `(b${i} >> 4) * 10 + (b${i} & 15)`; return i === 0 ? pair : `(${sum}) * 100 + ${pair}`; }, '')};`);
      break;
    case 'binary':
      lines.push(size === 1 ? 'const n = buf[p];' : 'const n = (buf[p] << 8) | buf[p + 1];');
  }
  lines.push(`p += ${size};`, `if (n > ${max}) return undefined;`);
  return lines;
}

/** Encode: writes length `n` as the prefix at `p` (the caller checked room and range). */
function writePrefix(prefix: LengthPrefix, n = 'n'): string[] {
  const ebcdic = prefix.encoding === 'ebcdic';
  switch (prefix.encoding) {
    case 'ascii':
    case 'ebcdic': {
      const divisors = [1000, 100, 10, 1].slice(4 - prefix.digits);
      return divisors.map((d, i) => `out[p + ${i}] = ${byteOf(ebcdic, `48 + ((${n} / ${d}) | 0) % 10`)};`);
    }
    case 'bcd':
      return prefix.digits <= 2
        ? [`out[p] = (((${n} / 10) | 0) << 4) | (${n} % 10);`]
        : [`out[p] = (((${n} / 1000) | 0) << 4) | (((${n} / 100) | 0) % 10);`, `out[p + 1] = ((((${n} / 10) | 0) % 10) << 4) | (${n} % 10);`];
    case 'binary':
      return prefix.digits <= 2 ? [`out[p] = ${n};`] : [`out[p] = ${n} >> 8;`, `out[p + 1] = ${n} & 255;`];
  }
}

function padRule(spec: FieldSpec): { left: boolean; value: number } {
  return { left: spec.bcdPad === 'left-0' || spec.bcdPad === 'left-F', value: spec.bcdPad === 'left-F' || spec.bcdPad === 'right-F' ? 15 : 0 };
}

/**
 * A condition true when character code `c` is outside `classes`: digits by arithmetic, the
 * rest through a class table: `CC` (256 entries) for bytes, `CCW` (every UTF-16 code unit,
 * none above 255 in any class) for a string's characters.
 */
function refused(classes: number, c: string, wide: boolean): string {
  if (classes === CLASS_DIGIT) return `((${c} - 48) >>> 0) > 9`;
  // Printable ASCII is one range (0x20..0x7E): arithmetic instead of a table load.
  if (classes === CLASS_PRINT_ASCII) return `((${c} - 32) >>> 0) > 94`;
  return `(${wide ? 'CCW' : 'CC'}[${c}] & ${classes}) === 0`;
}

/**
 * Packed BCD digits (`n` of them, `bytes` bytes at `p`) as characters to `sc` at `q`. With an
 * odd count the pad nibble sits where the field says and must hold its value, as the interpreted
 * codec requires (primitive.ts). Written out per field: no call.
 */
function readBcd(spec: FieldSpec): string[] {
  const pad = padRule(spec);
  const lines = ['let i = 0;'];
  if (spec.bcdPad !== undefined && pad.left) {
    lines.push(`if ((n & 1) === 1) { const b = buf[p]; if ((b >> 4) !== ${pad.value} || (b & 15) > 9) return undefined; sc[q] = 48 + (b & 15); q += 1; i = 1; }`);
  }
  const pairsEnd = spec.bcdPad !== undefined && !pad.left ? 'bytes - (n & 1)' : 'bytes';
  lines.push(`for (const pe = ${pairsEnd}; i < pe; i += 1) { const b = buf[p + i]; if (b > 0x99 || (b & 15) > 9) return undefined; sc[q] = 48 + (b >> 4); sc[q + 1] = 48 + (b & 15); q += 2; }`);
  if (spec.bcdPad !== undefined && !pad.left) {
    lines.push(`if ((n & 1) === 1) { const b = buf[p + bytes - 1]; if (b > 0x9f || (b & 15) !== ${pad.value}) return undefined; sc[q] = 48 + (b >> 4); q += 1; }`);
  }
  return lines;
}

/**
 * Decode of one present field: characters to `sc` at `q` (positions a<id>..e<id>), or a value
 * v<id>. The byte loops are written into the spec's own code rather than called as shared
 * helpers, so how fast a spec runs never depends on what other specs taught a helper, nor on
 * which helper calls the optimiser chose to inline.
 */
function decodeField(plan: FieldPlan): string[] {
  const { id, spec } = plan;
  const digits = shortDigits(plan);
  if (digits > 0) return decodeShortDigits(plan, digits);
  const length = spec.prefix ? readPrefix(spec.prefix, spec.length) : [`const n = ${spec.length};`];
  switch (plan.kind) {
    case 'text': {
      const check = (c: string): string => `if (${refused(allowedClasses(spec.type, spec.encoding), c, false)}) return undefined;`;
      if (plan.ebcdic) {
        return [`a${id} = q;`, ...length, 'if (end - p < n) return undefined;',
          ...charLoop(spec, (i) => `{ const c = E2L[buf[p + ${i}]]; ${check('c')} sc[q + ${i}] = c; }`), 'p += n;', 'q += n;', `e${id} = q;`];
      }
      // ASCII text is its own Latin-1 string: checked where it lies in the frame's copy (see
      // copyFrame), and cut from the message's string, which starts with that copy.
      const classes = allowedClasses(spec.type, spec.encoding);
      const checks = wordRefused(classes, 'x') === undefined ? charLoop(spec, (i) => `{ const c = buf[p + ${i}]; ${check('c')} }`) : wordChecks(spec, classes);
      return [...length, 'if (end - p < n) return undefined;', `a${id} = p;`, ...checks, 'p += n;', `e${id} = p;`, 'm = 1;'];
    }
    case 'bcd':
      return [`a${id} = q;`, ...length, ...(spec.bcdPad === undefined ? ['if ((n & 1) !== 0) return undefined;'] : []),
        'const bytes = (n + 1) >> 1;', 'if (end - p < bytes) return undefined;', ...readBcd(spec), 'p += bytes;', `e${id} = q;`];
    case 'binary':
      // Hex runs start at an even index, so each byte's two characters are one 16-bit store.
      return ['q += q & 1;', `a${id} = q;`, ...length, 'if (end - p < n) return undefined;',
        'for (let i = 0; i < n; i += 1) { sc16[q >> 1] = HEX16[buf[p + i]]; q += 2; }', 'p += n;', `e${id} = q;`];
    case 'ber':
      return [...length, ...berDecodeLines(id)];
    case 'delegate':
      return ['const r = new Reader(buf, p, end);', `try { v${id} = C[${id}].decode(r); } catch { return undefined; }`, 'p = r.pos;'];
  }
}

/**
 * A fixed field's characters up to this many are checked in straight-line code (`body(i)` per
 * index), longer and variable ones in a loop: no loop counter or back branch for the short
 * dates, codes and amounts that make up most of a message.
 */
const UNROLLED_CHARS_MAX = 16;
function charLoop(spec: FieldSpec, body: (i: string) => string): string[] {
  if (spec.prefix !== undefined || spec.length > UNROLLED_CHARS_MAX) return [`for (let i = 0; i < n; i += 1) ${body('i')}`];
  return Array.from({ length: spec.length }, (_, i) => body(String(i)));
}

/**
 * A condition true when any of the four bytes of int32 `x` is outside `classes`, for the two
 * classes that are one byte range each (else undefined). Digits: every high nibble is 3 and
 * no low nibble carries when 6 is added. Printable ASCII: no byte has its top bit set, nor
 * gets it from adding 1 (0x7F) or loses a borrow subtracting 0x20 (below 0x20). A carry or
 * borrow can cross into the next byte only from a byte that already fails.
 */
function wordRefused(classes: number, x: string): string | undefined {
  if (classes === CLASS_DIGIT) return `((${x} & 0xf0f0f0f0) ^ 0x30303030 | ((${x} + 0x06060606) & 0xf0f0f0f0) ^ 0x30303030) !== 0`;
  if (classes === CLASS_PRINT_ASCII) return `(((${x} - 0x20202020) | (${x} + 0x01010101) | ${x}) & 0x80808080) !== 0`;
  return undefined;
}

/**
 * Decode checks of `n` ASCII bytes at `p` four at a time (wordRefused), through `SCV`, a
 * DataView of the scratch holding the frame's copy (copyFrame): a quarter of the loads, compares and
 * bounds checks of a byte loop. The last n % 4 bytes one by one.
 */
function wordChecks(spec: FieldSpec, classes: number): string[] {
  const word = (at: string): string => `{ const x = SCV.getInt32(p + ${at}, true); if (${wordRefused(classes, 'x')}) return undefined; }`;
  const byte = (at: string): string => `{ const c = buf[p + ${at}]; if (${refused(classes, 'c', false)}) return undefined; }`;
  if (spec.prefix !== undefined || spec.length > UNROLLED_CHARS_MAX) {
    return ['{', 'let i = 0;', `for (; i + 4 <= n; i += 4) ${word('i')}`, `for (; i < n; i += 1) ${byte('i')}`, '}'];
  }
  const words = spec.length >> 2;
  return [...Array.from({ length: words }, (_, w) => word(String(4 * w))), ...Array.from({ length: spec.length & 3 }, (_, r) => byte(String(4 * words + r)))];
}

/** ASCII text decodes in place (decodeField): its value is cut from the frame's copy, the start of `S`. */
const inPlace = (plan: FieldPlan): boolean => plan.kind === 'text' && !plan.ebcdic;

/** The value of a decoded field, once the message's characters are one string `S`. */
function decodedValue(plan: FieldPlan): string {
  if (plan.kind === 'delegate' || shortDigits(plan) > 0) return `v${plan.id}`;
  return `S.substring(a${plan.id}, e${plan.id})`;
}

/**
 * The digit count of a fixed numeric field short enough that its value comes from the table
 * of digit strings made once (fast-runtime.ts), or 0: dates, times, codes and currencies are
 * such fields, so a typical message makes no string for them. Packed BCD only with an even
 * count (no pad nibble to check).
 */
export function shortDigits(plan: FieldPlan): number {
  const { spec } = plan;
  if (spec.prefix !== undefined || spec.length < 1 || spec.length > DIGIT_STRINGS_LENGTH_MAX || spec.type !== 'n') return 0;
  if (plan.kind === 'text') return spec.length;
  return plan.kind === 'bcd' && spec.length % 2 === 0 && (spec.lengthUnit === undefined || spec.lengthUnit === 'digits') ? spec.length : 0;
}

/** Decode of a short numeric field (shortDigits) into v<id>: digits d0.. checked, then one table read. */
function decodeShortDigits(plan: FieldPlan, digits: number): string[] {
  const names = Array.from({ length: digits }, (_, i) => `d${i}`);
  const value = names.reduce((sum, d, i) => (i === 0 ? d : `(${sum}) * 10 + ${d}`), '');
  const read = plan.kind === 'text'
    ? [`const ${names.map((d, i) => `${d} = ${latin1Of(plan.ebcdic, `buf[p + ${i}]`)} - 48`).join(', ')};`, `if (${names.map((d) => `(${d} >>> 0) > 9`).join(' || ')}) return undefined;`]
    : [`const ${Array.from({ length: digits / 2 }, (_, i) => `b${i} = buf[p + ${i}]`).join(', ')};`,
      `if (${Array.from({ length: digits / 2 }, (_, i) => `(b${i} >> 4) > 9 || (b${i} & 15) > 9`).join(' || ')}) return undefined;`,
      `const ${names.map((d, i) => `${d} = ${i % 2 === 0 ? `b${i >> 1} >> 4` : `b${i >> 1} & 15`}`).join(', ')};`];
  const bytes = plan.kind === 'text' ? digits : digits / 2;
  return [`if (end - p < ${bytes}) return undefined;`, ...read, `v${plan.id} = DIGITS${digits}[${value}];`, `p += ${bytes};`];
}

/**
 * Where a frame's copy goes in the scratch `sc` when no ASCII text is cut from it: past the room
 * the written characters may take (fast-runtime.ts, DECODE_CHARS_MAX), which then start at 0.
 */
const FRAME_COPY_AT = 3 * MESSAGE_SIZE_BYTES_MAX + 32;
assert(FRAME_COPY_AT + MESSAGE_SIZE_BYTES_MAX <= DECODE_CHARS_MAX, 'the scratch holds a frame past the room for its written characters');

/**
 * Decode reads a copy of the frame `frame[from, to)` in the scratch `sc`, as `buf[p, end)`: a
 * typed array the code knows spares the checks that every read of a parameter takes, and, for
 * the four-byte reads of ASCII text (wordChecks), the frame's ArrayBuffer, a native getter. A
 * spec with ASCII text puts the copy at 0 (`inPlace`) and writes its other characters after it,
 * from `q0`, so that one Latin-1 string of `sc` holds the ASCII text in place and the written
 * characters: one native call where a frame's string and a string of the written characters
 * took two. Other specs put it at FRAME_COPY_AT and write from 0.
 */
function copyFrame(inPlace: boolean): string[] {
  const at = inPlace ? 0 : FRAME_COPY_AT;
  return [
    'const n0 = to - from;',
    // The codec refuses larger frames before this; the scratch has room for one this large.
    `if (n0 > ${MESSAGE_SIZE_BYTES_MAX}) return undefined;`,
    // A frame that is its whole Buffer (the usual case) is one native copy; a range of a larger one, a loop.
    `if (from === 0 && to === frame.length) sc.set(frame, ${at}); else for (let i = 0; i < n0; i += 1) sc[${at} + i] = frame[from + i];`,
    'const buf = sc;',
    `let p = ${at};`,
    `const end = ${at} + n0;`,
    ...(inPlace ? ['let q = (end + 1) & ~1;', 'const q0 = q;'] : ['let q = 0;']),
  ];
}

/** Decode: the MTI string `mti`, bitmap words w0.. (32 field bits each). */
function decodeHead(spec: MessageSpec, words: number, textInPlace: boolean): string[] {
  // The MTI is four digits, so its string comes from the table of digit strings (shortDigits).
  const lines: string[] = [...copyFrame(textInPlace), 'let t = 0;', 'let m = 0;'];
  if (spec.mti.encoding === 'bcd') {
    lines.push('if (end - p < 2) return undefined;', 'const m0 = buf[p], m1 = buf[p + 1];', 'if (m0 > 0x99 || (m0 & 15) > 9 || m1 > 0x99 || (m1 & 15) > 9) return undefined;',
      'const mti = DIGITS4[(((m0 >> 4) * 10 + (m0 & 15)) * 10 + (m1 >> 4)) * 10 + (m1 & 15)];', 'p += 2;');
  } else {
    const ebcdic = spec.mti.encoding === 'ebcdic';
    lines.push('if (end - p < 4) return undefined;', `const m0 = ${latin1Of(ebcdic, 'buf[p]')} - 48, m1 = ${latin1Of(ebcdic, 'buf[p + 1]')} - 48, m2 = ${latin1Of(ebcdic, 'buf[p + 2]')} - 48, m3 = ${latin1Of(ebcdic, 'buf[p + 3]')} - 48;`,
      'if ((m0 >>> 0) > 9 || (m1 >>> 0) > 9 || (m2 >>> 0) > 9 || (m3 >>> 0) > 9) return undefined;',
      'const mti = DIGITS4[((m0 * 10 + m1) * 10 + m2) * 10 + m3];', 'p += 4;');
  }
  lines.push(`let ${Array.from({ length: words }, (_, i) => `w${i} = 0`).join(', ')};`);
  const readWords = (first: number): string[] => {
    if (spec.bitmap.encoding === 'binary') {
      return ['if (end - p < 8) return undefined;', ...[first, first + 1].map((w, i) => `w${w} = (buf[p + ${4 * i}] << 24) | (buf[p + ${4 * i + 1}] << 16) | (buf[p + ${4 * i + 2}] << 8) | buf[p + ${4 * i + 3}];`), 'p += 8;'];
    }
    // Eight uppercase hex digits a word (HEXU: value by character code, -1 for anything else),
    // written out with one test of the eight: no loop, and one branch where eight were.
    const digit = (at: string): string => (spec.bitmap.encoding === 'hex-ebcdic' ? `HEXU[E2L[buf[${at}]]]` : `HEXU[buf[${at}]]`);
    const digits = Array.from({ length: 8 }, (_, k) => k);
    return ['if (end - p < 16) return undefined;', ...[first, first + 1].map((w, i) =>
      `{ const ${digits.map((k) => `h${k} = ${digit(`p + ${8 * i + k}`)}`).join(', ')}; if ((${digits.map((k) => `h${k}`).join(' | ')}) < 0) return undefined; ` +
      `w${w} = ${digits.map((k) => (k === 7 ? 'h7' : `(h${k} << ${28 - 4 * k})`)).join(' | ')}; }`), 'p += 16;'];
  };
  lines.push(...readWords(0), 'if (w0 < 0) {', ...readWords(2), 'if ((w2 | w3) === 0) return undefined;');
  if (spec.bitmap.tertiary === true) lines.push('if (w2 < 0) {', ...readWords(4), 'if ((w4 | w5) === 0) return undefined;', '}');
  lines.push('}');
  return lines;
}

/** int32 masks of the bits a frame may set: defined fields and the bitmap indicator bits. */
function definedMasks(spec: MessageSpec, plans: readonly FieldPlan[], words: number): number[] {
  const masks = new Array<number>(words).fill(0);
  masks[0] = bit(1);
  if (spec.bitmap.tertiary === true) masks[2] = bit(65);
  for (const plan of plans) masks[word(plan.id)] = masks[word(plan.id)]! | bit(plan.id);
  return masks;
}

export function generateDecoder(spec: MessageSpec, plans: readonly FieldPlan[]): string {
  const words = spec.bitmap.tertiary === true ? 6 : 4;
  const masks = definedMasks(spec, plans, words);
  const locals = plans.map((plan) => (plan.kind === 'ber' ? `t${plan.id} = 0` : plan.kind === 'delegate' || shortDigits(plan) > 0 ? `v${plan.id}` : `a${plan.id} = 0, e${plan.id} = 0`));
  const textInPlace = plans.some(inPlace);
  const lines = [
    'function decode(frame, from, to) {',
    ...decodeHead(spec, words, textInPlace),
    `if (${masks.map((mask, i) => `(w${i} & ~${hex(mask)}) !== 0`).join(' || ')}) return undefined;`,
    ...(locals.length > 0 ? [`let ${locals.join(', ')};`] : []),
  ];
  for (const plan of plans) lines.push(`if (${at(plan.id)}) { // field ${plan.id}: ${plan.kind}`, ...decodeField(plan), '}');
  // With ASCII text in place, the string starts with the frame's copy whenever it is needed at all.
  lines.push('if (p !== end) return undefined;', textInPlace ? 'const S = m === 0 && q === q0 ? \'\' : LS.call(sc, 0, q);' : 'const S = q === 0 ? \'\' : LS.call(sc, 0, q);', 'let top = 0;');
  // The fields object starts as a copy of a template holding only the highest field, so its
  // element store is sized once (a copy is cheaper than growing an empty object's store).
  for (let w = words - 1; w >= 0; w -= 1) lines.push(`${w === words - 1 ? '' : 'else '}if (w${w} !== 0) top = ${32 * w + 1} + Math.clz32(w${w} & -w${w});`);
  lines.push('const fields = { ...(FT[top] ?? fieldsTemplate(top)) };');
  for (const plan of plans) lines.push(...(plan.kind === 'ber' ? [`if (${at(plan.id)}) {`, ...berValueLines(plan.id), '}'] : [`if (${at(plan.id)}) fields[${plan.id}] = ${decodedValue(plan)};`]));
  lines.push('return { mti, fields };', '}');
  return lines.join('\n');
}

/** Digits of `v` as packed BCD at `p` (`bytes` of them); the pad nibble where the field says. */
function writeBcd(spec: FieldSpec, v: string): string[] {
  const pad = padRule(spec);
  const digit = (i: string): string => `((${v}.charCodeAt(${i}) - 48) >>> 0)`;
  const lines = ['let i = 0;', 'let at = p;'];
  if (spec.bcdPad !== undefined && pad.left) lines.push(`if ((n & 1) === 1) { const d = ${digit('0')}; if (d > 9) return -1; out[at] = ${pad.value << 4} | d; at += 1; i = 1; }`);
  lines.push(`for (; i + 1 < n; i += 2) { const h = ${digit('i')}, l = ${digit('i + 1')}; if (h > 9 || l > 9) return -1; out[at] = (h << 4) | l; at += 1; }`);
  if (spec.bcdPad !== undefined && !pad.left) lines.push(`if (i < n) { const h = ${digit('i')}; if (h > 9) return -1; out[at] = (h << 4) | ${pad.value}; }`);
  return lines;
}

/**
 * An int32 expression negative exactly when character code `c` is outside `classes` (refused,
 * as one value): range differences OR-ed for digits and printable ASCII, else the class table.
 */
function badness(classes: number, c: string): string {
  if (classes === CLASS_DIGIT) return `(${c} - 48) | (57 - ${c})`;
  if (classes === CLASS_PRINT_ASCII) return `(${c} - 32) | (126 - ${c})`;
  return `(CCW[${c}] & ${classes}) - 1`;
}

/**
 * The `n` characters of string `v` to `out` at `p`, four a round with one test of the four
 * (badness OR-ed), then the rest one by one: fewer branches and loop steps than a test a
 * character, about 15% less per field.
 *
 * Loops, not code written out per character: every text field of a bitmap word lands in its
 * one field writer (generateFieldWriter), and V8 optimises a function only up to ~60 KB of
 * bytecode. Fixed fields written out character by character (tried 2026-11-25, when all fields
 * were in encode itself) took iso87-ascii's and mastercard-like's encoders past it, and their
 * encode fell from ~360,000 to ~60,000 round trips/s.
 */
function encodeChars(v: string, classes: number, ebcdic: boolean): string[] {
  const four = [0, 1, 2, 3];
  return ['let i = 0;',
    `for (; i + 4 <= n; i += 4) { const ${four.map((k) => `c${k} = ${v}.charCodeAt(i + ${k})`).join(', ')};`,
    `if ((${four.map((k) => badness(classes, `c${k}`)).join(' | ')}) < 0) return -1;`,
    `${four.map((k) => `out[p + i + ${k}] = ${byteOf(ebcdic, `c${k}`)};`).join(' ')} }`,
    `for (; i < n; i += 1) { const c = ${v}.charCodeAt(i); if (${refused(classes, 'c', true)}) return -1; out[p + i] = ${byteOf(ebcdic, 'c')}; }`];
}

/** Encode of one present field v<id> at `p`, checked against `lim`; byte loops written out as for decode. */
export function encodeField(plan: FieldPlan): string[] {
  const { id, spec } = plan;
  const v = `v${id}`;
  const prefixBytes = spec.prefix ? prefixSize(spec.prefix) : 0;
  const prefix = spec.prefix ? [...writePrefix(spec.prefix), `p += ${prefixBytes};`] : [];
  const lengthOk = spec.prefix ? `n <= ${spec.length}` : `n === ${spec.length}`;
  switch (plan.kind) {
    case 'text':
      return [`if (typeof ${v} !== 'string') return -1;`, `const n = ${v}.length;`, `if (!(${lengthOk}) || p + ${prefixBytes} + n > lim) return -1;`, ...prefix,
        ...encodeChars(v, allowedClasses(spec.type, spec.encoding), plan.ebcdic),
        'p += n;'];
    case 'bcd':
      return [`if (typeof ${v} !== 'string') return -1;`, `const n = ${v}.length;`, `if (!(${lengthOk})${spec.bcdPad === undefined ? ' || (n & 1) !== 0' : ''}) return -1;`,
        'const bytes = (n + 1) >> 1;', `if (p + ${prefixBytes} + bytes > lim) return -1;`, ...prefix, ...writeBcd(spec, v), 'p += bytes;'];
    case 'binary':
      return [`if (typeof ${v} !== 'string' || (${v}.length & 1) !== 0) return -1;`, `const n = ${v}.length >> 1;`, `if (!(${lengthOk}) || p + ${prefixBytes} + n > lim) return -1;`, ...prefix,
        `for (let i = 0; i < n; i += 1) { const h = ${v}.charCodeAt(2 * i), l = ${v}.charCodeAt(2 * i + 1); if ((h | l) > 127) return -1; const b = HEXPV[(h << 7) | l]; if (b < 0) return -1; out[p + i] = b; }`,
        'p += n;'];
    case 'ber': {
      const lines = [`const from = p + ${prefixBytes};`, 'if (from > lim) return -1;', 'let at = from;', ...berEncodeLines(v), 'const n = at - from;', `if (!(${lengthOk})) return -1;`];
      return [...lines, ...(spec.prefix ? writePrefix(spec.prefix) : []), 'p = at;'];
    }
    case 'delegate':
      return ['W.pos = p;', 'W.limit = lim;', `try { C[${id}].encode(${v}, W); } catch { return -1; }`, 'p = W.pos;'];
  }
}

/** Encode: the MTI and the bitmaps (words w0.. from the present fields). */
export function encodeHead(spec: MessageSpec, words: number): string[] {
  const lines: string[] = [];
  lines.push('const m0 = mti.charCodeAt(0) - 48, m1 = mti.charCodeAt(1) - 48, m2 = mti.charCodeAt(2) - 48, m3 = mti.charCodeAt(3) - 48;',
    'if ((m0 >>> 0) > 9 || (m1 >>> 0) > 9 || (m2 >>> 0) > 9 || (m3 >>> 0) > 9) return -1;');
  if (spec.mti.encoding === 'bcd') {
    lines.push('if (p + 2 > lim) return -1;', 'out[p] = (m0 << 4) | m1;', 'out[p + 1] = (m2 << 4) | m3;', 'p += 2;');
  } else {
    const ebcdic = spec.mti.encoding === 'ebcdic';
    lines.push('if (p + 4 > lim) return -1;', ...[0, 1, 2, 3].map((i) => `out[p + ${i}] = ${byteOf(ebcdic, `48 + m${i}`)};`), 'p += 4;');
  }
  const writeWords = (first: number): string[] => {
    if (spec.bitmap.encoding === 'binary') {
      return ['if (p + 8 > lim) return -1;', ...[first, first + 1].flatMap((w, i) => [0, 1, 2, 3].map((b) => `out[p + ${4 * i + b}] = (w${w} >>> ${24 - 8 * b}) & 255;`)), 'p += 8;'];
    }
    const ebcdic = spec.bitmap.encoding === 'hex-ebcdic';
    return ['if (p + 16 > lim) return -1;', ...[first, first + 1].flatMap((w, i) => Array.from({ length: 8 }, (_, d) => `out[p + ${8 * i + d}] = ${byteOf(ebcdic, `HEXC[(w${w} >>> ${28 - 4 * d}) & 15]`)};`)), 'p += 16;'];
  };
  if (spec.bitmap.tertiary === true) lines.push('if ((w4 | w5) !== 0) w2 |= 0x80000000;');
  lines.push('if ((w2 | w3) !== 0) w0 |= 0x80000000;', ...writeWords(0), 'if (w0 < 0) {', ...writeWords(2));
  if (spec.bitmap.tertiary === true) lines.push('if (w2 < 0) {', ...writeWords(4), '}');
  lines.push('}');
  assert(words === 4 || words === 6, 'two or three bitmaps');
  return lines;
}

/**
 * The name of the generated function that writes a bitmap word's fields (encode calls it):
 * `encodeFields2to32` for word 0, `encodeFields33to64` for word 1, and so on.
 */
function fieldWriterName(w: number): string {
  return `encodeFields${w === 0 ? 2 : 32 * w + 1}to${32 * (w + 1)}`;
}

/** The bitmap words holding defined fields, each with the int32 mask of its defined fields' bits. */
function wordsWithFields(plans: readonly FieldPlan[]): { readonly w: number; readonly mask: number }[] {
  const masks = new Map<number, number>();
  for (const plan of plans) masks.set(word(plan.id), (masks.get(word(plan.id)) ?? 0) | bit(plan.id));
  return [...masks].sort(([a], [b]) => a - b).map(([w, mask]) => ({ w, mask }));
}

/**
 * Writes the present fields of bitmap word `w<w>` from `copy` (see generateEncoder) to `out`
 * from `p`, each checked against `lim`: the new position, or -1 to hand over, as encode.
 */
function generateFieldWriter(w: number, plans: readonly FieldPlan[]): string {
  const lines = [`function ${fieldWriterName(w)}(copy, w${w}, out, p, lim, W) {`];
  // A field's value is read again where it is written (a bitmap bit is set only for a counted
  // hit), rather than held in one local per defined field across the whole function.
  for (const plan of plans) lines.push(`if (${at(plan.id)}) { // field ${plan.id}: ${plan.kind}`, `const v${plan.id} = copy[${plan.id}];`, ...encodeField(plan), '}');
  lines.push('return p;', '}');
  return lines.join('\n');
}

/**
 * The fields object (a plain or null-prototype object) is read through a spread copy, which
 * holds exactly its own enumerable properties as data (what Object.keys, and so the
 * interpreted codec, sees: no non-enumerable or accessor property can answer a probe). The
 * copy inherits from Object.prototype, so a probe hit where Object.prototype holds that index
 * too (a polluted prototype) might be inherited and goes to the interpreted codec: `HOLES` is
 * an array of holes, whose index reads find only what Array.prototype and Object.prototype
 * hold (while they hold no elements, V8 compiles such a read to a hole check). Each
 * defined id is probed on the copy, and the defined values counted must be all the copy's
 * values (Object.values: no key strings made). Anything else (an unknown key, an
 * undefined value, an array, a class instance) goes to the interpreted codec, which refuses
 * or skips it as it always has. Probing stops once every value is accounted for.
 *
 * The fields are then written by one function per bitmap word (generateFieldWriter), called
 * only when the message has a field in that word. V8 optimises a function only up to
 * --max-optimized-bytecode-size (60 KB of bytecode on Node 20), and written into encode itself
 * the fields of mastercard-like took 59,238 bytes of it: any change to a field's code could
 * take encode past the limit, where it runs about six times slower (see encodeChars). Split by
 * word, encode and each writer are a fraction of it; the cost is one call per word a message
 * uses (two for a typical 0100). test/iso8583-optimisable.test.ts guards the room left.
 */
export function generateEncoder(spec: MessageSpec, plans: readonly FieldPlan[]): string {
  const words = spec.bitmap.tertiary === true ? 6 : 4;
  const lines = [
    'function encode(message, out, start, lim, W) {',
    'const mti = message.mti;', 'const fields = message.fields;',
    "if (typeof mti !== 'string' || mti.length !== 4 || typeof fields !== 'object' || fields === null) return -1;",
    'const proto = Object.getPrototypeOf(fields);',
    'if (proto !== OBJECT_PROTOTYPE && proto !== null) return -1;',
    'const copy = { ...fields };', 'const count = Object.values(copy).length;', 'let k = 0;',
    `let ${Array.from({ length: words }, (_, i) => `w${i} = 0`).join(', ')};`,
    'probe: {', 'if (count === 0) break probe;',
  ];
  // Each hit sets its bitmap bit as it is found; only those bits say which fields are written.
  for (const plan of plans) {
    lines.push(`if (copy[${plan.id}] !== undefined) { if (HOLES[${plan.id}] !== undefined) return -1; w${word(plan.id)} |= ${hex(bit(plan.id))}; k += 1; if (k === count) break probe; }`);
  }
  lines.push('}', 'if (k !== count) return -1;', 'let p = start;', ...encodeHead(spec, words));
  // Masked by the word's defined fields: the bitmap indicator bits (1, 65) call no writer.
  const used = wordsWithFields(plans);
  for (const { w, mask } of used) lines.push(`if ((w${w} & ${hex(mask)}) !== 0) { p = ${fieldWriterName(w)}(copy, w${w}, out, p, lim, W); if (p < 0) return -1; }`);
  lines.push('return p;', '}');
  return [lines.join('\n'), ...used.map(({ w }) => generateFieldWriter(w, plans.filter((plan) => word(plan.id) === w)))].join('\n');
}

/** The generated functions the encoder calls (generateFieldWriter), by name, in the order of their words. */
function fieldWriterNames(plans: readonly FieldPlan[]): string[] {
  return wordsWithFields(plans).map(({ w }) => fieldWriterName(w));
}

/** The whole generated module: a factory taking the runtime (see compiled.ts) and returning decode, encode and the field writers encode calls. */
export function generateSource(spec: MessageSpec, plans: readonly FieldPlan[]): string {
  return [
    `// Generated by iso8583/generate.ts for spec ${JSON.stringify(spec.name)}. Returns undefined / -1 to hand over to the interpreted codec.`,
    "'use strict';",
    'const { CC, CCW, HEXC, HEXU, HEXPV, HEXP, HEX16, TAG1, TAG2, E2L, L2E, sc, sc16, slots, tagv, FT, HOLES, C, Reader, OBJECT_PROTOTYPE, LS, DIGITS1, DIGITS2, DIGITS3, DIGITS4 } = rt;',
    // The decoder's view of the scratch, for reading a frame's copy four bytes at a time (wordChecks).
    'const SCV = new DataView(sc.buffer, sc.byteOffset, sc.length);',
    // Templates of the fields object by highest field (see decode); never handed out, only copied.
    "function fieldsTemplate(top) { const t = {}; if (top > 0) t[top] = ''; FT[top] = t; return t; }",
    generateDecoder(spec, plans),
    generateEncoder(spec, plans),
    `return { decode, encode, fieldWriters: [${fieldWriterNames(plans).join(', ')}] };`,
    // Names the code in profiles and stack traces (the name is the spec's, made safe).
    `//# sourceURL=iso8583-generated-${spec.name.replace(/[^a-z0-9-]/gi, '_')}.js`,
  ].join('\n');
}
