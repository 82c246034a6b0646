/**
 * The ledger thread (see ledger-thread.ts): opens the embedded ledger on the file it is given
 * and answers each posted call with the embedded ledger's own result or error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedLedger, type Ledger } from '../ledger/index.js';
import type { LedgerCall, LedgerFault, LedgerReply } from './ledger-thread.js';

if (parentPort === null) throw new Error('ledger-worker runs as a worker thread');
const port = parentPort;
const { file } = workerData as { file: string };

function faultOf(error: unknown): LedgerFault {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.constructor.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

let ledger: Ledger;
try {
  // As openLedger opens a service's writer: WAL checkpoints off this thread too.
  ledger = new EmbeddedLedger({ file, checkpoints: 'worker' });
  port.postMessage({ ready: true } satisfies LedgerReply);
} catch (error) {
  port.postMessage({ openFault: faultOf(error) } satisfies LedgerReply);
  throw error;
}

async function answer(call: LedgerCall): Promise<unknown> {
  const argument = call.argument as never;
  switch (call.method) {
    case 'createAccounts': return await ledger.createAccounts(argument);
    case 'createTransfers': return await ledger.createTransfers(argument);
    case 'lookupAccounts': return await ledger.lookupAccounts(argument);
    case 'lookupTransfers': return await ledger.lookupTransfers(argument);
    case 'getAccountTransfers': return await ledger.getAccountTransfers(argument);
    case 'getAccountBalances': return await ledger.getAccountBalances(argument);
    case 'queryAccounts': return await ledger.queryAccounts(argument);
    case 'queryTransfers': return await ledger.queryTransfers(argument);
    case 'close': await ledger.close(); return undefined;
  }
}

port.on('message', (call: LedgerCall) => {
  answer(call).then(
    (value) => { port.postMessage({ id: call.id, value } satisfies LedgerReply); },
    (error: unknown) => { port.postMessage({ id: call.id, fault: faultOf(error) } satisfies LedgerReply); },
  );
});
