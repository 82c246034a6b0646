import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { canonicalJson } from './canonical.js';
import { decodePaddedBase64, isLiftedImage, liftImages, lifted_images_max, type LiftedImages } from './lifted-images.js';

/** The parsed body with every placeholder put back as the base64 text it stands for. */
function restored(text: string, images: LiftedImages): unknown {
  return JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' && isLiftedImage(value) ? images.decode(value).toString('base64') : value));
}

const parseOrError = (text: string): unknown => { try { return JSON.parse(text); } catch { return 'refused'; } };

const json = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.string(), fc.integer(), fc.boolean(), fc.constant(null),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('visible', 'nir', 'kind', 'capture', 'captures', 'x', 'vis\\u0069ble'), tie('value'), { maxKeys: 4 })),
}));

describe('lifted images', () => {
  it('decodes padded base64 from bytes exactly as Buffer.from(text, "base64") (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(7), (bytes, offset) => {
      const text = Buffer.from(bytes).toString('base64');
      const framed = Buffer.concat([Buffer.alloc(offset, 0x22), Buffer.from(text, 'latin1'), Buffer.alloc(3, 0x22)]);
      expect(decodePaddedBase64(framed, offset, offset + text.length).equals(Buffer.from(bytes))).toBe(true);
    }), { numRuns: 2_000 });
  });

  it('parses to the same value as the whole text, or refuses the same bodies (property)', () => {
    fc.assert(fc.property(json.value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), (value, mutations) => {
      const body = Buffer.from(JSON.stringify({ capture: { kind: 'hand', visible: Buffer.alloc(30, 7).toString('base64') }, extra: value }).replaceAll('vis\\\\u0069ble', 'vis\\u0069ble'));
      for (const [at, byte] of mutations) if (body.length > 0) body[at % body.length] = byte;
      const whole = parseOrError(body.toString('utf8').replace(/^\uFEFF/, ''));
      const { text, images } = liftImages(body);
      let lifted: unknown;
      try { lifted = restored(text, images); } catch { lifted = 'refused'; }
      expect(lifted).toEqual(whole);
    }), { numRuns: 3_000 });
  });

  it('lifts well-formed image members only, and the text left is small', () => {
    const visible = Buffer.alloc(200_000, 9).toString('base64');
    const body = Buffer.from(JSON.stringify({ capture: { kind: 'hand', visible, nir: 'QUJD' }, note: visible, bad: { nir: 'QUJ=D===' }, short: { visible: 'QUJ' } }));
    const { text, images } = liftImages(body);
    expect(images.size).toBe(2);
    expect(text.length).toBeLessThan(visible.length + 1_000);
    const parsed = JSON.parse(text) as { capture: { visible: string; nir: string }; note: string; bad: { nir: string }; short: { visible: string } };
    expect(isLiftedImage(parsed.capture.visible) && isLiftedImage(parsed.capture.nir)).toBe(true);
    expect(images.decodedLength(parsed.capture.visible)).toBe(200_000);
    expect(images.decode(parsed.capture.visible).equals(Buffer.alloc(200_000, 9))).toBe(true);
    expect(images.decode(parsed.capture.nir).toString()).toBe('ABC');
    expect(parsed.note).toBe(visible);
    expect(parsed.bad.nir).toBe('QUJ=D===');
    expect(parsed.short.visible).toBe('QUJ');
  });

  it('a body cannot forge a placeholder, and one out of place is refused when signed', () => {
    const forged = JSON.parse(JSON.stringify({ visible: '\u0000palmswitch-image:00000000000000000000000000000000:0' })) as { visible: string };
    expect(isLiftedImage(forged.visible)).toBe(false);
    const { text, images } = liftImages(Buffer.from(JSON.stringify({ visible: 'QUJD' })));
    const parsed = JSON.parse(text) as { visible: string };
    expect(isLiftedImage(parsed.visible)).toBe(true);
    expect(() => images.decode('QUJD')).toThrow(GatewayError);
    try { canonicalJson(parsed); expect.unreachable(); } catch (error) { expect((error as GatewayError).code).toBe('request_invalid'); }
  });

  it(`lifts at most ${lifted_images_max} images; the rest stay text`, () => {
    const captures = Array.from({ length: lifted_images_max }, () => ({ visible: 'QUJD', nir: 'QUJD' }));
    const { text, images } = liftImages(Buffer.from(JSON.stringify({ captures })));
    expect(images.size).toBe(lifted_images_max);
    const parsed = JSON.parse(text) as { captures: { visible: string; nir: string }[] };
    expect(parsed.captures.flatMap((c) => [c.visible, c.nir]).filter((t) => t === 'QUJD')).toHaveLength(lifted_images_max);
  });
});
