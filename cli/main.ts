/** Entry point of the `palmswitch` command (see program.ts for the commands). */
import { PalmswitchError } from '../core/index.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof PalmswitchError) {
    process.stderr.write(`palmswitch: ${error.code}: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
