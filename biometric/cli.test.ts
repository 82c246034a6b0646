/**
 * Goal: `palmswitch bio synth | eval | compare`, run as real processes, write a dataset in the
 * documented layout, evaluate it into a JSON report and a DET plot, and score two captures —
 * a genuine pair well above an impostor pair.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPalmswitch, type CliResult } from '../test/support/cli-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-bio-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const palmswitch = (args: string[]): Promise<CliResult> => runPalmswitch(args, { timeout_ms: 180_000 });

describe('palmswitch bio', () => {
  it('synthesises, evaluates and compares', async () => {
    const data = path.join(dir, 'ds');
    const synth = await palmswitch(['bio', 'synth', '--out', data, '--ids', '8', '--captures', '3', '--seed', '31', '--attacks', '3']);
    expect(synth.status).toBe(0);
    expect(existsSync(path.join(data, 'dataset.json'))).toBe(true);
    expect(existsSync(path.join(data, 'id000000', '2.nir.png'))).toBe(true);

    const evaluation = await palmswitch(['bio', 'eval', '--dataset', data, '--impostor-pairs', '2000']);
    expect(evaluation.status).toBe(0);
    expect(evaluation.stdout).toMatch(/EER \d+\.\d+%/);
    const report = JSON.parse(readFileSync(path.join(data, 'eval.json'), 'utf8')) as { dataset: { captures: number }; verification: { genuinePairs: number }; pad: { apcer: Record<string, unknown> } };
    expect(report.dataset.captures).toBe(24);
    expect(report.verification.genuinePairs).toBeGreaterThan(0);
    expect(Object.keys(report.pad.apcer).sort()).toEqual(['print', 'replay', 'screen']);
    expect(readFileSync(path.join(data, 'det.svg'), 'utf8')).toContain('<polyline');

    const score = async (a: string, b: string): Promise<number> => {
      const out = await palmswitch(['bio', 'compare', path.join(data, a), path.join(data, b)]);
      expect(out.status).toBe(0);
      return Number(/score (-?[\d.]+)/.exec(out.stdout)?.[1]);
    };
    expect(await score('id000001/0.png', 'id000001/1.png')).toBeGreaterThan(await score('id000001/0.png', 'id000002/1.png') + 3);

    const bad = await palmswitch(['bio', 'compare', path.join(data, 'dataset.json'), path.join(data, 'id000001/1.png')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('image_invalid');
  }, 240_000);
});
