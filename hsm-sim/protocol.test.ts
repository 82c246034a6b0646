/**
 * The frame codec on its own: frames survive any split of the byte stream, oversize frames
 * are skipped without losing the next one, short frames are refused with their header,
 * field readers refuse every malformed body with a typed error, and response codes advance
 * the way payment HSMs do.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HsmError } from './errors.js';
import { encodeRequest, encodeResponse, FieldReader, FrameDecoder, FRAME_SIZE_BYTES_MAX, ResponseDecoder, responseCode, type DecodedFrame } from './protocol.js';

const headerArb = fc.uint8Array({ minLength: 4, maxLength: 4 });
const codeArb = fc.stringMatching(/^[A-Z0-9]{2}$/);
const fieldsArb = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 16 });

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) { parts.push(bytes.subarray(last, p)); last = p; }
  parts.push(bytes.subarray(last));
  return parts;
}

describe('FrameDecoder', () => {
  it('yields the same frames however the stream is split', () => {
    fc.assert(fc.property(fc.array(fc.tuple(headerArb, codeArb, fieldsArb), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (requests, cuts) => {
      const stream = Buffer.concat(requests.map(([h, c, f]) => encodeRequest(h, c, f)));
      const decoded: DecodedFrame[] = [];
      const decoder = new FrameDecoder();
      for (const part of splitAt(stream, cuts)) decoder.push(part, (d) => decoded.push(d));
      expect(decoded.length).toBe(requests.length);
      decoded.forEach((d, i) => {
        const [h, c, f] = requests[i] ?? [new Uint8Array(), '', []];
        expect(d.kind).toBe('frame');
        if (d.kind !== 'frame') return;
        expect(d.frame.header.equals(Buffer.from(h))).toBe(true);
        expect(d.frame.command).toBe(c);
        const reader = new FieldReader(d.frame.body);
        for (const field of f) expect(reader.bytes('f', 0, 0xffff).equals(Buffer.from(field))).toBe(true);
        reader.end();
      });
      expect(decoder.buffered_bytes).toBe(0);
    }));
  });

  it('skips an oversize frame, refusing it with its header, and decodes the next one', () => {
    const oversize = Buffer.alloc(2 + FRAME_SIZE_BYTES_MAX + 10, 0x42);
    oversize.writeUInt16BE(FRAME_SIZE_BYTES_MAX + 10, 0);
    const next = encodeRequest(Buffer.from('NEXT'), 'B2', [Buffer.from('x')]);
    const decoded: DecodedFrame[] = [];
    const decoder = new FrameDecoder();
    for (const part of splitAt(Buffer.concat([oversize, next]), [3, 1000, 20_000])) decoder.push(part, (d) => decoded.push(d));
    expect(decoded[0]).toMatchObject({ kind: 'refused', code: 'hsm_frame_oversize', header: Buffer.from('BBBB') });
    expect(decoded[1]?.kind).toBe('frame');
    expect(decoder.buffered_bytes).toBe(0);
  });

  it('decodes a largest-size frame fed one byte at a time', () => {
    const big = encodeRequest(Buffer.from('DRIP'), 'B2', [Buffer.alloc(FRAME_SIZE_BYTES_MAX - 20, 7)]);
    const decoded: DecodedFrame[] = [];
    const decoder = new FrameDecoder();
    for (let i = 0; i < big.length; i += 1) decoder.push(big.subarray(i, i + 1), (d) => decoded.push(d));
    expect(decoded.length).toBe(1);
    expect(decoded[0]?.kind === 'frame' && decoded[0].frame.body.length).toBe(2 + FRAME_SIZE_BYTES_MAX - 20);
  });

  it('refuses frames shorter than header and command code', () => {
    const decoded: DecodedFrame[] = [];
    new FrameDecoder().push(Buffer.from([0, 2, 0x41, 0x42]), (d) => decoded.push(d));
    expect(decoded[0]).toMatchObject({ kind: 'refused', code: 'hsm_frame_truncated', header: Buffer.from('AB??') });
  });

  it('never holds more than one frame of bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5_000 }), (junk) => {
      const decoder = new FrameDecoder();
      decoder.push(Buffer.from(junk), () => undefined);
      expect(decoder.buffered_bytes).toBeLessThanOrEqual(2 + FRAME_SIZE_BYTES_MAX);
    }));
  });
});

describe('FieldReader', () => {
  it('refuses any junk body with an HsmError, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.constantFrom('bytes', 'text', 'integer'), { maxLength: 6 }), (junk, reads) => {
      const reader = new FieldReader(Buffer.from(junk));
      try {
        for (const read of reads) {
          if (read === 'bytes') reader.bytes('b', 0, 100);
          else if (read === 'text') reader.text('t', /^[A-Z]{0,10}$/);
          else reader.integer('i', 0, 1000);
        }
        reader.end();
      } catch (error) {
        expect(error).toBeInstanceOf(HsmError);
      }
    }), { numRuns: 1_000 });
  });
});

describe('codes and responses', () => {
  it('advances the second character of the command code', () => {
    expect(responseCode('A0')).toBe('A1');
    expect(responseCode('KQ')).toBe('KR');
    expect(responseCode('M8')).toBe('M9');
    expect(responseCode('B9')).toBe('ZZ');
    expect(responseCode('\u0000\u0001')).toBe('ZZ');
  });

  it('responses round-trip through the client decoder', () => {
    fc.assert(fc.property(headerArb, fieldsArb, (header, fields) => {
      const encoded = encodeResponse(header, 'M7', '00', fields);
      const out: { header: Buffer; code: string; error: string; body: Buffer }[] = [];
      new ResponseDecoder().push(encoded, (r) => out.push(r));
      expect(out[0]?.header.equals(Buffer.from(header))).toBe(true);
      expect(out[0]?.code).toBe('M7');
      expect(out[0]?.error).toBe('00');
    }));
  });

  it('refuses to encode a request beyond the frame bound', () => {
    expect(() => encodeRequest(Buffer.from('0000'), 'B2', [Buffer.alloc(FRAME_SIZE_BYTES_MAX)])).toThrow(HsmError);
  });
});
