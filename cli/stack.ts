/**
 * The whole stack on one machine: each service runs as its own process (as it would in
 * production), started in dependency order — each waits until the one before accepts
 * connections — with its output prefixed by its name. Stopping the stack (SIGINT/SIGTERM)
 * stops every child; a child that dies stops the stack, since a switch with a missing part
 * must not look healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { service_environment, service_node_flags, type Config } from '../core/index.js';
import { KEY_IDS } from '../gateway/index.js';

export interface ServiceDefinition {
  readonly name: string;
  /** Arguments to the `palmswitch` command that run this service in the foreground. */
  readonly args: readonly string[];
  /** The next service starts once this port accepts connections. */
  readonly readyPort?: number;
}

/** How long one service may take to accept connections (the gateway loads models and the gallery). */
export const SERVICE_READY_TIMEOUT_MS = 180_000;
const READY_POLL_MS = 100;

const MAIN_SCRIPT = fileURLToPath(new URL('./main.ts', import.meta.url));
const STOP_GRACE_MS = 5_000;

/** The services of the default stack, in start order. Later issues append theirs. */
export function stackServices(config: Config): ServiceDefinition[] {
  return [
    // hsm-sim first: the gateway and the network simulators take their keys from it.
    { name: 'hsm-sim', args: ['hsm', 'start'], readyPort: config.hsmPort },
    // The card network simulators (ISO 8583 ports from config, HTTP API on port + 100), checking
    // MACs and token cryptograms with the keys the gateway creates in hsm-sim at its start.
    ...(['visa-like', 'mastercard-like'] as const).map((spec) => ({
      name: `network-sim-${spec.split('-')[0] ?? spec}`,
      args: ['network-sim', 'start', '--spec', spec, '--hsm-port', String(config.hsmPort), '--mac-key', KEY_IDS.mac(spec), '--tsp-key', KEY_IDS.tokenCryptogram(spec)],
      readyPort: config.networkSimPorts[spec],
    })),
    { name: 'gateway', args: ['gateway', 'start', '--seed-demo'], readyPort: config.gatewayPort },
  ];
}

export async function runStack(services: readonly ServiceDefinition[], out: NodeJS.WritableStream): Promise<number> {
  if (services.length === 0) {
    out.write('palmswitch: no services are defined yet; the codec and CLI are available (palmswitch --help)\n');
    return 0;
  }
  const children: ChildProcess[] = [];
  let failed = false;
  const abort = (): void => { failed = true; for (const child of children) child.kill('SIGTERM'); };
  process.once('SIGINT', abort);
  for (const service of services) {
    const child = startService(service, out);
    children.push(child);
    if (service.readyPort === undefined) continue;
    const ready = await waitForPort(service.readyPort, child, SERVICE_READY_TIMEOUT_MS);
    if (!ready || failed) {
      if (!failed) out.write(`[stack] ${service.name} did not come up on port ${service.readyPort}; stopping the stack\n`);
      abort();
      await Promise.all(children.map(waitForExit));
      return 1;
    }
  }
  process.removeListener('SIGINT', abort);
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
  const child = spawn(process.execPath, [...service_node_flags, '--import', 'tsx', MAIN_SCRIPT, ...service.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...service_environment },
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => out.write(`[${service.name}] ${line}\n`));
  }
  return child;
}

/** Polls until `port` on loopback accepts a connection; false if the child exits or time runs out. */
async function waitForPort(port: number, child: ChildProcess, timeout_ms: number): Promise<boolean> {
  const deadline = Date.now() + timeout_ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (await canConnect(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  return false;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
