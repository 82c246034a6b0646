/**
 * `palmswitch network-sim start`: a simulated card network of one dialect in the foreground
 * (what the stack runs as a child process): the ISO 8583 port from config
 * (`networkSimPorts`) unless `--port` says otherwise, and its JSON HTTP API (token service,
 * accounts, faults, settlement) on `--http-port` (default: ISO port + 100).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger, loadConfig, PalmswitchError } from '../../core/index.js';
import { startNetworkSim } from '../../network-sim/index.js';
import { stopOnSignals } from '../shutdown.js';
import { parsePort } from '../args.js';

function parseFaults(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PalmswitchError('cli_argument_invalid', '--faults must be JSON, e.g. {"drop_rate":0.01}');
  }
}

interface StartOptions {
  spec: string; port?: string; httpPort?: string; host?: string; dataDir?: string; hsmPort?: string; macKey?: string; tspKey?: string; faults?: string; seed?: string;
}

export function registerNetworkSimCommand(program: Command): void {
  const sim = program.command('network-sim').description('a simulated card network: ISO 8583 server, issuer, token service, faults, settlement files');
  sim
    .command('start')
    .description('run one simulated network in the foreground (port 0 picks a free port; the bound ports are printed)')
    .requiredOption('--spec <name>', 'dialect: visa-like, mastercard-like, iso87-ascii, iso87-binary')
    .option('--port <port>', 'ISO 8583 TCP port (default: config networkSimPorts[spec])')
    .option('--http-port <port>', 'JSON HTTP API port (default: ISO port + 100, or 0 with --port 0)')
    .option('--host <host>', 'address to listen on (default: config host, 127.0.0.1)')
    .option('--data-dir <dir>', 'settlement files go to <dir>/network-sim (default: config dataDir)')
    .option('--hsm-port <port>', 'hsm-sim port for MAC and cryptogram checks')
    .option('--mac-key <id>', 'MAC key id in hsm-sim (M3): every request must carry a valid MAC')
    .option('--tsp-key <id>', 'token cryptogram master key id in hsm-sim (E0): palm/token requests need a valid 9F26')
    .option('--faults <json>', 'faults at start, e.g. {"latency":{"kind":"uniform","min_ms":1,"max_ms":20,"mean_ms":0},"drop_rate":0.01}')
    .option('--seed <n>', 'seed of the fault draws (replays a run)')
    .action(async (options: StartOptions) => {
      const config = loadConfig();
      const configured = (config.networkSimPorts as Record<string, number>)[options.spec];
      const port = options.port !== undefined ? parsePort(options.port, '--port') : configured ?? 0;
      const httpPort = options.httpPort !== undefined ? parsePort(options.httpPort, '--http-port') : port === 0 ? 0 : port + 100;
      const logger = createLogger({ name: `network-sim-${options.spec}`, level: config.logLevel });
      const faults = parseFaults(options.faults);
      const sim = await startNetworkSim({
        spec: options.spec, port, httpPort, host: options.host ?? config.host, dataDir: path.resolve(options.dataDir ?? config.dataDir), logger,
        ...(options.hsmPort !== undefined ? { hsmPort: parsePort(options.hsmPort, '--hsm-port') } : {}),
        ...(options.macKey !== undefined ? { macKeyId: options.macKey } : {}),
        ...(options.tspKey !== undefined ? { tspKeyId: options.tspKey } : {}),
        ...(faults !== undefined ? { faults } : {}),
        ...(options.seed !== undefined ? { seed: Number(options.seed) } : {}),
      });
      process.stdout.write(`network-sim ${options.spec} listening on ${sim.host}:${sim.port} (http ${sim.host}:${sim.httpPort})\n`);
      stopOnSignals('network-sim', () => sim.close());
    });
}
