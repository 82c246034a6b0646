/**
 * `palmswitch gateway start`: the gateway in the foreground (what the stack runs last). With
 * `--seed-demo` it creates the demo world at first start (merchants, terminals, shoppers
 * enrolled through its own API) and prints the dashboard URL and where the terminal
 * credentials are.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger, loadConfig } from '../../core/index.js';
import { DemoTerminals, demoFile, seedDemo, startGateway, type DemoWorld } from '../../gateway/index.js';
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
      const stop = (): void => { void running.close().then(() => process.exit(0)); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
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
