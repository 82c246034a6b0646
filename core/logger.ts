/**
 * The project's logger: pino with redaction on by default. Card numbers, tokens, track
 * data, keys and images are censored by path; free-text messages have PAN-like digit runs
 * masked by a formatter, so a careless `log.info(\`pan ${pan}\`)` still leaks nothing.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';
import { maskPansInText } from './mask.js';

export type { Logger } from 'pino';

/** Keys that are never logged in clear, wherever they appear (up to two levels deep). */
export const REDACTED_KEYS = [
  'pan', 'PAN', 'token', 'tokenPan', 'token_pan', 'track2', 'cvv', 'cvc', 'pin', 'key',
  'keyMaterial', 'key_material', 'clearKey', 'component', 'image', 'visible', 'nir',
  'password', 'apiKey', 'authorization', 'cardNumber', 'card_number', 'expiry',
] as const;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of REDACTED_KEYS) paths.push(key, `*.${key}`, `*.*.${key}`);
  return paths;
}

export function createLogger(options: { name: string; level?: string; destination?: pino.DestinationStream }): Logger {
  const loggerOptions: LoggerOptions = {
    name: options.name,
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths(), censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((arg) => (typeof arg === 'string' ? maskPansInText(arg) : arg));
        method.apply(this, masked as Parameters<typeof method>);
      },
    },
  };
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}
