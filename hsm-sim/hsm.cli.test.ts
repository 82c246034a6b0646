/**
 * The `palmswitch hsm` key ceremonies as an operator runs them: components on stdin form a
 * ZMK, a key is exported as a TR-31 block, and `hsm status` shows the inventory — against
 * the real process, through the real command line.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from './index.js';
import { unwrapKeyBlock } from './keyblock.js';
import { kcvAes, kcvTdes } from './primitives.js';
import { makeTempDir, splitIntoComponents } from './testing.js';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const CLI_TIMEOUT_MS = 30_000;
// Made in beforeAll, not at import: a filtered or aborted run must not leave directories behind.
let temp: ReturnType<typeof makeTempDir>;
let proc: SpawnedHsm;

function palmswitch(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

beforeAll(async () => {
  temp = makeTempDir('hsm-cli');
  proc = await spawnHsmProcess({ dataDir: temp.dir });
});
afterAll(async () => { await proc.stop(); temp.remove(); });

describe('palmswitch hsm key ceremonies', () => {
  it('forms a ZMK from stdin components, exports a key under it, and lists the inventory', async () => {
    const zmk = Buffer.from('00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210', 'hex');
    const components = splitIntoComponents(zmk, false);
    const stdin = (await Promise.all(components.map(async (c) => `${c.toString('hex')} ${await kcvAes(c)}`))).join('\n') + '\n';
    const formed = await palmswitch(['hsm', 'form-key', 'zmk-cli', '--usage', 'K0', '--algorithm', 'A', '--mode', 'B', '--port', String(proc.port)], stdin);
    expect(formed.stderr).not.toMatch(/palmswitch:/);
    expect(formed.stdout).toContain(`zmk-cli K0 A B N KCV ${await kcvAes(zmk)}`);

    const client = new HsmClient({ port: proc.port });
    await client.generateKey({ keyId: 'zak-cli', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'E' });
    await client.close();
    const exported = await palmswitch(['hsm', 'export-key', 'zak-cli', '--zmk', 'zmk-cli', '--port', String(proc.port)]);
    const [block = '', kcv = ''] = exported.stdout.trim().split(' ');
    expect(kcvTdes(unwrapKeyBlock(zmk, block).key)).toBe(kcv);

    const status = await palmswitch(['hsm', 'status', '--port', String(proc.port)]);
    expect(status.stdout).toMatch(/LMK generation 1/);
    expect(status.stdout).toMatch(/zak-cli\s+M3 T C E KCV [0-9A-F]{6}/);
  });
});
