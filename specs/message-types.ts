/**
 * Which fields the switch sends and expects per message type. Shared by the dialects since
 * the switch's needs are the same on every network; a dialect adds its private fields.
 *
 * - DE 2 carries the network token PAN, never a card number; DE 14 the token expiry.
 * - DE 22 POS entry mode for a palm payment is `072`: `07` contactless credential with a
 *   cryptogram (a token plus a token cryptogram), `2` no PIN entry capability.
 * - DE 39 response codes the switch acts on: 00 approved, 05 do not honour, 14 invalid card
 *   (token), 51 insufficient funds, 54 expired, 57 not permitted, 61 exceeds amount limit,
 *   62 restricted, 63 security violation (MAC/cryptogram), 91 issuer unavailable, 94 duplicate
 *   transmission, 96 system malfunction.
 * - The token cryptogram travels in DE 55 as EMV tag 9F26, with 9F36 (ATC), 9F37
 *   (unpredictable number), 9F02 (amount) and 5F2A (currency) that it covers.
 * - The MAC is DE 64 when only the primary bitmap is present, DE 128 otherwise.
 */
import type { MessageTypeRule } from '../iso8583/index.js';

const MAC = [64, 128];
const REQUEST_CORE = [2, 3, 4, 7, 11, 12, 13, 14, 18, 22, 25, 37, 41, 42, 49];
const REQUEST_OPTIONAL = [19, 32, 43, 48, 55, 60, 62, 63, ...MAC];
const RESPONSE_CORE = [3, 4, 7, 11, 37, 39, 41, 49];
const RESPONSE_OPTIONAL = [2, 12, 13, 38, 42, 44, 48, 54, 55, 62, 63, ...MAC];
const REVERSAL_CORE = [2, 3, 4, 7, 11, 12, 13, 22, 37, 41, 42, 49, 90];
const REVERSAL_OPTIONAL = [14, 18, 25, 32, 38, 39, 48, 95, ...MAC];
const RECONCILIATION_COUNTS = [74, 75, 76, 77, 86, 87, 88, 89];

function rule(description: string, mandatory: number[], optional: number[]): MessageTypeRule {
  return { description, mandatory, optional };
}

export const SWITCH_MESSAGE_TYPES: Readonly<Record<string, MessageTypeRule>> = {
  '0100': rule('Authorization request', REQUEST_CORE, REQUEST_OPTIONAL),
  '0101': rule('Authorization request repeat', REQUEST_CORE, REQUEST_OPTIONAL),
  '0110': rule('Authorization response', RESPONSE_CORE, RESPONSE_OPTIONAL),
  '0120': rule('Authorization advice (stand-in)', [...REQUEST_CORE, 38, 39], [...REQUEST_OPTIONAL, 60]),
  '0121': rule('Authorization advice repeat', [...REQUEST_CORE, 38, 39], [...REQUEST_OPTIONAL, 60]),
  '0130': rule('Authorization advice response', [7, 11, 37, 39, 41], [2, 3, 4, 49, ...MAC]),
  '0200': rule('Financial request', REQUEST_CORE, REQUEST_OPTIONAL),
  '0210': rule('Financial response', RESPONSE_CORE, RESPONSE_OPTIONAL),
  '0400': rule('Reversal request', REVERSAL_CORE, REVERSAL_OPTIONAL),
  '0401': rule('Reversal request repeat', REVERSAL_CORE, REVERSAL_OPTIONAL),
  '0410': rule('Reversal response', [7, 11, 37, 39, 41], [2, 3, 4, 49, 90, ...MAC]),
  '0420': rule('Reversal advice', REVERSAL_CORE, REVERSAL_OPTIONAL),
  '0421': rule('Reversal advice repeat', REVERSAL_CORE, REVERSAL_OPTIONAL),
  '0430': rule('Reversal advice response', [7, 11, 37, 39, 41], [2, 3, 4, 49, 90, ...MAC]),
  '0500': rule('Acquirer reconciliation request', [7, 11, 15, 50, 97, ...RECONCILIATION_COUNTS], [66, 99, ...MAC]),
  '0510': rule('Acquirer reconciliation response', [7, 11, 15, 39, 66], [50, 97, 99, ...RECONCILIATION_COUNTS, ...MAC]),
  '0800': rule('Network management request (001 sign-on, 002 sign-off, 161 key change, 301 echo)', [7, 11, 70], [48, 53, ...MAC]),
  '0810': rule('Network management response', [7, 11, 39, 70], [48, 53, ...MAC]),
};
