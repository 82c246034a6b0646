import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatMoney, loadConfig, maskPan, maskPansInText, maskTrack2, PalmswitchError, service_environment, service_node_flags, spawnServiceProcess } from './index.js';

describe('masking', () => {
  it('keeps BIN and last four of a PAN', () => {
    expect(maskPan('4761739001010010')).toBe('476173******0010');
    // Any 12..19 digit run is masked, even a 12-digit amount: over-masking is the safe side.
    expect(maskPansInText('pan=4761739001010010 stan=123456')).toBe('pan=476173******0010 stan=123456');
    expect(maskPansInText('amount=000000001000')).toBe('amount=000000**1000');
    expect(maskTrack2('4761739001010010D25122011143804400000')).toBe('476173******0010D' + '*'.repeat(20));
  });
});

describe('logger', () => {
  it('redacts card data by key and masks PANs in messages', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    const log = createLogger({ name: 'test', level: 'info', destination: sink });
    log.info({ pan: '4761739001010010', request: { token: '4895370012345678' } }, 'paid with 4761739001010010');
    const text = lines.join('');
    expect(text).not.toContain('4761739001010010');
    expect(text).not.toContain('4895370012345678');
    expect(text).toContain('476173******0010');
    expect(text).toContain('[redacted]');
  });
});

describe('config', () => {
  it('has embedded defaults and rejects bad values with a typed error', () => {
    const config = loadConfig({});
    expect(config.ledger.tigerbeetleAddresses).toEqual([]);
    expect(config.hsmPort).toBe(9500);
    expect(() => loadConfig({ PALMSWITCH_HSM_PORT: '70000' })).toThrow(PalmswitchError);
    expect(loadConfig({ TB_ADDRESS: '3000, 3001' }).ledger.tigerbeetleAddresses).toEqual(['3000', '3001']);
  });
});

describe('money', () => {
  it('formats minor units with the currency exponent', () => {
    expect(formatMoney({ amount_minor: 12345n, currency: 'EUR' })).toBe('123.45 EUR');
    expect(formatMoney({ amount_minor: 5n, currency: 'KWD' })).toBe('0.005 KWD');
    expect(formatMoney({ amount_minor: 1200n, currency: 'JPY' })).toBe('1200 JPY');
  });
});

describe('service processes', () => {
  it('start with the service flags and the malloc environment, and stop', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-service-'));
    const script = path.join(dir, 'service.mjs');
    writeFileSync(script, "console.log(`ready ${process.env.MALLOC_MMAP_THRESHOLD_} ${process.env.MALLOC_TRIM_THRESHOLD_} ${process.execArgv.join(' ')}`); setInterval(() => {}, 1000);\n");
    const service = await spawnServiceProcess({
      script, args: [], readyLine: /ready (\S+) (\S+) (.*)/, startupTimeout_ms: 20_000, failure: (why) => new PalmswitchError('internal', why),
    });
    try {
      expect(service.ready.slice(1, 3)).toEqual([service_environment.MALLOC_MMAP_THRESHOLD_, service_environment.MALLOC_TRIM_THRESHOLD_]);
      expect(service.ready[3]?.split(' ').slice(0, service_node_flags.length)).toEqual(service_node_flags);
    } finally {
      // Stopped whatever the assertions found: a failed expectation must not leave the process running.
      expect(await service.stop()).not.toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
