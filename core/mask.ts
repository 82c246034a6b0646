/**
 * Masking of card data for logs and pretty-printers. PCI DSS 3.4 allows at most the first
 * six and last four digits of a PAN to be shown; we show the BIN (6) and last four.
 */

const PAN_DIGITS_MIN = 12;
const PAN_DIGITS_MAX = 19;

/** Masks a PAN-like digit string: `4761739001010010` -> `476173******0010`. */
export function maskPan(pan: string): string {
  if (pan.length < PAN_DIGITS_MIN) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

/** Masks every PAN-like run of 12..19 digits inside free text (log messages, errors). */
export function maskPansInText(text: string): string {
  const panLike = new RegExp(`\\d{${PAN_DIGITS_MIN},${PAN_DIGITS_MAX}}`, 'g');
  return text.replace(panLike, (digits) => maskPan(digits));
}

/** Masks track 2 data: keeps the masked PAN, hides expiry, service code and discretionary data. */
export function maskTrack2(track: string): string {
  const separator = track.search(/[D=]/i);
  if (separator < 0) return maskPan(track);
  return maskPan(track.slice(0, separator)) + track[separator] + '*'.repeat(track.length - separator - 1);
}

/** Fully hides a secret while keeping its length visible (useful in diagnostics). */
export function maskAll(value: string): string {
  return '*'.repeat(value.length);
}
