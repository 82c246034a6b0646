/**
 * Known-answer vectors per dialect, byte by byte, derived by hand from each dialect's
 * encoding rules; plus message-type validation, DE 90 and the visa-like network header.
 */
import { describe, expect, it } from 'vitest';
import { compileSpec, encodeFrame, FrameDecoder, Iso8583Error, validateMessage, type Message } from '../iso8583/index.js';
import {
  decodeVisaLikeHeader, dialect, DIALECT_NAMES, encodeVisaLikeHeader, joinOriginalDataElements, SAMPLE_MESSAGES, splitOriginalDataElements,
} from './index.js';

const hex = (text: string): string => text.replace(/\s+/g, '').toUpperCase();
const asciiHex = (text: string): string => Buffer.from(text, 'latin1').toString('hex').toUpperCase();
const ebcdicDigits = (digits: string): string => [...digits].map((d) => 'F' + d).join('');

const signOn: Message = { mti: '0800', fields: { 7: '1124100000', 11: '000001', 70: '001' } };
// Bits 1 (secondary), 7, 11 -> 82 20; secondary bit 70 - 64 = 6 -> 04.
const SIGN_ON_BITMAPS = '8220000000000000 0400000000000000';

const NAME = 'PALM SHOP'.padEnd(40, ' ');
const NAME_EBCDIC = 'D7C1D3D4 40 E2C8D6D7' + '40'.repeat(31);
const smallAuthorization: Message = { mti: '0100', fields: { 2: '4895370012345678', 4: '000000004250', 43: NAME, 49: '978' } };
// Bits 2, 4 -> 50; bit 43 -> byte 5, 0x20; bit 49 -> byte 6, 0x80.
const AUTH_BITMAP = '5000000000208000';

const VECTORS: Record<string, { signOn: string; authorization: string }> = {
  'iso87-ascii': {
    signOn: asciiHex('0800') + asciiHex(SIGN_ON_BITMAPS.replace(' ', '')) + asciiHex('1124100000' + '000001' + '001'),
    authorization: asciiHex('0100' + AUTH_BITMAP + '16' + '4895370012345678' + '000000004250') + asciiHex(NAME) + asciiHex('978'),
  },
  'iso87-binary': {
    signOn: hex(`0800 ${SIGN_ON_BITMAPS} 1124100000 000001 0001`),
    authorization: hex(`0100 ${AUTH_BITMAP} 16 4895370012345678 000000004250`) + asciiHex(NAME) + '0978',
  },
  'visa-like': {
    signOn: hex(`0800 ${SIGN_ON_BITMAPS} 1124100000 000001 0001`),
    // The binary length prefix of a 16-digit PAN is 0x10.
    authorization: hex(`0100 ${AUTH_BITMAP} 10 4895370012345678 000000004250 ${NAME_EBCDIC} 0978`),
  },
  'mastercard-like': {
    signOn: hex(`F0F8F0F0 ${SIGN_ON_BITMAPS}`) + ebcdicDigits('1124100000' + '000001' + '001'),
    authorization: hex(`F0F1F0F0 ${AUTH_BITMAP}`) + ebcdicDigits('16' + '4895370012345678' + '000000004250') + hex(NAME_EBCDIC) + ebcdicDigits('978'),
  },
};

describe.each(DIALECT_NAMES)('dialect %s', (name) => {
  const { spec, framing } = dialect(name);
  const codec = compileSpec(spec);

  it('encodes the sign-on and a small authorization to the known bytes and back', () => {
    for (const [message, expected] of [[signOn, VECTORS[name]!.signOn], [smallAuthorization, VECTORS[name]!.authorization]] as const) {
      const bytes = codec.encode(message);
      expect(bytes.toString('hex').toUpperCase()).toBe(expected);
      expect(codec.decode(bytes)).toEqual(message);
    }
  });

  it('round-trips every sample message byte-exact and frames it', () => {
    for (const make of SAMPLE_MESSAGES) {
      const message = make();
      const bytes = codec.encode(message);
      expect(codec.decode(bytes)).toEqual(message);
      expect(validateMessage(message, spec)).toEqual([]);
      const header = Buffer.alloc(framing.headerLength);
      const frames = new FrameDecoder(framing).push(encodeFrame(framing, bytes, header));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.message.equals(bytes)).toBe(true);
    }
  });

  it('validates a message against its message type', () => {
    const missingAmount = { mti: '0100', fields: { ...SAMPLE_MESSAGES[0]!().fields } };
    delete missingAmount.fields[4];
    expect(validateMessage(missingAmount, spec).map((e) => [e.code, e.path])).toEqual([['field_missing', '4']]);
    const panInSignOn = { mti: '0800', fields: { ...signOn.fields, 2: '4895370012345678' } };
    expect(validateMessage(panInSignOn, spec).map((e) => [e.code, e.path])).toEqual([['field_not_allowed', '2']]);
    expect(validateMessage({ mti: '0999', fields: {} }, spec)[0]?.code).toBe('message_type_unknown');
  });
});

describe('DE 90 original data elements', () => {
  it('joins and splits the five parts', () => {
    const parts = { mti: '0100', stan: '000123', transmissionDateTime: '1124101530', acquiringInstitutionId: '40123456', forwardingInstitutionId: '' };
    const de90 = joinOriginalDataElements(parts);
    expect(de90).toBe('0100' + '000123' + '1124101530' + '00040123456' + '00000000000');
    expect(splitOriginalDataElements(de90)).toEqual({ ...parts, acquiringInstitutionId: '00040123456', forwardingInstitutionId: '00000000000' });
  });
});

describe('visa-like network header', () => {
  it('writes the 22 bytes and checks them on the way back', () => {
    const header = { destinationStationId: '000001', sourceStationId: '123456', roundTripInfo: 0, baseFlags: 0, messageStatusFlags: 0, batchNumber: 0, userInfo: 0 };
    const bytes = encodeVisaLikeHeader(header, 100);
    expect(bytes.toString('hex').toUpperCase()).toBe(hex('16 01 02 007A 000001 123456 00 0000 000000 00 000000 00'));
    expect(decodeVisaLikeHeader(bytes, 100)).toEqual(header);
    expect(() => decodeVisaLikeHeader(bytes, 99)).toThrow(/header says 122 bytes/);
  });
});

describe.each(DIALECT_NAMES)('%s: a key the spec does not define is refused, never dropped', (name) => {
  const codec = compileSpec(dialect(name).spec);
  const generated = codec.generated;
  const base = (): Record<string | number, unknown> => ({ 3: '000000', 7: '1124100000', 11: '000001' });
  const withHidden = (key: number, value: string, rest: Record<string | number, unknown>): Record<string | number, unknown> => {
    const fields = { ...rest };
    Object.defineProperty(fields, key, { value, enumerable: false });
    return fields;
  };
  // Each case: the fields, and the key the error must name. The counts are arranged so that a
  // check counting values alone could be fooled (a known key absent, undefined or hidden).
  const cases: [string, () => Record<string | number, unknown>, string][] = [
    ['an unknown number beside known fields', () => ({ ...base(), 999: '000000' }), '999'],
    ['an unknown name beside known fields', () => ({ ...base(), pan: '4895370012345678' }), 'pan'],
    ['an undefined field number (1, the bitmap bit)', () => ({ ...base(), 1: '000000' }), '1'],
    ['an unknown key alone (no known field present)', () => ({ 999: '000000' }), '999'],
    ['a known key absent, an unknown one in its place', () => ({ 3: '000000', 11: '000001', 8: '1124100000' }), '8'],
    ['a known key undefined, an unknown one present', () => ({ ...base(), 4: undefined, 999: '000000' }), '999'],
    ['a hidden known key with the unknown key\'s value', () => withHidden(3, '000000', { 999: '000000' }), '999'],
    ['hidden known keys beside an unknown key', () => withHidden(11, '000001', { 3: '000000', 7: '1124100000', 12: '111530', zz: '000001' }), 'zz'],
  ];
  it.each(cases)('%s', (_label, fields, key) => {
    const message = { mti: '0800', fields: fields() } as Message;
    expect(generated?.encode(message)).toBeUndefined();
    const error = (() => { try { codec.encode(message); } catch (e) { return e; } return undefined; })();
    expect(error).toBeInstanceOf(Iso8583Error);
    expect((error as Iso8583Error).code).toBe('field_unknown');
    expect((error as Iso8583Error).path).toBe(key);
  });

  it('an index on a polluted Object.prototype is not taken for a field of the message', () => {
    const prototype = Object.prototype as Record<number, unknown>;
    prototype[3] = '000000';
    try {
      const message = { mti: '0800', fields: { 999: '000000' } } as unknown as Message;
      expect(generated?.encode(message)).toBeUndefined();
      expect(() => codec.encode(message)).toThrow(expect.objectContaining({ code: 'field_unknown', path: '999' }) as Error);
      const plain = { mti: '0800', fields: { 3: '111111' } } as Message;
      expect(codec.encode(plain).equals(compileSpec(dialect(name).spec, { engine: 'interpreted' }).encode(plain))).toBe(true);
    } finally {
      delete prototype[3];
    }
  });

  it('an index on a polluted Object.prototype above the last field is neither written nor refused', () => {
    // The generated encoder stops probing once every own value is counted, and reads a value
    // again only where the bitmap has its bit: a defined field past the message's last one
    // that only Object.prototype holds must never be written.
    const prototype = Object.prototype as Record<number, unknown>;
    prototype[70] = '301';
    try {
      const plain = { mti: '0800', fields: base() } as Message;
      const expected = compileSpec(dialect(name).spec, { engine: 'interpreted' }).encode(plain);
      expect(generated?.encode(plain)?.equals(expected)).toBe(true);
      expect(codec.encode(plain).equals(expected)).toBe(true);
      expect(codec.decode(expected).fields).toEqual(base());
    } finally {
      delete prototype[70];
    }
  });

  it('only own enumerable keys count: hidden ones are not encoded, undefined ones are skipped', () => {
    const plain = codec.encode({ mti: '0800', fields: base() as Message['fields'] });
    expect(codec.encode({ mti: '0800', fields: withHidden(12, '111530', base()) as Message['fields'] }).equals(plain)).toBe(true);
    expect(codec.encode({ mti: '0800', fields: { ...base(), 12: undefined, zz: undefined } as unknown as Message['fields'] }).equals(plain)).toBe(true);
    expect(generated?.encode({ mti: '0800', fields: base() as Message['fields'] })?.equals(plain)).toBe(true);
  });
});
