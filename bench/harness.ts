/**
 * Benchmark plumbing shared by every `npm run bench -- NAME`: the result shape, a machine
 * description, a timing loop, the printed table, `bench/results/NAME.json`, and
 * `bench/RESULTS.md` regenerated from all result files so it always shows the latest run.
 */
import os from 'node:os';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  peer?: { name: string; value: number };
  ratio?: number;
  /** The bar this figure must meet, stated for the reader; `met` says whether it did. */
  bar?: string;
  met?: boolean;
}

export interface BenchResult {
  name: string;
  machine: string;
  command: string;
  date: string;
  figures: Figure[];
  notes?: string[];
}

export type BenchBody = () => Promise<{ figures: Figure[]; notes?: string[] }>;

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown cpu';
  const memoryGiB = Math.round(os.totalmem() / 2 ** 30);
  return `${model}, ${cpus.length} cores, ${memoryGiB} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
}

/**
 * Runs `operation` repeatedly for at least `duration_ms` (after a warm-up) and returns
 * operations per second. The loop is bounded by both time and `iterations_max`.
 *
 * `clock: 'cpu'` divides by the process's CPU time instead of wall time: for a
 * single-threaded loop that is its rate on one core, and it stays meaningful when other
 * processes share the machine (wall time then counts the time the loop was not scheduled).
 * GC helper threads add to CPU time, so the CPU figure errs on the slow side. With `runs`,
 * the best run is returned.
 */
export function measureRate(operation: () => void, options: { duration_ms: number; warmup_ms?: number; iterations_max?: number; clock?: 'wall' | 'cpu'; runs?: number }): number {
  const iterationsMax = options.iterations_max ?? 50_000_000;
  runFor(operation, options.warmup_ms ?? 300, iterationsMax);
  let best = 0;
  for (let run = 0; run < (options.runs ?? 1); run += 1) {
    const cpuStart = process.cpuUsage();
    const { count, elapsed_ms } = runFor(operation, options.duration_ms, iterationsMax);
    const cpu = process.cpuUsage(cpuStart);
    const elapsed = options.clock === 'cpu' ? (cpu.user + cpu.system) / 1000 : elapsed_ms;
    best = Math.max(best, (count / elapsed) * 1000);
  }
  return best;
}

function runFor(operation: () => void, duration_ms: number, iterationsMax: number): { count: number; elapsed_ms: number } {
  const start = performance.now();
  let count = 0;
  const batch = 64;
  while (count < iterationsMax) {
    for (let i = 0; i < batch; i += 1) operation();
    count += batch;
    if (performance.now() - start >= duration_ms) break;
  }
  return { count, elapsed_ms: performance.now() - start };
}

export function printTable(result: BenchResult, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`\n${result.name} — ${result.machine}\n`);
  const rows = result.figures.map((f) => [
    f.name,
    `${formatNumber(f.value)} ${f.unit}`,
    f.peer ? `${f.peer.name}: ${formatNumber(f.peer.value)}` : '',
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '',
    f.bar ? `${f.bar} ${f.met ? 'MET' : 'NOT MET'}` : '',
  ]);
  const header = ['figure', 'value', 'peer', 'ratio', 'bar'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ') + '\n';
  out.write(line(header));
  out.write(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) out.write(line(row));
  for (const note of result.notes ?? []) out.write(`note: ${note}\n`);
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(4);
}

export function writeResult(result: BenchResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${result.name}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  writeResultsMarkdown();
  return file;
}

function writeResultsMarkdown(): void {
  const files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort();
  const sections = files.map((file) => {
    const result = JSON.parse(readFileSync(path.join(RESULTS_DIR, file), 'utf8')) as BenchResult;
    const rows = result.figures.map((f) =>
      `| ${f.name} | ${formatNumber(f.value)} ${f.unit} | ${f.peer ? `${f.peer.name}: ${formatNumber(f.peer.value)}` : ''} | ${f.ratio !== undefined ? f.ratio.toFixed(2) + 'x' : ''} | ${f.bar ? `${f.bar} — ${f.met ? 'met' : '**not met**'}` : ''} |`);
    return [
      `## ${result.name}`, '',
      `- machine: ${result.machine}`, `- command: \`${result.command}\``, `- date: ${result.date}`, '',
      '| figure | value | peer | ratio | bar |', '|---|---|---|---|---|', ...rows,
      ...(result.notes?.length ? ['', ...result.notes.map((n) => `- ${n}`)] : []), '',
    ].join('\n');
  });
  const header = '# Benchmark results\n\nGenerated by `npm run bench -- NAME` from `bench/results/*.json`; each section is the latest run of that benchmark.\n\n';
  writeFileSync(path.join(BENCH_DIR, 'RESULTS.md'), header + sections.join('\n'));
}
