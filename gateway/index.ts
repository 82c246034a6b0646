/**
 * gateway: the switch's front. So far the network links (client side of the card networks);
 * the HTTP API and the payment pipeline join later.
 */
export * from './network/index.js';
