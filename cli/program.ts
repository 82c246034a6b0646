/**
 * The `palmswitch` command line. Each command group lives in `commands/` and is registered
 * here; groups talk only to the modules' public faces.
 */
import { Command } from 'commander';
import { registerIso8583Commands } from './commands/iso8583.js';
import { registerStartCommand } from './commands/start.js';
import { registerHsmCommand } from './commands/hsm.js';
import { registerLedgerCommands } from './commands/ledger.js';
import { registerBioCommands } from './commands/bio.js';
import { registerNetworkSimCommand } from './commands/network-sim.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerDemoCommand } from './commands/demo.js';

export function buildProgram(): Command {
  const program = new Command('palmswitch')
    .description('palmswitch: a payment switch for palm payments')
    .version('0.1.0')
    .showHelpAfterError();
  registerStartCommand(program);
  registerIso8583Commands(program);
  registerHsmCommand(program);
  registerLedgerCommands(program);
  registerBioCommands(program);
  registerNetworkSimCommand(program);
  registerGatewayCommand(program);
  registerDemoCommand(program);
  return program;
}
