/**
 * A link to one card network: a pool of persistent TCP connections (sign-on at connect, echo
 * when idle, reconnect with back-off), durable STANs, a bound on authorizations in flight
 * (a clear `link_overloaded` error when full), one time-out per request, and responses
 * matched by response MTI + STAN + DE 41 + DE 7 — never STAN alone, since a reversal reuses
 * its authorization's STAN.
 *
 * When an authorization's answer does not come (time-out, or its connection dropped), the
 * outcome is unknown, so a reversal is queued durably and repeated until acknowledged, and
 * the stand-in rules decide. Stand-in approvals become 0120 advices in the durable,
 * ordered store-and-forward queue, which drains whenever the link is up. A late approval
 * that arrives after its time-out is logged; its reversal is already queued.
 */
import { assert, AssertionError, createLogger, type Logger } from '../../core/index.js';
import type { Message } from '../../iso8583/index.js';
import type { HsmPort } from '../../hsm-sim/index.js';
import { LinkConnection } from './connection.js';
import { PendingTable } from './pending.js';
import { NetworkLinkError } from './errors.js';
import {
  adviceMessage, authorizationMessage, checkRequest, managementMessage, refundMessage, repeatOf, retrievalReference, reversalMessage, transmissionDateTime,
  type AuthorizationRequest, type Stamp,
} from './messages.js';
import { decideStandIn, DEFAULT_STAND_IN_RULES, type StandInReason, type StandInRules } from './standin.js';
import type { AdviceOutcome, LinkStore } from './store.js';
import { createLinkWire, encodeForMac, fieldText, matchKey, responseMti, MAC_SIZE_BYTES, type LinkWire } from './wire.js';

export const CONNECTIONS_MAX = 8;
export const IN_FLIGHT_MAX = 4_096;
/** Authorizations whose answer was given up on, remembered to recognise late answers. */
export const LOST_REMEMBERED_MAX = 10_000;
/** Queue messages sent per drain pass, so one pass never monopolises the link. */
export const DRAIN_BATCH_MAX = 256;
/** The switch wires one listener per link; a handful is already a leak. */
const ADVICE_LISTENERS_MAX = 8;
const DAY_MS = 86_400_000;
/** Exchanges other than authorizations and refunds in flight at once: sign-ons, echoes and key changes (a few per connection) and the two queue drains (one each). */
const OTHER_EXCHANGES_MAX = 256;

export interface LinkOptions {
  /** The network's name (settlement files, logs, the store's key). */
  readonly name: string;
  readonly spec: string;
  readonly host?: string;
  readonly port: number;
  readonly store: LinkStore;
  readonly acquirerId: string;
  /** Our token requestor id (11 digits). */
  readonly trid: string;
  readonly connections?: number;
  readonly in_flight_max?: number;
  readonly timeout_ms?: number;
  readonly echo_idle_ms?: number;
  readonly reconnect_ms_min?: number;
  readonly reconnect_ms_max?: number;
  /** Back-off of reversal and advice repeats. */
  readonly retry_ms_min?: number;
  readonly retry_ms_max?: number;
  readonly advice_expiry_ms?: number;
  readonly drain_interval_ms?: number;
  readonly reversalMti?: '0400' | '0420';
  readonly standIn?: StandInRules;
  readonly mac?: { readonly hsm: Pick<HsmPort, 'generateMac'>; readonly keyId: string };
  readonly logger?: Logger;
  readonly onUnmatched?: (event: UnmatchedEvent) => void;
  /**
   * Seals the card-data fields (DE 2, 35) of messages put in the durable queues, so the queue
   * file never holds a token PAN in clear (e.g. AES-GCM under an hsm-sim data key). Without
   * it, queued messages are stored as they are.
   */
  readonly protect?: FieldProtector;
}

export interface FieldProtector {
  seal(plain: Buffer): Promise<Buffer>;
  open(sealed: Buffer): Promise<Buffer>;
}

/** Queued card-data fields are stored as this prefix + base64 of the sealed value. */
const SEALED_PREFIX = 'sealed:';
const PROTECTED_FIELDS = [2, 35] as const;

export interface AuthorizationResult {
  readonly approved: boolean;
  readonly responseCode: string;
  readonly authCode: string | undefined;
  readonly source: 'network' | 'stand-in';
  readonly stan: string;
  readonly rrn: string;
  readonly transmission: string;
  /** Why the network did not decide. */
  readonly lost?: 'timeout' | 'disconnected' | 'link_down';
  readonly reversalId?: number;
  readonly adviceId?: number;
  readonly standInReason?: StandInReason;
  /** The authorization as built (token PAN in clear: mask before showing, seal before storing). */
  readonly request: Message;
  /** The network's answer, when it came. */
  readonly response?: Message;
  /** A stand-in approval's 0120, which is what the network will know the payment by. */
  readonly advice?: Message;
}

export interface UnmatchedEvent {
  readonly kind: 'late_approval' | 'late_response' | 'unmatched';
  readonly mti: string;
  readonly stan: string;
  readonly responseCode: string;
  readonly reversalQueued: boolean;
}

export interface LinkStatus {
  readonly up: number;
  readonly inFlight: number;
  readonly reversalsPending: number;
  readonly advicesPending: number;
  readonly counters: Readonly<Record<string, number>>;
}

type Lost = 'timeout' | 'disconnected';

interface Pending {
  readonly deadline_ms: number;
  /** Send order: time-outs resolve in it. */
  readonly order: number;
  readonly connection: LinkConnection;
  readonly resolve: (answer: Message | Lost) => void;
  readonly request: Message;
}

interface Settings {
  connections: number; in_flight_max: number; timeout_ms: number; echo_idle_ms: number; reconnect_ms_min: number; reconnect_ms_max: number;
  retry_ms_min: number; retry_ms_max: number; advice_expiry_ms: number; drain_interval_ms: number;
}

function settingsOf(options: LinkOptions): Settings {
  const s: Settings = {
    connections: options.connections ?? 1, in_flight_max: options.in_flight_max ?? 256, timeout_ms: options.timeout_ms ?? 5_000,
    echo_idle_ms: options.echo_idle_ms ?? 30_000, reconnect_ms_min: options.reconnect_ms_min ?? 100, reconnect_ms_max: options.reconnect_ms_max ?? 5_000,
    retry_ms_min: options.retry_ms_min ?? 1_000, retry_ms_max: options.retry_ms_max ?? 60_000, advice_expiry_ms: options.advice_expiry_ms ?? 7 * DAY_MS,
    drain_interval_ms: options.drain_interval_ms ?? 250,
  };
  const ok = s.connections >= 1 && s.connections <= CONNECTIONS_MAX && s.in_flight_max >= 1 && s.in_flight_max <= IN_FLIGHT_MAX
    && s.timeout_ms >= 10 && s.echo_idle_ms >= 50 && s.reconnect_ms_min >= 1 && s.reconnect_ms_max >= s.reconnect_ms_min
    && s.retry_ms_min >= 1 && s.retry_ms_max >= s.retry_ms_min && s.advice_expiry_ms > 0 && s.drain_interval_ms >= 5;
  if (!ok) throw new NetworkLinkError('link_option_invalid', `link ${options.name}: options out of range`);
  if (!/^\d{11}$/.test(options.trid) || !/^\d{1,11}$/.test(options.acquirerId)) throw new NetworkLinkError('link_option_invalid', 'trid must be 11 digits, acquirerId 1..11 digits');
  return s;
}

/** Exponential back-off with ±20 % jitter, so a fleet of links does not reconnect in step. */
function backoff(attempt: number, min_ms: number, max_ms: number): number {
  const base = Math.min(max_ms, min_ms * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class NetworkLink {
  readonly name: string;
  private readonly wire: LinkWire;
  private readonly settings: Settings;
  private readonly log: Logger;
  private readonly store: LinkStore;
  private readonly slots: (LinkConnection | undefined)[];
  private readonly reconnectAttempts: number[];
  private readonly pending: PendingTable<Pending>;
  private readonly lost = new Map<string, { reversalId: number | undefined }>();
  private readonly adviceListeners: ((outcome: AdviceOutcome) => void)[] = [];
  private readonly counters: Record<string, number> = {};
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly upWaiters: (() => void)[] = [];
  private macKeyId: string | undefined;
  private authInFlight = 0;
  private sent = 0;
  private roundRobin = 0;
  /** The link store's STAN reservation faults already logged (see stamp). */
  private stanReserveFaultsSeen = 0;
  private closing = false;
  private drainingReversals: Promise<void> | undefined;
  private drainingAdvices: Promise<void> | undefined;

  constructor(private readonly options: LinkOptions) {
    this.settings = settingsOf(options);
    this.name = options.name;
    this.wire = createLinkWire(options.spec);
    this.store = options.store;
    this.log = options.logger ?? createLogger({ name: `link-${options.name}` });
    this.slots = new Array<LinkConnection | undefined>(this.settings.connections).fill(undefined);
    this.reconnectAttempts = new Array<number>(this.settings.connections).fill(0);
    this.macKeyId = options.mac?.keyId;
    this.pending = new PendingTable<Pending>(this.settings.in_flight_max + OTHER_EXCHANGES_MAX);
  }

  /** Opens the pool; resolves at once (connections come up in the background). */
  start(): void {
    assert(this.timers.length === 0, 'a link starts once');
    for (let slot = 0; slot < this.slots.length; slot += 1) void this.openSlot(slot);
    const sweep_ms = Math.max(5, Math.min(50, Math.floor(this.settings.timeout_ms / 10)));
    this.timers.push(setInterval(() => this.sweep(), sweep_ms));
    this.timers.push(setInterval(() => this.echoIdle(), Math.max(25, Math.floor(this.settings.echo_idle_ms / 2))));
    this.timers.push(setInterval(() => this.kickDrains(), this.settings.drain_interval_ms));
    for (const timer of this.timers) timer.unref();
  }

  /** Resolves when at least one connection is signed on, or false after `timeout_ms`. */
  waitUntilUp(timeout_ms: number): Promise<boolean> {
    if (this.upCount() > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeout_ms);
      this.upWaiters.push(() => { clearTimeout(timer); resolve(true); });
    });
  }

  status(): LinkStatus {
    const counts = this.store.pendingCounts(this.name);
    return { up: this.upCount(), inFlight: this.authInFlight, reversalsPending: counts.reversals, advicesPending: counts.advices, counters: { ...this.counters } };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const connection of this.slots) {
      // Signed-on connections sign off (0800/002) on the way out; the answer is not awaited.
      if (connection?.signedOn && connection.isOpen) connection.finish(this.wire.codec.encode(managementMessage('002', this.stamp(new Date()))));
      else connection?.close();
    }
    for (const entry of this.takePending(() => true)) entry.resolve('disconnected');
    // Queue drains still write their outcome to the store: the caller may close it after us.
    await Promise.all([this.drainingReversals, this.drainingAdvices]);
  }

  private count(name: string): void {
    this.counters[name] = (this.counters[name] ?? 0) + 1;
  }

  private upCount(): number {
    let up = 0;
    for (const connection of this.slots) if (connection?.signedOn && connection.isOpen) up += 1;
    return up;
  }

  private pick(): LinkConnection | undefined {
    for (let i = 0; i < this.slots.length; i += 1) {
      this.roundRobin = (this.roundRobin + 1) % this.slots.length;
      const connection = this.slots[this.roundRobin];
      if (connection?.signedOn && connection.isOpen) return connection;
    }
    return undefined;
  }

  private stamp(now: Date): Stamp {
    const wraps = this.store.stanWraps;
    const stan = this.store.allocateStan(this.name, now.getTime());
    if (this.store.stanWraps !== wraps) this.log.warn({ link: this.name }, 'all STANs of the day used; wrapped to 000001');
    // Reservations ahead fail off this thread, at any time: told at the next STAN after them.
    if (this.store.stanReserveFaults !== this.stanReserveFaultsSeen) {
      this.stanReserveFaultsSeen = this.store.stanReserveFaults;
      this.log.warn({ link: this.name, err: this.store.lastStanReserveFault }, 'STAN block not reserved ahead; reserving on the event loop when needed');
    }
    return { stan, transmission: transmissionDateTime(now), rrn: retrievalReference(now, stan) };
  }

  /** A well-formed request on an open link with room for it in flight, or a typed refusal. */
  private admit(request: AuthorizationRequest): void {
    checkRequest(request);
    if (this.closing) throw new NetworkLinkError('link_closed', `link ${this.name} is closed`);
    if (this.authInFlight >= this.settings.in_flight_max) {
      this.count('overloaded');
      throw new NetworkLinkError('link_overloaded', `link ${this.name}: ${this.settings.in_flight_max} authorizations in flight`);
    }
  }

  /**
   * Asks the network; on no answer queues the reversal and lets the stand-in rules decide.
   * `standInOnly`: a capture an offline terminal took earlier and forwards now — the shopper
   * has left, so the stand-in rules decide at once and an approval goes to the network as an
   * 0120 advice (store-and-forward), never as an 0100.
   */
  async authorize(request: AuthorizationRequest, options: { standInOnly?: boolean; reference?: string } = {}): Promise<AuthorizationResult> {
    this.admit(request);
    const now = new Date();
    const message = authorizationMessage(this.wire, request, this.stamp(now), now, this.options.acquirerId, this.options.trid);
    if (options.standInOnly === true) {
      this.count('offline_forwarded');
      return await this.standIn(request, message, undefined, undefined, options.reference);
    }
    // Nothing sent (no connection, or the HSM could not MAC it): only stand-in can answer.
    const answer = await this.ask(message, 'authorization');
    if (answer === 'link_down' || answer === 'unsent') return this.standIn(request, message, 'link_down', undefined, options.reference);
    if (typeof answer === 'string') return this.unknownOutcome(request, message, answer, options.reference);
    return this.answered(message, answer);
  }

  /** One request within the in-flight bound: its answer, a lost outcome, or why nothing was sent. */
  private async ask(message: Message, what: string): Promise<Message | Lost | 'link_down' | 'unsent'> {
    const connection = this.pick();
    if (!connection) return 'link_down';
    this.authInFlight += 1;
    try {
      return await this.exchange(connection, message);
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      this.log.error({ link: this.name, stan: message.fields[11], err: error instanceof Error ? error.message : String(error) }, `${what} not sent`);
      this.count('unsent');
      return 'unsent';
    } finally {
      this.authInFlight -= 1;
    }
  }

  private answered(message: Message, answer: Message): AuthorizationResult {
    const code = fieldText(answer.fields, 39);
    const authCode = answer.fields[38];
    this.count(`network_${code}`);
    return {
      approved: code === '00', responseCode: code, authCode: typeof authCode === 'string' ? authCode : undefined, source: 'network',
      stan: fieldText(message.fields, 11), rrn: fieldText(message.fields, 37), transmission: fieldText(message.fields, 7), request: message, response: answer,
    };
  }

  /**
   * A refund authorization (DE 3 = 20): the network credits the card, and the refund settles
   * under this message's RRN and the network's code. Never stood in for: a refund is not
   * urgent, so with no answer it is reversed (in case it landed), refused with 91, and the
   * merchant tries again.
   */
  async refund(request: AuthorizationRequest): Promise<AuthorizationResult> {
    this.admit(request);
    const now = new Date();
    const message = refundMessage(this.wire, request, this.stamp(now), now, this.options.acquirerId, this.options.trid);
    const answer = await this.ask(message, 'refund');
    if (answer === 'link_down' || answer === 'unsent') return this.refundUnanswered(message, 'link_down', false);
    return typeof answer === 'string' ? this.refundUnanswered(message, answer, true) : this.answered(message, answer);
  }

  private async refundUnanswered(message: Message, lost: Lost | 'link_down', sent: boolean): Promise<AuthorizationResult> {
    this.count(`refund_${lost}`);
    let reversalId: number | undefined;
    if (sent) {
      try {
        reversalId = this.store.enqueueReversal(this.name, await this.sealed(reversalMessage(message, '0400', transmissionDateTime(new Date()))), Date.now());
      } catch (error) {
        // The refund may have landed with no reversal to follow: reconciliation will show it.
        this.log.error({ link: this.name, stan: message.fields[11], err: error instanceof Error ? error.message : String(error) }, 'refund reversal not queued');
      }
      this.rememberLost(matchKey(responseMti(message.mti), message.fields), reversalId);
      this.kickDrains();
    }
    return {
      approved: false, responseCode: '91', authCode: undefined, source: 'network', stan: fieldText(message.fields, 11), rrn: fieldText(message.fields, 37),
      transmission: fieldText(message.fields, 7), lost, ...(reversalId !== undefined ? { reversalId } : {}), request: message,
    };
  }

  /**
   * Calls `listener` as each named stand-in advice is answered or expires (the ledger moves a
   * stand-in's exposure to the receivable once the network accepts it). Listeners must not
   * throw; what they miss in a crash, `adviceOutcomes` lists again at start.
   */
  onAdviceOutcome(listener: (outcome: AdviceOutcome) => void): void {
    assert(this.adviceListeners.length < ADVICE_LISTENERS_MAX, 'a bounded number of advice listeners');
    this.adviceListeners.push(listener);
  }

  /** The named advices this link has finished (a restart catches up from these). */
  adviceOutcomes(): AdviceOutcome[] {
    return this.store.adviceOutcomes(this.name);
  }

  /** What became of the advice named `reference`; undefined while it waits or when there is none. */
  adviceOutcome(reference: string): AdviceOutcome | undefined {
    return this.store.adviceOutcome(reference);
  }

  private tellAdviceOutcome(id: number, status: AdviceOutcome['status'], responseCode: string | null): void {
    const reference = this.adviceListeners.length === 0 ? undefined : this.store.adviceReference(id);
    if (reference === undefined) return;
    for (const listener of this.adviceListeners) listener({ reference, status, response_code: responseCode });
  }

  /**
   * A reversal the acquirer decides on — a void before capture, an approval whose ledger hold
   * could not be written, or (with `replacement_minor`, DE 95) the part a partial capture
   * leaves — queued durably and repeated (0401) until the network acknowledges it.
   */
  async reverse(authorization: Message, options: { replacement_minor?: bigint } = {}): Promise<number> {
    // An 0100 the network answered is reversed by an 0400; a stand-in approval it learnt of by an 0120 advice, by an 0420.
    if (authorization.mti !== '0100' && authorization.mti !== '0120') throw new NetworkLinkError('link_request_invalid', `only an 0100 or 0120 can be reversed, not ${authorization.mti}`);
    const queued = await this.sealed(reversalMessage(authorization, authorization.mti === '0100' ? '0400' : '0420', transmissionDateTime(new Date()), options.replacement_minor));
    const id = this.store.enqueueReversal(this.name, queued, Date.now());
    this.count('reversal_requested');
    this.kickDrains();
    return id;
  }

  /** A copy of `message` whose card-data fields are sealed for the durable queue. */
  private async sealed(message: Message): Promise<Message> {
    const protect = this.options.protect;
    if (!protect) return message;
    const fields = { ...message.fields };
    for (const id of PROTECTED_FIELDS) {
      const value = fields[id];
      if (typeof value === 'string') fields[id] = SEALED_PREFIX + (await protect.seal(Buffer.from(value, 'latin1'))).toString('base64');
    }
    return { mti: message.mti, fields };
  }

  /** The queued message with its card-data fields opened again, just before it is sent. */
  private async opened(message: Message): Promise<Message> {
    const protect = this.options.protect;
    const fields = { ...message.fields };
    for (const id of PROTECTED_FIELDS) {
      const value = fields[id];
      if (typeof value !== 'string' || !value.startsWith(SEALED_PREFIX)) continue;
      if (!protect) throw new NetworkLinkError('link_option_invalid', 'a sealed message is queued but the link has no protector');
      fields[id] = (await protect.open(Buffer.from(value.slice(SEALED_PREFIX.length), 'base64'))).toString('latin1');
    }
    return { mti: message.mti, fields };
  }

  private async unknownOutcome(request: AuthorizationRequest, message: Message, lost: Lost, reference: string | undefined): Promise<AuthorizationResult> {
    this.count(lost);
    let reversalId: number | undefined;
    try {
      reversalId = this.store.enqueueReversal(this.name, await this.sealed(reversalMessage(message, this.options.reversalMti ?? '0400', transmissionDateTime(new Date()))), Date.now());
    } catch (error) {
      // Without a queued reversal an approval we never saw could stand: no stand-in approval either.
      this.log.error({ link: this.name, stan: message.fields[11], err: error instanceof Error ? error.message : String(error) }, 'reversal not queued');
    }
    this.rememberLost(matchKey(responseMti(message.mti), message.fields), reversalId);
    this.kickDrains();
    if (reversalId === undefined) return this.declined(message, 'queue_full', lost, undefined);
    return this.standIn(request, message, lost, reversalId, reference);
  }

  private rememberLost(key: string, reversalId: number | undefined): void {
    if (this.lost.size >= LOST_REMEMBERED_MAX) {
      const oldest = this.lost.keys().next().value;
      if (oldest !== undefined) this.lost.delete(oldest);
    }
    this.lost.set(key, { reversalId });
  }

  private async standIn(request: AuthorizationRequest, message: Message, lost: AuthorizationResult['lost'], reversalId: number | undefined, reference: string | undefined): Promise<AuthorizationResult> {
    const rules = this.options.standIn ?? DEFAULT_STAND_IN_RULES;
    const now_ms = Date.now();
    const usage = this.store.standInUsage(request.palmIdentity, request.merchantId, now_ms, rules.velocity_window_ms);
    const decision = decideStandIn(rules, request, usage);
    if (!decision.approve) return this.declined(message, decision.reason, lost, reversalId);
    const advice = adviceMessage(message, this.stamp(new Date(now_ms)), decision.authCode);
    let adviceId: number;
    try {
      adviceId = this.store.enqueueAdvice(this.name, {
        message: await this.sealed(advice), identity: request.palmIdentity, merchant: request.merchantId, amount_minor: request.amount_minor, currency: request.currency,
        now_ms, expires_ms: now_ms + this.settings.advice_expiry_ms, ...(reference === undefined ? {} : { reference }),
      });
    } catch (error) {
      this.log.error({ link: this.name, err: error instanceof Error ? error.message : String(error) }, 'advice not queued; declining');
      return this.declined(message, 'queue_full', lost, reversalId);
    }
    this.count('stand_in_approved');
    this.kickDrains();
    return {
      approved: true, responseCode: '00', authCode: decision.authCode, source: 'stand-in', stan: fieldText(message.fields, 11), rrn: fieldText(message.fields, 37),
      transmission: fieldText(message.fields, 7), ...(lost ? { lost } : {}), ...(reversalId !== undefined ? { reversalId } : {}), adviceId, request: message, advice,
    };
  }

  private declined(message: Message, reason: StandInReason, lost: AuthorizationResult['lost'], reversalId: number | undefined): AuthorizationResult {
    this.count('stand_in_declined');
    return {
      approved: false, responseCode: '91', authCode: undefined, source: 'stand-in', stan: fieldText(message.fields, 11), rrn: fieldText(message.fields, 37),
      transmission: fieldText(message.fields, 7), standInReason: reason, ...(lost ? { lost } : {}), ...(reversalId !== undefined ? { reversalId } : {}), request: message,
    };
  }

  /**
   * Sends one request and waits for its answer, the time-out, or the end of its connection.
   * Without a MAC the request is encoded and queued at once: one promise per exchange, no
   * async frames in between (this runs for every authorization). Failures reject, never throw.
   */
  private exchange(connection: LinkConnection, message: Message): Promise<Message | Lost> {
    try {
      const encoded = this.encode(message);
      if (encoded instanceof Promise) return encoded.then((bytes) => this.sendAndWait(connection, message, bytes));
      return this.sendAndWait(connection, message, encoded);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private sendAndWait(connection: LinkConnection, message: Message, bytes: Buffer): Promise<Message | Lost> {
    const key = matchKey(responseMti(message.mti), message.fields);
    assert(!this.pending.has(key), 'one request per match key in flight');
    // Authorizations are bounded below this (in_flight_max); only a flood of management exchanges gets here.
    if (this.pending.full) return Promise.reject(new NetworkLinkError('link_overloaded', `link ${this.name}: ${this.pending.entries_max} exchanges in flight`));
    return new Promise<Message | Lost>((resolve) => {
      // Queued first (a frame too large throws here, leaving nothing pending); the answer cannot come before the turn's write.
      if (!connection.send(bytes)) {
        resolve('disconnected');
        return;
      }
      this.pending.add(key, { deadline_ms: Date.now() + this.settings.timeout_ms, order: this.sent++, connection, resolve, request: message });
    });
  }

  private encode(message: Message): Buffer | Promise<Buffer> {
    const mac = this.options.mac;
    if (mac === undefined || this.macKeyId === undefined || message.mti === '0800') return this.wire.codec.encode(message);
    return this.encodeWithMac(message, mac.hsm, this.macKeyId);
  }

  private async encodeWithMac(message: Message, hsm: Pick<HsmPort, 'generateMac'>, keyId: string): Promise<Buffer> {
    const bytes = encodeForMac(this.wire.codec, message);
    const code = await hsm.generateMac({ keyId, data: bytes.subarray(0, bytes.length - MAC_SIZE_BYTES) });
    assert(code.length === MAC_SIZE_BYTES, 'an 8-byte MAC');
    code.copy(bytes, bytes.length - MAC_SIZE_BYTES);
    return bytes;
  }

  private onMessage(message: Message, connection: LinkConnection): void {
    if (message.mti === '0800') {
      // The network checks on us: answer its echo or sign-on.
      connection.send(this.wire.codec.encode({ mti: '0810', fields: { 7: message.fields[7] ?? '', 11: message.fields[11] ?? '', 39: '00', 70: message.fields[70] ?? '' } }));
      return;
    }
    const key = matchKey(message.mti, message.fields);
    const entry = this.pending.take(key);
    if (entry) {
      entry.resolve(message);
      return;
    }
    // The answer to our sign-off on the way out: expected, and not awaited (see close).
    if (this.closing && message.mti === '0810' && message.fields[70] === '002') { this.count('sign_off_answered'); return; }
    this.unmatched(message, key);
  }

  /** A late or unknown answer: logged; a late approval's reversal was queued at its time-out. */
  private unmatched(message: Message, key: string): void {
    const remembered = this.lost.get(key);
    const code = fieldText(message.fields, 39);
    const approval = code === '00' && (message.mti === '0110' || message.mti === '0210');
    const kind: UnmatchedEvent['kind'] = remembered ? (approval ? 'late_approval' : 'late_response') : 'unmatched';
    const reversalQueued = remembered?.reversalId !== undefined;
    this.count(kind);
    const level = kind === 'late_approval' && !reversalQueued ? 'error' : 'warn';
    this.log[level]({ link: this.name, mti: message.mti, stan: message.fields[11], code, reversalQueued }, kind === 'late_approval' ? 'late approval after time-out; its reversal is queued' : 'answer matches no request in flight');
    if (approval && !remembered) this.log.error({ link: this.name, stan: message.fields[11] }, 'approval for an unknown request: finance must check it');
    this.options.onUnmatched?.({ kind, mti: message.mti, stan: fieldText(message.fields, 11), responseCode: code, reversalQueued });
  }

  /** Removes the pending entries `picked` chooses, in the order they were sent (so their reversals queue in that order). */
  private takePending(picked: (entry: Pending) => boolean): Pending[] {
    return this.pending.takeWhere(picked).sort((a, b) => a.order - b.order);
  }

  /** Time-outs. */
  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = Date.now();
    for (const entry of this.takePending((pending) => pending.deadline_ms <= now)) entry.resolve('timeout');
  }

  private onClose(connection: LinkConnection): void {
    for (const entry of this.takePending((pending) => pending.connection === connection)) entry.resolve('disconnected');
    const slot = this.slots.indexOf(connection);
    if (slot >= 0 && !this.closing) {
      this.log.warn({ link: this.name, connection: connection.id }, 'link connection closed; reconnecting');
      this.count('disconnects');
      this.scheduleReconnect(slot);
    }
  }

  private scheduleReconnect(slot: number): void {
    const attempt = this.reconnectAttempts[slot] ?? 0;
    this.reconnectAttempts[slot] = attempt + 1;
    this.slots[slot] = undefined;
    const timer = setTimeout(() => void this.openSlot(slot), backoff(attempt, this.settings.reconnect_ms_min, this.settings.reconnect_ms_max));
    timer.unref();
  }

  private async openSlot(slot: number): Promise<void> {
    if (this.closing) return;
    const connection = new LinkConnection(this.wire, this.log, {
      onMessage: (message, from) => this.onMessage(message, from),
      onMalformed: (error) => {
        this.count('malformed');
        this.log.warn({ link: this.name, err: error instanceof Error ? error.message : String(error) }, 'malformed frame from the network; skipped');
      },
      onClose: (closed) => this.onClose(closed),
    });
    this.slots[slot] = connection;
    try {
      await connection.connect(this.options.host ?? '127.0.0.1', this.options.port);
    } catch {
      if (!this.closing) this.scheduleReconnect(slot);
      return;
    }
    const answer = await this.exchange(connection, managementMessage('001', this.stamp(new Date())));
    if (typeof answer === 'string' || answer.fields[39] !== '00') {
      this.log.warn({ link: this.name, answer: typeof answer === 'string' ? answer : answer.fields[39] }, 'sign-on refused');
      connection.close();
      return;
    }
    connection.signedOn = true;
    this.reconnectAttempts[slot] = 0;
    this.log.info({ link: this.name, connection: connection.id }, 'signed on');
    for (const wake of this.upWaiters.splice(0)) wake();
    this.kickDrains();
  }

  private echoIdle(): void {
    const now = Date.now();
    for (const connection of this.slots) {
      if (!connection?.signedOn || !connection.isOpen || now - connection.lastReceived_ms < this.settings.echo_idle_ms) continue;
      connection.lastReceived_ms = now;
      void this.exchange(connection, managementMessage('301', this.stamp(new Date(now)))).then((answer) => {
        if (typeof answer === 'string') {
          this.log.warn({ link: this.name, connection: connection.id }, 'echo unanswered; dropping the connection');
          connection.close();
        }
      });
    }
  }

  /** Sends a key change (0800/161) on every connection and switches to the new MAC key when all accept it. */
  async changeMacKey(keyId: string, kcv: string): Promise<boolean> {
    const answers = await Promise.all(this.slots.filter((c): c is LinkConnection => c?.signedOn === true && c.isOpen)
      .map((connection) => this.exchange(connection, managementMessage('161', this.stamp(new Date()), this.wire.keyChangeField(keyId, kcv)))));
    const accepted = answers.length > 0 && answers.every((answer) => typeof answer !== 'string' && answer.fields[39] === '00');
    if (accepted) this.macKeyId = keyId;
    return accepted;
  }

  private kickDrains(): void {
    if (this.closing || this.upCount() === 0) return;
    const failed = (error: unknown): void => { this.log.error({ link: this.name, err: error instanceof Error ? error.message : String(error) }, 'queue drain failed; retried on the next pass'); };
    this.drainingReversals ??= this.drainReversals().catch(failed).finally(() => { this.drainingReversals = undefined; });
    this.drainingAdvices ??= this.drainAdvices().catch(failed).finally(() => { this.drainingAdvices = undefined; });
  }

  private async drainReversals(): Promise<void> {
    for (let sent = 0; sent < DRAIN_BATCH_MAX && !this.closing; sent += 1) {
      const connection = this.pick();
      const row = connection ? this.store.nextReversal(this.name, Date.now()) : undefined;
      if (!connection || !row) break;
      const queued = await this.opened(row.message);
      const answer = await this.exchange(connection, row.attempts === 0 ? queued : repeatOf(queued));
      if (typeof answer === 'string') {
        this.store.retryReversal(row.id, row.attempts + 1, Date.now() + backoff(row.attempts, this.settings.retry_ms_min, this.settings.retry_ms_max));
        this.count('reversal_retries');
        continue;
      }
      this.store.ackReversal(row.id, fieldText(answer.fields, 39));
      this.count('reversals_acked');
    }
  }

  /** Advices leave strictly in order: the head is retried (0121) until answered or expired. */
  private async drainAdvices(): Promise<void> {
    for (let sent = 0; sent < DRAIN_BATCH_MAX && !this.closing; sent += 1) {
      const connection = this.pick();
      const head = connection ? this.store.headAdvice(this.name) : undefined;
      if (!connection || !head) break;
      const now = Date.now();
      if (head.expires_at <= now) {
        this.store.finishAdvice(head.id, 'expired', null);
        this.log.error({ link: this.name, advice: head.id }, 'advice expired unsent; flagged for finance');
        this.tellAdviceOutcome(head.id, 'expired', null);
        continue;
      }
      if (head.next_at > now) break;
      const queued = await this.opened(head.message);
      const answer = await this.exchange(connection, head.attempts === 0 ? queued : repeatOf(queued));
      if (typeof answer === 'string') {
        this.store.retryAdvice(head.id, head.attempts + 1, Date.now() + backoff(head.attempts, this.settings.retry_ms_min, this.settings.retry_ms_max));
        this.count('advice_retries');
        break;
      }
      const code = fieldText(answer.fields, 39);
      this.store.finishAdvice(head.id, code === '00' ? 'acked' : 'declined', code);
      this.count(code === '00' ? 'advices_acked' : 'advices_declined');
      if (code !== '00') this.log.warn({ link: this.name, advice: head.id, code }, 'advice declined by the network; flagged for finance');
      this.tellAdviceOutcome(head.id, code === '00' ? 'acked' : 'declined', code);
    }
  }
}
