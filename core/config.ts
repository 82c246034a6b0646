/**
 * Typed configuration from the environment, with embedded defaults that make `npm start`
 * work on a fresh machine. Every value is validated once at start; a bad value stops the
 * process with a clear message instead of surfacing later as a strange failure.
 */
import path from 'node:path';
import { z } from 'zod';
import { PalmswitchError } from './errors.js';

const port = z.coerce.number().int().min(0).max(65_535);

const ConfigSchema = z.object({
  dataDir: z.string().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  host: z.string().min(1),
  gatewayPort: port,
  hsmPort: port,
  networkSimPorts: z.object({ 'visa-like': port, 'mastercard-like': port }),
  ledger: z.object({
    /** TigerBeetle replica addresses; when set, the tigerbeetle adapter is used. */
    tigerbeetleAddresses: z.array(z.string().min(1)),
    tigerbeetleClusterId: z.bigint().nonnegative(),
  }),
});

export type Config = z.infer<typeof ConfigSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.PALMSWITCH_DATA_DIR ?? 'data');
  const candidate = {
    dataDir,
    logLevel: env.LOG_LEVEL ?? 'info',
    host: env.PALMSWITCH_HOST ?? '127.0.0.1',
    gatewayPort: env.PALMSWITCH_GATEWAY_PORT ?? 8443,
    hsmPort: env.PALMSWITCH_HSM_PORT ?? 9500,
    networkSimPorts: {
      'visa-like': env.PALMSWITCH_VISA_PORT ?? 9601,
      'mastercard-like': env.PALMSWITCH_MASTERCARD_PORT ?? 9602,
    },
    ledger: {
      tigerbeetleAddresses: (env.TB_ADDRESS ?? '').split(',').map((a) => a.trim()).filter((a) => a.length > 0),
      tigerbeetleClusterId: parseClusterId(env.TB_CLUSTER_ID ?? '0'),
    },
  };
  const parsed = ConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PalmswitchError('config_invalid', `invalid configuration: ${issues}`);
  }
  return parsed.data;
}

function parseClusterId(text: string): bigint {
  if (!/^\d{1,39}$/.test(text)) throw new PalmswitchError('config_invalid', `TB_CLUSTER_ID must be a decimal u128, got ${JSON.stringify(text)}`);
  return BigInt(text);
}
