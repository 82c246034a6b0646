/**
 * The key store on real files in a temporary directory: its bounds, persistence across
 * reopening, LMK rotation racing with key generation (every key must still load), and the
 * refusals that stop the HSM from starting: a tampered key store, an LMK file others can read.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from './keystore.js';
import { makeTempDir } from './testing.js';
import type { KeyAttributes } from './usages.js';

// Made in beforeAll, not at import: a filtered or aborted run must not leave directories behind.
let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => { temp = makeTempDir('hsm-keystore'); });
afterAll(() => temp.remove());
const MAC: KeyAttributes = { usage: 'M6', algorithm: 'A', modeOfUse: 'C', exportability: 'N' };

describe('KeyStore', () => {
  it('refuses keys and terminals beyond its bounds, but lets a terminal be re-keyed', async () => {
    const store = await KeyStore.open(path.join(temp.dir, 'bounds'), { keys_count_max: 3, terminals_count_max: 2 });
    for (const id of ['a', 'b', 'c']) await store.add(id, MAC, randomBytes(32));
    await expect(store.add('d', MAC, randomBytes(32))).rejects.toMatchObject({ code: 'hsm_store_full' });
    store.registerTerminal('t1', randomBytes(91));
    store.registerTerminal('t2', randomBytes(91));
    expect(() => store.registerTerminal('t3', randomBytes(91))).toThrow(expect.objectContaining({ code: 'hsm_store_full' }) as Error);
    expect(store.registerTerminal('t1', randomBytes(91)).replaced).toBe(true);
    store.delete('a');
    await store.add('d', MAC, randomBytes(32));
  });

  it('keeps keys across reopening and across LMK rotations racing with key generation', async () => {
    const dir = path.join(temp.dir, 'race');
    const store = await KeyStore.open(dir);
    const adds = Array.from({ length: 40 }, (_, i) => store.add(`k${i}`, MAC, randomBytes(32)));
    const rotations = [store.rotateLmk(), store.rotateLmk()];
    const infos = await Promise.all(adds);
    expect(rotations.map((r) => r.lmkVersion)).toEqual([2, 3]);
    const reopened = await KeyStore.open(dir);
    expect(reopened.lmkVersion).toBe(3);
    expect(reopened.keyCount).toBe(40);
    for (const info of infos) expect(reopened.get(info.id).kcv).toBe(info.kcv);
    const file = JSON.parse(readFileSync(path.join(dir, 'keys.json'), 'utf8')) as { keys: { lmkVersion: number }[] };
    expect(file.keys.every((k) => k.lmkVersion === 3)).toBe(true);
  });

  it('refuses to open a key store with swapped ids or an edited block, or an LMK file others can read', async () => {
    const dir = path.join(temp.dir, 'tamper');
    const store = await KeyStore.open(dir);
    await store.add('k1', MAC, randomBytes(32));
    await store.add('k2', MAC, randomBytes(32));
    const keysFile = path.join(dir, 'keys.json');
    const original = readFileSync(keysFile, 'utf8');
    // Swapping two blocks' ids must not go unnoticed: the id is bound inside each block.
    const swapped = JSON.parse(original) as { keys: { id: string; block: string }[] };
    const [a, b] = swapped.keys;
    if (a && b) [a.id, b.id] = [b.id, a.id];
    writeFileSync(keysFile, JSON.stringify(swapped), { mode: 0o600 });
    await expect(KeyStore.open(dir)).rejects.toMatchObject({ code: 'hsm_key_block_tampered' });
    const edited = JSON.parse(original) as { keys: { block: string }[] };
    const first = edited.keys[0];
    if (first) first.block = first.block.slice(0, 40) + (first.block[40] === 'A' ? 'B' : 'A') + first.block.slice(41);
    writeFileSync(keysFile, JSON.stringify(edited), { mode: 0o600 });
    await expect(KeyStore.open(dir)).rejects.toMatchObject({ code: 'hsm_key_block_tampered' });
    writeFileSync(keysFile, original, { mode: 0o600 });
    expect((await KeyStore.open(dir)).keyCount).toBe(2);
    chmodSync(path.join(dir, 'lmk.json'), 0o644);
    await expect(KeyStore.open(dir)).rejects.toMatchObject({ code: 'hsm_key_file_insecure' });
  });
});
