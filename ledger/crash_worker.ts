/**
 * Child process of the crash-safety test: opens the embedded ledger file given on the command
 * line and runs the seeded plan, printing "progress N" after each step, until the parent kills
 * it with SIGKILL or it prints "done". FOLD (optional) folds the per-account index that often,
 * so that kills land around folds too.
 */
import { runCrashPlan } from './crash_plan.js';
import { EmbeddedLedger } from './embedded.js';

const [file, seedText, paymentsText, foldText] = process.argv.slice(2);
if (file === undefined || seedText === undefined || paymentsText === undefined) {
  process.stderr.write('usage: crash_worker.ts FILE SEED PAYMENTS [FOLD]\n');
  process.exit(2);
}
const ledger = new EmbeddedLedger({ file, ...(foldText === undefined ? {} : { account_index_fold_transfers: Number(foldText) }) });
process.stdout.write('ready\n');
await runCrashPlan(ledger, Number(seedText), Number(paymentsText), (steps) => { process.stdout.write(`progress ${steps}\n`); });
await ledger.close();
process.stdout.write('done\n');
