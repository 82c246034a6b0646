/** `palmswitch start`: the whole stack on embedded defaults (what `npm start` runs). */
import type { Command } from 'commander';
import { loadConfig } from '../../core/index.js';
import { runStack, stackServices } from '../stack.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the whole stack on embedded defaults (hsm-sim, network simulators, gateway)')
    .action(async () => {
      const config = loadConfig();
      process.exitCode = await runStack(stackServices(config), process.stdout);
    });
}
