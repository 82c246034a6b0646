/**
 * The biometric engine's working surface: enrol (two or more captures, consistency check,
 * 1:N dedupe), identify (open-set 1:N with hints), verify (1:1 against a claimed identity),
 * delete, re-key, all on protected templates. Sealed copies go to a `TemplateStore` port; the
 * in-memory index is rebuilt from the store at start. Raw pixels never leave `extractCapture`.
 */
import { assert } from '../core/index.js';
import { BiometricError } from './errors.js';
import { extractCapture, type Capture, type Extracted } from './capture.js';
import { fpir_target_default, ImpostorReservoir, SearchTail, thresholdForGallery } from './calibration.js';
import { PalmIndex, type Candidate, type SearchHints } from './index-store.js';
import { deriveTransform, openTemplate, retransform, sealTemplate, type TemplateKeyProvider } from './protection.js';
import { compare, makeProbe, makeTemplate, type Probe } from './score.js';
import { fuseCodes } from './enrol.js';
import type { FeatureModels } from './features.js';
import type { TemplateTransform } from './template.js';

export const enrol_captures_min = 2;
export const enrol_captures_max = 8;
export const calibration_samples_per_enrolment = 32;
/** Enrolment captures must agree at least this well (z-score) with each other. */
export const enrol_consistency_score_min = 3;

/** Where sealed templates rest (the gateway's SQLite/PostgreSQL store in production). */
export interface TemplateStore {
  put(identity: bigint, sealed: Uint8Array): Promise<void>;
  delete(identity: bigint): Promise<boolean>;
  list(): AsyncIterable<{ identity: bigint; sealed: Uint8Array }>;
}

export class MemoryTemplateStore implements TemplateStore {
  readonly records = new Map<bigint, Uint8Array>();
  put(identity: bigint, sealed: Uint8Array): Promise<void> { this.records.set(identity, sealed); return Promise.resolve(); }
  delete(identity: bigint): Promise<boolean> { return Promise.resolve(this.records.delete(identity)); }
  async *list(): AsyncIterable<{ identity: bigint; sealed: Uint8Array }> { for (const [identity, sealed] of this.records) yield await Promise.resolve({ identity, sealed }); }
}

export interface GalleryOptions {
  models: FeatureModels;
  keys: TemplateKeyProvider;
  store: TemplateStore;
  permutationKeyId: string;
  dataKeyId: string;
  keyVersion?: number;
  fpirTarget?: number;
}

export type Decision =
  | { outcome: 'match'; identity: bigint; score: number; threshold: number; candidates: Candidate[] }
  | { outcome: 'no_match'; score: number | undefined; threshold: number; candidates: Candidate[] };

export class Gallery {
  readonly index = new PalmIndex();
  readonly reservoir = new ImpostorReservoir();
  /** The tops of accepted enrolments' duplicate searches: the deep impostor tail (calibration.ts). */
  readonly searchTail = new SearchTail();
  private constructor(private readonly options: GalleryOptions, private transform: TemplateTransform) {}

  static async open(options: GalleryOptions): Promise<Gallery> {
    const transform = await deriveTransform(options.keys, options.permutationKeyId, options.keyVersion ?? 1);
    const gallery = new Gallery(options, transform);
    for await (const { identity, sealed } of options.store.list()) {
      const { template, keyVersion } = await openTemplate(options.keys, options.dataKeyId, identity, sealed);
      if (keyVersion !== transform.version) throw new BiometricError('template_key_mismatch', `template of key version ${keyVersion}, gallery at ${transform.version}`);
      gallery.index.add(identity, template);
    }
    return gallery;
  }

  get keyVersion(): number { return this.transform.version; }
  get size(): number { return this.index.size; }

  threshold(): number {
    return thresholdForGallery(this.reservoir, this.index.size, this.options.fpirTarget ?? fpir_target_default, 4, this.searchTail);
  }

  async extract(capture: Capture): Promise<Extracted> { return await extractCapture(this.options.models, capture); }

  probe(extracted: Extracted): Probe { return makeProbe(extracted, this.transform); }

  /** Enrols `identity`; refuses inconsistent captures and palms already enrolled. */
  async enrol(identity: bigint, captures: readonly Capture[], region = 0): Promise<{ consistency: number }> {
    this.checkEnrolment(identity, captures.length);
    const extracted: Extracted[] = [];
    for (const capture of captures) extracted.push(await this.extract(capture));
    return await this.enrolExtracted(identity, extracted, region);
  }

  /** As `enrol`, for captures the caller has already extracted (e.g. on a worker thread, to check liveness). */
  async enrolExtracted(identity: bigint, extracted: readonly Extracted[], region = 0): Promise<{ consistency: number }> {
    this.checkEnrolment(identity, extracted.length);
    const consistency = this.consistency(extracted);
    if (consistency < enrol_consistency_score_min) throw new BiometricError('enrol_inconsistent', `captures disagree (score ${consistency.toFixed(2)})`);
    const probe = this.probe(extracted[0]!);
    this.sampleImpostors(probe);
    const found = this.index.search(probe);
    const best = found[0];
    if (best && best.score >= this.threshold()) throw new BiometricError('enrol_duplicate', 'this palm is already enrolled');
    const template = makeTemplate(fuseCodes(extracted), this.transform);
    await this.options.store.put(identity, await sealTemplate(this.options.keys, this.options.dataKeyId, identity, template, this.transform.version));
    this.searchTail.record(this.index.size, found.map((candidate) => candidate.score));
    this.index.add(identity, template, region);
    return { consistency };
  }

  private checkEnrolment(identity: bigint, captures: number): void {
    if (captures < enrol_captures_min || captures > enrol_captures_max) {
      throw new BiometricError('enrol_too_few_captures', `enrolment takes ${enrol_captures_min}..${enrol_captures_max} captures`);
    }
    if (this.index.has(identity)) throw new BiometricError('enrol_duplicate', 'identity already enrolled');
  }

  /** The weakest pairwise score among the enrolment captures. */
  private consistency(extracted: readonly Extracted[]): number {
    let weakest = Infinity;
    for (let i = 0; i < extracted.length; i += 1) {
      const probe = makeProbe(extracted[i]!, this.transform);
      for (let j = i + 1; j < extracted.length; j += 1) weakest = Math.min(weakest, compare(probe, makeTemplate(extracted[j]!, this.transform), this.index.scoreModel).score);
    }
    return weakest;
  }

  /** Compares a new enrolee with spread-out enrolled palms: unbiased impostor scores for calibration. */
  private sampleImpostors(probe: Probe): void {
    const size = this.index.size;
    for (let k = 0; k < Math.min(calibration_samples_per_enrolment, size); k += 1) {
      // Golden-ratio stride: distinct, evenly spread slots without materialising the index.
      const slot = Math.floor(((k + 1) * 0.6180339887498949 * size + size) % size);
      this.reservoir.add(compare(probe, this.index.template(slot), this.index.scoreModel).score);
    }
  }

  async identify(capture: Capture, hints?: SearchHints): Promise<Decision> {
    const probe = this.probe(await this.extract(capture));
    const candidates = this.index.search(probe, hints ? { hints } : {}).slice(0, 5);
    const threshold = this.threshold();
    const best = candidates[0];
    if (best && best.score >= threshold) return { outcome: 'match', identity: best.id, score: best.score, threshold, candidates };
    return { outcome: 'no_match', score: best?.score, threshold, candidates };
  }

  /** 1:1 verification: one comparison, at the FMR target for a single comparison. */
  async verify(identity: bigint, capture: Capture): Promise<Decision> {
    if (!this.index.has(identity)) throw new BiometricError('identity_unknown', 'identity not enrolled');
    const result = this.index.verify(identity, this.probe(await this.extract(capture)));
    assert(result, 'enrolled identity compares');
    const threshold = thresholdForGallery(this.reservoir, 1, this.options.fpirTarget ?? fpir_target_default, 3);
    // 1:1 has no cohort: the comparison's own score, against the single-comparison threshold.
    const candidates = [{ id: identity, ...result, comparisonScore: result.score }];
    return result.score >= threshold ? { outcome: 'match', identity, score: result.score, threshold, candidates } : { outcome: 'no_match', score: result.score, threshold, candidates };
  }

  /** Removes an identity's template from the store and the index. */
  async delete(identity: bigint): Promise<boolean> {
    const stored = await this.options.store.delete(identity);
    return this.index.remove(identity) || stored;
  }

  /** Re-keys every template to a new transform version (no re-enrolment) and re-seals them. */
  async rekey(permutationKeyId: string, version: number): Promise<void> {
    const next = await deriveTransform(this.options.keys, permutationKeyId, version);
    const previous = this.transform;
    this.index.transformAll((template) => retransform(template, previous, next));
    for (const { id, template } of this.index.entries()) {
      await this.options.store.put(id, await sealTemplate(this.options.keys, this.options.dataKeyId, id, template, next.version));
    }
    this.transform = next;
    this.options.permutationKeyId = permutationKeyId;
  }
}
