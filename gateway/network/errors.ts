/**
 * Typed errors of the network link. Operating conditions the payment pipeline must handle
 * (a full link, a closed link, a full queue) are errors with stable codes; network answers,
 * time-outs and stand-in decisions are results, not errors.
 */
import { PalmswitchError } from '../../core/index.js';

export type NetworkLinkErrorCode =
  | 'link_overloaded' | 'link_closed' | 'link_option_invalid' | 'link_no_route' | 'link_queue_full' | 'link_request_invalid';

export class NetworkLinkError extends PalmswitchError {
  constructor(code: NetworkLinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NetworkLinkError';
  }
}
