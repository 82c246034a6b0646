/**
 * `palmswitch hsm`: run the HSM simulator in the foreground (`hsm start`, what the stack
 * runs as a child process), look at a running one (`hsm status`: diagnostics and the key
 * inventory — ids, usages and KCVs, never key material), and key ceremonies (generate, form
 * from components read from stdin, export/import as TR-31 blocks, LMK rotation).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger, loadConfig, PalmswitchError } from '../../core/index.js';
import { HsmClient, startHsmServer, type Exportability, type KeyAlgorithm, type KeyInfo, type KeyUsage, type ModeOfUse } from '../../hsm-sim/index.js';
import { stopOnSignals } from '../shutdown.js';
import { parsePort } from '../args.js';

const STDIN_BYTES_MAX = 4_096;

export function registerHsmCommand(program: Command): void {
  const hsm = program.command('hsm').description('the HSM simulator: keys, MACs, token cryptograms, data protection, terminal keys');
  hsm
    .command('start')
    .description('run hsm-sim in the foreground (port 0 picks a free port; the bound port is printed)')
    .option('--port <port>', 'TCP port (default: config hsmPort, PALMSWITCH_HSM_PORT)')
    .option('--host <host>', 'address to listen on (default: config host, 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory; keys live in <dir>/hsm (default: config dataDir)')
    .action(async (options: { port?: string; host?: string; dataDir?: string }) => {
      const config = loadConfig();
      const keyDir = path.join(path.resolve(options.dataDir ?? config.dataDir), 'hsm');
      const logger = createLogger({ name: 'hsm-sim', level: config.logLevel });
      const server = await startHsmServer({ host: options.host ?? config.host, port: options.port === undefined ? config.hsmPort : parsePort(options.port), keyDir, logger });
      process.stdout.write(`hsm-sim listening on ${server.host}:${server.port}\n`);
      stopOnSignals('hsm-sim', () => server.close());
    });
  hsm
    .command('status')
    .description('diagnostics and key inventory of a running hsm-sim')
    .option('--port <port>', 'TCP port (default: config hsmPort)')
    .action(async (options: { port?: string }) => {
      await withClient(options.port, async (client) => {
        const d = await client.diagnostics();
        process.stdout.write(`${d.version}: LMK generation ${d.lmkVersion} (KCV ${d.lmkKcv}), ${d.keyCount} keys, ${d.terminalCount} terminal keys\n`);
        for (const k of await client.listKeys()) process.stdout.write(`${k.id.padEnd(32)} ${k.usage} ${k.algorithm} ${k.modeOfUse} ${k.exportability} KCV ${k.kcv} LMK ${k.lmkVersion}\n`);
      });
    });
  registerKeyCeremonies(hsm);
}

async function withClient(port: string | undefined, body: (client: HsmClient) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const client = new HsmClient({ port: port === undefined ? config.hsmPort : parsePort(port), connections: 1 });
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

function printKey(info: KeyInfo): void {
  process.stdout.write(`${info.id} ${info.usage} ${info.algorithm} ${info.modeOfUse} ${info.exportability} KCV ${info.kcv}\n`);
}

/** Key ceremonies for operators: the same client calls the modules make, from a shell. */
function registerKeyCeremonies(hsm: Command): void {
  hsm
    .command('generate-key <keyId>')
    .description('generate a key inside the HSM (usage K0, M1, M3, M6, M7, D0, E0-E6, B0)')
    .requiredOption('--usage <usage>').requiredOption('--algorithm <A|T|H>').requiredOption('--mode <mode>')
    .option('--exportability <E|N|S>', 'exportable under a KEK or not', 'N').option('--length <bytes>', 'key length in bytes').option('--port <port>')
    .action(async (keyId: string, o: { usage: string; algorithm: string; mode: string; exportability: string; length?: string; port?: string }) => {
      await withClient(o.port, async (client) => printKey(await client.generateKey({
        keyId, usage: o.usage as KeyUsage, algorithm: o.algorithm as KeyAlgorithm, modeOfUse: o.mode as ModeOfUse, exportability: o.exportability as Exportability,
        ...(o.length ? { length_bytes: Number(o.length) } : {}),
      })));
    });
  hsm
    .command('form-key <keyId>')
    .description('form a key (the first ZMK) from 2-3 clear components read from stdin, one "HEX [KCV]" per line')
    .requiredOption('--usage <usage>').requiredOption('--algorithm <A|T>').requiredOption('--mode <mode>')
    .option('--exportability <E|N|S>', 'exportable under a KEK or not', 'N').option('--port <port>')
    .action(async (keyId: string, o: { usage: string; algorithm: string; mode: string; exportability: string; port?: string }) => {
      const lines = (await readStdin()).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
      const components = lines.map((line) => {
        const [value = '', kcv] = line.split(/\s+/);
        if (!/^([0-9a-fA-F]{2})+$/.test(value)) throw new PalmswitchError('cli_argument_invalid', 'a component line is "HEX [KCV]"');
        return { value: Buffer.from(value, 'hex'), ...(kcv ? { kcv: kcv.toUpperCase() } : {}) };
      });
      await withClient(o.port, async (client) => printKey(await client.formKeyFromComponents({
        keyId, usage: o.usage as KeyUsage, algorithm: o.algorithm as KeyAlgorithm, modeOfUse: o.mode as ModeOfUse, exportability: o.exportability as Exportability, components,
      })));
    });
  hsm
    .command('export-key <keyId>')
    .description('print a key as a TR-31 key block under a ZMK/KEK, with its KCV')
    .requiredOption('--zmk <zmkId>').option('--port <port>')
    .action(async (keyId: string, o: { zmk: string; port?: string }) => {
      await withClient(o.port, async (client) => {
        const { keyBlock, kcv } = await client.exportKey({ keyId, zmkId: o.zmk });
        process.stdout.write(`${keyBlock} ${kcv}\n`);
      });
    });
  hsm
    .command('import-key <keyId> <keyBlock> <kcv>')
    .description('import a TR-31 key block under a ZMK/KEK; refused unless the KCV matches')
    .requiredOption('--zmk <zmkId>').option('--port <port>')
    .action(async (keyId: string, keyBlock: string, kcv: string, o: { zmk: string; port?: string }) => {
      await withClient(o.port, async (client) => printKey(await client.importKey({ keyId, zmkId: o.zmk, keyBlock, kcv: kcv.toUpperCase() })));
    });
  hsm
    .command('rotate-lmk')
    .description('re-wrap every key under a new LMK generation (the HSM keeps answering)')
    .option('--port <port>')
    .action(async (o: { port?: string }) => {
      await withClient(o.port, async (client) => {
        const r = await client.rotateLmk();
        process.stdout.write(`LMK generation ${r.lmkVersion} (KCV ${r.lmkKcv}); ${r.rewrapped} keys re-wrapped\n`);
      });
    });
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  let size_bytes = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    size_bytes += buffer.length;
    if (size_bytes > STDIN_BYTES_MAX) throw new PalmswitchError('cli_argument_invalid', `more than ${STDIN_BYTES_MAX} bytes on stdin`);
    parts.push(buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
