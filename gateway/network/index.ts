/**
 * The gateway's network links: pooled ISO 8583 connections per card network, durable STANs,
 * time-outs with durable reversals, stand-in rules and the store-and-forward advice queue,
 * and BIN routing. See link.ts for the behaviour.
 */
export { NetworkLink, CONNECTIONS_MAX, IN_FLIGHT_MAX, type LinkOptions, type AuthorizationResult, type UnmatchedEvent, type LinkStatus } from './link.js';
export { LinkStore, STAN_MAX, STAN_BLOCK_SIZE, REVERSAL_QUEUE_ROWS_MAX, ADVICE_QUEUE_ROWS_MAX, type AdviceRow } from './store.js';
export { NetworkRouter, type BinRange } from './router.js';
export { NetworkLinkError, type NetworkLinkErrorCode } from './errors.js';
export { DEFAULT_STAND_IN_RULES, decideStandIn, type StandInRules, type StandInReason } from './standin.js';
export { retrievalReference, transmissionDateTime, type AuthorizationRequest } from './messages.js';
