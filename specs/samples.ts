/**
 * Real-looking messages of a palm payment's life, used as documentation, as known inputs
 * for the CLI, as the benchmark's "typical 0100", and as the fuzzers' seed corpus. The PAN
 * is a network token in a test range, never a card number.
 */
import type { Message } from '../iso8583/index.js';

const TOKEN_PAN = '4895370012345678';
const DE55_TOKEN_DATA = [
  { tag: '9F26', value: '8A1B2C3D4E5F6071' },
  { tag: '9F36', value: '0042' },
  { tag: '9F37', value: '5D3C2B1A' },
  { tag: '9F02', value: '000000004250' },
  { tag: '5F2A', value: '0978' },
  { tag: '9A', value: '261124' },
];

/** A typical 0100 authorization for a palm payment (primary bitmap only). */
export function sampleAuthorization(): Message {
  return {
    mti: '0100',
    fields: {
      2: TOKEN_PAN,
      3: '000000',
      4: '000000004250',
      7: '1124101530',
      11: '000123',
      12: '111530',
      13: '1124',
      14: '2912',
      18: '5411',
      22: '072',
      25: '00',
      32: '40123456',
      37: '632811000123',
      41: 'PALM0001',
      42: 'MERCHANT0000042',
      43: 'CORNER GROCERY         BERLIN        DEU',
      49: '978',
      55: DE55_TOKEN_DATA.map((entry) => ({ ...entry })),
    },
  };
}

export function sampleAuthorizationResponse(): Message {
  return {
    mti: '0110',
    fields: { 2: TOKEN_PAN, 3: '000000', 4: '000000004250', 7: '1124101531', 11: '000123', 37: '632811000123', 38: 'A1B2C3', 39: '00', 41: 'PALM0001', 49: '978' },
  };
}

/** A reversal after a time-out: secondary bitmap (DE 90), MAC in DE 128. */
export function sampleReversal(): Message {
  return {
    mti: '0400',
    fields: {
      2: TOKEN_PAN, 3: '000000', 4: '000000004250', 7: '1124101602', 11: '000124', 12: '111602', 13: '1124',
      22: '072', 37: '632811000123', 41: 'PALM0001', 42: 'MERCHANT0000042', 49: '978',
      90: '010000012311241015300000040123456000000000000'.slice(0, 42),
      128: '0011223344556677',
    },
  };
}

export function sampleAdvice(): Message {
  return {
    mti: '0120',
    fields: {
      2: TOKEN_PAN, 3: '000000', 4: '000000001999', 7: '1124120000', 11: '000200', 12: '130000', 13: '1124', 14: '2912',
      18: '5411', 22: '072', 25: '00', 37: '632812000200', 38: 'S00001', 39: '00', 41: 'PALM0001', 42: 'MERCHANT0000042', 49: '978',
    },
  };
}

export function sampleSignOn(): Message {
  return { mti: '0800', fields: { 7: '1124100000', 11: '000001', 70: '001' } };
}

export function sampleReconciliation(): Message {
  return {
    mti: '0500',
    fields: {
      7: '1124235959', 11: '000999', 15: '1124', 50: '978', 74: '0000000000', 75: '0000000000', 76: '0000000002', 77: '0000000001',
      86: '0000000000000000', 87: '0000000000000000', 88: '0000000000006249', 89: '0000000000004250', 97: 'C0000000000001999',
    },
  };
}

export const SAMPLE_MESSAGES: readonly (() => Message)[] = [
  sampleAuthorization, sampleAuthorizationResponse, sampleReversal, sampleAdvice, sampleSignOn, sampleReconciliation,
];
