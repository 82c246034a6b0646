/**
 * The whole stack on one machine: each service runs as its own process (as it would in
 * production), started in dependency order, with its output prefixed by its name. Stopping
 * the stack (SIGINT/SIGTERM) stops every child; a child that dies stops the stack, since a
 * switch with a missing part must not look healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Config } from '../core/index.js';

export interface ServiceDefinition {
  readonly name: string;
  /** Arguments to the `palmswitch` command that run this service in the foreground. */
  readonly args: readonly string[];
}

const MAIN_SCRIPT = fileURLToPath(new URL('./main.ts', import.meta.url));
const STOP_GRACE_MS = 5_000;

/** The services of the default stack, in start order. Later issues append theirs. */
export function stackServices(_config: Config): ServiceDefinition[] {
  return [
    // hsm-sim first: the gateway and the network simulators take their keys from it.
    { name: 'hsm-sim', args: ['hsm', 'start'] },
    // The card network simulators (ISO 8583 ports from config, HTTP API on port + 100).
    { name: 'network-sim-visa', args: ['network-sim', 'start', '--spec', 'visa-like'] },
    { name: 'network-sim-mastercard', args: ['network-sim', 'start', '--spec', 'mastercard-like'] },
  ];
}

export async function runStack(services: readonly ServiceDefinition[], out: NodeJS.WritableStream): Promise<number> {
  if (services.length === 0) {
    out.write('palmswitch: no services are defined yet; the codec and CLI are available (palmswitch --help)\n');
    return 0;
  }
  const children = services.map((service) => startService(service, out));
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stopAll = (exitCode: number): void => {
      if (stopping) return;
      stopping = true;
      for (const child of children) child.kill('SIGTERM');
      const force = setTimeout(() => { for (const child of children) child.kill('SIGKILL'); }, STOP_GRACE_MS);
      force.unref();
      void Promise.all(children.map(waitForExit)).then(() => resolve(exitCode));
    };
    process.once('SIGINT', () => stopAll(0));
    process.once('SIGTERM', () => stopAll(0));
    for (const [index, child] of children.entries()) {
      child.once('exit', (code) => {
        if (stopping) return;
        out.write(`[stack] ${services[index]?.name ?? '?'} exited with ${code ?? 'signal'}; stopping the stack\n`);
        stopAll(1);
      });
    }
  });
}

function startService(service: ServiceDefinition, out: NodeJS.WritableStream): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN_SCRIPT, ...service.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => out.write(`[${service.name}] ${line}\n`));
  }
  return child;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
