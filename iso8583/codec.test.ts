/**
 * Known-answer tests, byte by byte, for every encoding, prefix, bitmap, MTI form and
 * composite kind, written out by hand from the standard's rules (not captured from output).
 */
import { describe, expect, it } from 'vitest';
import { expectSameOutcome, outcome } from '../test/support/outcome.js';
import { compileSpec, encodeFrame, FrameDecoder, Iso8583Error, type FieldSpec, type Message, type MessageSpec } from './index.js';

function specWith(fields: Record<number, FieldSpec>, options: Partial<Pick<MessageSpec, 'mti' | 'bitmap' | 'ebcdicCodePage'>> = {}): MessageSpec {
  return {
    name: 'test', description: 'test spec',
    mti: options.mti ?? { encoding: 'ascii' },
    bitmap: options.bitmap ?? { encoding: 'hex-ascii' },
    ...(options.ebcdicCodePage ? { ebcdicCodePage: options.ebcdicCodePage } : {}),
    fields, messageTypes: {},
  };
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string): string => Buffer.from(text, 'latin1').toString('hex');

/** Encodes, compares with the expected bytes, decodes and compares with the message. */
function roundTrip(spec: MessageSpec, message: Message, expected: Buffer): void {
  const codec = compileSpec(spec);
  const bytes = codec.encode(message);
  expect(bytes.toString('hex').toUpperCase()).toBe(expected.toString('hex').toUpperCase());
  expect(codec.decode(bytes)).toEqual(message);
}

function catchIso(fn: () => unknown): Iso8583Error {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Iso8583Error);
    return error as Iso8583Error;
  }
  throw new Error('expected an Iso8583Error');
}

describe('ASCII fields and prefixes', () => {
  it('writes MTI, hex bitmap, LL and fixed numerics in ASCII', () => {
    const spec = specWith({
      2: { name: 'PAN', type: 'n', length: 19, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii' },
      3: { name: 'Processing code', type: 'n', length: 6, encoding: 'ascii' },
      4: { name: 'Amount', type: 'n', length: 12, encoding: 'ascii' },
    });
    // Bits 2, 3, 4 -> first bitmap byte 0111 0000.
    const expected = hex(ascii('0200') + ascii('7000000000000000') + ascii('16') + ascii('4761739001010010') + ascii('000000') + ascii('000000001000'));
    roundTrip(spec, { mti: '0200', fields: { 2: '4761739001010010', 3: '000000', 4: '000000001000' } }, expected);
  });

  it('always writes the prefix of an empty value', () => {
    const spec = specWith({
      44: { name: 'Additional response data', type: 'ans', length: 25, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii' },
      49: { name: 'Currency', type: 'n', length: 3, encoding: 'ascii' },
    });
    // Bit 44 -> byte 5 bit 4 (0x10); bit 49 -> byte 6 bit 1 (0x80).
    const expected = hex(ascii('0110') + ascii('0000000000108000') + ascii('00') + ascii('978'));
    roundTrip(spec, { mti: '0110', fields: { 44: '', 49: '978' } }, expected);
  });

  it('justifies short fixed values on encode and never trims on decode', () => {
    const spec = specWith({
      4: { name: 'Amount', type: 'n', length: 12, encoding: 'ascii', pad: { char: '0', side: 'left' } },
      41: { name: 'Terminal', type: 'ans', length: 8, encoding: 'ascii', pad: { char: ' ', side: 'right' } },
    });
    const codec = compileSpec(spec);
    const bytes = codec.encode({ mti: '0100', fields: { 4: '4250', 41: 'T1' } });
    expect(bytes.subarray(20).toString('latin1')).toBe('000000004250T1      ');
    expect(codec.decode(bytes).fields).toEqual({ 4: '000000004250', 41: 'T1      ' });
  });

  it('writes binary data raw and hex-encoded binary as uppercase text', () => {
    const spec = specWith({
      52: { name: 'PIN block', type: 'b', length: 8, encoding: 'binary' },
      64: { name: 'MAC', type: 'b', length: 8, encoding: 'hex' },
    });
    // Bit 52 -> byte 6 (49..56), 0x80 >> 3 = 0x10; bit 64 -> byte 7, 0x01.
    const expected = hex(ascii('0100') + ascii('0000000000001001') + '0123456789ABCDEF' + ascii('00112233445566AA'));
    roundTrip(spec, { mti: '0100', fields: { 52: '0123456789ABCDEF', 64: '00112233445566AA' } }, expected);
  });
});

describe('packed BCD', () => {
  const n3 = (bcdPad: FieldSpec['bcdPad']): MessageSpec => specWith({ 22: { name: 'POS entry mode', type: 'n', length: 3, encoding: 'bcd', ...(bcdPad ? { bcdPad } : {}) } }, { mti: { encoding: 'bcd' }, bitmap: { encoding: 'binary' } });
  // Bit 22 -> byte 2 (bits 17..24), 0x80 >> 5 = 0x04.
  const header = '0100 0000040000000000';

  it.each([
    ['left-0', '0072'],
    ['left-F', 'F072'],
    ['right-0', '0720'],
    ['right-F', '072F'],
  ] as const)('pads an odd digit count %s', (pad, content) => {
    roundTrip(n3(pad), { mti: '0100', fields: { 22: '072' } }, hex(header + content));
  });

  it('refuses a pad nibble other than the declared one', () => {
    const error = catchIso(() => compileSpec(n3('left-0')).decode(hex(header + 'F072')));
    expect(error.code).toBe('pad_invalid');
    expect(error.path).toBe('22');
    expect(error.offset).toBe(10);
  });

  it('counts a variable length in digits or in bytes, as the field says', () => {
    const spec = specWith({
      2: { name: 'PAN', type: 'n', length: 19, prefix: { digits: 2, encoding: 'bcd' }, encoding: 'bcd', bcdPad: 'left-0' },
      3: { name: 'bytes', type: 'n', length: 10, prefix: { digits: 2, encoding: 'bcd' }, encoding: 'bcd', lengthUnit: 'bytes', bcdPad: 'right-F' },
    }, { mti: { encoding: 'bcd' }, bitmap: { encoding: 'binary' } });
    // 15 digits: prefix 0x15, eight bytes with a leading 0 nibble. '12345' by bytes: prefix 0x03, 12 34 5F.
    const expected = hex('0100 6000000000000000 15 0476173900101001 03 12345F');
    roundTrip(spec, { mti: '0100', fields: { 2: '476173900101001', 3: '12345' } }, expected);
  });

  it('packs track 2 with a D separator nibble and odd digit counts', () => {
    const spec = specWith({ 35: { name: 'Track 2', type: 'z', length: 37, prefix: { digits: 2, encoding: 'bcd' }, encoding: 'bcd', bcdPad: 'right-F' } }, { mti: { encoding: 'bcd' }, bitmap: { encoding: 'binary' } });
    // Bit 35 -> byte 4, 0x80 >> 2 = 0x20. 23 track digits -> prefix 0x23, 12 bytes, F pad at the end.
    roundTrip(spec, { mti: '0100', fields: { 35: '4761739001010010D251220' } }, hex('0100 0000000020000000 23 4761739001010010 D251220F'));
  });
});

describe('EBCDIC code pages', () => {
  const spec = (codePage: '037' | '500' | '1047'): MessageSpec => specWith({ 43: { name: 'Name', type: 'ans', length: 4, encoding: 'ebcdic' } }, { mti: { encoding: 'ebcdic' }, bitmap: { encoding: 'binary' }, ebcdicCodePage: codePage });
  // Bit 43 -> byte 5, 0x80 >> 2 = 0x20. MTI 0100 in EBCDIC: F0 F1 F0 F0.
  it.each([
    ['037', 'BA C1 BB B0'],
    ['500', '4A C1 5A 5F'],
    ['1047', 'AD C1 BD 5F'],
  ] as const)('code page %s writes [A]^ as %s', (codePage, content) => {
    roundTrip(spec(codePage), { mti: '0100', fields: { 43: '[A]^' } }, hex(`F0F1F0F0 0000000000200000 ${content}`));
  });

  it('writes EBCDIC length prefixes and hex bitmaps', () => {
    const ebcdicSpec = specWith({ 48: { name: 'Private', type: 'ans', length: 99, prefix: { digits: 2, encoding: 'ebcdic' }, encoding: 'ebcdic' } }, { mti: { encoding: 'ebcdic' }, bitmap: { encoding: 'hex-ebcdic' }, ebcdicCodePage: '037' });
    // Bit 48 -> byte 5 bit 8 (0x01): hex text 0000000000010000 in EBCDIC digits F0..F9.
    const bitmap = 'F0F0F0F0F0F0F0F0F0F0F0F1F0F0F0F0';
    roundTrip(ebcdicSpec, { mti: '0100', fields: { 48: 'AB' } }, hex(`F0F1F0F0 ${bitmap} F0F2 C1C2`));
  });

  it('refuses, when the spec is compiled, an EBCDIC element in a spec without a code page', () => {
    const text = (extra: Partial<FieldSpec>): FieldSpec => ({ name: 'Private', type: 'ans', length: 99, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii', ...extra });
    const cases: { what: string; spec: MessageSpec }[] = [
      { what: 'mti', spec: specWith({ 48: text({}) }, { mti: { encoding: 'ebcdic' } }) },
      { what: 'bitmap', spec: specWith({ 48: text({}) }, { bitmap: { encoding: 'hex-ebcdic' } }) },
      { what: '48', spec: specWith({ 48: text({ prefix: { digits: 2, encoding: 'ebcdic' } }) }) },
      { what: '48', spec: specWith({ 48: text({ encoding: 'ebcdic' }) }) },
      { what: '127.3', spec: specWith({ 127: { name: 'Private', type: 'b', length: 999, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'binary',
        subfields: { kind: 'bitmapped', bitmapEncoding: 'binary', subfields: { 3: text({ prefix: { digits: 2, encoding: 'ebcdic' } }) } } } }) },
      { what: '126', spec: specWith({ 126: { name: 'Private', type: 'b', length: 999, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'binary',
        subfields: { kind: 'bitmapped', bitmapEncoding: 'hex-ebcdic', subfields: { 3: text({}) } } } }) },
    ];
    for (const { what, spec } of cases) {
      for (const engine of ['compiled', 'interpreted'] as const) {
        expect(() => compileSpec(spec, { engine }), `${what} (${engine})`).toThrow(`${what} is EBCDIC, so the spec needs an ebcdicCodePage`);
      }
      expect(() => compileSpec({ ...spec, ebcdicCodePage: '037' })).not.toThrow();
    }
  });

  it('decodes every byte value at every hex-EBCDIC bitmap position as the interpreted codec does', () => {
    const ebcdicSpec = specWith({ 48: { name: 'Private', type: 'ans', length: 99, prefix: { digits: 2, encoding: 'ebcdic' }, encoding: 'ebcdic' } }, { mti: { encoding: 'ebcdic' }, bitmap: { encoding: 'hex-ebcdic' }, ebcdicCodePage: '037' });
    const compiled = compileSpec(ebcdicSpec);
    const interpreted = compileSpec(ebcdicSpec, { engine: 'interpreted' });
    const frame = hex(`F0F1F0F0 ${'F0F0F0F0F0F0F0F0F0F0F0F1F0F0F0F0'} F0F2 C1C2`);
    expect(compiled.generated?.decode(frame, 0, frame.length)).toEqual({ mti: '0100', fields: { 48: 'AB' } });
    let accepted = 0;
    for (let at = 4; at < 20; at += 1) {
      for (let byte = 0; byte < 256; byte += 1) {
        const mutated = Buffer.from(frame);
        mutated[at] = byte;
        const reference = outcome(() => interpreted.decode(mutated));
        expectSameOutcome(outcome(() => compiled.decode(mutated)), reference, () => mutated.toString('hex'));
        // The generated decoder passes on what it does not take, and never takes what is refused.
        const fast = compiled.generated?.decode(mutated, 0, mutated.length);
        if (fast !== undefined) {
          expectSameOutcome({ ok: true, value: fast }, reference, () => mutated.toString('hex'));
          accepted += 1;
        }
      }
    }
    expect(accepted).toBeGreaterThanOrEqual(16);
  });
});

describe('binary length prefixes', () => {
  it('uses one byte for L/LL and two for LLL/LLLL', () => {
    const spec = specWith({
      44: { name: 'LL', type: 'ans', length: 25, prefix: { digits: 2, encoding: 'binary' }, encoding: 'ascii' },
      48: { name: 'LLL', type: 'ans', length: 999, prefix: { digits: 3, encoding: 'binary' }, encoding: 'ascii' },
    }, { bitmap: { encoding: 'binary' } });
    // Bits 44 and 48 -> byte 5 = 0x11.
    roundTrip(spec, { mti: '0100', fields: { 44: 'AB', 48: 'CD' } }, hex(ascii('0100') + '0000000000110000' + '02' + ascii('AB') + '0002' + ascii('CD')));
  });
});

describe('bitmaps', () => {
  const spec = specWith({
    11: { name: 'STAN', type: 'n', length: 6, encoding: 'ascii' },
    70: { name: 'NMIC', type: 'n', length: 3, encoding: 'ascii' },
  }, { bitmap: { encoding: 'binary' } });

  it('sends the secondary bitmap only when a field above 64 is present', () => {
    // Bit 1 (secondary) + bit 11 -> 80 20; field 70 -> secondary bit 6 -> 04.
    roundTrip(spec, { mti: '0800', fields: { 11: '000001', 70: '001' } }, hex(ascii('0800') + '8020000000000000' + '0400000000000000' + ascii('000001') + ascii('001')));
    roundTrip(spec, { mti: '0800', fields: { 11: '000001' } }, hex(ascii('0800') + '0020000000000000' + ascii('000001')));
  });

  it('refuses a flagged but empty secondary bitmap', () => {
    const error = catchIso(() => compileSpec(spec).decode(hex(ascii('0800') + '8020000000000000' + '0000000000000000' + ascii('000001'))));
    expect(error.code).toBe('bitmap_invalid');
    expect(error.offset).toBe(12);
  });

  it('carries fields 129..192 behind a tertiary bitmap', () => {
    const tertiary = specWith({
      11: { name: 'STAN', type: 'n', length: 6, encoding: 'ascii' },
      130: { name: 'Extra', type: 'an', length: 2, encoding: 'ascii' },
    }, { bitmap: { encoding: 'binary', tertiary: true } });
    // Primary: bit 1 + bit 11; secondary: bit 65 (tertiary present) -> 80; tertiary: field 130 -> bit 2 -> 40.
    roundTrip(tertiary, { mti: '0100', fields: { 11: '000001', 130: 'OK' } }, hex(ascii('0100') + '8020000000000000' + '8000000000000000' + '4000000000000000' + ascii('000001') + ascii('OK')));
  });

  it('rejects lowercase hex bitmaps instead of re-encoding them differently', () => {
    const ascii87 = specWith({ 3: { name: 'PC', type: 'n', length: 6, encoding: 'ascii' } });
    const error = catchIso(() => compileSpec(ascii87).decode(Buffer.from('0100' + '2000000000000000'.replace('2', 'a') + '000000', 'latin1')));
    expect(error.code).toBe('bitmap_invalid');
  });
});

describe('composite fields', () => {
  it('positional subfields in order inside a fixed field', () => {
    const spec = specWith({ 90: { name: 'Original data', type: 'an', length: 5, encoding: 'ascii', subfields: { kind: 'positional', subfields: { 1: { name: 'a', type: 'n', length: 2, encoding: 'ascii' }, 2: { name: 'b', type: 'an', length: 3, encoding: 'ascii' } } } } });
    // Field 90: secondary bitmap bit 26 -> byte 3, 0x80 >> 1 = 0x40.
    roundTrip(spec, { mti: '0400', fields: { 90: { 1: '12', 2: 'ABC' } } }, hex(ascii('0400') + ascii('8000000000000000') + ascii('0000004000000000') + ascii('12ABC')));
  });

  it.each([
    ['tag-length', '4303XYZ0101A'],
    ['length-tag', '0343XYZ0101A'],
  ] as const)('decimal TLV in %s order keeps wire order and unknown tags', (order, content) => {
    const spec = specWith({ 48: { name: 'Private', type: 'ans', length: 999, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'ascii', subfields: { kind: 'tlv', order, tagLength: 2, lengthDigits: 2, encoding: 'ascii', valueLengthMax: 99, tags: { '01': { name: 'known' } } } } });
    roundTrip(spec, { mti: '0100', fields: { 48: [{ tag: '43', value: 'XYZ' }, { tag: '01', value: 'A' }] } }, hex(ascii('0100') + ascii('0000000000010000') + ascii('012') + ascii(content)));
  });

  it('BER-TLV with multi-byte tags and long-form lengths', () => {
    const spec = specWith({ 55: { name: 'ICC', type: 'b', length: 255, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'binary', subfields: { kind: 'ber-tlv' } } });
    const long = 'AB'.repeat(130);
    const entries = [{ tag: '9F26', value: '0102030405060708' }, { tag: '82', value: '1980' }, { tag: 'DF8101', value: long }];
    // 9F26 08 <8> | 82 02 1980 | DF8101 81 82 <130>: 11 + 4 + 135 = 150 bytes.
    const content = '9F2608 0102030405060708 82 02 1980 DF8101 8182 ' + long;
    roundTrip(spec, { mti: '0100', fields: { 55: entries } }, hex(ascii('0100') + ascii('0000000000000200') + ascii('150') + content));
  });

  it('BER-TLV: the generated decoder itself takes tags of one to four bytes, odd and even value lengths and long-form lengths', () => {
    const spec = specWith({ 55: { name: 'ICC', type: 'b', length: 999, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'binary', subfields: { kind: 'ber-tlv' } } });
    const compiled = compileSpec(spec);
    const interpreted = compileSpec(spec, { engine: 'interpreted' });
    const frameOf = (content: string): Buffer => hex(ascii('0100') + ascii('0000000000000200') + ascii(String(content.replace(/\s+/g, '').length / 2).padStart(3, '0')) + content);
    const taken = [
      '9F26 08 0102030405060708  82 02 1980  DF8101 03 0A0B0C  DF818201 00  5F2A 01 09  BF81FF7F 8181 ' + 'CD'.repeat(129),
      '9A 03 261124  9F37 04 5D3C2B1A',
      '',
    ];
    for (const content of taken) {
      const frame = frameOf(content);
      const fast = compiled.generated?.decode(frame, 0, frame.length);
      expect(fast, `the generated decoder took ${content}`).toBeDefined();
      expect(fast).toEqual(interpreted.decode(frame));
    }
    // A tag of five bytes, a tag cut by the field's end and a non-minimal length are passed on, and refused as the interpreted codec refuses them.
    for (const content of ['DF81828301 00', '9F', '9F26 8108 0102030405060708']) {
      const frame = frameOf(content);
      expect(compiled.generated?.decode(frame, 0, frame.length)).toBeUndefined();
      const expected = catchIso(() => interpreted.decode(frame));
      const error = catchIso(() => compiled.decode(frame));
      expect([error.code, error.path, error.offset]).toEqual([expected.code, expected.path, expected.offset]);
    }
  });

  it('bitmapped sub-messages', () => {
    const spec = specWith({ 126: { name: 'Private', type: 'b', length: 255, prefix: { digits: 2, encoding: 'binary' }, encoding: 'binary', subfields: { kind: 'bitmapped', bitmapEncoding: 'binary', subfields: { 1: { name: 'a', type: 'an', length: 2, encoding: 'ascii' }, 3: { name: 'c', type: 'n', length: 4, encoding: 'ascii' } } } } }, { bitmap: { encoding: 'binary' } });
    // Field 126: secondary bit 62 -> byte 7, 0x80 >> 5 = 0x04. Sub-bitmap: bits 1 and 3 -> A0.
    roundTrip(spec, { mti: '0100', fields: { 126: { 1: 'AB', 3: '1234' } } }, hex(ascii('0100') + '8000000000000000' + '0000000000000004' + '0E' + 'A000000000000000' + ascii('AB') + ascii('1234')));
  });
});

describe('errors carry a code, a path and an offset, and nothing partial is returned', () => {
  const spec = specWith({
    48: { name: 'Private', type: 'ans', length: 999, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'ascii', subfields: { kind: 'tlv', order: 'tag-length', tagLength: 2, lengthDigits: 2, encoding: 'ascii', valueLengthMax: 20 } },
    55: { name: 'ICC', type: 'b', length: 255, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'binary', subfields: { kind: 'ber-tlv' } },
  });
  const codec = compileSpec(spec);

  it('a BER-TLV value running past its field names the tag', () => {
    // DE 55 of 4 bytes: 9F26 says 8 bytes follow but only 1 does.
    const frame = Buffer.concat([Buffer.from('0100' + '0000000000000200' + '004', 'latin1'), hex('9F260801')]);
    const error = catchIso(() => codec.decode(frame));
    expect(error.code).toBe('frame_truncated');
    expect(error.path).toBe('55.9F26');
    expect(error.offset).toBe(26);
  });

  it('a TLV subelement longer than allowed names the tag', () => {
    const frame = Buffer.from('0100' + '0000000000010000' + '026' + '4322' + 'X'.repeat(22), 'latin1');
    const error = catchIso(() => codec.decode(frame));
    expect(error.code).toBe('length_exceeds_max');
    expect(error.path).toBe('48.43');
    expect(error.offset).toBe(23);
  });

  it('a length prefix larger than the frame is caught before reading', () => {
    const frame = Buffer.from('0100' + '0000000000010000' + '999' + 'AB', 'latin1');
    const error = catchIso(() => codec.decode(frame));
    expect(error.code).toBe('frame_truncated');
    expect(error.path).toBe('48');
  });

  it('bytes after the last field are an error', () => {
    const frame = Buffer.from('0100' + '0000000000010000' + '000' + 'Z', 'latin1');
    expect(catchIso(() => codec.decode(frame)).code).toBe('trailing_bytes');
  });

  it('encoding checks types and lengths', () => {
    expect(catchIso(() => codec.encode({ mti: '010', fields: {} })).code).toBe('mti_invalid');
    expect(catchIso(() => codec.encode({ mti: '0100', fields: { 3: '000000' } })).code).toBe('field_unknown');
    expect(catchIso(() => codec.encode({ mti: '0100', fields: { 48: 'flat' } })).code).toBe('value_invalid');
    const tooLong = catchIso(() => codec.encode({ mti: '0100', fields: { 48: [{ tag: '43', value: 'X'.repeat(21) }] } }));
    expect(tooLong.code).toBe('length_exceeds_max');
    expect(tooLong.path).toBe('48.43');
    expect(catchIso(() => codec.encode({ mti: '0100', fields: { 55: [{ tag: '9F', value: '00' }] } })).code).toBe('tlv_invalid');
  });
});

describe('framing', () => {
  const binary = { length: 'binary2', headerLength: 0, frameSizeMax: 1_000 } as const;
  const asciiFraming = { length: 'ascii4', headerLength: 2, frameSizeMax: 1_000 } as const;

  it('writes a 2-byte binary or 4-digit ASCII length that counts header and message', () => {
    expect(encodeFrame(binary, Buffer.from('ABC')).toString('hex')).toBe('0003414243');
    expect(encodeFrame(asciiFraming, Buffer.from('ABC'), Buffer.from([0x16, 0x01])).toString('latin1')).toBe('0005\x16\x01ABC');
  });

  it('reassembles frames split anywhere and refuses oversize lengths before buffering', () => {
    const decoder = new FrameDecoder(asciiFraming);
    const stream = Buffer.concat([encodeFrame(asciiFraming, Buffer.from('ABC'), Buffer.from('HH')), encodeFrame(asciiFraming, Buffer.from('DEFG'), Buffer.from('hh'))]);
    const frames = [...stream].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(frames.map((f) => [f.header.toString(), f.message.toString()])).toEqual([['HH', 'ABC'], ['hh', 'DEFG']]);
    expect(decoder.bufferedBytes).toBe(0);
    const error = catchIso(() => new FrameDecoder(binary).push(hex('FFFF')));
    expect(error.code).toBe('frame_too_large');
  });
});

describe('the generated code checks every character as the interpreted codec does', () => {
  // Digit and printable-ASCII fields are checked four bytes at a time on decode and four
  // characters at a time on encode; these tests put each byte value / code unit at each
  // position (and the frame at each alignment) and want the same outcome from both engines.
  const spec = specWith({
    2: { name: 'PAN', type: 'n', length: 19, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii' },
    4: { name: 'Amount', type: 'n', length: 12, encoding: 'ascii' },
    37: { name: 'RRN', type: 'an', length: 12, encoding: 'ascii' },
    43: { name: 'Name', type: 'ans', length: 40, encoding: 'ascii' },
    52: { name: 'PIN block', type: 'b', length: 8, encoding: 'binary' },
  });
  const message: Message = { mti: '0100', fields: { 2: '4895370012345', 4: '000000004250', 37: 'RRN 0000123A', 43: 'CORNER GROCERY         BERLIN        DEU', 52: '0123456789ABCDEF' } };
  const compiled = compileSpec(spec);
  const interpreted = compileSpec(spec, { engine: 'interpreted' });
  const frame = compiled.encode(message);
  const textStart = frame.indexOf('13' + '4895370012345', 0, 'latin1');

  it('on decode: every byte value at every text position, at four alignments of the frame', () => {
    expect(textStart).toBeGreaterThan(0);
    // The generated decoder itself carries the unchanged frame (this is not the interpreted codec twice).
    expect(compiled.generated?.decode(frame, 0, frame.length)).toEqual(message);
    expect(compiled.generated?.encode(message)?.equals(frame)).toBe(true);
    const textEnd = frame.length - 8;
    for (let shift = 0; shift < 4; shift += 1) {
      const room = Buffer.alloc(frame.length + shift);
      for (let at = textStart; at < textEnd; at += 1) {
        for (let byte = 0; byte < 256; byte += 1) {
          frame.copy(room, shift);
          room[shift + at] = byte;
          expectSameOutcome(outcome(() => compiled.decode(room, shift, room.length)), outcome(() => interpreted.decode(room, shift, room.length)), () => `${room.toString('hex')} from ${shift}`);
        }
      }
    }
  });

  it('on encode: code units inside and outside every class, including above 255, at every position', () => {
    const units = [0, 0x1f, 0x20, 0x2f, 0x30, 0x39, 0x3a, 0x41, 0x5a, 0x61, 0x7a, 0x7e, 0x7f, 0x80, 0xa0, 0xff, 0x100, 0x130, 0x230, 0xd800, 0xffff];
    for (const id of [2, 4, 37, 43] as const) {
      const value = message.fields[id] as string;
      for (let i = 0; i < value.length; i += 1) {
        for (const unit of units) {
          const fields = { ...message.fields, [id]: value.slice(0, i) + String.fromCharCode(unit) + value.slice(i + 1) };
          const input: Message = { mti: '0100', fields };
          expectSameOutcome(outcome(() => compiled.encode(input)), outcome(() => interpreted.encode(input)), () => JSON.stringify(input));
        }
      }
    }
  });
});
