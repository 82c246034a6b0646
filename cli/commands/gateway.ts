/**
 * `palmswitch gateway start`: the gateway in the foreground (what the stack runs last). With
 * `--seed-demo` it creates the demo world at first start (merchants, terminals, shoppers
 * enrolled through its own API) and prints the dashboard URL and where the terminal
 * credentials are.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger, loadConfig } from '../../core/index.js';
import { writeFileSync } from 'node:fs';
import { PalmswitchError } from '../../core/index.js';
import {
  calibration_identities_default, DemoTerminals, describeCrossCheck, demoFile, importSearchTail, measureSearchTail, readCalibrationFile, seedDemo, startGateway, type DemoWorld,
} from '../../gateway/index.js';
import { stopOnSignals } from '../shutdown.js';
import { parsePort } from '../args.js';

export function registerGatewayCommand(program: Command): void {
  const gateway = program.command('gateway').description('the switch: terminal API over mTLS, payment pipeline, dashboard');
  gateway
    .command('start')
    .description('run the gateway in the foreground (hsm-sim and the network simulators must be up)')
    .option('--port <port>', 'HTTPS port (default: config gatewayPort, PALMSWITCH_GATEWAY_PORT)')
    .option('--seed-demo', 'create the demo merchants, terminals and shoppers at first start')
    .action(async (options: { port?: string; seedDemo?: boolean }) => {
      const base = loadConfig();
      const config = options.port === undefined ? base : { ...base, gatewayPort: parsePort(options.port) };
      const logger = createLogger({ name: 'gateway', level: config.logLevel });
      let world: DemoWorld | undefined;
      const running = await startGateway({ config, logger, terminalSimulator: ({ url }) => new DemoTerminals(url, world ?? { merchants: [], terminals: [], shoppers: [] }) });
      if (options.seedDemo === true) {
        const networkApiUrls = new Map(Object.entries(config.networkSimPorts).map(([name, port]) => [name, `http://${config.host}:${port + 100}`] as const));
        world = await seedDemo({ url: running.url, caPem: running.caPem, adminKey: running.adminKey, dataDir: config.dataDir, networkApiUrls, logger });
        running.setTerminalSimulator(new DemoTerminals(running.url, world));
      }
      printWelcome(running.url, running.dashboardUrl, config.dataDir, world);
      stopOnSignals('gateway', () => running.close());
    });
  registerCalibrationCommands(gateway);
}

/**
 * `gateway calibrate` measures the impostor search tail on a synthetic population and writes it
 * to a file; `gateway import-calibration` merges such a file into the (stopped) gateway's store,
 * as an operator does with a bulk template migration (gateway/calibration-import.ts).
 */
function registerCalibrationCommands(gateway: Command): void {
  gateway
    .command('calibrate')
    .description('measure the 1:N impostor search tail on synthetic palms and write it as JSON')
    .requiredOption('--out <file>', 'where to write the calibration')
    .option('--identities <n>', `synthetic identities (default ${calibration_identities_default})`)
    .action(async (options: { out: string; identities?: string }) => {
      const identities = options.identities === undefined ? calibration_identities_default : Number(options.identities);
      if (!Number.isInteger(identities) || identities < 2) throw new PalmswitchError('cli_argument_invalid', `--identities must be an integer >= 2, got ${JSON.stringify(options.identities)}`);
      const calibration = await measureSearchTail({ identities, onProgress: (message) => process.stderr.write(`${message}\n`) });
      writeFileSync(options.out, `${JSON.stringify(calibration)}\n`);
      process.stdout.write(`${calibration.searches} searches, ${calibration.tail.comparisons} impostor comparisons -> ${options.out}\n`);
      for (const check of calibration.cross_validation ?? []) process.stdout.write(`${describeCrossCheck(check)}\n`);
    });
  gateway
    .command('import-calibration <file>')
    .description('merge a measured search tail into the gateway store (gateway stopped)')
    .option('--allow-other-engine', 'import a file measured on other engine sources (its scores may be on another scale)')
    .action((file: string, options: { allowOtherEngine?: boolean }) => {
      const { before, after } = importSearchTail(loadConfig().dataDir, readCalibrationFile(file), { allowOtherEngine: options.allowOtherEngine === true });
      process.stdout.write(`search tail: ${before} -> ${after} impostor comparisons\n`);
    });
}

function printWelcome(url: string, dashboardUrl: string, dataDir: string, world: DemoWorld | undefined): void {
  const lines = [
    '',
    `palmswitch gateway listening on ${url}  (OpenAPI: ${url}/openapi.json, reference: ${url}/docs)`,
    `dashboard: ${dashboardUrl}  (log in with the admin key in ${path.join(dataDir, 'admin-key')}; the browser will warn about the development CA)`,
  ];
  if (world) {
    lines.push(`demo: ${world.merchants.length} merchants, ${world.terminals.length} terminals (${world.terminals.map((t) => t.terminalId).join(', ')}), ${world.shoppers.length} enrolled shoppers`);
    lines.push(`terminal credentials (client certificates, sensor keys): ${demoFile(dataDir)}`);
    lines.push('drive a fleet of terminals: npm run demo');
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
