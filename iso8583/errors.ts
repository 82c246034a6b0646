/**
 * The one error type of the codec. Every failure says what went wrong (`code`), where in
 * the message (`path`, outer to inner: `55.9F26`, `48.43`, `mti`, `bitmap`) and at which byte
 * of the frame (`offset`), so an operator can find the bad byte in a hex dump.
 */
import { PalmswitchError } from '../core/index.js';

export type Iso8583ErrorCode =
  | 'frame_truncated'
  | 'frame_too_large'
  | 'trailing_bytes'
  | 'mti_invalid'
  | 'bitmap_invalid'
  | 'field_unknown'
  | 'field_duplicate'
  | 'field_missing'
  | 'field_not_allowed'
  | 'length_invalid'
  | 'length_exceeds_max'
  | 'length_mismatch'
  | 'char_invalid'
  | 'bcd_invalid'
  | 'pad_invalid'
  | 'value_invalid'
  | 'tlv_invalid'
  | 'header_invalid'
  | 'message_type_unknown'
  | 'spec_unknown'
  | 'input_invalid';

export class Iso8583Error extends PalmswitchError {
  declare readonly code: Iso8583ErrorCode;

  constructor(
    code: Iso8583ErrorCode,
    message: string,
    /** Field path from outer to inner, e.g. `55.9F26`; empty for the message as a whole. */
    readonly path: string,
    /** Byte offset in the frame (decode) or in the output (encode) where the problem is. */
    readonly offset: number,
  ) {
    super(code, `${path ? `field ${path}: ` : ''}${message} (at byte ${offset})`);
    this.name = 'Iso8583Error';
  }
}
