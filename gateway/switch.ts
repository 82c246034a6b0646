/**
 * The composition root: from configuration to a running switch — hsm-sim client and the
 * switch's keys, the ledger (embedded or TigerBeetle), one network link per card network with
 * MACs, the token services, the biometric gallery loaded from the store, liveness, the
 * payment pipeline and the reports. Everything it opens, `close()` closes, in reverse order.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, WalCheckpointer, type Config, type Logger } from '../core/index.js';
import { deriveTransform, FeatureModels, hsmTemplateKeys, type Gallery, type PadModel } from '../biometric/index.js';
import { openGalleryParallel } from './gallery-load.js';
import { HsmClient } from '../hsm-sim/index.js';
import { ledger_file_name, openLedger, type Ledger } from '../ledger/index.js';
import { ThreadLedger } from './ledger-thread.js';
import { LinkStore, NetworkLink, type StandInRules } from './network/index.js';
import { GatewayError } from './errors.js';
import { ensureSwitchKeys, KEY_IDS, NETWORK_NAMES, type NetworkName } from './keys.js';
import type { LinkView, OperationsPort } from './pipeline/contract.js';
import { LivenessGuard } from './pipeline/palm.js';
import { ExtractPool } from './pipeline/extract-pool.js';
import { snapshotOf } from './pipeline/search-replica.js';
import { PalmPipeline } from './pipeline/pipeline.js';
import { Reports, SimulatorSettlementSource, type SettlementSource } from './reports.js';
import { openGatewayDatabase, type GatewayDatabase } from './store/database.js';
import { gatewayWalSync } from './store/durability.js';
import { CalibrationStore } from './store/calibration.js';
import type { RegistryStore } from './store/port.js';
import { ShopperStore } from './store/shoppers.js';
import { HttpTokenService, type TokenService } from './token-service.js';
import { TokenVault } from './vault.js';

/** Our acquirer id (DE 32) and token requestor id in the development stack. */
export const dev_acquirer_id = '40000001';
export const dev_token_requestor_id = '40000000001';
/** SMS codes kept for the dev stack's outbox. */
export const sms_outbox_max = 50;
/** How often uncaptured authorizations past their hold's life are looked for (and reversed). */
export const expiry_sweep_interval_ms = 60_000;
export const gateway_database_file = 'gateway.sqlite';

export interface SwitchOptions<R extends RegistryStore = RegistryStore> {
  readonly config: Config;
  readonly logger: Logger;
  /** Opens the terminal/merchant registry on the gateway's database (the HTTP layer's store). */
  readonly openRegistry: (db: GatewayDatabase) => R;
  readonly fee_basis_points?: number;
  readonly standIn?: StandInRules;
  readonly authorizationTimeout_ms?: number;
  /** Replaces the simulators' settlement API (tests with files of their own). */
  readonly settlementSources?: ReadonlyMap<string, SettlementSource>;
  /** The networks' JSON APIs (token service, settlement); default: ISO port + 100 on the configured host. */
  readonly networkApiUrls?: ReadonlyMap<string, string>;
  /** Feature-extraction worker threads (0: extract on the event loop). Default: one per core, at most 2. */
  readonly extractWorkers?: number;
}

export interface Switch<R extends RegistryStore = RegistryStore> {
  readonly pipeline: PalmPipeline;
  readonly reports: Reports;
  readonly operations: OperationsPort;
  readonly registry: R;
  readonly hsm: HsmClient;
  readonly ledger: Ledger;
  readonly gallery: Gallery;
  readonly links: ReadonlyMap<NetworkName, NetworkLink>;
  readonly db: GatewayDatabase;
  /** Resolves once every commit to `db` so far is on disk; await it before acknowledging a write. */
  durable(): Promise<void>;
  close(): Promise<void>;
}

/** The card network of a card number, by its leading digits (development BIN table). */
export function networkOfCard(pan: string): NetworkName {
  if (pan.startsWith('4')) return 'visa-like';
  if (/^(5[1-5]|2[2-7])/.test(pan)) return 'mastercard-like';
  throw new GatewayError('card_rejected', 'cards of this network are not accepted');
}

export async function openSwitch<R extends RegistryStore>(options: SwitchOptions<R>): Promise<Switch<R>> {
  const { config, logger } = options;
  const hsm = new HsmClient({ port: config.hsmPort, host: config.host, connections: 4 });
  const created = await ensureSwitchKeys(hsm);
  if (created.length > 0) logger.info({ created }, 'switch keys created in hsm-sim');
  const ledger = await openSwitchLedger(config);
  const dbFile = path.join(config.dataDir, gateway_database_file);
  const db = openGatewayDatabase(dbFile, { syncAtBarrier: true });
  const walSync = gatewayWalSync(db, dbFile);
  // Checkpoints run on a worker thread; an automatic one would stall a commit on the event loop.
  db.pragma('wal_autocheckpoint = 0');
  const checkpointer = new WalCheckpointer({
    file: dbFile,
    checkpointHere: () => { db.pragma('wal_checkpoint(PASSIVE)'); },
    onError: (message) => logger.warn({ err: message }, 'gateway WAL checkpoint failed'),
  });
  const durable = (): Promise<void> => walSync.barrier();
  const registry = options.openRegistry(db);
  const shoppers = new ShopperStore(db, durable);
  const models = await FeatureModels.load();
  const keys = hsmTemplateKeys(hsm);
  const gallery = await openGalleryParallel({ models, keys, store: shoppers, permutationKeyId: KEY_IDS.templatePermutation, dataKeyId: KEY_IDS.templateData });
  const calibration = new CalibrationStore(db);
  // The threshold starts from the impostor samples of earlier enrolments, not from the default.
  for (const score of calibration.scores()) gallery.reservoir.add(score);
  const tail = calibration.tail();
  if (tail) gallery.searchTail.restore(tail);
  const liveness = await loadLiveness(gallery, config.dataDir);
  const workers = options.extractWorkers ?? Math.min(2, os.availableParallelism());
  // The workers make probes under the gallery's transform and search their replicas of its index.
  const replica = { transform: await deriveTransform(keys, KEY_IDS.templatePermutation, gallery.keyVersion), scoreModel: gallery.index.scoreModel };
  const pool = workers > 0 ? await ExtractPool.start(workers, replica, () => snapshotOf(gallery)) : undefined;
  await pool?.loadIndex(snapshotOf(gallery));
  const { links, store: linkStore } = openLinks(options, hsm);
  const tokenServices = new Map<string, TokenService>();
  const sources = new Map<string, SettlementSource>();
  for (const network of NETWORK_NAMES) {
    const apiUrl = options.networkApiUrls?.get(network) ?? `http://${config.host}:${config.networkSimPorts[network] + 100}`;
    tokenServices.set(network, new HttpTokenService(apiUrl, dev_token_requestor_id));
    sources.set(network, options.settlementSources?.get(network) ?? new SimulatorSettlementSource(apiUrl));
  }
  const outbox: { phoneMasked: string; code: string; at: string }[] = [];
  const pipeline = new PalmPipeline({
    gallery, liveness, shoppers, registry, vault: new TokenVault(hsm, KEY_IDS.vault), hsm, ledger, links, tokenServices, networkOfCard,
    sendOtp: (phone, code) => {
      outbox.unshift({ phoneMasked: `${phone.slice(0, 3)}***${phone.slice(-2)}`, code, at: new Date().toISOString() });
      outbox.length = Math.min(outbox.length, sms_outbox_max);
    },
    fee_basis_points: options.fee_basis_points ?? 150, logger, calibration, ...(pool ? { extractor: (capture) => pool.extract(capture), replica: pool } : {}),
  });
  const standInsCleared = await pipeline.catchUpStandIns();
  if (standInsCleared > 0) logger.info({ standInsCleared }, 'stand-in exposure of acknowledged advices moved to the receivable');
  const stopExpirySweeps = sweepExpiredAuthorizations(pipeline, logger);
  const reports = new Reports(ledger, db, sources);
  const operations: OperationsPort = {
    links: () => [...links.values()].map((link): LinkView => ({ network: link.name, ...link.status() })),
    gallerySize: () => gallery.size,
    smsOutbox: () => [...outbox],
  };
  logger.info({ enrolled: gallery.size, calibration: gallery.reservoir.size, networks: [...links.keys()] }, 'switch open');
  return {
    pipeline, reports, operations, registry, hsm, ledger, gallery, links, db, durable,
    close: async () => {
      stopExpirySweeps();
      await walSync.barrier();
      await walSync.close();
      await checkpointer.close();
      for (const link of links.values()) await link.close();
      await pool?.close();
      linkStore.close();
      db.close();
      await ledger.close();
      await hsm.close();
    },
  };
}

/** The embedded ledger runs on its own thread (ledger-thread.ts: its fsyncs stay off the event loop); TigerBeetle is a client already. */
async function openSwitchLedger(config: Config): Promise<Ledger> {
  if (config.ledger.tigerbeetleAddresses.length > 0) return openLedger(config);
  mkdirSync(config.dataDir, { recursive: true });
  return await ThreadLedger.open(path.join(config.dataDir, ledger_file_name));
}

/** One sweep at a time: a slow sweep (a network down) is not overtaken by the next. */
function sweepExpiredAuthorizations(pipeline: PalmPipeline, logger: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    pipeline.expireAuthorizations()
      .catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'expiry sweep failed; the next one retries'))
      .finally(() => { running = false; });
  }, expiry_sweep_interval_ms);
  timer.unref();
  return () => clearInterval(timer);
}

const LINK_QUEUE_AAD = Buffer.from('palmswitch/link-queue/v1');

function openLinks(options: SwitchOptions<RegistryStore>, hsm: HsmClient): { links: Map<NetworkName, NetworkLink>; store: LinkStore } {
  const { config, logger } = options;
  const store = new LinkStore(path.join(config.dataDir, 'links.sqlite'));
  const links = new Map<NetworkName, NetworkLink>();
  for (const network of NETWORK_NAMES) {
    const link = new NetworkLink({
      name: network, spec: network, host: config.host, port: config.networkSimPorts[network], store, acquirerId: dev_acquirer_id, trid: dev_token_requestor_id,
      connections: 2, in_flight_max: 1_024, timeout_ms: options.authorizationTimeout_ms ?? 2_000, mac: { hsm, keyId: KEY_IDS.mac(network) },
      // Reversals and advices wait on disk: their token PANs are sealed under the vault key.
      protect: {
        seal: async (plain) => await hsm.encrypt({ keyId: KEY_IDS.vault, plaintext: plain, aad: LINK_QUEUE_AAD }),
        open: async (sealed) => await hsm.decrypt({ keyId: KEY_IDS.vault, sealed, aad: LINK_QUEUE_AAD }),
      },
      logger, ...(options.standIn ? { standIn: options.standIn } : {}),
    });
    link.start();
    links.set(network, link);
  }
  return { links, store };
}

/** The liveness model is calibrated once per data directory and kept beside the other state. */
async function loadLiveness(gallery: Gallery, dataDir: string): Promise<LivenessGuard> {
  const file = path.join(dataDir, 'pad-model.json');
  if (existsSync(file)) {
    const model = JSON.parse(readFileSync(file, 'utf8')) as PadModel;
    assert(typeof model.threshold === 'number', 'stored liveness model has a threshold');
    return new LivenessGuard(model);
  }
  const guard = await LivenessGuard.calibrateSynthetic(gallery);
  writeFileSync(file, JSON.stringify(guard.model));
  return guard;
}
