/**
 * A tiny Prometheus registry (text exposition format 0.0.4): counters and histograms with
 * fixed buckets keyed by label values, and gauges read from callbacks at scrape time (link
 * state, SAF depth, ...). Label sets per metric are bounded so a stream of odd paths cannot
 * grow memory: routes are recorded by their template (`/v1/payments/:id`), never the raw path.
 */
import { assert } from '../../core/index.js';

/** Distinct label sets one metric keeps; later new sets are folded into `other`. */
export const metric_series_max = 1_000;
/** Latency buckets in seconds: 1 ms .. 10 s. */
export const latency_buckets_s = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Match score buckets (similarity 0..1). */
export const score_buckets = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

export type Labels = Readonly<Record<string, string>>;
export interface GaugeSample { readonly labels: Labels; readonly value: number }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([key, value]) => `${key}="${escape(value)}"`).join(',')}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

abstract class Series<T> {
  protected readonly series = new Map<string, { labels: Labels; value: T }>();
  constructor(readonly name: string, readonly help: string) { assert(NAME.test(name), `metric name ${name}`); }

  protected slot(labels: Labels, fresh: () => T): T {
    let key = labelText(labels);
    if (!this.series.has(key) && this.series.size >= metric_series_max) {
      labels = Object.fromEntries(Object.keys(labels).map((k) => [k, 'other']));
      key = labelText(labels);
    }
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, value: fresh() };
      this.series.set(key, entry);
    }
    return entry.value;
  }

  abstract render(): string[];
}

export class Counter extends Series<{ n: number }> {
  inc(labels: Labels = {}, by = 1): void {
    assert(by >= 0, 'counters only go up');
    this.slot(labels, () => ({ n: 0 })).n += by;
  }

  value(labels: Labels = {}): number { return this.series.get(labelText(labels))?.value.n ?? 0; }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.series.values()) lines.push(`${this.name}${labelText(labels)} ${numberText(value.n)}`);
    return lines;
  }
}

export class Histogram extends Series<{ counts: number[]; sum: number; count: number }> {
  constructor(name: string, help: string, private readonly buckets: readonly number[]) {
    super(name, help);
    assert(buckets.length > 0 && buckets.every((b, i) => i === 0 || b > (buckets[i - 1] ?? -Infinity)), 'buckets ascend');
  }

  observe(value: number, labels: Labels = {}): void {
    if (!Number.isFinite(value)) return;
    const slot = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i += 1) if (value <= (this.buckets[i] ?? Infinity)) slot.counts[i] = (slot.counts[i] ?? 0) + 1;
    slot.sum += value;
    slot.count += 1;
  }

  count(labels: Labels = {}): number { return this.series.get(labelText(labels))?.value.count ?? 0; }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, value } of this.series.values()) {
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket${labelText({ ...labels, le: numberText(bound) })} ${value.counts[i] ?? 0}`));
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${numberText(value.sum)}`, `${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return lines;
  }
}

export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly collect: () => readonly GaugeSample[]) { assert(NAME.test(name), `metric name ${name}`); }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    let samples: readonly GaugeSample[];
    try {
      samples = this.collect();
    } catch {
      // A failing source must not break the scrape; an absent gauge is what Prometheus alerts on.
      samples = [];
    }
    for (const sample of samples.slice(0, metric_series_max)) lines.push(`${this.name}${labelText(sample.labels)} ${numberText(sample.value)}`);
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Counter | Histogram | Gauge>();

  counter(name: string, help: string): Counter { return this.add(new Counter(name, help)); }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram { return this.add(new Histogram(name, help, buckets)); }
  gauge(name: string, help: string, collect: () => readonly GaugeSample[]): Gauge { return this.add(new Gauge(name, help, collect)); }

  private add<T extends Counter | Histogram | Gauge>(metric: T): T {
    assert(!this.metrics.has(metric.name), `metric ${metric.name} registered once`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics.values()) lines.push(...metric.render());
    return `${lines.join('\n')}\n`;
  }
}

/** The gateway's own metrics; the composition root adds gauges fed by the switch's parts. */
export interface GatewayMetrics {
  readonly registry: MetricsRegistry;
  readonly requests: Counter;
  readonly requestSeconds: Histogram;
  readonly stageSeconds: Histogram;
  readonly matchScore: Histogram;
  readonly decisions: Counter;
}

export function createGatewayMetrics(registry = new MetricsRegistry()): GatewayMetrics {
  return {
    registry,
    requests: registry.counter('palmswitch_http_requests_total', 'HTTP requests by route template, method and status.'),
    requestSeconds: registry.histogram('palmswitch_http_request_seconds', 'HTTP request latency by route template.', latency_buckets_s),
    stageSeconds: registry.histogram('palmswitch_payment_stage_seconds', 'Authorization latency per pipeline stage (decode, liveness, search, vault, cryptogram, network, ledger, total).', latency_buckets_s),
    matchScore: registry.histogram('palmswitch_match_score', '1:N match scores of identification decisions.', score_buckets),
    decisions: registry.counter('palmswitch_payment_decisions_total', 'Authorization decisions by decision, response code and source.'),
  };
}

/** Adds gauges for link state and store-and-forward depth read from the operations port at scrape time. */
export function registerLinkGauges(metrics: GatewayMetrics, links: () => readonly { network: string; up: number; inFlight: number; reversalsPending: number; advicesPending: number }[]): void {
  metrics.registry.gauge('palmswitch_link_up', 'Network link connections up, per network.', () => links().map((l) => ({ labels: { network: l.network }, value: l.up })));
  metrics.registry.gauge('palmswitch_link_in_flight', 'Requests in flight on a network link.', () => links().map((l) => ({ labels: { network: l.network }, value: l.inFlight })));
  metrics.registry.gauge('palmswitch_saf_depth', 'Store-and-forward queue depth (reversals and advices), per network.', () => links().flatMap((l) => [
    { labels: { network: l.network, kind: 'reversal' }, value: l.reversalsPending },
    { labels: { network: l.network, kind: 'advice' }, value: l.advicesPending },
  ]));
}
