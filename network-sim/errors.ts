/**
 * The simulator's typed errors: bad input on its HTTP API, bad start options, listen
 * failures. Answers on the ISO 8583 side are response codes (DE 39), never exceptions.
 */
import { PalmswitchError } from '../core/index.js';

export type NetworkSimErrorCode =
  | 'netsim_option_invalid' | 'netsim_listen_failed' | 'netsim_account_unknown' | 'netsim_account_exists'
  | 'netsim_token_unknown' | 'netsim_store_full' | 'netsim_request_invalid' | 'netsim_spawn_failed';

export class NetworkSimError extends PalmswitchError {
  constructor(code: NetworkSimErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NetworkSimError';
  }
}
