/**
 * Goal: the `palmswitch iso8583` commands, run as a real process, round-trip a message of
 * every dialect through JSON Lines and hex, mask card data by default, and report bad lines
 * with their number, code and place — stopping, or going on with `--keep-going`.
 */
import { describe, expect, it } from 'vitest';
import { DIALECT_NAMES, sampleAuthorization, sampleReversal, sampleSignOn } from '../specs/index.js';
import { runPalmswitch, type CliResult } from '../test/support/cli-process.js';

const palmswitch = (args: string[], input = ''): Promise<CliResult> => runPalmswitch(args, { input, timeout_ms: 30_000 });

describe('palmswitch iso8583', () => {
  it.each(DIALECT_NAMES)('round-trips several messages of %s through encode and decode --unmask', async (spec) => {
    const messages = [sampleAuthorization(), sampleReversal(), sampleSignOn()];
    const encoded = await palmswitch(['iso8583', 'encode', '--spec', spec], messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
    expect(encoded.stderr).toBe('');
    expect(encoded.status).toBe(0);
    const hexLines = encoded.stdout.trim().split('\n');
    expect(hexLines).toHaveLength(3);
    expect(hexLines.every((line) => /^[0-9A-F]+$/.test(line))).toBe(true);
    const decoded = await palmswitch(['iso8583', 'decode', '--spec', spec, '--unmask'], encoded.stdout);
    expect(decoded.status).toBe(0);
    expect(decoded.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(JSON.parse(JSON.stringify(messages)));
  });

  it('masks the PAN unless told not to, and takes --hex', async () => {
    const hex = (await palmswitch(['iso8583', 'encode', '--spec', 'iso87-ascii'], JSON.stringify(sampleAuthorization()) + '\n')).stdout.trim();
    const masked = await palmswitch(['iso8583', 'decode', '--spec', 'iso87-ascii', '--hex', hex]);
    expect(masked.stdout).toContain('489537******5678');
    expect(masked.stdout).not.toContain('4895370012345678');
    expect(masked.stdout).toContain('"14":"****"');
    const pretty = await palmswitch(['iso8583', 'decode', '--spec', 'iso87-ascii', '--pretty', '--hex', hex]);
    expect(pretty.stdout).toMatch(/DE 002 +Primary account number \(token PAN\) +489537\*{6}5678/);
    expect(pretty.stdout).toMatch(/tag 9F26 +Application cryptogram/);
  });

  it('reports a bad line with its number, code, field and byte, and stops without --keep-going', async () => {
    const good = (await palmswitch(['iso8583', 'encode', '--spec', 'iso87-binary'], JSON.stringify(sampleSignOn()) + '\n')).stdout.trim();
    const input = [good, good.slice(0, 44), 'not hex', good].join('\n') + '\n';
    const stopped = await palmswitch(['iso8583', 'decode', '--spec', 'iso87-binary'], input);
    expect(stopped.status).toBe(1);
    expect(stopped.stdout.trim().split('\n')).toHaveLength(1);
    expect(stopped.stderr).toMatch(/^line 2: frame_truncated: field 7: field content needs 5 bytes, 4 left \(at byte 18\)/);
    const kept = await palmswitch(['iso8583', 'decode', '--spec', 'iso87-binary', '--keep-going'], input);
    expect(kept.status).toBe(1);
    expect(kept.stdout.trim().split('\n')).toHaveLength(2);
    expect(kept.stderr).toContain('line 3: input_invalid: not hex');
  });

  it('says what is wrong with bad JSON and unknown specs', async () => {
    const badJson = await palmswitch(['iso8583', 'encode', '--spec', 'visa-like'], '{"mti":"0100","fields":{"2":"48953700123456789012"}}\n');
    expect(badJson.status).toBe(1);
    expect(badJson.stderr).toMatch(/line 1: length_exceeds_max: field 2: length 20 exceeds the maximum 19/);
    const unknown = await palmswitch(['iso8583', 'describe', '--spec', 'amex-like']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('spec_unknown');
  });

  it('describes a spec field by field', async () => {
    const described = await palmswitch(['iso8583', 'describe', '--spec', 'mastercard-like']);
    expect(described.stdout).toContain('DE 048  Additional data, private');
    expect(described.stdout).toContain('tlv subfields');
    expect(described.stdout).toContain('0100  Authorization request');
  });
});
