/**
 * The link reads bytes from outside: a peer on 127.0.0.1 that signs the link on properly and
 * then sends a bounded stream of random frames (random headers and bodies, valid framing) must
 * leave the link up, its malformed counter counting, and its pending requests untouched —
 * never a crash or an unhandled rejection. A broken length prefix ends only that connection,
 * which the link replaces.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/index.js';
import { compileSpec, encodeFrame, FrameDecoder } from '../../iso8583/index.js';
import { dialect, encodeVisaLikeHeader } from '../../specs/index.js';
import { eventually, openLink, tempDir } from './testing.js';

const FUZZ_FRAMES = 400;
const temp = tempDir('palmswitch-link-fuzz-');
afterAll(() => temp.remove());

describe('link fed random frames', () => {
  it('survives a peer sending garbage after a proper sign-on, and reconnects after a broken length', async () => {
    const { spec, framing } = dialect('visa-like');
    const codec = compileSpec(spec);
    const sockets: net.Socket[] = [];
    let signOns = 0;
    const random = seededRandom(1234);
    const header = (length: number): Buffer => encodeVisaLikeHeader({ destinationStationId: '100001', sourceStationId: '400000', roundTripInfo: 0, baseFlags: 0, messageStatusFlags: 0, batchNumber: 0, userInfo: 0 }, length);
    const peer = net.createServer((socket) => {
      sockets.push(socket);
      const decoder = new FrameDecoder(framing);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          const request = codec.decode(frame.message);
          if (request.mti !== '0800') continue;
          signOns += 1;
          const answer = codec.encode({ mti: '0810', fields: { 7: request.fields[7]!, 11: request.fields[11]!, 39: '00', 70: request.fields[70]! } });
          socket.write(encodeFrame(framing, answer, header(answer.length)));
        }
      });
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const address = peer.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const { link, store } = openLink({ port }, path.join(temp.dir, 'fuzz.db'));
    expect(await link.waitUntilUp(10_000)).toBe(true);
    const socket = sockets[0]!;
    for (let i = 0; i < FUZZ_FRAMES; i += 1) {
      const body = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
      // Half the frames carry a valid network header, half a random one.
      const head = random() < 0.5 ? header(body.length) : Buffer.from(Array.from({ length: framing.headerLength }, () => Math.floor(random() * 256)));
      socket.write(encodeFrame(framing, body, head));
    }
    await eventually(() => (link.status().counters.malformed ?? 0) >= FUZZ_FRAMES * 0.9);
    expect(link.status().up).toBe(1);
    expect(link.status().counters.disconnects ?? 0).toBe(0);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(framing.frameSizeMax + 1);
    socket.write(length);
    await eventually(() => (link.status().counters.disconnects ?? 0) === 1 && link.status().up === 1 && signOns === 2);
    await link.close();
    store.close();
    for (const open of sockets) open.destroy();
    await new Promise<void>((resolve) => peer.close(() => resolve()));
  });
});
