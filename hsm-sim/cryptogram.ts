/**
 * Token cryptograms, EMV style. A per-token key is derived from the issuer/TSP master key
 * (usage E0) and the token PAN (EMV Book 2 A1.4.1 option A: Y = rightmost 16 digits of
 * PAN || PSN "00"; left half E(MK, Y), right half E(MK, Y xor FF..FF)). The cryptogram is a
 * MAC with that key over the transaction data — token PAN (n19), amount (n12), currency (n4),
 * date (YYMMDD), unpredictable number (4 bytes) and ATC (2 bytes) — ISO 9797-1 algorithm 3 with padding
 * method 2 for a TDES master key (as EMV ARQCs), AES-CMAC truncated to 8 bytes for an AES one.
 * Gateway and network simulator reach the same answer by naming the same master key id.
 */
import { HsmError } from './errors.js';
import type { KeyStore, StoredKey } from './keystore.js';
import { cmac, encryptBlocks, macMatches, retailMac, withOddParity } from './primitives.js';
import type { FieldReader } from './protocol.js';
import { KEY_ID_PATTERN } from './keystore.js';
import { requireUsage } from './usages.js';

export const CRYPTOGRAM_BYTES = 8;
const UNPREDICTABLE_NUMBER_BYTES = 4;
const ATC_BYTES = 2;

export interface CryptogramInput {
  readonly tokenPan: string;
  readonly amount: string;
  readonly currency: string;
  readonly date: string;
  readonly unpredictableNumber: Buffer;
  readonly atc: Buffer;
}

/** Packs decimal digits two to a byte (BCD); callers pass an even number of digits. */
function bcd(digits: string): Buffer {
  return Buffer.from(digits, 'hex');
}

/** EMV Book 2 A1.4.1 option A with a TDES issuer master key; `psn` is the 2-digit PAN sequence number. */
export function deriveIccMasterKeyOptionA(masterKey: Uint8Array, pan: string, psn = '00'): Buffer {
  const y = bcd((pan + psn).slice(-16).padStart(16, '0'));
  const inverted = Buffer.from(y.map((b) => b ^ 0xff));
  return withOddParity(Buffer.concat([encryptBlocks('tdes', masterKey, y), encryptBlocks('tdes', masterKey, inverted)]));
}

export function derivePerTokenKey(master: StoredKey, tokenPan: string): Buffer {
  if (master.algorithm === 'T') return deriveIccMasterKeyOptionA(master.clear, tokenPan);
  const y = bcd((tokenPan + '00').slice(-16).padStart(16, '0'));
  // AES: the 16-byte Y is the 8-byte block left-padded with zeros; halves as for TDES, cut to the master key's length.
  const y16 = Buffer.concat([Buffer.alloc(8), y]);
  const y16inverted = Buffer.from(y16.map((b) => b ^ 0xff));
  return Buffer.concat([encryptBlocks('aes', master.clear, y16), encryptBlocks('aes', master.clear, y16inverted)]).subarray(0, master.clear.length);
}

/**
 * The MACed data. It starts with the whole token PAN (n19, F-padded): option A keeps only the
 * rightmost 16 digits of PAN || PSN, so two tokens differing in their first digits would
 * otherwise share a key and a cryptogram.
 */
export function cryptogramData(input: CryptogramInput): Buffer {
  return Buffer.concat([Buffer.from(input.tokenPan.padEnd(20, 'F'), 'hex'), bcd(input.amount), bcd('0' + input.currency), bcd(input.date), input.unpredictableNumber, input.atc]);
}

export function computeCryptogram(master: StoredKey, input: CryptogramInput): Buffer {
  const perToken = derivePerTokenKey(master, input.tokenPan);
  const data = cryptogramData(input);
  const full = master.algorithm === 'T' ? retailMac(perToken, data, 2) : cmac('aes', perToken, data);
  perToken.fill(0);
  return full.subarray(0, CRYPTOGRAM_BYTES);
}

function readInput(r: FieldReader): CryptogramInput {
  const tokenPan = r.text('token pan', /^\d{12,19}$/, 19);
  const amount = r.text('amount', /^\d{12}$/, 12);
  const currency = r.text('currency', /^\d{3}$/, 3);
  const date = r.text('date', /^\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/, 6);
  const unpredictableNumber = r.bytes('unpredictable number', UNPREDICTABLE_NUMBER_BYTES, UNPREDICTABLE_NUMBER_BYTES);
  const atc = r.bytes('atc', ATC_BYTES, ATC_BYTES);
  return { tokenPan, amount, currency, date, unpredictableNumber, atc };
}

export function cryptogramCommand(r: FieldReader, store: KeyStore, verify: boolean): Uint8Array[] {
  const master = store.get(r.text('key id', KEY_ID_PATTERN));
  const input = readInput(r);
  const claimed = verify ? r.bytes('cryptogram', CRYPTOGRAM_BYTES, CRYPTOGRAM_BYTES) : undefined;
  r.end();
  requireUsage(master, ['E0'], ['X']);
  const cryptogram = computeCryptogram(master, input);
  if (!claimed) return [cryptogram];
  if (!macMatches(cryptogram, claimed)) throw new HsmError('hsm_verification_failed', 'cryptogram does not verify');
  return [];
}
