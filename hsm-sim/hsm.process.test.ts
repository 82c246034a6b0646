/**
 * hsm-sim as a real process (`palmswitch hsm start --port 0`) behind the typed client over
 * TCP: the HSM port contract (contract.case.ts), then what belongs to the client itself —
 * time-outs, an unreachable HSM, the bounded wait queue, and reconnecting across a restart.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLIENT_QUEUE_MAX, HsmClient, HsmError, spawnHsmProcess } from './index.js';
import { hsmPortContract } from './contract.case.js';
import { makeTempDir } from './testing.js';

hsmPortContract('hsm-sim process over TCP', async () => {
  const dir = makeTempDir('hsm-process');
  const proc = await spawnHsmProcess({ dataDir: dir.dir });
  const client = new HsmClient({ port: proc.port, connections: 2 });
  return {
    port: client,
    stop: async () => {
      await client.close();
      await proc.stop();
      dir.remove();
    },
  };
});

describe('the client', () => {
  it('times out against a peer that never answers, and reports an unreachable HSM', async () => {
    // Reads and discards, never answers (reading is what lets it notice the client hang up).
    const silent = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const client = new HsmClient({ port, timeout_ms: 200 });
    await expect(client.echo(Buffer.from('x'))).rejects.toMatchObject({ code: 'hsm_timeout' });
    await client.close();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    const unreachable = new HsmClient({ port, timeout_ms: 500 });
    await expect(unreachable.echo(Buffer.from('x'))).rejects.toMatchObject({ code: 'hsm_connection_failed' });
    await unreachable.close();
  });

  it('bounds the wait queue: beyond it a request is refused at once; close() fails the rest', async () => {
    const silent = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const client = new HsmClient({ port: typeof address === 'object' && address ? address.port : 0, connections: 1, in_flight_per_connection_max: 1, timeout_ms: 30_000 });
    const outcomes = Array.from({ length: CLIENT_QUEUE_MAX + 1 }, () => client.echo(Buffer.from('x')).then(() => 'answered', (error: HsmError) => error.code));
    const extra = await client.echo(Buffer.from('x')).then(() => 'answered', (error: HsmError) => error.code);
    expect(extra).toBe('hsm_client_overloaded');
    await client.close();
    const codes = new Set(await Promise.all(outcomes));
    expect([...codes].every((c) => c === 'hsm_client_closed' || c === 'hsm_connection_failed')).toBe(true);
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('reconnects when the HSM restarts on the same port', async () => {
    const dir = makeTempDir('hsm-restart');
    const first = await spawnHsmProcess({ dataDir: dir.dir });
    const client = new HsmClient({ port: first.port, timeout_ms: 2_000 });
    expect((await client.echo(Buffer.from('a'))).toString()).toBe('a');
    await first.stop();
    await expect(client.echo(Buffer.from('b'))).rejects.toBeInstanceOf(HsmError);
    const second = await spawnHsmProcess({ dataDir: dir.dir, port: first.port });
    expect((await client.echo(Buffer.from('c'))).toString()).toBe('c');
    await client.close();
    await second.stop();
    dir.remove();
  });
});
