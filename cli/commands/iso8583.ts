/**
 * `palmswitch iso8583 decode|encode|describe --spec NAME`: the codec for people. Decode reads
 * hex frames (one per line, or `--hex`), encode reads JSON Lines; both write one result per
 * input line, so a trace can be piped through. Card data is masked unless `--unmask`.
 * A bad line is reported with its line number, code, field path and byte offset; with
 * `--keep-going` the rest is still processed (the exit code is then 1 if any line failed).
 */
import type { Command } from 'commander';
import { compileSpec, describeSpec, formatMessage, Iso8583Error, maskMessage, type Message, type MessageCodec, type MessageSpec } from '../../iso8583/index.js';
import { dialect, DIALECT_NAMES } from '../../specs/index.js';
import { readLines } from '../lines.js';

/** The longest input line accepted: a maximal message is 131,070 hex characters. */
const LINE_LENGTH_MAX = 1_048_576;

interface RunOptions {
  spec: string;
  hex?: string;
  unmask?: boolean;
  pretty?: boolean;
  keepGoing?: boolean;
}

type LineTransform = (line: string, codec: MessageCodec) => string;

export function registerIso8583Commands(program: Command): void {
  const iso = program.command('iso8583').description('decode, encode and describe ISO 8583 messages');
  const specHelp = `dialect spec: ${DIALECT_NAMES.join(', ')}`;
  iso.command('decode')
    .description('hex frames (stdin, one per line, or --hex) to JSON Lines { mti, fields }')
    .requiredOption('--spec <name>', specHelp)
    .option('--hex <hex>', 'decode this one message instead of reading stdin')
    .option('--unmask', 'show PAN, track and secret data in clear')
    .option('--pretty', 'print each message field by field with names instead of JSON')
    .option('--keep-going', 'report bad lines and go on with the rest')
    .action(async (options: RunOptions) => {
      process.exitCode = await run(options, (line, codec) => decodeLine(line, codec, options));
    });
  iso.command('encode')
    .description('JSON Lines { mti, fields } (stdin) to hex, one message per line')
    .requiredOption('--spec <name>', specHelp)
    .option('--keep-going', 'report bad lines and go on with the rest')
    .action(async (options: RunOptions) => {
      process.exitCode = await run(options, encodeLine);
    });
  iso.command('describe')
    .description('list the fields and message types of a spec')
    .requiredOption('--spec <name>', specHelp)
    .action((options: RunOptions) => {
      process.stdout.write(describeSpec(dialect(options.spec).spec) + '\n');
    });
}

async function run(options: RunOptions, transform: LineTransform): Promise<number> {
  const codec = compileSpec(dialect(options.spec).spec);
  const input = options.hex !== undefined ? [options.hex + '\n'] : process.stdin;
  let failures = 0;
  for await (const line of readLines(input, LINE_LENGTH_MAX)) {
    if (!line.tooLong && line.text.trim() === '') continue;
    try {
      if (line.tooLong) throw new Iso8583Error('input_invalid', `line longer than ${LINE_LENGTH_MAX} characters`, '', 0);
      process.stdout.write(transform(line.text, codec) + '\n');
    } catch (error) {
      if (!(error instanceof Iso8583Error)) throw error;
      failures += 1;
      process.stderr.write(`line ${line.number}: ${error.code}: ${error.message}\n`);
      if (!options.keepGoing) return 1;
    }
  }
  return failures > 0 ? 1 : 0;
}

/** Accepts hex with spaces, colons or a 0x prefix, as hex dumps come. */
function parseHex(line: string): Buffer {
  const compact = line.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  const bad = compact.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new Iso8583Error('input_invalid', `not hex: ${JSON.stringify(compact[bad])} at character ${bad + 1}`, '', 0);
  if (compact.length % 2 !== 0) throw new Iso8583Error('input_invalid', `odd number of hex digits (${compact.length})`, '', compact.length >> 1);
  return Buffer.from(compact, 'hex');
}

function decodeLine(line: string, codec: MessageCodec, options: RunOptions): string {
  const message = codec.decode(parseHex(line));
  if (options.pretty) return formatMessage(message, codec.spec, { unmask: options.unmask === true }) + '\n';
  return JSON.stringify(options.unmask ? message : maskMessage(message, codec.spec));
}

function encodeLine(line: string, codec: MessageCodec): string {
  return codec.encode(parseMessageJson(line, codec.spec)).toString('hex').toUpperCase();
}

function parseMessageJson(line: string, spec: MessageSpec): Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new Iso8583Error('input_invalid', `not JSON: ${error instanceof Error ? error.message : String(error)}`, '', 0);
  }
  const candidate = parsed as Partial<Message> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.mti !== 'string' || typeof candidate.fields !== 'object' || candidate.fields === null) {
    throw new Iso8583Error('input_invalid', `expected { "mti": "0100", "fields": { ... } } for spec ${spec.name}`, '', 0);
  }
  return { mti: candidate.mti, fields: candidate.fields };
}
