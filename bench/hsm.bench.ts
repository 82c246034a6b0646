/**
 * `npm run bench -- hsm`: the HSM simulator as a real process over TCP on loopback, one
 * client on one connection keeping 64 requests in flight. Figures: retail-MAC (ISO 9797-1
 * alg. 3, the DE 64 MAC) generations per second — bar: at least 20,000/s — AES-CMAC
 * generations per second, and AES-256-GCM encrypt+decrypt round trips of a 1 KiB template
 * per second; plus MAC round-trip latency percentiles under that load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Figure } from './harness.js';
import { HsmClient, spawnHsmProcess } from '../hsm-sim/index.js';

const IN_FLIGHT = 64;
const DURATION_MS = 5_000;
const WARMUP_MS = 1_000;
const MAC_BAR_PER_SECOND = 20_000;
const TEMPLATE_BYTES = 1_024;
const LATENCY_SAMPLES_MAX = 1_000_000;

/** Runs `operation` from IN_FLIGHT concurrent loops for `duration_ms`; returns operations per second and latencies. */
async function drive(operation: () => Promise<void>, duration_ms: number): Promise<{ rate: number; latencies_ms: number[] }> {
  const latencies_ms: number[] = [];
  let count = 0;
  const start = performance.now();
  const deadline = start + duration_ms;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      await operation();
      if (latencies_ms.length < LATENCY_SAMPLES_MAX) latencies_ms.push(performance.now() - begun);
      count += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  return { rate: (count / (performance.now() - start)) * 1000, latencies_ms };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function run(): Promise<{ figures: Figure[]; notes?: string[] }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-hsm-bench-'));
  const hsm = await spawnHsmProcess({ dataDir });
  const client = new HsmClient({ port: hsm.port, connections: 1, in_flight_per_connection_max: IN_FLIGHT });
  try {
    await client.generateKey({ keyId: 'bench-zak', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'N' });
    await client.generateKey({ keyId: 'bench-cmac', usage: 'M6', algorithm: 'A', modeOfUse: 'C', exportability: 'N' });
    await client.generateDataKey('bench-dek');
    // A typical 0100 authorization is 150-250 bytes; 200 is the MAC input here.
    const message = Buffer.alloc(200, 0x30);
    const template = Buffer.alloc(TEMPLATE_BYTES, 0x5a);
    const aad = Buffer.from('palm-template:1');
    const retail = async (): Promise<void> => { await client.generateMac({ keyId: 'bench-zak', data: message }); };
    const cmac = async (): Promise<void> => { await client.generateMac({ keyId: 'bench-cmac', data: message }); };
    const gcm = async (): Promise<void> => {
      const sealed = await client.encrypt({ keyId: 'bench-dek', plaintext: template, aad });
      await client.decrypt({ keyId: 'bench-dek', sealed, aad });
    };
    await drive(retail, WARMUP_MS);
    const retailResult = await drive(retail, DURATION_MS);
    const cmacResult = await drive(cmac, DURATION_MS);
    await drive(gcm, WARMUP_MS);
    const gcmResult = await drive(gcm, DURATION_MS);
    return {
      figures: [
        { name: 'retail MAC (ISO 9797-1 alg. 3) generations over TCP, 64 in flight', value: retailResult.rate, unit: 'MAC/s', bar: `>= ${MAC_BAR_PER_SECOND.toLocaleString('en-US')} MAC/s`, met: retailResult.rate >= MAC_BAR_PER_SECOND },
        { name: 'retail MAC round trip p50 under that load', value: percentile(retailResult.latencies_ms, 50), unit: 'ms' },
        { name: 'retail MAC round trip p99 under that load', value: percentile(retailResult.latencies_ms, 99), unit: 'ms' },
        { name: 'AES-CMAC generations over TCP, 64 in flight', value: cmacResult.rate, unit: 'MAC/s' },
        { name: 'AES-256-GCM encrypt+decrypt of a 1 KiB template, 64 in flight', value: gcmResult.rate, unit: 'round trips/s' },
      ],
      notes: [
        `hsm-sim runs as its own process (palmswitch hsm start); one HsmClient, one TCP connection on 127.0.0.1, ${IN_FLIGHT} requests in flight, ${DURATION_MS / 1000} s per figure after a ${WARMUP_MS / 1000} s warm-up.`,
        'MAC input is 200 bytes (a typical authorization message); each GCM round trip is two HSM commands (encrypt, then decrypt of the result).',
        'Client and HSM share the machine: on 2 cores the client process takes about half the CPU the HSM could use.',
      ],
    };
  } finally {
    await client.close();
    await hsm.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
