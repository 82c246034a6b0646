/** Runs the shared ledger contract against the embedded adapter, on a real file in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { describeLedgerContract } from './contract.case.js';
import { EmbeddedLedger } from './embedded.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeLedgerContract('embedded', () => Promise.resolve(new EmbeddedLedger({ file: path.join(dir, 'ledger.sqlite') })));
