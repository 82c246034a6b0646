/**
 * The in-memory 1:N index. Stage one scans every enrolled palm's 256-bit prefilter hash with
 * the WebAssembly popcount kernel and keeps the closest `candidates`; stage two re-ranks them
 * with the full shift-tolerant palm (and vein) comparison. Storage is slabs of typed arrays,
 * about 700 bytes per palm, so a million palms fit in well under a gigabyte.
 */
import { assert } from '../core/index.js';
import { BiometricError } from './errors.js';
import { prefilter_bits } from './model.js';
import { CodeMatcher, instantiatePrefilter, type PrefilterKernel } from './popcount-wasm.js';
import { compare, compareAt, compareAtPose, DEFAULT_SCORE_MODEL, probeRotations, type Comparison, type Probe, type ScoreModel } from './score.js';
import { hash_words, matcherFor, planeWords, type PackedCode, type Template } from './template.js';
import { palm_grid_cells, vein_grid_cells } from './model.js';

export const index_palms_max = 4_000_000;
export const candidates_max = 65_536;
export const candidates_default = 256;
export const hint_identities_max = 10_000;
/**
 * Hash candidates per fully compared candidate, narrowed by the vein code in between (8,192 at
 * the default 256). Why 32, not 16: the 256-bit hash ranks a tenth of mates below 500th of a
 * 10,000 gallery and 1 % below 4,000th, while the vein stage finds them; on a development seed
 * (10,000 enrolled, 999 mated searches) a pool of 4,096 lost the mate before the full comparison
 * in 1.1 % of searches, 8,192 in 0.3 %, for about 2.5 ms more vein comparisons per search at any
 * gallery size of 8,192 or more.
 */
export const coarse_pool_per_candidate = 32;
/**
 * For probes with pose alternates, each candidate is fully compared at one pose only (the vein
 * stage's best rotation, at scale 1); the best few are then compared at every pose (rotation and
 * scale), so a mate near the top gets its best score at a fraction of the cost.
 */
export const rotation_recheck_candidates = 8;
/**
 * Candidates past the all-pose recheck get a pose screen: each of the probe's poses is
 * compared with it (every shift) on one packed palm word in `pose_screen_word_stride`, and the
 * pose that screens closest, if it is not the one compared, is compared in full. A mate whose
 * vein stage picked the wrong pose, or that needs a scale alternate (a tilted hand), can score
 * near impostor level at the compared pose and so never reach the recheck: dev seed 0xd1a6000b
 * had mates at rank 61 (score 0.8; 6.4 at their best pose) and rank 9 (1.6; 4.4). The screen also
 * lifts impostors to their best pose, which the cohort then sees too. Measured on dev seeds
 * (10,000 enrolled, 5,000 non-mated searches): FNIR at FPIR 1e-3 1.9 -> 1.8 % and 2.2 -> 2.0 %
 * before the cohort, 1.3 -> 1.2 % and 1.5 -> 1.3 % with it (old fusion).
 */
export const pose_screen_word_stride = 4;
/**
 * The screen covers ranks 9 to this. Dev seeds (as above, with the cohort and one-step fusion),
 * FNIR at FPIR 1e-3: 0xd1a6000b 0.8 % without the screen, 0.8 / 0.7 / 0.7 % screening to rank
 * 64 / 128 / 256; 0xd1a6000c 1.0 % without, 0.8 % with any of them. The mates it recovered sat at
 * ranks 9-61. Process CPU per search at 100,000 palms (interleaved, loaded): 7.7 ms without the
 * screen, 7.8-8.3 ms to rank 128, 9.6-10.0 ms to rank 256.
 */
export const pose_screen_rank_last = 128;
const palm_plane_words = planeWords(palm_grid_cells);
const palm_words = palm_plane_words * 4;
const screen_plane_words = palm_plane_words / pose_screen_word_stride;
let screenMatcher: CodeMatcher | undefined;
const screen_matcher = (): CodeMatcher => (screenMatcher ??= new CodeMatcher(screen_plane_words));

/** Per pose of a probe (itself, then its alternates), its palm variants cut to the screened words; and the pose of each rotation. */
interface PoseScreens { poses: PackedCode[][]; rotationPose: number[] }
const screensOf = new WeakMap<Probe, PoseScreens>();
function screenVariants(probe: Probe): PoseScreens {
  const known = screensOf.get(probe);
  if (known) return known;
  const all = [probe, ...(probe.alternates ?? [])];
  const poses = all.map((pose) => pose.palm.map((variant) => {
    const words = new Uint32Array(screen_plane_words * 4);
    for (let p = 0, i = 0; p < 4; p += 1) for (let w = 0; w < palm_plane_words; w += pose_screen_word_stride, i += 1) words[i] = variant.words[p * palm_plane_words + w]!;
    return { cells: 0, words };
  }));
  const screens = { poses, rotationPose: probeRotations(probe).map((r) => all.indexOf(r)) };
  screensOf.set(probe, screens);
  return screens;
}
const vein_words = planeWords(vein_grid_cells) * 4;
const hash_bytes = prefilter_bits / 8;
const histogram_offset = 64;
const results_offset = 4096;
const hashes_offset = results_offset + candidates_max * 4;
const page_bytes = 65536;

/**
 * The cohort a search's scores are taken relative to: its own fully compared candidates from
 * rank 11 to rank 256. A non-mated search's best score is high where the probe scores high
 * against everyone (a probe with little texture, many masked cells, codes that shift-match
 * easily), and its runners-up show it; a mate stands out from the same runners-up. Ranks 1-10
 * are left out so that a mate and its near look-alikes never raise their own bar. Dev seeds
 * (10,000 enrolled, threshold from 5,000 non-mated searches): FNIR at FPIR 1e-3 1.3 -> 0.8 % and
 * 1.7 -> 1.0 % (with the one-step enrolment fusion); the gain held for cohorts starting anywhere
 * from rank 3 to rank 129. A test-normalisation (T-norm) with the mean only: dividing by the
 * cohort's spread made it much worse.
 */
export const cohort_rank_first = 11;
export const cohort_rank_last = candidates_default;
/** Fewer members than this (a young gallery, a short hint list) and the search has no cohort. */
export const cohort_members_min = 64;

/**
 * What a search subtracts from its candidates' scores: the mean of its cohort, never below zero,
 * so a cohort can lower a score but never raise it (every raw-score bound stays a safe bound).
 * `descending` are the search's comparison scores, best first.
 */
export function cohortShift(descending: readonly number[]): number {
  const members = Math.min(descending.length, cohort_rank_last) - (cohort_rank_first - 1);
  if (members < cohort_members_min) return 0;
  let sum = 0;
  for (let k = cohort_rank_first - 1; k < cohort_rank_first - 1 + members; k += 1) sum += descending[k]!;
  const shift = Math.max(0, sum / members);
  assert(Number.isFinite(shift), 'a cohort of finite scores');
  return shift;
}

let selectScratch = new Float64Array(0);

/**
 * The `k`-th smallest (0-based) of `values`, as `values.slice().sort()[k]` gives it, by
 * quickselect on a scratch copy: sorting the vein stage's 8,192 scores took ~0.75 ms a search,
 * the selection a small fraction of that. The partition is three-way because scores tie often
 * (saturated codes share distances), and a two-way one slows down on ties. NaN is refused: it
 * has no place in the order.
 */
export function kthSmallest(values: Float64Array, k: number): number {
  const n = values.length;
  assert(Number.isInteger(k) && k >= 0 && k < n, 'k indexes the values');
  if (selectScratch.length < n) selectScratch = new Float64Array(n);
  const a = selectScratch;
  let nan = false;
  for (let i = 0; i < n; i += 1) {
    const v = values[i]!;
    nan ||= v !== v;
    a[i] = v;
  }
  assert(!nan, 'no NaN among the values');
  let lo = 0;
  let hi = n - 1;
  for (;;) {
    const pivot = medianOfThree(a[lo]!, a[(lo + hi) >> 1]!, a[hi]!);
    // [lo, lt) < pivot, [lt, gt] === pivot, (gt, hi] > pivot; the middle is never empty, so each round shrinks the range.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i]!;
      if (v < pivot) { a[i] = a[lt]!; a[lt] = v; lt += 1; i += 1; } else if (v > pivot) { a[i] = a[gt]!; a[gt] = v; gt -= 1; } else i += 1;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
}

function medianOfThree(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
}

/** A search result: `score` is relative to the search's cohort (`cohortShift`); `comparisonScore` is the comparison's own. */
export interface Candidate extends Comparison { id: bigint; comparisonScore: number }
export interface SearchHints { identities?: readonly bigint[]; region?: number }
export interface SearchOptions {
  /** Candidates given the full comparison (default `candidates_default`). */
  candidates?: number;
  /** Hash candidates the vein stage narrows to `candidates` (default `coarse_pool_per_candidate` x candidates). */
  pool?: number;
  hints?: SearchHints;
}

export class PalmIndex {
  private kernel: PrefilterKernel;
  private capacity = 0;
  private count = 0;
  private palm = new Uint32Array(0);
  private vein = new Uint32Array(0);
  private hasVein = new Uint8Array(0);
  private region = new Uint16Array(0);
  private ids: bigint[] = [];
  private readonly screenScratch = new Uint32Array(screen_plane_words * 4);
  private slots = new Map<bigint, number>();
  scoreModel: ScoreModel = DEFAULT_SCORE_MODEL;

  constructor(initialCapacity = 1024) {
    this.kernel = instantiatePrefilter(prefilter_bits / 64);
    this.grow(initialCapacity);
  }

  get size(): number { return this.count; }
  has(id: bigint): boolean { return this.slots.has(id); }

  /** Grows the slabs once to hold `capacity` palms (bulk loads skip the repeated doublings). */
  reserve(capacity: number): void {
    assert(Number.isInteger(capacity) && capacity <= index_palms_max, 'reserve within the index bound');
    if (capacity > this.capacity) this.grow(capacity);
  }

  private grow(capacity: number): void {
    assert(capacity <= index_palms_max, 'index capacity within bound');
    // Hashes, then the u16 distance plane.
    const needed = hashes_offset + capacity * (hash_bytes + 2);
    const pages = Math.ceil(needed / page_bytes) - this.kernel.memory.buffer.byteLength / page_bytes;
    if (pages > 0) this.kernel.memory.grow(pages);
    const copy = <T extends Uint32Array | Uint8Array | Uint16Array>(old: T, make: (n: number) => T, per: number): T => { const next = make(capacity * per); next.set(old); return next; };
    this.palm = copy(this.palm, (n) => new Uint32Array(n), palm_words);
    this.vein = copy(this.vein, (n) => new Uint32Array(n), vein_words);
    this.hasVein = copy(this.hasVein, (n) => new Uint8Array(n), 1);
    this.region = copy(this.region, (n) => new Uint16Array(n), 1);
    this.capacity = capacity;
  }

  private hashView(slot: number): Uint32Array {
    return new Uint32Array(this.kernel.memory.buffer, hashes_offset + slot * hash_bytes, hash_words);
  }

  add(id: bigint, template: Template, region = 0): void {
    if (this.slots.has(id)) throw new BiometricError('enrol_duplicate', 'identity already in the index');
    if (this.count >= index_palms_max) throw new BiometricError('gallery_full', `index holds ${index_palms_max} palms`);
    if (this.count === this.capacity) this.grow(Math.min(index_palms_max, this.capacity * 2));
    const slot = this.count;
    this.write(slot, id, template, region);
    this.count += 1;
  }

  private write(slot: number, id: bigint, template: Template, region: number): void {
    assert(template.palm.words.length === palm_words && template.hash.length === hash_words, 'template shape');
    this.palm.set(template.palm.words, slot * palm_words);
    this.hasVein[slot] = template.vein ? 1 : 0;
    if (template.vein) this.vein.set(template.vein.words, slot * vein_words);
    this.region[slot] = region;
    this.hashView(slot).set(template.hash);
    this.ids[slot] = id;
    this.slots.set(id, slot);
  }

  /** The prefilter hash in slot `slot` (a view into the scan memory). */
  hashOf(slot: number): Uint32Array { return this.hashView(slot); }

  template(slot: number): Template {
    const palm = { cells: palm_grid_cells, words: this.palm.subarray(slot * palm_words, (slot + 1) * palm_words) };
    const hash = this.hashView(slot);
    if (!this.hasVein[slot]) return { palm, hash };
    return { palm, hash, vein: { cells: vein_grid_cells, words: this.vein.subarray(slot * vein_words, (slot + 1) * vein_words) } };
  }

  get(id: bigint): Template | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.template(slot);
  }

  /** Removes an identity; the last slot moves into the hole so scans stay dense. */
  remove(id: bigint): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    const last = this.count - 1;
    this.slots.delete(id);
    if (slot !== last) {
      const moved = this.ids[last]!;
      const t = this.template(last);
      this.write(slot, moved, { palm: { cells: t.palm.cells, words: Uint32Array.from(t.palm.words) }, hash: Uint32Array.from(t.hash), ...(t.vein ? { vein: { cells: t.vein.cells, words: Uint32Array.from(t.vein.words) } } : {}) }, this.region[last] ?? 0);
    }
    this.ids.length = last;
    this.hashView(last).fill(0);
    this.count = last;
    return true;
  }

  /** Rewrites every template in place (re-keying); `transform` must keep the shapes. */
  transformAll(transform: (template: Template) => Template): void {
    for (let slot = 0; slot < this.count; slot += 1) {
      const t = this.template(slot);
      const copy: Template = { palm: { cells: t.palm.cells, words: Uint32Array.from(t.palm.words) }, hash: Uint32Array.from(t.hash), ...(t.vein ? { vein: { cells: t.vein.cells, words: Uint32Array.from(t.vein.words) } } : {}) };
      this.write(slot, this.ids[slot]!, transform(copy), this.region[slot] ?? 0);
    }
  }

  /**
   * Stage one: slots of the `wanted` closest prefilter hashes (ties at the cutoff may add a few).
   * With several hashes (a probe's rotations) a palm's distance is its smallest to any of them.
   */
  prefilter(hash: Uint32Array | readonly Uint32Array[], wanted: number): number[] {
    const hashes = hash instanceof Uint32Array ? [hash] : hash;
    assert(hashes.length >= 1, 'at least one prefilter hash');
    const distancesOffset = hashes_offset + this.capacity * hash_bytes;
    const memory = this.kernel.memory.buffer;
    const histogram = new Uint32Array(memory, histogram_offset, prefilter_bits + 1);
    this.scanInto(hashes[0]!, distancesOffset);
    for (const alternate of hashes.slice(1)) this.scanInto(alternate, distancesOffset, true);
    let cutoff = 0;
    for (let seen = 0; cutoff <= prefilter_bits; cutoff += 1) {
      seen += histogram[cutoff] ?? 0;
      if (seen >= wanted) break;
    }
    const found = this.kernel.collect(distancesOffset, this.count, cutoff, results_offset, Math.min(candidates_max, wanted * 2));
    return Array.from(new Uint32Array(memory, results_offset, found));
  }

  /** `fold`: keep each palm's smaller distance of this hash and the ones scanned before (a probe's alternates). */
  private scanInto(hash: Uint32Array, distancesOffset: number, fold = false): void {
    const memory = this.kernel.memory.buffer;
    new Uint32Array(memory, 0, hash_words).set(hash);
    new Uint32Array(memory, histogram_offset, prefilter_bits + 1).fill(0);
    if (fold) this.kernel.scanMin(0, hashes_offset, this.count, distancesOffset, histogram_offset);
    else this.kernel.scan(0, hashes_offset, this.count, distancesOffset, histogram_offset);
  }

  /**
   * Three stages when the probe has a vein code: the hash scan keeps `coarse_pool_per_candidate`
   * times the wanted count, the vein code with its full shift search (a tenth of a full
   * comparison: 16x16 cells) narrows those to `candidates`, and only they get the full palm +
   * vein comparison. Measured on 600 development identities: with the mate's rank expressed as
   * a share of a 10,000 gallery, the hash alone missed 13.8% at 256 candidates, hash (4,096) then
   * vein 1.3%. Without a vein code the hash alone selects.
   */
  search(probe: Probe, options: SearchOptions = {}): Candidate[] {
    const wanted = Math.min(candidates_max, options.candidates ?? candidates_default);
    const { slots, rotation } = this.candidateSlots(probe, wanted, options.pool ?? wanted * coarse_pool_per_candidate, options.hints);
    // Unknown rotation (no vein stage ran) with rotation alternates: compare at every pose.
    const fixed = probeRotations(probe).length > 1 ? undefined : 0;
    const ranked = slots.map((slot, k) => {
      const pose = rotation ? rotation[k] : fixed;
      return { id: this.ids[slot]!, slot, pose, ...this.compareSlot(probe, slot, pose) };
    });
    ranked.sort((a, b) => b.score - a.score);
    if (probe.alternates) {
      for (const candidate of ranked.slice(rotation_recheck_candidates, pose_screen_rank_last)) {
        if (candidate.pose !== undefined) Object.assign(candidate, this.screenPose(probe, candidate.slot, candidate.pose, candidate.score));
      }
      ranked.sort((a, b) => b.score - a.score);
      for (const candidate of ranked.slice(0, rotation_recheck_candidates)) Object.assign(candidate, compare(probe, this.template(candidate.slot), this.scoreModel));
      ranked.sort((a, b) => b.score - a.score);
    }
    const shift = cohortShift(ranked.map((candidate) => candidate.score));
    return ranked.map(({ slot: _slot, pose: _pose, ...candidate }) => ({ ...candidate, comparisonScore: candidate.score, score: candidate.score - shift }));
  }

  /**
   * The full comparison of `slot` at the pose whose palm code screens closest, where that is not
   * the pose it was compared at (`rotation`, an index into `probeRotations`) and scores better
   * than `score`; else nothing. Every pose is screened alike, the compared one included.
   */
  private screenPose(probe: Probe, slot: number, rotation: number, score: number): Comparison | undefined {
    const screens = screenVariants(probe);
    const compared = screens.rotationPose[Math.min(rotation, screens.rotationPose.length - 1)]!;
    const enrolled = this.screenScratch;
    for (let p = 0, i = 0, base = slot * palm_words; p < 4; p += 1) {
      for (let w = 0; w < palm_plane_words; w += pose_screen_word_stride, i += 1) enrolled[i] = this.palm[base + p * palm_plane_words + w]!;
    }
    const typical = this.scoreModel.palm.typicalBits / pose_screen_word_stride;
    let best = compared;
    let bestDistance = Infinity;
    screens.poses.forEach((variants, pose) => {
      const distance = screen_matcher().best(variants, enrolled, 0, typical);
      if (distance < bestDistance) { bestDistance = distance; best = pose; }
    });
    if (best === compared) return undefined;
    const chosen = compareAtPose(probe, this.template(slot), best, this.scoreModel);
    return chosen.score > score ? chosen : undefined;
  }

  private compareSlot(probe: Probe, slot: number, rotation: number | undefined): Comparison {
    const template = this.template(slot);
    return rotation === undefined || !probe.alternates ? compare(probe, template, this.scoreModel) : compareAt(probe, template, rotation, this.scoreModel);
  }

  /** Candidate slots, and for probes with rotation alternates the vein stage's best rotation of each. */
  private candidateSlots(probe: Probe, wanted: number, poolWanted: number, hints: SearchHints | undefined): { slots: number[]; rotation?: Uint8Array } {
    if (hints?.identities) {
      if (hints.identities.length > hint_identities_max) throw new BiometricError('identity_unknown', `hint lists more than ${hint_identities_max} identities`);
      return { slots: hints.identities.map((id) => this.slots.get(id)).filter((s): s is number => s !== undefined) };
    }
    const pool = probe.vein ? Math.min(candidates_max / 2, Math.max(wanted, poolWanted)) : wanted;
    const rotations = probeRotations(probe);
    const hashes = rotations.map((r) => r.hash);
    const hashed = hints?.region === undefined
      ? this.prefilter(hashes, pool)
      // A region narrows the scan: take extra prefilter candidates, keep those in the region.
      : this.prefilter(hashes, Math.min(candidates_max / 2, pool * 8)).filter((s) => this.region[s] === hints.region).slice(0, pool);
    if (!probe.vein || hashed.length <= wanted || rotations.some((r) => !r.vein)) return { slots: hashed };
    const narrowed = this.veinNarrow(rotations.flatMap((r) => r.vein!), rotations[0]!.vein!.length, hashed, wanted);
    return rotations.length > 1 ? narrowed : { slots: narrowed.slots };
  }

  /**
   * The `wanted` slots whose vein codes are closest to the probe's (best over its shifts and
   * rotations; `perRotation` variants per rotation), with the rotation that was best for each.
   */
  private veinNarrow(variants: readonly PackedCode[], perRotation: number, slots: number[], wanted: number): { slots: number[]; rotation: Uint8Array } {
    // The WebAssembly matcher: bit-identical to the JavaScript comparison, several times faster.
    const matcher = matcherFor(vein_grid_cells)!;
    const scored = new Float64Array(slots.length);
    const bestVariant = new Uint16Array(slots.length);
    let argmin = 0;
    for (let k = 0; k < slots.length; k += 1) {
      const slot = slots[k]!;
      if (this.hasVein[slot]) { scored[k] = matcher.best(variants, this.vein, slot * vein_words, this.scoreModel.vein.typicalBits); argmin = matcher.argmin; } else scored[k] = 0.5;
      bestVariant[k] = argmin;
    }
    const cutoff = kthSmallest(scored, wanted - 1);
    const kept: number[] = [];
    const rotation = new Uint8Array(wanted);
    const keep = (k: number): void => {
      rotation[kept.length] = Math.floor(bestVariant[k]! / perRotation);
      kept.push(slots[k]!);
    };
    // Everything strictly better than the cutoff first, then ties at the cutoff while room is
    // left: many codes can share the cutoff's distance (saturated codes do), and admitting ties
    // in slot order would push out a closer candidate that happens to sit in a later slot.
    for (let k = 0; k < slots.length; k += 1) if (scored[k]! < cutoff) keep(k);
    for (let k = 0; k < slots.length && kept.length < wanted; k += 1) if (scored[k] === cutoff) keep(k);
    assert(kept.length === wanted, 'the vein stage keeps exactly the wanted number of candidates');
    return { slots: kept, rotation };
  }

  /** 1:1: the score of `probe` against one claimed identity, or undefined if not enrolled. */
  verify(id: bigint, probe: Probe): Comparison | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : compare(probe, this.template(slot), this.scoreModel);
  }

  /** Bytes held per enrolled palm by the index's slabs (excluding the id map). */
  static slabBytesPerPalm(): number { return palm_words * 4 + vein_words * 4 + hash_bytes + 2 + 1 + 2; }

  *entries(): Generator<{ id: bigint; template: Template }> {
    for (let slot = 0; slot < this.count; slot += 1) yield { id: this.ids[slot]!, template: this.template(slot) };
  }
}
