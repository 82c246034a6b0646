/** Argument parsing shared by the command groups: a typed error names the option and the value. */
import { PalmswitchError } from '../core/index.js';

/** A TCP port (0 lets the system pick one). */
export function parsePort(text: string, option = '--port'): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PalmswitchError('cli_argument_invalid', `${option} must be 0..65535, got ${JSON.stringify(text)}`);
  return port;
}
