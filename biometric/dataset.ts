/**
 * Dataset layout shared by `bio synth` and `bio eval`: `DIR/dataset.json` (kind, optional
 * identity list, optional attack list), `DIR/<identity>/<n>.png` with optional `<n>.nir.png`.
 * Any dataset in this layout can be evaluated, including real palm images.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BiometricError } from './errors.js';
import { encodePng } from './png.js';
import { mix, seeded } from './random.js';
import { renderAttack, renderHandCapture, renderRoiCapture, replayOf, type AttackType, type SynthCapture } from './synth-render.js';
import type { Capture, CaptureKind } from './capture.js';

export const dataset_identities_max = 100_000;
export const dataset_captures_per_identity_max = 64;
export const dataset_json_bytes_max = 64 * 1024 * 1024;

const DatasetSchema = z.object({
  kind: z.enum(['hand', 'roi']),
  identities: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/)).max(dataset_identities_max).optional(),
  attacks: z.array(z.object({ type: z.enum(['print', 'screen', 'replay']), visible: z.string(), nir: z.string().optional(), identity: z.string() })).optional(),
  generator: z.record(z.string(), z.unknown()).optional(),
});
export type DatasetManifest = z.infer<typeof DatasetSchema>;

export interface DatasetSource {
  kind: CaptureKind;
  identities: readonly string[];
  captures(identity: string): Capture[];
  attacks(): { type: AttackType; identity: string; capture: Capture }[];
}

const captureFile = /^(\d+)\.png$/;

export function openDataset(dir: string): DatasetSource {
  const manifestFile = path.join(dir, 'dataset.json');
  if (!existsSync(manifestFile) || statSync(manifestFile).size > dataset_json_bytes_max) throw new BiometricError('image_invalid', `${manifestFile} missing or too large`);
  const parsed = DatasetSchema.safeParse(JSON.parse(readFileSync(manifestFile, 'utf8')));
  if (!parsed.success) throw new BiometricError('image_invalid', `dataset.json: ${parsed.error.message}`);
  const manifest = parsed.data;
  const identities = manifest.identities ?? readdirSync(dir).filter((name) => name !== 'attacks' && statSync(path.join(dir, name)).isDirectory()).sort().slice(0, dataset_identities_max);
  const read = (file: string): Uint8Array => new Uint8Array(readFileSync(path.join(dir, file)));
  return {
    kind: manifest.kind,
    identities,
    captures(identity) {
      const files = readdirSync(path.join(dir, identity)).filter((f) => captureFile.test(f)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10)).slice(0, dataset_captures_per_identity_max);
      return files.map((file) => {
        const nirFile = path.join(identity, file.replace('.png', '.nir.png'));
        const visible = read(path.join(identity, file));
        return existsSync(path.join(dir, nirFile)) ? { kind: manifest.kind, visible, nir: read(nirFile) } : { kind: manifest.kind, visible };
      });
    },
    attacks() {
      return (manifest.attacks ?? []).map((a) => ({
        type: a.type, identity: a.identity,
        capture: a.nir ? { kind: manifest.kind, visible: read(a.visible), nir: read(a.nir) } : { kind: manifest.kind, visible: read(a.visible) },
      }));
    },
  };
}

export interface SynthOptions {
  ids: number; captures: number; seed: number; kind: CaptureKind; attacksPerType: number; firstIdentity?: number;
  /**
   * Captures per identity when not all need `captures` (large 1:N runs): the identity at
   * `position` (0-based) gets the `captures` of the first step with `position < below`. Plain
   * data, so a worker thread can rebuild the same source.
   */
  capturesPlan?: readonly CapturesStep[];
}

export interface CapturesStep { below: number; captures: number }

/** A dataset named so that another thread can open the same source: a directory or a synthetic set. */
export type DatasetSpec = { type: 'directory'; dir: string } | { type: 'synthetic'; options: SynthOptions };

export function openSource(spec: DatasetSpec): DatasetSource {
  return spec.type === 'directory' ? openDataset(spec.dir) : syntheticSource(spec.options);
}

function plannedCaptures(options: SynthOptions, position: number): number {
  if (!options.capturesPlan) return options.captures;
  return options.capturesPlan.find((step) => position < step.below)?.captures ?? 0;
}

const identityName = (index: number): string => `id${String(index).padStart(6, '0')}`;

function renderCapture(options: SynthOptions, index: number, n: number): SynthCapture {
  return options.kind === 'hand' ? renderHandCapture(options.seed, index, n) : renderRoiCapture(options.seed, index, n);
}

/** Synthetic identities in memory (for benchmarks and tests; nothing is written). */
export function syntheticSource(options: SynthOptions): DatasetSource {
  const first = options.firstIdentity ?? 0;
  const identities = Array.from({ length: options.ids }, (_, i) => identityName(first + i));
  const indexOf = (identity: string): number => parseInt(identity.slice(2), 10);
  return {
    kind: options.kind,
    identities,
    captures: (identity) => {
      const count = plannedCaptures(options, indexOf(identity) - first);
      return Array.from({ length: count }, (_, n) => ({ kind: options.kind, ...renderCapture(options, indexOf(identity), n) }));
    },
    attacks: () => syntheticAttacks(options, identities).map((a) => ({ type: a.type, identity: a.identity, capture: { kind: options.kind, ...a.capture } })),
  };
}

function syntheticAttacks(options: SynthOptions, identities: readonly string[]): { type: AttackType; identity: string; capture: SynthCapture }[] {
  const out: { type: AttackType; identity: string; capture: SynthCapture }[] = [];
  const random = seeded(mix(options.seed, 0xa77));
  for (let k = 0; k < options.attacksPerType && identities.length > 0; k += 1) {
    const identity = identities[k % identities.length]!;
    const index = parseInt(identity.slice(2), 10);
    out.push({ type: 'print', identity, capture: renderAttack('print', options.seed, index, options.kind, k) });
    out.push({ type: 'screen', identity, capture: renderAttack('screen', options.seed, index, options.kind, k) });
    // A replay re-sends one of the identity's bona fide captures, exactly or with tiny noise.
    const original = renderCapture(options, index, k % Math.max(1, options.captures));
    out.push({ type: 'replay', identity, capture: replayOf(original, random, k % 2 === 0) });
  }
  return out;
}

/** Writes a synthetic dataset in the documented layout (the only place images are written). */
export function writeSyntheticDataset(dir: string, options: SynthOptions): DatasetManifest {
  const source = syntheticSource(options);
  mkdirSync(dir, { recursive: true });
  for (const identity of source.identities) {
    mkdirSync(path.join(dir, identity), { recursive: true });
    const index = parseInt(identity.slice(2), 10);
    for (let n = 0; n < options.captures; n += 1) {
      const capture = renderCapture(options, index, n);
      writeFileSync(path.join(dir, identity, `${n}.png`), encodePng(capture.visible));
      writeFileSync(path.join(dir, identity, `${n}.nir.png`), encodePng(capture.nir));
    }
  }
  const attacks: NonNullable<DatasetManifest['attacks']> = [];
  syntheticAttacks(options, source.identities).forEach((attack, i) => {
    const base = path.join('attacks', attack.type, `${i}`);
    mkdirSync(path.join(dir, 'attacks', attack.type), { recursive: true });
    writeFileSync(path.join(dir, `${base}.png`), encodePng(attack.capture.visible));
    writeFileSync(path.join(dir, `${base}.nir.png`), encodePng(attack.capture.nir));
    attacks.push({ type: attack.type, identity: attack.identity, visible: `${base}.png`, nir: `${base}.nir.png` });
  });
  const manifest: DatasetManifest = { kind: options.kind, identities: [...source.identities], attacks, generator: { name: 'palmswitch bio synth', ...options } };
  writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
