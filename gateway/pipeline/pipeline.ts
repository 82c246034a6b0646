/**
 * The payment pipeline: enrolment, authorization, capture, void, refund, and the shopper's
 * view and deletion of their data. It owns the order of the money-moving steps:
 *
 *   palm -> liveness -> 1:N -> vault -> cryptogram -> network (0100) -> ledger hold -> record
 *
 * An approval whose ledger hold cannot be written is reversed at the network (durable 0400),
 * so there is never an authorization without its hold or its reversal. Ledger transfer ids
 * derive from the payment id, so a retried capture, void or refund is `exists`, never a second
 * posting. Card numbers pass through `enrol` to the token service and are never kept.
 */
import { randomBytes } from 'node:crypto';
import { assert, currencyByAlpha, type Logger } from '../../core/index.js';
import type { Gallery, SearchTailState } from '../../biometric/index.js';
import {
  captureTransfers, ensureChart, execute, holdTransfers, holdTimeoutSeconds, LedgerOperationError, refundTransfers, voidTransfers, type Ledger,
} from '../../ledger/index.js';
import type { HsmPort } from '../../hsm-sim/index.js';
import type { Message } from '../../iso8583/index.js';
import type { AuthorizationResult, NetworkLink } from '../network/index.js';
import { GatewayError } from '../errors.js';
import { KEY_IDS, type NetworkName } from '../keys.js';
import type { TokenService } from '../token-service.js';
import type { TokenVault } from '../vault.js';
import type { RegistryStore, MerchantRecord, PaymentRecord } from '../store/port.js';
import type { ShopperStore } from '../store/shoppers.js';
import type {
  AuthorizeCommand, CaptureUpload, DeletionOutcome, EnrolCommand, EnrolOutcome, PaymentPipeline, PaymentView, ShopperView,
} from './contract.js';
import {
  biometricFailure, extract, extractAndSearch, identify, identifyFound, impostorSamples, ThresholdCache, timed, type Extractor, type LivenessGuard, type ReplicaSearch,
} from './palm.js';
import { templateCopy } from './search-replica.js';
import { declinedRecord, exchangeOf, shopperView, viewOf } from './views.js';
import { adviceReference, StandInClearing } from './standin-clearing.js';

/** Largest amount of one payment, minor units (DE 4 is n12). */
export const amount_minor_max = 999_999_999_999n;
/** An authorization hold lives this long unless captured or voided first. */
export const hold_lifetime_ms_default = 7 * 86_400_000;
/** Shoppers a phone-suffix hint may narrow a search to. */
export const hint_identities_max = 64;
/** Expired authorizations reversed per sweep; the next sweep takes the rest. */
export const expiry_sweep_batch_max = 256;

/** An offline capture older than this is refused (stand-in rules assume a recent capture). */
export const offline_capture_age_ms_max = 72 * 3_600_000;

export interface PipelineOptions {
  readonly gallery: Gallery;
  readonly liveness: LivenessGuard;
  readonly shoppers: ShopperStore;
  readonly registry: RegistryStore;
  readonly vault: TokenVault;
  readonly hsm: Pick<HsmPort, 'generateCryptogram'>;
  readonly ledger: Ledger;
  readonly links: ReadonlyMap<string, NetworkLink>;
  readonly tokenServices: ReadonlyMap<string, TokenService>;
  /** The network a card belongs to, by its BIN. */
  readonly networkOfCard: (pan: string) => NetworkName;
  /** Delivers a one-time code to a phone (the dev stack's SMS outbox). */
  readonly sendOtp: (phone: string, code: string) => void;
  /** Merchant fee per capture, in basis points of the captured amount. */
  readonly fee_basis_points: number;
  readonly hold_lifetime_ms?: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Feature extraction off the event loop (a worker pool); default: the gallery's, in this thread. */
  readonly extractor?: Extractor;
  /** Workers holding replicas of the 1:N index: a payment's search runs there, after its extraction. */
  readonly replica?: ReplicaSearch;
  /** Keeps each enrolment's impostor samples so the threshold survives a restart. */
  readonly calibration?: { add(scores: readonly number[]): void; saveTail(state: SearchTailState): void };
}

export class PalmPipeline implements PaymentPipeline {
  private atc = 0;
  /** Merchants whose ledger accounts exist (created once per process; creating them is idempotent). */
  private readonly chartReady = new Set<string>();

  constructor(private readonly options: PipelineOptions) {
    assert(Number.isInteger(options.fee_basis_points) && options.fee_basis_points >= 0 && options.fee_basis_points < 10_000, 'fee basis points 0..9999');
    this.extractor = options.extractor ?? ((capture) => options.gallery.extract(capture));
    this.standIns = new StandInClearing(options);
    this.thresholds = new ThresholdCache(options.gallery);
  }

  private readonly standIns: StandInClearing;

  /** At start: moves to the receivable the stand-in exposure of advices acknowledged before a crash. */
  async catchUpStandIns(): Promise<number> {
    return await this.standIns.catchUp();
  }

  private readonly thresholds: ThresholdCache;

  private readonly extractor: Extractor;

  private now(): number { return this.options.now?.() ?? Date.now(); }

  async enrol(command: EnrolCommand): Promise<EnrolOutcome> {
    checkCard(command.pan, command.expiry);
    if (!/^\+[1-9]\d{6,14}$/.test(command.phone)) throw new GatewayError('request_invalid', 'phone must be E.164, e.g. +447700900123');
    const { gallery, liveness, shoppers } = this.options;
    const extracted = await timed(async () => { const all = []; for (const c of command.captures) all.push(await extract(this.extractor, c)); return all; });
    const live = await timed(() => { for (const e of extracted.value) liveness.check(e, gallery.probe(e).hash); });
    const network = this.options.networkOfCard(command.pan);
    const service = this.options.tokenServices.get(network);
    if (!service) throw new GatewayError('card_rejected', 'no token service for this card network');
    const shopperId = BigInt(`0x${randomBytes(16).toString('hex')}`);
    // Enrol the palm first (dedupe refuses a known palm before a token is ever requested), from the
    // captures already extracted for the liveness check.
    const enrolled = await timed(async () => {
      const samples = this.options.calibration && extracted.value[0] ? impostorSamples(gallery, gallery.probe(extracted.value[0])) : [];
      try {
        await gallery.enrolExtracted(shopperId, extracted.value);
      } catch (error) {
        biometricFailure(error);
      } finally {
        this.thresholds.invalidate();
      }
      this.options.calibration?.add(samples);
      this.options.calibration?.saveTail(gallery.searchTail.state());
      await this.replicate(shopperId);
    });
    let token;
    try {
      token = await timed(async () => await service.provision({ pan: command.pan, expiry: command.expiry }));
    } catch (error) {
      await this.removePalm(shopperId);
      throw error;
    }
    const sealed = await this.options.vault.sealToken(shopperId, { tokenPan: token.value.tokenPan, tokenExpiry: token.value.tokenExpiry });
    shoppers.insertShopper({
      id: shopperId, phone: command.phone, network, tokenRef: token.value.tokenRef, tokenSealed: sealed, tokenLast4: token.value.tokenPan.slice(-4),
      status: 'active', enrolled_ms: this.now(), deleted_ms: undefined,
    });
    this.options.logger.info({ shopper: shopperId.toString(16), network }, 'shopper enrolled');
    return {
      shopperId, network, tokenLast4: token.value.tokenPan.slice(-4),
      stages: { extract: extracted.ms, liveness: live.ms, enrol: enrolled.ms, token: token.ms, total: extracted.ms + live.ms + enrolled.ms + token.ms },
    };
  }

  async authorize(command: AuthorizeCommand): Promise<PaymentView> {
    const started = performance.now();
    const merchant = this.merchantFor(command.merchantId, command.terminalId);
    checkAmount(command.amount_minor, command.currency, merchant);
    await this.ensureMerchantAccounts(merchant);
    const offline = this.offlineTime(command.offlineCapturedAt_ms);
    const stages: Record<string, number> = {};
    const { gallery, replica } = this.options;
    const narrowTo = command.phoneSuffix === undefined ? undefined : this.options.shoppers.shoppersByPhoneLast4(command.phoneSuffix, hint_identities_max);
    // Without a hint the search runs on the extraction worker, straight after extraction; the
    // decision keeps its order (a liveness refusal wins over whatever the search found).
    const remote = replica !== undefined && narrowTo === undefined;
    const extracted = await timed(async () => remote ? await extractAndSearch(replica, command.capture) : { extracted: await extract(this.extractor, command.capture), found: undefined });
    const { found: searched } = extracted.value;
    stages.extract = searched ? Math.max(0, extracted.ms - searched.ms) : extracted.ms;
    const probe = searched ? undefined : gallery.probe(extracted.value.extracted);
    stages.liveness = (await timed(() => this.options.liveness.check(extracted.value.extracted, searched?.hash ?? probe!.hash))).ms;
    const threshold = this.thresholds.threshold();
    const found = await timed(() => searched ? identifyFound(gallery, searched, threshold) : identify(gallery, probe!, narrowTo, threshold));
    stages.search = searched ? searched.ms + found.ms : found.ms;
    const paymentId = BigInt(`0x${randomBytes(16).toString('hex')}`);
    const score = found.value.score === undefined ? {} : { matchScore: found.value.score };
    if (found.value.identity === undefined) {
      return { ...this.recordDeclined(paymentId, command, 'P1', stages, started, offline), ...score };
    }
    // Per-identity limits apply once we know who pays, before any money-moving step.
    command.admitIdentity?.(found.value.identity);
    return { ...(await this.authorizeShopper(paymentId, found.value.identity, merchant, command, stages, started, offline)), ...score };
  }

  private async authorizeShopper(paymentId: bigint, shopperId: bigint, merchant: MerchantRecord, command: AuthorizeCommand, stages: Record<string, number>, started: number, offline: number | undefined): Promise<PaymentView> {
    const shopper = this.options.shoppers.shopper(shopperId);
    // A palm whose shopper was deleted cannot be in the gallery; if it is, treat it as unknown.
    if (!shopper || shopper.status !== 'active') return this.recordDeclined(paymentId, command, 'P1', stages, started, offline);
    const link = this.options.links.get(shopper.network);
    if (!link) throw new GatewayError('network_unavailable', `no link to ${shopper.network}`);
    const token = await timed(() => this.options.vault.openToken(shopperId, shopper.tokenSealed));
    stages.vault = token.ms;
    const currency = currencyByAlpha(command.currency);
    const date = new Date(offline ?? this.now()).toISOString();
    const unpredictable = randomBytes(4);
    // Read once: other payments advance the counter while this one awaits the HSM.
    this.atc = (this.atc + 1) & 0xffff;
    const atc = this.atc;
    const cryptogram = await timed(() => this.options.hsm.generateCryptogram({
      keyId: KEY_IDS.tokenCryptogram(shopper.network as NetworkName), tokenPan: token.value.tokenPan, amount_minor: command.amount_minor,
      currencyNumeric: currency.numeric, date: `${date.slice(2, 4)}${date.slice(5, 7)}${date.slice(8, 10)}`, unpredictableNumber: unpredictable, atc,
    }));
    stages.cryptogram = cryptogram.ms;
    const result = await timed(() => link.authorize({
      tokenPan: token.value.tokenPan, tokenExpiry: token.value.tokenExpiry, amount_minor: command.amount_minor, currency: currency.numeric,
      mcc: merchant.mcc, terminalId: command.terminalId, merchantId: merchant.id, palmIdentity: shopperId.toString(16), merchantName: merchant.name,
      emv: [
        { tag: '9F26', value: cryptogram.value.toString('hex').toUpperCase() }, { tag: '9F36', value: atc.toString(16).toUpperCase().padStart(4, '0') },
        { tag: '9F37', value: unpredictable.toString('hex').toUpperCase() }, { tag: '9F02', value: command.amount_minor.toString().padStart(12, '0') },
        { tag: '5F2A', value: String(currency.numeric).padStart(4, '0') }, { tag: '9A', value: `${date.slice(2, 4)}${date.slice(5, 7)}${date.slice(8, 10)}` },
      ],
    }, { standInOnly: offline !== undefined, reference: adviceReference(paymentId) }));
    stages.network = result.ms;
    return await this.recordAuthorization(paymentId, shopperId, shopper.network, link, merchant, command, result.value, stages, started);
  }

  private async recordAuthorization(paymentId: bigint, shopperId: bigint, network: string, link: NetworkLink, merchant: MerchantRecord, command: AuthorizeCommand, result: AuthorizationResult, stages: Record<string, number>, started: number): Promise<PaymentView> {
    // What a void reverses: the 0100 the network answered, or the advice of a stand-in approval.
    // Only an approval can be voided, so a decline costs no HSM call here.
    const sealedRequest = result.approved ? await this.options.vault.sealMessage(paymentId, result.advice ?? result.request) : undefined;
    if (result.approved) {
      const authCode = normaliseAuthCode(result.authCode);
      const hold = await timed(async () => {
        try {
          await execute(this.options.ledger, holdTransfers({
            authorization_id: paymentId, network, merchant: merchant.id, currency: command.currency, amount_minor: command.amount_minor, rrn: result.rrn,
            auth_code: authCode, timeout_seconds: holdTimeoutSeconds(this.now() + (this.options.hold_lifetime_ms ?? hold_lifetime_ms_default), this.now()),
            stand_in: result.source === 'stand-in',
          }));
          return true;
        } catch (error) {
          // Approved at the network but no hold: reverse it there rather than keep money we cannot account for.
          this.options.logger.error({ payment: paymentId.toString(16), err: error instanceof Error ? error.message : String(error) }, 'hold refused; reversing');
          await link.reverse(result.advice ?? result.request);
          return false;
        }
      });
      stages.ledger = hold.ms;
      if (!hold.value) throw new GatewayError('internal', 'the approval could not be recorded and was reversed');
    }
    stages.total = Math.round((performance.now() - started) * 1000) / 1000;
    const record: PaymentRecord = {
      id: paymentId, shopperId, merchantId: merchant.id, terminalId: command.terminalId, network, amount_minor: command.amount_minor, currency: command.currency,
      status: result.approved ? 'authorized' : 'declined', captured_minor: 0n, refunded_minor: 0n, captures: 0, refunds: 0, responseCode: result.responseCode,
      authCode: result.approved ? normaliseAuthCode(result.authCode) : undefined, source: result.source, rrn: result.rrn, stan: result.stan,
      created_ms: this.now(), captured_at_ms: undefined, updated_ms: this.now(), stages,
    };
    this.options.shoppers.insertPayment(record, sealedRequest);
    return { ...viewOf(record), exchange: exchangeOf(network, result) };
  }

  private recordDeclined(paymentId: bigint, command: AuthorizeCommand, responseCode: string, stages: Record<string, number>, started: number, offline: number | undefined): PaymentView {
    stages.total = Math.round((performance.now() - started) * 1000) / 1000;
    const record = declinedRecord(paymentId, command, responseCode, stages, offline ?? this.now());
    this.options.shoppers.insertPayment(record);
    return { ...viewOf(record), decision: 'not_identified' };
  }

  /** Passes a newly enrolled palm to the workers' index replicas; if they cannot take it, the enrolment is undone. */
  private async replicate(shopperId: bigint): Promise<void> {
    const { gallery, replica } = this.options;
    if (!replica) return;
    const template = gallery.index.get(shopperId);
    assert(template !== undefined, 'an enrolled palm is in the gallery');
    try {
      await replica.indexAdd(shopperId, templateCopy(template));
    } catch (error) {
      await this.removePalm(shopperId);
      throw error;
    }
  }

  /** Removes a palm from the gallery and from every replica; after this no search can find it. */
  private async removePalm(shopperId: bigint): Promise<boolean> {
    const removed = await this.options.gallery.delete(shopperId);
    await this.options.replica?.indexRemove(shopperId);
    return removed;
  }

  private merchantFor(merchantId: string, terminalId: string): MerchantRecord {
    const merchant = this.options.registry.getMerchant(merchantId);
    if (!merchant) throw new GatewayError('merchant_not_found', `no merchant ${merchantId}`);
    if (merchant.status !== 'active') throw new GatewayError('merchant_suspended', 'the merchant is suspended');
    const terminal = this.options.registry.getTerminal(terminalId);
    if (!terminal || terminal.merchantId !== merchant.id) throw new GatewayError('terminal_forbidden', 'the terminal does not belong to this merchant');
    return merchant;
  }

  private async ensureMerchantAccounts(merchant: MerchantRecord): Promise<void> {
    const key = `${merchant.id}/${merchant.currency}`;
    if (this.chartReady.has(key)) return;
    await ensureChart(this.options.ledger, { currencies: [merchant.currency], networks: [...this.options.links.keys()], merchants: [merchant.id] });
    this.chartReady.add(key);
  }

  private offlineTime(capturedAt_ms: number | undefined): number | undefined {
    if (capturedAt_ms === undefined) return undefined;
    const age = this.now() - capturedAt_ms;
    if (!Number.isFinite(age) || age < 0 || age > offline_capture_age_ms_max) {
      throw new GatewayError('request_invalid', `an offline capture must be 0..${offline_capture_age_ms_max / 3_600_000} hours old`);
    }
    return capturedAt_ms;
  }

  async capture(command: { paymentId: bigint; amount_minor?: bigint }): Promise<PaymentView> {
    const payment = this.requirePayment(command.paymentId);
    if (payment.status === 'captured' && command.amount_minor === undefined) return viewOf(payment);
    if (payment.status !== 'authorized') throw new GatewayError('payment_state_invalid', `a ${payment.status} payment cannot be captured`);
    const amount = command.amount_minor ?? payment.amount_minor;
    if (amount <= 0n || amount > payment.amount_minor) throw new GatewayError('amount_invalid', 'capture amount must be 1..the authorized amount');
    const fee = (amount * BigInt(this.options.fee_basis_points)) / 10_000n;
    await execute(this.options.ledger, captureTransfers({
      authorization_id: payment.id, capture_id: 1n, merchant: payment.merchantId, currency: payment.currency, amount_minor: amount, fee_minor: fee,
    }));
    // The issuer still holds the whole amount: a partial reversal (DE 95) releases the rest, and
    // the network settles only what was captured. Queued before the record changes, so a retry
    // after a crash queues it again (the network gives nothing back twice), never not at all.
    if (amount < payment.amount_minor) await this.reverseAtNetwork(payment, amount);
    const next: PaymentRecord = { ...payment, status: 'captured', captured_minor: amount, captures: 1, captured_at_ms: this.now(), updated_ms: Math.max(this.now(), payment.updated_ms + 1) };
    this.options.shoppers.updatePayment(payment, next);
    await this.standIns.afterCapture(next);
    return viewOf(next);
  }

  async void(command: { paymentId: bigint }): Promise<PaymentView> {
    const payment = this.requirePayment(command.paymentId);
    if (payment.status === 'voided') return viewOf(payment);
    if (payment.status !== 'authorized') throw new GatewayError('payment_state_invalid', `a ${payment.status} payment cannot be voided`);
    await execute(this.options.ledger, voidTransfers({ authorization_id: payment.id }));
    await this.reverseAtNetwork(payment);
    const next: PaymentRecord = { ...payment, status: 'voided', updated_ms: Math.max(this.now(), payment.updated_ms + 1) };
    this.options.shoppers.updatePayment(payment, next);
    return viewOf(next);
  }

  /** The whole authorization, or with `replacement_minor` all but that much of it. */
  private async reverseAtNetwork(payment: PaymentRecord, replacement_minor?: bigint): Promise<void> {
    const { link, authorization } = await this.authorizationOf(payment);
    await link.reverse(authorization, replacement_minor === undefined ? {} : { replacement_minor });
  }

  /** The link and the message the network knows the payment by: its 0100, or a stand-in's 0120. */
  private async authorizationOf(payment: PaymentRecord): Promise<{ link: NetworkLink; authorization: Message }> {
    const link = payment.network === undefined ? undefined : this.options.links.get(payment.network);
    const sealed = this.options.shoppers.sealedRequest(payment.id);
    if (!link || !sealed) throw new GatewayError('internal', 'the authorization is not on record');
    return { link, authorization: await this.options.vault.openMessage(payment.id, sealed) };
  }

  /**
   * Authorizations left uncaptured past the hold's life: the ledger's hold is released (it may
   * have timed out by itself already) and the network gets a full reversal, so the issuer frees
   * the shopper's funds and nothing settles. Marked `reversed`; a capture then is refused.
   */
  async expireAuthorizations(now_ms: number = this.now()): Promise<number> {
    const lifetime = this.options.hold_lifetime_ms ?? hold_lifetime_ms_default;
    const due = this.options.shoppers.authorizedBefore(now_ms - lifetime, expiry_sweep_batch_max);
    for (const payment of due) {
      await releaseHold(this.options.ledger, payment.id);
      await this.reverseAtNetwork(payment);
      this.options.shoppers.updatePayment(payment, { ...payment, status: 'reversed', updated_ms: Math.max(this.now(), payment.updated_ms + 1) });
      this.options.logger.info({ payment: payment.id.toString(16) }, 'authorization expired uncaptured; reversed');
    }
    return due.length;
  }

  async refund(command: { paymentId: bigint; amount_minor: bigint }): Promise<PaymentView> {
    const payment = this.requirePayment(command.paymentId);
    if (payment.status !== 'captured' && payment.status !== 'refunded') throw new GatewayError('payment_state_invalid', `a ${payment.status} payment cannot be refunded`);
    const left = payment.captured_minor - payment.refunded_minor;
    if (command.amount_minor <= 0n || command.amount_minor > left) throw new GatewayError('amount_invalid', `refund must be 1..${left} minor units`);
    assert(payment.network !== undefined, 'a captured payment has a network');
    const refundNumber = payment.refunds + 1;
    const approved = await this.refundAtNetwork(payment, command.amount_minor);
    try {
      await execute(this.options.ledger, refundTransfers({
        refund_id: BigInt(refundNumber), authorization_id: payment.id, network: payment.network, merchant: payment.merchantId, currency: payment.currency,
        amount_minor: command.amount_minor, rrn: approved.rrn, auth_code: normaliseAuthCode(approved.authCode),
      }));
    } catch (error) {
      // The card was credited but the books refuse the refund: take the credit back at the network.
      this.options.logger.error({ payment: payment.id.toString(16), err: error instanceof Error ? error.message : String(error) }, 'refund not booked; reversing');
      await approved.link.reverse(approved.request);
      throw error;
    }
    const next: PaymentRecord = { ...payment, status: 'refunded', refunds: refundNumber, refunded_minor: payment.refunded_minor + command.amount_minor, updated_ms: Math.max(this.now(), payment.updated_ms + 1) };
    this.options.shoppers.updatePayment(payment, next);
    return viewOf(next);
  }

  /**
   * Asks the network to credit the card (DE 3 = 20) with the token the payment was made with;
   * the refund settles under the RRN and code of this answer, so the ledger books it under them.
   */
  private async refundAtNetwork(payment: PaymentRecord, amount_minor: bigint): Promise<AuthorizationResult & { link: NetworkLink }> {
    const shopperId = payment.shopperId;
    assert(shopperId !== undefined, 'a refunded payment has a shopper');
    const { link, authorization } = await this.authorizationOf(payment);
    const field = (id: number): string => { const value = authorization.fields[id]; return typeof value === 'string' ? value : ''; };
    const answer = await link.refund({
      tokenPan: field(2), tokenExpiry: field(14), amount_minor, currency: Number(field(49)), mcc: field(18), terminalId: field(41),
      merchantId: field(42).trimEnd(), palmIdentity: shopperId.toString(16),
    });
    if (answer.lost !== undefined) throw new GatewayError('network_unavailable', 'the network did not answer the refund; nothing was refunded, try again later');
    if (!answer.approved) throw new GatewayError('refund_declined', `the network declined the refund (response code ${answer.responseCode})`, { details: { responseCode: answer.responseCode } });
    return { ...answer, link };
  }

  payment(paymentId: bigint): PaymentView { return viewOf(this.requirePayment(paymentId)); }

  payments(query: { limit: number; merchantId?: string }): PaymentView[] {
    return this.options.shoppers.recentPayments(query.limit, query.merchantId).map(viewOf);
  }

  private requirePayment(paymentId: bigint): PaymentRecord {
    const payment = this.options.shoppers.payment(paymentId);
    if (!payment) throw new GatewayError('payment_not_found', 'no such payment');
    return payment;
  }

  async identityByPalm(command: { terminalId: string; capture: CaptureUpload }): Promise<ShopperView> {
    return this.viewShopper(await this.identifyShopper(command.capture));
  }

  private async identifyShopper(capture: CaptureUpload): Promise<bigint> {
    const { gallery } = this.options;
    const extracted = await extract(this.extractor, capture);
    const probe = gallery.probe(extracted);
    this.options.liveness.check(extracted, probe.hash);
    const found = identify(gallery, probe, undefined, this.thresholds.threshold());
    if (found.identity === undefined) throw new GatewayError('shopper_not_found', 'this palm is not enrolled');
    return found.identity;
  }

  private viewShopper(shopperId: bigint): ShopperView {
    const shopper = this.options.shoppers.shopper(shopperId);
    if (!shopper || shopper.status !== 'active') throw new GatewayError('shopper_not_found', 'no such shopper');
    return shopperView(shopper, this.options.gallery.index.has(shopperId) ? 1 : 0, this.options.shoppers.paymentCount(shopperId));
  }

  async requestOtp(phone: string): Promise<void> {
    // The store is synchronous; yielding once keeps every failure a rejection, never a throw.
    await Promise.resolve();
    if (!/^\+[1-9]\d{6,14}$/.test(phone)) throw new GatewayError('request_invalid', 'phone must be E.164');
    // Same answer whether or not the phone is known: the endpoint must not reveal who is enrolled.
    if (!this.options.shoppers.shopperByPhone(phone)) return;
    const code = String(randomBytes(4).readUInt32BE(0) % 1_000_000).padStart(6, '0');
    this.options.shoppers.putOtp(phone, code, this.now());
    this.options.sendOtp(phone, code);
  }

  async identityByPhone(command: { phone: string; otp: string }): Promise<ShopperView> {
    // As in requestOtp: failures reach callers as rejections.
    await Promise.resolve();
    return this.viewShopper(this.shopperByOtp(command.phone, command.otp));
  }

  private shopperByOtp(phone: string, otp: string): bigint {
    if (!/^\d{6}$/.test(otp) || !this.options.shoppers.checkOtp(phone, otp, this.now())) throw new GatewayError('otp_invalid', 'the code is wrong or expired');
    const shopper = this.options.shoppers.shopperByPhone(phone);
    if (!shopper) throw new GatewayError('otp_invalid', 'the code is wrong or expired');
    return shopper.id;
  }

  async deleteByPalm(command: { terminalId: string; capture: CaptureUpload }): Promise<DeletionOutcome> {
    return await this.forget(await this.identifyShopper(command.capture), 'palm');
  }

  async deleteByPhone(command: { phone: string; otp: string }): Promise<DeletionOutcome> {
    return await this.forget(this.shopperByOtp(command.phone, command.otp), 'phone');
  }

  private async forget(shopperId: bigint, channel: 'palm' | 'phone'): Promise<DeletionOutcome> {
    const shopper = this.options.shoppers.shopper(shopperId);
    if (!shopper || shopper.status !== 'active') throw new GatewayError('shopper_not_found', 'no such shopper');
    const removed = await this.removePalm(shopperId);
    const service = this.options.tokenServices.get(shopper.network);
    let tokenDeleted = false;
    try {
      tokenDeleted = service !== undefined && await service.delete(shopper.tokenRef);
    } catch (error) {
      // The palm is gone already; the token is deleted on the token service's side by its own expiry if this fails.
      this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'token deletion failed');
    }
    this.options.shoppers.forgetShopper(shopperId, channel, this.now(), { templatesRemoved: removed ? 1 : 0, tokenDeleted });
    this.options.logger.info({ channel, templatesRemoved: removed ? 1 : 0, tokenDeleted }, 'shopper deleted');
    return { shopperId, templatesRemoved: removed ? 1 : 0, tokenDeleted };
  }
}

function checkCard(pan: string, expiry: string): void {
  if (!/^\d{12,19}$/.test(pan) || !luhnValid(pan)) throw new GatewayError('request_invalid', 'card number must be 12..19 digits with a valid check digit');
  if (!/^\d{2}(0[1-9]|1[0-2])$/.test(expiry)) throw new GatewayError('request_invalid', 'expiry must be YYMM');
}

function luhnValid(pan: string): boolean {
  let sum = 0;
  for (let i = 0; i < pan.length; i += 1) {
    let digit = pan.charCodeAt(pan.length - 1 - i) - 48;
    if (i % 2 === 1) { digit *= 2; if (digit > 9) digit -= 9; }
    sum += digit;
  }
  return sum % 10 === 0;
}

function checkAmount(amount_minor: bigint, currency: string, merchant: MerchantRecord): void {
  if (amount_minor <= 0n || amount_minor > amount_minor_max) throw new GatewayError('amount_invalid', `amount must be 1..${amount_minor_max} minor units`);
  if (currency !== merchant.currency) throw new GatewayError('currency_unsupported', `the merchant accepts ${merchant.currency}`);
}

/** Voids a hold; one the ledger already timed out (or voided before a crash) is just as released. */
async function releaseHold(ledger: Ledger, paymentId: bigint): Promise<void> {
  try {
    await execute(ledger, voidTransfers({ authorization_id: paymentId }));
  } catch (error) {
    const released = ['pending_transfer_expired', 'pending_transfer_already_voided'];
    if (error instanceof LedgerOperationError && error.statuses.length === 1 && released.includes(error.statuses[0]!)) return;
    throw error;
  }
}

/** The ledger keeps 6 characters of [0-9A-Z]; networks send 6 alphanumerics, stand-in its own. */
function normaliseAuthCode(code: string | undefined): string {
  const text = (code ?? '').trim().toUpperCase();
  if (!/^[0-9A-Z]{1,6}$/.test(text)) throw new GatewayError('internal', 'approval without a usable authorization code');
  return text.padStart(6, '0');
}
