/**
 * `palmswitch bio synth | eval | compare`: write a synthetic palm dataset, evaluate any dataset
 * in the documented layout (ISO/IEC 19795-1 figures, PAD figures, JSON and a DET plot), and
 * print the match score of two captures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { PalmswitchError } from '../../core/index.js';
import {
  compare, detSvg, evaluate, extractCapture, extractSamplesInParallel, extract_workers_max, FeatureModels, IDENTITY, makeProbe, makeTemplate, openDataset,
  writeSyntheticDataset, type Capture, type CaptureKind, type EvalReport,
} from '../../biometric/index.js';

const synth_identities_max = 100_000;
const synth_captures_max = 64;
const capture_file_bytes_max = 8 * 1024 * 1024;

function positiveInt(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new PalmswitchError('argument_invalid', `--${name} must be an integer 0..${max}`);
  return n;
}

function kindOf(value: string): CaptureKind {
  if (value !== 'hand' && value !== 'roi') throw new PalmswitchError('argument_invalid', '--kind must be hand or roi');
  return value;
}

interface SynthFlags { out: string; ids: string; captures: string; seed: string; kind: string; attacks: string }

function runSynth(flags: SynthFlags): void {
  const options = {
    ids: positiveInt('ids', flags.ids, synth_identities_max), captures: positiveInt('captures', flags.captures, synth_captures_max),
    seed: positiveInt('seed', flags.seed, 2 ** 32 - 1), kind: kindOf(flags.kind), attacksPerType: positiveInt('attacks', flags.attacks, synth_identities_max),
  };
  const manifest = writeSyntheticDataset(flags.out, options);
  process.stdout.write(`wrote ${manifest.identities?.length ?? 0} identities x ${options.captures} captures (+ ${manifest.attacks?.length ?? 0} attack samples) to ${flags.out}\n`);
}

const pct = (x: number): string => `${(x * 100).toFixed(3)}%`;

export function summarise(report: EvalReport): string {
  const v = report.verification;
  const i = report.identification;
  const lines = [
    `dataset: ${report.dataset.kind}, ${report.dataset.identities} identities, ${report.dataset.captures} captures`,
    `FTA ${pct(report.acquisition.fta)} (${report.acquisition.failures}/${report.acquisition.attempts}) ${JSON.stringify(report.acquisition.reasons)}`,
    `verification: ${v.genuinePairs} genuine, ${v.impostorPairs} impostor pairs; EER ${pct(v.eer)}; FNMR@FMR=1e-3 ${pct(v.fnmrAtFmr1e3)}; FNMR@FMR=1e-4 ${pct(v.fnmrAtFmr1e4)}`,
    `identification: ${i.enrolled} enrolled (FTE ${pct(i.fte)}), ${i.matedSearches} mated / ${i.nonMatedSearches} non-mated searches; rank-1 ${pct(i.rank1)}; FNIR@FPIR=1e-3 ${pct(i.fnirAtFpir1e3)}; pre-selection error ${pct(i.preselectionError)}`,
    `PAD: BPCER ${pct(report.pad.bpcer)} on ${report.pad.bonaFideTest} bona fide; ${Object.entries(report.pad.apcer).map(([t, a]) => `APCER ${t} ${pct(a.apcer)} (${a.attacks})`).join(', ')}`,
    `capture to features: ${report.timings.extract_ms_mean.toFixed(2)} ms mean`,
  ];
  return lines.join('\n') + '\n';
}

interface EvalFlags { dataset: string; impostorPairs: string; enrol?: string; out?: string; det?: string; workers?: string }

async function runEval(flags: EvalFlags): Promise<void> {
  const source = openDataset(flags.dataset);
  const onProgress = (message: string): void => { process.stderr.write(`${message}\n`); };
  const workers = flags.workers ? positiveInt('workers', flags.workers, extract_workers_max) : Math.min(availableParallelism(), extract_workers_max);
  // Extraction is nearly all of an evaluation's time, so it runs on one thread per core.
  const extracted = await extractSamplesInParallel({ type: 'directory', dir: flags.dataset }, source.identities.length, { workers, onProgress });
  const models = await FeatureModels.load();
  const report = await evaluate(models, source, {
    extracted,
    impostorPairsMax: positiveInt('impostor-pairs', flags.impostorPairs, 100_000_000),
    ...(flags.enrol ? { enrolIdentities: positiveInt('enrol', flags.enrol, synth_identities_max) } : {}),
    onProgress,
  });
  await models.release();
  const jsonFile = flags.out ?? path.join(flags.dataset, 'eval.json');
  const svgFile = flags.det ?? path.join(flags.dataset, 'det.svg');
  writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(svgFile, detSvg([{ label: 'palm + vein (fused)', points: report.curve }], `DET — ${path.basename(flags.dataset)}`));
  process.stdout.write(summarise(report) + `wrote ${jsonFile} and ${svgFile}\n`);
}

function readCapture(file: string, kind: CaptureKind): Capture {
  const read = (f: string): Uint8Array => {
    const bytes = readFileSync(f);
    if (bytes.length > capture_file_bytes_max) throw new PalmswitchError('argument_invalid', `${f} is larger than ${capture_file_bytes_max} bytes`);
    return new Uint8Array(bytes);
  };
  const nir = file.replace(/\.png$/i, '.nir.png');
  return nir !== file && existsSync(nir) ? { kind, visible: read(file), nir: read(nir) } : { kind, visible: read(file) };
}

async function runCompare(a: string, b: string, flags: { kind: string }): Promise<void> {
  const kind = kindOf(flags.kind);
  const models = await FeatureModels.load();
  try {
    const first = await extractCapture(models, readCapture(a, kind));
    const second = await extractCapture(models, readCapture(b, kind));
    const result = compare(makeProbe(first, IDENTITY), makeTemplate(second, IDENTITY));
    const vein = result.veinDistance === undefined ? 'n/a' : result.veinDistance.toFixed(4);
    process.stdout.write(`score ${result.score.toFixed(3)} (palm distance ${result.palmDistance.toFixed(4)}, vein distance ${vein}; higher score = more similar)\n`);
  } finally {
    await models.release();
  }
}

export function registerBioCommands(program: Command): void {
  const bio = program.command('bio').description('biometric engine: synthetic palms, evaluation, comparison');
  bio.command('synth').description('write a synthetic palm dataset (the only command that writes palm images)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--ids <n>', 'identities', '100').option('--captures <n>', 'captures per identity', '6')
    .option('--seed <s>', 'seed', '1').option('--kind <kind>', 'hand or roi', 'hand')
    .option('--attacks <n>', 'attack samples per attack type', '50')
    .action((flags: SynthFlags) => runSynth(flags));
  bio.command('eval').description('ISO/IEC 19795-1 and 30107-3 figures for a dataset; writes JSON and a DET plot (SVG)')
    .requiredOption('--dataset <dir>', 'dataset directory (dataset.json + <identity>/<n>.png)')
    .option('--impostor-pairs <n>', 'impostor comparisons to sample', '1000000')
    .option('--enrol <n>', 'identities to enrol for 1:N (default half)')
    .option('--workers <n>', 'extraction threads (default one per core)')
    .option('--out <file>', 'JSON report (default DIR/eval.json)').option('--det <file>', 'DET plot (default DIR/det.svg)')
    .action(async (flags: EvalFlags) => { await runEval(flags); });
  bio.command('compare').description('match score of two captures (NIR read from <name>.nir.png when present)')
    .argument('<a>', 'first capture PNG').argument('<b>', 'second capture PNG')
    .option('--kind <kind>', 'hand or roi', 'hand')
    .action(async (a: string, b: string, flags: { kind: string }) => { await runCompare(a, b, flags); });
}
