/**
 * The HSM port contract: what any implementation of `HsmPort` must do, run against hsm-sim
 * (a spawned process, in hsm.process.test.ts) and against any future adapter for a network
 * HSM. Published known-answer vectors through the port, every function, a key exchange
 * between two instances (gateway side and network side) under a shared ZMK, and many
 * concurrent requests. `start` makes a fresh, empty HSM; the suite starts two.
 */
import { createHmac, generateKeyPairSync, sign as nodeSign, webcrypto as nodeWebcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HsmPort } from './index.js';
import { unwrapKeyBlock } from './keyblock.js';
import { computeCryptogram } from './cryptogram.js';
import type { StoredKey } from './keystore.js';
import { kcvAes, kcvTdes, retailMac } from './primitives.js';
import { splitIntoComponents } from './testing.js';

export interface HsmUnderTest {
  readonly port: HsmPort;
  stop(): Promise<void>;
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ZMK_CLEAR = hex('6b0f0ed4 0a6e2f3b 9e1a5c27 44d18e90 13c5f7a2 58e36b01 cd9f4720 31a8b6e5');

async function formZmk(client: HsmPort): Promise<string> {
  const components = splitIntoComponents(ZMK_CLEAR, false);
  const info = await client.formKeyFromComponents({ keyId: 'zmk-visa', usage: 'K0', algorithm: 'A', modeOfUse: 'B', exportability: 'N', components: components.map((value) => ({ value })) });
  return info.kcv;
}

export function hsmPortContract(name: string, start: () => Promise<HsmUnderTest>): void {
  describe(`HSM port contract: ${name}`, () => {
    let gateway: HsmUnderTest;
    let network: HsmUnderTest;
    let hsm: HsmPort;
    let peer: HsmPort;

    beforeAll(async () => {
      [gateway, network] = await Promise.all([start(), start()]);
      hsm = gateway.port;
      peer = network.port;
    });

    afterAll(async () => {
      await Promise.all([gateway.stop(), network.stop()]);
    });

    describe('known answers through the wire', () => {
      it('retail MAC: ISO 9797-1 B.4 key formed from three components gives the published MAC', async () => {
        const key = hex('0123456789ABCDEF FEDCBA9876543210');
        const components = splitIntoComponents(key, true);
        const info = await hsm.formKeyFromComponents({ keyId: 'kat-retail', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'N', components: components.map((value) => ({ value, kcv: kcvTdes(value) })) });
        expect(info.kcv).toBe(kcvTdes(key));
        const mac = await hsm.generateMac({ keyId: 'kat-retail', data: Buffer.from('Now is the time for all ', 'ascii') });
        expect(mac.subarray(0, 4).toString('hex').toUpperCase()).toBe('A1C72E74');
        expect(await hsm.verifyMac({ keyId: 'kat-retail', data: Buffer.from('Now is the time for it', 'ascii'), mac: hex('2E2B1428') })).toBe(true);
      });

      it('AES-CMAC: RFC 4493 example 2 key formed from components gives the published tag', async () => {
        const key = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
        const components = splitIntoComponents(key, false).slice(0, 2);
        components[1] = Buffer.from(key.map((b, i) => b ^ (components[0]?.[i] ?? 0)));
        const info = await hsm.formKeyFromComponents({ keyId: 'kat-cmac', usage: 'M6', algorithm: 'A', modeOfUse: 'C', exportability: 'N', components: components.map((value) => ({ value })) });
        expect(info.kcv).toBe(await kcvAes(key));
        const tag = await hsm.generateMac({ keyId: 'kat-cmac', data: hex('6bc1bee2 2e409f96 e93d7e11 7393172a') });
        expect(tag.toString('hex')).toBe('070a16b46b4d4144f79bdd9dd04a287c');
      });
    });

    describe('functions', () => {
      it('echo, random, diagnostics', async () => {
        expect((await hsm.echo(Buffer.from('ping'))).toString()).toBe('ping');
        const [a, b] = await Promise.all([hsm.random(32), hsm.random(32)]);
        expect(a?.length).toBe(32);
        expect(a?.equals(b ?? Buffer.alloc(0))).toBe(false);
        const d = await hsm.diagnostics();
        expect(d.lmkVersion).toBe(1);
        expect(d.lmkKcv).toMatch(/^[0-9A-F]{6}$/);
      });

      it('HMAC keyed hash equals HMAC-SHA-256 under the formed key', async () => {
        const key = hex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
        const components = splitIntoComponents(key, false).slice(0, 2);
        components[1] = Buffer.from(key.map((b, i) => b ^ (components[0]?.[i] ?? 0)));
        await hsm.formKeyFromComponents({ keyId: 'pan-lookup', usage: 'M7', algorithm: 'H', modeOfUse: 'G', exportability: 'N', components: components.map((value) => ({ value })) });
        const digest = await hsm.keyedHash({ keyId: 'pan-lookup', data: Buffer.from('4761739001010010') });
        expect(digest.equals(createHmac('sha256', key).update('4761739001010010').digest())).toBe(true);
      });

      it('AES-256-GCM data keys: round trip, associated data bound, tamper refused', async () => {
        await hsm.generateDataKey('vault-dek-1');
        const plaintext = Buffer.alloc(1024, 7);
        const aad = Buffer.from('enrolment:42');
        const sealed = await hsm.encrypt({ keyId: 'vault-dek-1', plaintext, aad });
        expect(sealed.length).toBe(12 + 1024 + 16);
        expect((await hsm.decrypt({ keyId: 'vault-dek-1', sealed, aad })).equals(plaintext)).toBe(true);
        await expect(hsm.decrypt({ keyId: 'vault-dek-1', sealed, aad: Buffer.from('enrolment:43') })).rejects.toMatchObject({ code: 'hsm_data_authentication_failed' });
        const tampered = Buffer.from(sealed);
        tampered[20] = (tampered[20] ?? 0) ^ 1;
        await expect(hsm.decrypt({ keyId: 'vault-dek-1', sealed: tampered, aad })).rejects.toMatchObject({ code: 'hsm_data_authentication_failed' });
      });

      it('terminal ECDSA P-256 keys: SPKI and raw registration, verify, re-key', async () => {
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const spki = publicKey.export({ format: 'der', type: 'spki' });
        const first = await hsm.registerTerminalKey({ terminalId: 'T-0001', publicKey: spki });
        expect(first.replaced).toBe(false);
        const data = Buffer.from('capture-digest|nonce-123');
        const signature = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        expect(await hsm.verifyTerminalSignature({ terminalId: 'T-0001', data, signature })).toBe(true);
        expect(await hsm.verifyTerminalSignature({ terminalId: 'T-0001', data: Buffer.from('other'), signature })).toBe(false);
        const next = await nodeWebcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
        const raw = Buffer.from(await nodeWebcrypto.subtle.exportKey('raw', next.publicKey));
        expect((await hsm.registerTerminalKey({ terminalId: 'T-0001', publicKey: raw })).replaced).toBe(true);
        const signature2 = Buffer.from(await nodeWebcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, next.privateKey, data));
        expect(await hsm.verifyTerminalSignature({ terminalId: 'T-0001', data, signature: signature2 })).toBe(true);
        expect(await hsm.verifyTerminalSignature({ terminalId: 'T-0001', data, signature })).toBe(false);
      });

      it('inventory lists ids, usages and KCVs, pages beyond 100 keys', async () => {
        for (let i = 0; i < 120; i += 1) await hsm.generateKey({ keyId: `bulk-${String(i).padStart(3, '0')}`, usage: 'M6', algorithm: 'A', modeOfUse: 'G', exportability: 'N' });
        const keys = await hsm.listKeys();
        expect(keys.filter((k) => k.id.startsWith('bulk-')).length).toBe(120);
        expect(keys.find((k) => k.id === 'vault-dek-1')).toMatchObject({ usage: 'D0', algorithm: 'A', modeOfUse: 'B', exportability: 'E' });
        const deleted = await hsm.deleteKey('bulk-000');
        expect(deleted.id).toBe('bulk-000');
        await expect(hsm.generateMac({ keyId: 'bulk-000', data: Buffer.alloc(8) })).rejects.toMatchObject({ code: 'hsm_key_not_found' });
      });
    });

    describe('key exchange between two HSMs under a shared ZMK', () => {
      it('both sides form the same ZMK; a working MAC key and a token master key travel as TR-31 blocks', async () => {
        const [kcvA, kcvB] = await Promise.all([formZmk(hsm), formZmk(peer)]);
        expect(kcvA).toBe(kcvB);
        await hsm.generateKey({ keyId: 'zak-visa', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'E' });
        const exported = await hsm.exportKey({ keyId: 'zak-visa', zmkId: 'zmk-visa' });
        expect(exported.keyBlock).toMatch(/^D\d{4}M3TC00E0000[0-9A-F]+$/);
        // The block opens under the clear ZMK to the key whose KCV was announced: the format is TR-31, not private.
        expect(kcvTdes(unwrapKeyBlock(ZMK_CLEAR, exported.keyBlock).key)).toBe(exported.kcv);
        const imported = await peer.importKey({ keyId: 'zak-visa', zmkId: 'zmk-visa', keyBlock: exported.keyBlock, kcv: exported.kcv });
        expect(imported).toMatchObject({ usage: 'M3', algorithm: 'T', modeOfUse: 'C', kcv: exported.kcv });
        const message = Buffer.from('0100 authorization request bytes');
        const mac = await hsm.generateMac({ keyId: 'zak-visa', data: message });
        expect(await peer.verifyMac({ keyId: 'zak-visa', data: message, mac })).toBe(true);
        expect(await peer.verifyMac({ keyId: 'zak-visa', data: Buffer.concat([message, Buffer.from('!')]), mac })).toBe(false);
      });

      it('token cryptograms made by the gateway HSM verify at the network HSM and bind every field', async () => {
        await hsm.generateKey({ keyId: 'tsp-mk-ac', usage: 'E0', algorithm: 'T', modeOfUse: 'X', exportability: 'E' });
        const exported = await hsm.exportKey({ keyId: 'tsp-mk-ac', zmkId: 'zmk-visa' });
        await peer.importKey({ keyId: 'tsp-mk-ac', zmkId: 'zmk-visa', keyBlock: exported.keyBlock, kcv: exported.kcv });
        const request = { keyId: 'tsp-mk-ac', tokenPan: '4895370012345678', amount_minor: 1999n, currencyNumeric: 978, date: '261124', unpredictableNumber: hex('A1B2C3D4'), atc: 7 };
        const cryptogram = await hsm.generateCryptogram(request);
        expect(cryptogram.length).toBe(8);
        expect(await peer.verifyCryptogram({ ...request, cryptogram })).toBe(true);
        for (const change of [{ amount_minor: 2000n }, { currencyNumeric: 840 }, { date: '261125' }, { unpredictableNumber: hex('A1B2C3D5') }, { atc: 8 }, { tokenPan: '4895370012345679' }]) {
          expect(await peer.verifyCryptogram({ ...request, ...change, cryptogram })).toBe(false);
        }
        // Independent recomputation from the master key (recovered under the clear ZMK) agrees with the HSM.
        const master = unwrapKeyBlock(ZMK_CLEAR, exported.keyBlock).key;
        const stored = { algorithm: 'T', clear: master } as unknown as StoredKey;
        const expected = computeCryptogram(stored, { tokenPan: request.tokenPan, amount: '000000001999', currency: '978', date: '261124', unpredictableNumber: request.unpredictableNumber, atc: hex('0007') });
        expect(cryptogram.equals(expected)).toBe(true);
      });

      it('AES token master keys work the same way', async () => {
        await hsm.generateKey({ keyId: 'tsp-mk-aes', usage: 'E0', algorithm: 'A', modeOfUse: 'X', exportability: 'E' });
        const exported = await hsm.exportKey({ keyId: 'tsp-mk-aes', zmkId: 'zmk-visa' });
        await peer.importKey({ keyId: 'tsp-mk-aes', zmkId: 'zmk-visa', keyBlock: exported.keyBlock, kcv: exported.kcv });
        const request = { keyId: 'tsp-mk-aes', tokenPan: '5413330089010434', amount_minor: 250n, currencyNumeric: 826, date: '261124', unpredictableNumber: hex('00000001'), atc: 65535 };
        const cryptogram = await hsm.generateCryptogram(request);
        expect(await peer.verifyCryptogram({ ...request, cryptogram })).toBe(true);
      });

      it('data keys are wrapped under a KEK and unwrapped elsewhere (vault replication)', async () => {
        await hsm.generateDataKey('template-key-1');
        const sealed = await hsm.encrypt({ keyId: 'template-key-1', plaintext: Buffer.from('template bits'), aad: Buffer.from('palm:9') });
        const wrapped = await hsm.exportKey({ keyId: 'template-key-1', zmkId: 'zmk-visa' });
        await peer.importKey({ keyId: 'template-key-1', zmkId: 'zmk-visa', keyBlock: wrapped.keyBlock, kcv: wrapped.kcv });
        expect((await peer.decrypt({ keyId: 'template-key-1', sealed, aad: Buffer.from('palm:9') })).toString()).toBe('template bits');
      });
    });

    describe('concurrency', () => {
      it('answers 2,000 MACs issued at once, each matching the local computation', async () => {
        const key = hex('0123456789ABCDEF FEDCBA9876543210');
        const messages = Array.from({ length: 2_000 }, (_, i) => Buffer.from(`message ${i}`));
        const macs = await Promise.all(messages.map((data) => hsm.generateMac({ keyId: 'kat-retail', data })));
        macs.forEach((mac, i) => expect(mac.equals(retailMac(key, messages[i] ?? Buffer.alloc(0)))).toBe(true));
      });
    });
  });
}
