/**
 * Runs the `palmswitch` CLI (or any node script) as a real child process, asynchronously. A synchronous spawn blocks
 * the test worker's thread for the whole run, and a run longer than vitest's 60 s RPC window
 * (a loaded machine, a dataset evaluation) made vitest report "Timeout calling onTaskUpdate"
 * and exit 1 although every test had passed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
/** Output kept per stream; the CLI tests print far less. */
const output_bytes_max = 16 * 1024 * 1024;

export interface CliResult { stdout: string; stderr: string; status: number | null }

export function runPalmswitch(args: readonly string[], options: { input?: string; timeout_ms: number }): Promise<CliResult> {
  return runNode(['--import', 'tsx', MAIN, ...args], options);
}

/**
 * Runs `node` with `args` as a child process: stdin gets `input` (then ends), stdout and stderr
 * are kept up to output_bytes_max in all, and the child is killed after `timeout_ms`.
 */
export function runNode(args: readonly string[], options: { input?: string; timeout_ms: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    const keep = (into: Buffer[]) => (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > output_bytes_max) { child.kill('SIGKILL'); return; }
      into.push(chunk);
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout_ms);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status });
    });
    child.stdin.end(options.input ?? '');
  });
}
