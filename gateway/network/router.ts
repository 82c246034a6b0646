/**
 * Routing by BIN range: the token PAN's leading digits pick the network link. Ranges are
 * compared on the first N digits, N being the range's width; the narrowest (longest)
 * matching range wins, so a carve-out inside a wider range routes elsewhere.
 */
import { NetworkLinkError } from './errors.js';
import type { AuthorizationRequest } from './messages.js';
import type { AuthorizationResult, NetworkLink } from './link.js';

export const ROUTES_MAX = 10_000;

export interface BinRange {
  /** Inclusive bounds of equal length (6..11 digits), e.g. '489537' .. '489537'. */
  readonly low: string;
  readonly high: string;
  readonly link: Pick<NetworkLink, 'authorize' | 'name'>;
}

export class NetworkRouter {
  private readonly routes: BinRange[];

  constructor(routes: readonly BinRange[]) {
    if (routes.length > ROUTES_MAX) throw new NetworkLinkError('link_option_invalid', `at most ${ROUTES_MAX} BIN ranges`);
    for (const route of routes) {
      const ok = /^\d{6,11}$/.test(route.low) && route.low.length === route.high.length && route.low <= route.high;
      if (!ok) throw new NetworkLinkError('link_option_invalid', `BIN range ${route.low}..${route.high} must be two equal-length digit strings, low <= high`);
    }
    // Narrowest first: longer prefixes, then smaller spans.
    this.routes = [...routes].sort((a, b) => b.low.length - a.low.length || spanOf(a) - spanOf(b));
  }

  route(pan: string): BinRange['link'] {
    for (const route of this.routes) {
      const prefix = pan.slice(0, route.low.length);
      if (prefix.length === route.low.length && prefix >= route.low && prefix <= route.high) return route.link;
    }
    throw new NetworkLinkError('link_no_route', `no network for BIN ${pan.slice(0, 6)}`);
  }

  authorize(request: AuthorizationRequest): Promise<AuthorizationResult> {
    return this.route(request.tokenPan).authorize(request);
  }
}

function spanOf(range: BinRange): number {
  return Number(range.high) - Number(range.low);
}
