/**
 * BER-TLV (EMV data, DE 55) for the generated codecs (generate.ts): the loops written into
 * each spec's own code, as the plain fields' loops are. Called through shared helpers they
 * cost a third of a typical 0100's round trip (calls that the optimiser would not inline
 * into a spec's large functions, and an entry shape seen from every spec at once).
 *
 * The rules are composite.ts's (ISO/IEC 8825-1: tags of up to BER_TAG_BYTES_MAX bytes,
 * minimal long-form lengths of up to BER_LENGTH_BYTES_MAX bytes, at most BER_ENTRIES_MAX
 * entries), and as everywhere in the generated code, anything else answers "not this way"
 * (undefined / -1) so that the interpreted codec does it or throws the precise error.
 */
import { BER_ENTRIES_MAX, BER_LENGTH_BYTES_MAX, BER_TAG_BYTES_MAX } from './fast-runtime.js';

/** Bytes `buf[from, to)` as uppercase hex characters to `sc` at `q` (even), one 16-bit store a byte. */
const hexOut = (from: string, to: string): string =>
  `for (let i = ${from}; i < ${to}; i += 1) { sc16[q >> 1] = HEX16[buf[i]]; q += 2; }`;

/**
 * Decode of the entries in `buf[p, p + n)`: their values' hex characters to `sc` at `q`, their
 * positions to `slots` from `t` (the count, then each entry's value end-before-it and value
 * start, then the end), so that the values can be cut from the message's one string
 * afterwards; each tag string goes to `tagv` at its entry's first slot.
 */
export function berDecodeLines(id: number): string[] {
  return [
    // Values are hex runs, which start at an even index (hexOut); each run keeps `q` even.
    'if (end - p < n) return undefined;', 'const fe = p + n;', 'let count = 0;', `t${id} = t;`, 'q += q & 1;',
    'while (p < fe) {',
    `if (count === ${BER_ENTRIES_MAX}) return undefined;`,
    'slots[t + 1 + 2 * count] = q;', 'const ts = p;', 'const first = buf[p];', 'p += 1;',
    `if ((first & 0x1f) === 0x1f) { let more = true; while (more) { if (p - ts >= ${BER_TAG_BYTES_MAX} || p >= fe) return undefined; more = (buf[p] & 0x80) !== 0; p += 1; } }`,
    // The tag as a string made once (TAG1/TAG2, see fast-runtime.ts), kept in `tagv`.
    'const tl = p - ts;', 'let tag;',
    'if (tl === 1) { tag = TAG1[first]; if (tag === undefined) { tag = HEXP[first]; TAG1[first] = tag; } }',
    'else if (tl === 2) { const last = buf[ts + 1], ix = ((first >> 5) << 7) | last; tag = TAG2[ix]; if (tag === undefined) { tag = HEXP[first] + HEXP[last]; TAG2[ix] = tag; } }',
    'else { tag = HEXP[first]; for (let i = ts + 1; i < p; i += 1) tag += HEXP[buf[i]]; }',
    'tagv[t + 1 + 2 * count] = tag;',
    'slots[t + 2 + 2 * count] = q;',
    'if (p >= fe) return undefined;', 'const form = buf[p];', 'p += 1;', 'let length = form;',
    `if (form >= 0x80) { const lb = form & 0x7f; if (lb === 0 || lb > ${BER_LENGTH_BYTES_MAX} || fe - p < lb) return undefined; length = 0; for (let i = 0; i < lb; i += 1) length = length * 256 + buf[p + i]; if (lb === 1 ? length < 0x80 : buf[p] === 0) return undefined; p += lb; }`,
    'if (fe - p < length) return undefined;',
    hexOut('p', 'p + length'),
    'p += length;', 'count += 1;',
    '}',
    'slots[t] = count;', 'slots[t + 1 + 2 * count] = q;', 't += 2 + 2 * count;',
  ];
}

/** The `{ tag, value }` entries recorded at `slots[t<id>..]`, cut from the message's string `S`. */
export function berValueLines(id: number): string[] {
  return [
    // Sized once: pushing onto [] allocates room for 17 entries first.
    `const count = slots[t${id}];`, 'const entries = new Array(count);',
    `for (let e = 0, base = t${id} + 1; e < count; e += 1, base += 2) { const vs = slots[base + 1]; entries[e] = { tag: tagv[base], value: S.substring(vs, slots[base + 2]) }; }`,
    `fields[${id}] = entries;`,
  ];
}

/** Hex text `s` (length `sn`, even) as bytes at `at`, or give up. */
const hexIn = (s: string, sn: string): string =>
  `for (let i = 0; i < ${sn}; i += 2) { const h = ${s}.charCodeAt(i), l = ${s}.charCodeAt(i + 1); if ((h | l) > 127) return -1; const b = HEXPV[(h << 7) | l]; if (b < 0) return -1; out[at + (i >> 1)] = b; }`;

/**
 * Encode of the entries in `v` as BER-TLV from `at`, no further than `lim`; `at` ends after
 * the last one. Tags must be one well-formed BER tag each (a multi-byte tag's later bytes
 * carry the "more" bit exactly up to the last), lengths are written in their minimal form.
 */
export function berEncodeLines(v: string): string[] {
  return [
    `if (!Array.isArray(${v}) || ${v}.length > ${BER_ENTRIES_MAX}) return -1;`,
    `for (let e = 0; e < ${v}.length; e += 1) {`,
    `const entry = ${v}[e];`,
    "if (typeof entry !== 'object' || entry === null) return -1;",
    'const tag = entry.tag, value = entry.value;',
    "if (typeof tag !== 'string' || typeof value !== 'string') return -1;",
    'const tn = tag.length, tb = tn >> 1;',
    `if ((tn & 1) !== 0 || tb < 1 || tb > ${BER_TAG_BYTES_MAX} || at + tb > lim) return -1;`,
    // EMV's tags are one or two bytes: those are read out without loops.
    'if (tn === 4) {',
    'const a = tag.charCodeAt(0), b = tag.charCodeAt(1), c = tag.charCodeAt(2), d = tag.charCodeAt(3);',
    'if ((a | b | c | d) > 127) return -1;',
    'const t0 = HEXPV[(a << 7) | b], t1 = HEXPV[(c << 7) | d];',
    'if ((t0 | t1) < 0 || (t0 & 0x1f) !== 0x1f || (t1 & 0x80) !== 0) return -1;',
    'out[at] = t0; out[at + 1] = t1;',
    '} else if (tn === 2) {',
    'const a = tag.charCodeAt(0), b = tag.charCodeAt(1);',
    'if ((a | b) > 127) return -1;',
    'const t0 = HEXPV[(a << 7) | b];',
    'if (t0 < 0 || (t0 & 0x1f) === 0x1f) return -1;',
    'out[at] = t0;',
    '} else {',
    hexIn('tag', 'tn'),
    'if ((out[at] & 0x1f) === 0x1f) { if (tb < 2) return -1; for (let i = 1; i < tb; i += 1) if ((out[at + i] & 0x80) !== (i === tb - 1 ? 0 : 0x80)) return -1; } else if (tb !== 1) return -1;',
    '}',
    'at += tb;',
    'const vn = value.length, length = vn >> 1;',
    'const lb = length < 0x80 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;',
    'if ((vn & 1) !== 0 || at + 1 + lb + length > lim) return -1;',
    'if (lb === 0) out[at] = length; else { out[at] = 0x80 | lb; for (let i = 0; i < lb; i += 1) out[at + 1 + i] = (length >> (8 * (lb - 1 - i))) & 0xff; }',
    'at += 1 + lb;',
    hexIn('value', 'vn'),
    'at += length;',
    '}',
  ];
}
