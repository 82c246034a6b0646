/**
 * Misuse against the real process: every refusal has its own error code (and the
 * response code and header still come back), the key file is created 0600, LMK rotation
 * re-wraps every key while MACs keep flowing and survives a restart, and no key material in clear reaches any log, response, audit line or
 * file other than the LMK file.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HSM_ERRORS, HsmClient, spawnHsmProcess, type HsmErrorCode, type SpawnedHsm } from './index.js';
import { unwrapKeyBlock } from './keyblock.js';
import { kcvAes, kcvTdes } from './primitives.js';
import { frame, makeTempDir, rawExchange, splitIntoComponents } from './testing.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
// Made in beforeAll, not at import: a filtered or aborted run must not leave directories behind.
let temp: ReturnType<typeof makeTempDir>;
const ZMK = hex('1f2e3d4c5b6a79880f1e2d3c4b5a6978a1b2c3d4e5f60718293a4b5c6d7e8f90');
let proc: SpawnedHsm;
let hsm: HsmClient;
const components = splitIntoComponents(ZMK, false);
let exportedKeyClear: Buffer;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  temp = makeTempDir('hsm-misuse');
  proc = await spawnHsmProcess({ dataDir: temp.dir });
  hsm = new HsmClient({ port: proc.port });
  await hsm.formKeyFromComponents({ keyId: 'zmk', usage: 'K0', algorithm: 'A', modeOfUse: 'B', exportability: 'N', components: components.map((value) => ({ value })) });
  await hsm.generateKey({ keyId: 'mac', usage: 'M3', algorithm: 'T', modeOfUse: 'G', exportability: 'E' });
  await hsm.generateKey({ keyId: 'mac-fixed', usage: 'M6', algorithm: 'A', modeOfUse: 'C', exportability: 'N' });
  await hsm.generateDataKey('dek');
  const exported = await hsm.exportKey({ keyId: 'mac', zmkId: 'zmk' });
  exportedKeyClear = unwrapKeyBlock(ZMK, exported.keyBlock).key;
});

afterAll(async () => {
  await hsm.close();
  await proc.stop();
  temp.remove();
});

describe('every misuse has its own error code', () => {
  it('key-level misuse through the client', async () => {
    const exported = await hsm.exportKey({ keyId: 'mac', zmkId: 'zmk' });
    const flipped = exported.keyBlock.slice(0, 30) + (exported.keyBlock[30] === 'A' ? 'B' : 'A') + exported.keyBlock.slice(31);
    // Thunks, so each request is sent (and its refusal handled) one at a time.
    const cases: [() => Promise<unknown>, HsmErrorCode][] = [
      [() => hsm.generateMac({ keyId: 'dek', data: Buffer.alloc(8) }), 'hsm_key_usage_wrong'],
      [() => hsm.encrypt({ keyId: 'mac', plaintext: Buffer.alloc(8) }), 'hsm_key_usage_wrong'],
      [() => hsm.verifyMac({ keyId: 'mac', data: Buffer.alloc(8), mac: Buffer.alloc(8) }), 'hsm_key_usage_wrong'],
      [() => hsm.exportKey({ keyId: 'mac', zmkId: 'mac-fixed' }), 'hsm_key_usage_wrong'],
      [() => hsm.importKey({ keyId: 'x1', zmkId: 'zmk', keyBlock: flipped, kcv: exported.kcv }), 'hsm_key_block_tampered'],
      [() => hsm.importKey({ keyId: 'x2', zmkId: 'zmk', keyBlock: exported.keyBlock, kcv: 'ABCDEF' }), 'hsm_kcv_mismatch'],
      [() => hsm.generateMac({ keyId: 'nope', data: Buffer.alloc(8) }), 'hsm_key_not_found'],
      [() => hsm.exportKey({ keyId: 'mac-fixed', zmkId: 'zmk' }), 'hsm_key_not_exportable'],
      [() => hsm.verifyMac({ keyId: 'mac-fixed', data: Buffer.alloc(8), mac: Buffer.alloc(3) }), 'hsm_field_length_wrong'],
      [() => hsm.random(0), 'hsm_field_format_wrong'],
      [() => hsm.decrypt({ keyId: 'dek', sealed: Buffer.alloc(40) }), 'hsm_data_authentication_failed'],
      [() => hsm.generateKey({ keyId: 'mac', usage: 'M3', algorithm: 'T', modeOfUse: 'G', exportability: 'E' }), 'hsm_key_exists'],
      [() => hsm.verifyTerminalSignature({ terminalId: 'T-unknown', data: Buffer.alloc(1), signature: Buffer.alloc(64) }), 'hsm_terminal_unknown'],
      [() => hsm.importKey({ keyId: 'x3', zmkId: 'zmk', keyBlock: 'X0016M3TC00E0000', kcv: 'ABCDEF' }), 'hsm_key_block_header_invalid'],
      [() => hsm.generateKey({ keyId: 'bad', usage: 'M3', algorithm: 'A', modeOfUse: 'G', exportability: 'E' }), 'hsm_key_attributes_invalid'],
      [() => hsm.formKeyFromComponents({ keyId: 'bad2', usage: 'K0', algorithm: 'A', modeOfUse: 'B', exportability: 'N', components: [{ value: Buffer.alloc(32, 1) }, { value: Buffer.alloc(32, 1) }] }), 'hsm_component_invalid'],
      [() => hsm.formKeyFromComponents({ keyId: 'bad3', usage: 'K0', algorithm: 'A', modeOfUse: 'B', exportability: 'N', components: [{ value: Buffer.alloc(32, 1), kcv: '000000' }, { value: Buffer.alloc(32, 2) }] }), 'hsm_kcv_mismatch'],
      [() => hsm.registerTerminalKey({ terminalId: 'T-9', publicKey: Buffer.alloc(91, 4) }), 'hsm_terminal_key_invalid'],
      [() => hsm.registerTerminalKey({ terminalId: 'T-10', publicKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' }) }), 'hsm_terminal_key_invalid'],
    ];
    for (const [send, code] of cases) expect(await refusal(send())).toBe(code);
    expect(await hsm.verifyMac({ keyId: 'mac-fixed', data: Buffer.alloc(8), mac: Buffer.alloc(8) })).toBe(false);
  });

  it('protocol-level misuse over a raw socket: unknown command, field count, truncated and oversize frames', async () => {
    const oversize = Buffer.alloc(2 + 40_000, 0x41);
    oversize.writeUInt16BE(40_000, 0);
    const truncated = Buffer.from([0x00, 0x03, 0x31, 0x32, 0x33]);
    const bytes = Buffer.concat([
      frame('0001', 'QQ', []),
      frame('0002', 'B2', ['a', 'b']),
      truncated,
      oversize,
      frame('0003', 'B2', ['still here']),
      frame('0004', 'M6', ['mac-fixed', Buffer.alloc(8), '3']),
    ]);
    const responses = await rawExchange(proc.port, bytes, 6);
    const byHeader = new Map(responses.map((r) => [r.header.toString('latin1'), r]));
    expect(byHeader.get('0001')).toMatchObject({ code: 'QR', error: HSM_ERRORS.hsm_command_unknown.wire });
    expect(byHeader.get('0002')).toMatchObject({ code: 'B3', error: HSM_ERRORS.hsm_field_count_wrong.wire });
    expect(byHeader.get('123?')).toMatchObject({ code: 'ZZ', error: HSM_ERRORS.hsm_frame_truncated.wire });
    expect(byHeader.get('AAAA')).toMatchObject({ code: 'ZZ', error: HSM_ERRORS.hsm_frame_oversize.wire });
    expect(byHeader.get('0003')).toMatchObject({ code: 'B3', error: '00' });
    expect(byHeader.get('0004')).toMatchObject({ code: 'M7', error: HSM_ERRORS.hsm_field_format_wrong.wire });
  });

  it('answers 1,000 requests pipelined in one write (past the in-flight bound, where reading pauses)', async () => {
    // Echo answers at once; AES-GCM (WebCrypto) answers through a promise, so hundreds stay in flight.
    const requests = Array.from({ length: 1_000 }, (_, i) => frame(String(i).padStart(4, '0'), i % 2 === 0 ? 'B2' : 'M0', i % 2 === 0 ? ['x'] : ['dek', 'plain', 'aad']));
    const responses = await rawExchange(proc.port, Buffer.concat(requests), requests.length);
    expect(new Set(responses.map((r) => r.header.toString('latin1'))).size).toBe(1_000);
    expect(responses.every((r) => r.error === '00')).toBe(true);
  });

  it('closes connections beyond its bound and keeps serving the others', async () => {
    const { connect } = await import('node:net');
    const sockets = Array.from({ length: 80 }, () => connect({ host: '127.0.0.1', port: proc.port }).on('error', () => undefined));
    const closed = await Promise.all(sockets.map((socket) => new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 1_000);
    })));
    expect(closed.filter(Boolean).length).toBeGreaterThanOrEqual(80 - 64);
    for (const socket of sockets) socket.destroy();
    expect((await hsm.echo(Buffer.from('still'))).toString()).toBe('still');
  });

  it('the error table has one wire code per error', () => {
    const wires = Object.values(HSM_ERRORS).map((e) => e.wire);
    expect(new Set(wires).size).toBe(wires.length);
  });
});

describe('key file, audit trail and the absence of key material', () => {
  it('creates lmk.json and keys.json with mode 0600 under <dataDir>/hsm', () => {
    for (const file of ['lmk.json', 'keys.json', 'audit.log']) expect(statSync(path.join(temp.dir, 'hsm', file)).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(temp.dir, 'hsm')).mode & 0o777).toBe(0o700);
  });

  it('audits key management and misuse by id and KCV', () => {
    const lines = readFileSync(path.join(temp.dir, 'hsm', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.command === 'form-key-from-components' && l.keyId === 'zmk')).toBe(true);
    expect(lines.some((l) => l.command === 'export-key' && l.keyId === 'mac' && l.kcv === kcvTdes(exportedKeyClear))).toBe(true);
    expect(lines.some((l) => l.outcome === 'hsm_key_usage_wrong')).toBe(true);
    expect(lines.some((l) => l.outcome === 'hsm_command_unknown')).toBe(true);
  });

  it('no clear key, component or LMK appears outside lmk.json', async () => {
    const lmk = (JSON.parse(readFileSync(path.join(temp.dir, 'hsm', 'lmk.json'), 'utf8')) as { versions: { key: string }[] }).versions.map((v) => v.key);
    const secrets = [ZMK.toString('hex'), exportedKeyClear.toString('hex'), ...components.map((c) => c.toString('hex')), ...lmk];
    const inventory = JSON.stringify(await hsm.listKeys());
    const places = { output: proc.output(), audit: readFileSync(path.join(temp.dir, 'hsm', 'audit.log'), 'utf8'), keys: readFileSync(path.join(temp.dir, 'hsm', 'keys.json'), 'utf8'), inventory };
    for (const [where, text] of Object.entries(places)) {
      for (const secret of secrets) {
        expect(text.toLowerCase().includes(secret.toLowerCase()), `${where} contains key material`).toBe(false);
        expect(text.includes(Buffer.from(secret, 'hex').toString('base64')), `${where} contains key material (base64)`).toBe(false);
      }
    }
    expect(await kcvAes(ZMK)).toBe((await hsm.listKeys()).find((k) => k.id === 'zmk')?.kcv);
  });
});

describe('LMK rotation and restart', () => {
  it('re-wraps every key while MACs keep flowing, then survives a restart with the same KCVs', async () => {
    const before = await hsm.listKeys();
    const data = Buffer.from('rotation');
    const reference = await hsm.generateMac({ keyId: 'mac-fixed', data });
    let macs = 0;
    let failures = 0;
    let rotating = true;
    const stream = (async () => {
      while (rotating) {
        const batch = await Promise.allSettled(Array.from({ length: 32 }, () => hsm.generateMac({ keyId: 'mac-fixed', data })));
        for (const r of batch) if (r.status === 'fulfilled' && r.value.equals(reference)) macs += 1; else failures += 1;
      }
    })();
    const rotated = await hsm.rotateLmk();
    rotating = false;
    await stream;
    expect(rotated.lmkVersion).toBe(2);
    expect(rotated.rewrapped).toBe(before.length);
    expect(macs).toBeGreaterThan(0);
    expect(failures).toBe(0);
    const lmkFile = JSON.parse(readFileSync(path.join(temp.dir, 'hsm', 'lmk.json'), 'utf8')) as { current: number; versions: { version: number }[] };
    expect(lmkFile.current).toBe(2);
    expect(lmkFile.versions.map((v) => v.version)).toEqual([2]);

    await hsm.close();
    await proc.stop();
    proc = await spawnHsmProcess({ dataDir: temp.dir });
    hsm = new HsmClient({ port: proc.port });
    const after = await hsm.listKeys();
    expect(after.map((k) => [k.id, k.kcv])).toEqual(before.map((k) => [k.id, k.kcv]));
    expect(after.every((k) => k.lmkVersion === 2)).toBe(true);
    expect((await hsm.generateMac({ keyId: 'mac-fixed', data })).equals(reference)).toBe(true);
  });
});
