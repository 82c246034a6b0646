/**
 * Helpers for hsm-sim's own tests: temporary data directories, raw frame exchanges over a
 * real socket (for misuse and fuzz tests that must speak the protocol wrongly on purpose),
 * and splitting a known key into clear components so tests can form it inside the HSM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeRequest, ResponseDecoder, type ResponseFrame } from './protocol.js';
import { withOddParity } from './primitives.js';

export const RAW_EXCHANGE_TIMEOUT_MS = 10_000;

export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `palmswitch-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `bytes` on a fresh connection and collects `count` responses (or fails after the time-out). */
export async function rawExchange(port: number, bytes: Buffer, count: number): Promise<ResponseFrame[]> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const decoder = new ResponseDecoder();
  const responses: ResponseFrame[] = [];
  try {
    return await new Promise<ResponseFrame[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${responses.length} of ${count} responses within ${RAW_EXCHANGE_TIMEOUT_MS} ms`)), RAW_EXCHANGE_TIMEOUT_MS);
      socket.on('data', (chunk: Buffer) => {
        decoder.push(chunk, (r) => responses.push(r));
        if (responses.length >= count) {
          clearTimeout(timer);
          resolve(responses);
        }
      });
      socket.on('error', (error) => { clearTimeout(timer); reject(error); });
      socket.on('close', () => { clearTimeout(timer); if (responses.length < count) reject(new Error(`closed after ${responses.length} of ${count} responses`)); });
      socket.write(bytes);
    });
  } finally {
    socket.destroy();
  }
}

export function frame(header: string, command: string, fields: (string | Uint8Array)[]): Buffer {
  return encodeRequest(Buffer.from(header, 'ascii'), command, fields.map((f) => (typeof f === 'string' ? Buffer.from(f, 'ascii') : f)));
}

/** Three clear components whose XOR is `key`; for TDES each keeps odd parity (three odd-parity bytes XOR to odd parity). */
export function splitIntoComponents(key: Buffer, tdes: boolean): Buffer[] {
  const first = tdes ? withOddParity(randomBytes(key.length)) : randomBytes(key.length);
  const second = tdes ? withOddParity(randomBytes(key.length)) : randomBytes(key.length);
  const third = Buffer.alloc(key.length);
  for (let i = 0; i < key.length; i += 1) third[i] = (key[i] ?? 0) ^ (first[i] ?? 0) ^ (second[i] ?? 0);
  return [first, second, third];
}
