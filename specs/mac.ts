/**
 * Rules both ends of a link share: where the MAC travels (DE 64 with only the primary
 * bitmap, DE 128 otherwise, see message-types.ts), what bytes it covers, and which MTI
 * answers a request. The acquirer link and the network simulator must agree on these to
 * the byte, so they live here once.
 */
import type { FieldValues, Message, MessageCodec } from '../iso8583/index.js';

export const MAC_SIZE_BYTES = 8;
const ZERO_MAC = '0'.repeat(MAC_SIZE_BYTES * 2);

/** The MAC field for a field set: DE 128 when any field above 64 is present, else DE 64. */
export function macFieldFor(fields: FieldValues): 64 | 128 {
  for (const key of Object.keys(fields)) {
    const id = Number(key);
    if (id > 64 && id !== 128) return 128;
  }
  return 64;
}

/** Encodes with a zero MAC in its place; the MAC of the bytes before it goes in the last 8 bytes. */
export function encodeForMac(codec: MessageCodec, message: Message): Buffer {
  const fields: FieldValues = { ...message.fields };
  delete fields[64];
  delete fields[128];
  fields[macFieldFor(fields)] = ZERO_MAC;
  return codec.encode({ mti: message.mti, fields });
}

/** The response MTI of a request MTI: 0100 -> 0110, 0401 -> 0410, 0800 -> 0810. */
export function responseMti(mti: string): string {
  return `${mti.slice(0, 2)}${String(Number(mti[2]) + 1)}0`;
}
