/**
 * `npm run bench -- NAME`: runs bench/NAME.bench.ts, prints its table, writes
 * bench/results/NAME.json and refreshes bench/RESULTS.md.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeMachine, printTable, writeResult, type BenchBody, type BenchResult } from './harness.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace('.bench.ts', ''));
const name = process.argv[2];

if (!name || !/^[a-z0-9-]+$/.test(name) || !existsSync(path.join(benchDir, `${name}.bench.ts`))) {
  process.stderr.write(`usage: npm run bench -- NAME   (one of: ${available.join(', ') || 'none'})\n`);
  process.exit(2);
}

/** The benches' own knobs set for this run, so that the recorded command reproduces it. */
const knobs = Object.entries(process.env)
  .filter(([key, value]) => /^(BIO_BENCH|E2E)_[A-Z0-9_]+$/.test(key) && value !== undefined)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([key, value]) => `${key}=${value} `)
  .join('');

const module = (await import(pathToFileURL(path.join(benchDir, `${name}.bench.ts`)).href)) as { run: BenchBody };
const body = await module.run();
const result: BenchResult = {
  name,
  machine: describeMachine(),
  command: `${knobs}npm run bench -- ${name}`,
  date: new Date().toISOString(),
  figures: body.figures,
  ...(body.notes ? { notes: body.notes } : {}),
};
printTable(result);
const file = writeResult(result);
process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/RESULTS.md\n`);
