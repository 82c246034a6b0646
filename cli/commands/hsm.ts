/**
 * `palmswitch hsm`: run the HSM simulator in the foreground (`hsm start`, what the stack
 * runs as a child process) and look at a running one (`hsm status`: diagnostics and the
 * key inventory — ids, usages and KCVs, never key material).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger, loadConfig, PalmswitchError } from '../../core/index.js';
import { HsmClient, startHsmServer } from '../../hsm-sim/index.js';

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PalmswitchError('cli_argument_invalid', `--port must be 0..65535, got ${JSON.stringify(text)}`);
  return port;
}

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
      const stop = (): void => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  hsm
    .command('status')
    .description('diagnostics and key inventory of a running hsm-sim')
    .option('--port <port>', 'TCP port (default: config hsmPort)')
    .action(async (options: { port?: string }) => {
      const config = loadConfig();
      const client = new HsmClient({ port: options.port === undefined ? config.hsmPort : parsePort(options.port), connections: 1 });
      try {
        const d = await client.diagnostics();
        process.stdout.write(`${d.version}: LMK generation ${d.lmkVersion} (KCV ${d.lmkKcv}), ${d.keyCount} keys, ${d.terminalCount} terminal keys\n`);
        for (const k of await client.listKeys()) process.stdout.write(`${k.id.padEnd(32)} ${k.usage} ${k.algorithm} ${k.modeOfUse} ${k.exportability} KCV ${k.kcv} LMK ${k.lmkVersion}\n`);
      } finally {
        await client.close();
      }
    });
}
