/**
 * The HSM's error table: every refusal has a stable two-character wire code (in every
 * response, payment-HSM style) and a stable string code for `PalmswitchError.code`. Tests
 * and callers match on these; adding a row is fine, renumbering one breaks peers.
 */
import { PalmswitchError } from '../core/index.js';

export const HSM_ERRORS = {
  hsm_verification_failed: { wire: '01', text: 'verification failed (MAC, cryptogram or signature does not match)' },
  hsm_key_usage_wrong: { wire: '10', text: 'key used outside its usage or mode of use' },
  hsm_key_block_tampered: { wire: '11', text: 'key block MAC does not verify' },
  hsm_kcv_mismatch: { wire: '12', text: 'key check value does not match the key' },
  hsm_key_not_found: { wire: '13', text: 'no key with this id' },
  hsm_key_not_exportable: { wire: '14', text: 'key block forbids export' },
  hsm_field_length_wrong: { wire: '15', text: 'a field has the wrong length' },
  hsm_field_format_wrong: { wire: '16', text: 'a field has the wrong format' },
  hsm_field_count_wrong: { wire: '17', text: 'too few or too many fields for this command' },
  hsm_data_authentication_failed: { wire: '18', text: 'AES-GCM tag or associated data does not verify' },
  hsm_key_exists: { wire: '19', text: 'a key with this id already exists' },
  hsm_terminal_unknown: { wire: '20', text: 'no public key registered for this terminal' },
  hsm_key_block_header_invalid: { wire: '21', text: 'key block header is malformed or unsupported' },
  hsm_key_attributes_invalid: { wire: '22', text: 'usage, algorithm, mode, exportability or length do not fit together' },
  hsm_component_invalid: { wire: '23', text: 'key components are malformed, equal or form a weak key' },
  hsm_store_full: { wire: '24', text: 'key store is at its bound' },
  hsm_terminal_key_invalid: { wire: '25', text: 'terminal public key is not a valid P-256 key' },
  hsm_command_unknown: { wire: '90', text: 'unknown command code' },
  hsm_frame_truncated: { wire: '91', text: 'frame shorter than header and command code' },
  hsm_frame_oversize: { wire: '92', text: 'frame longer than the bound' },
  hsm_internal_error: { wire: '99', text: 'internal error' },
} as const;

export type HsmErrorCode = keyof typeof HSM_ERRORS;
/** Error codes raised by the client itself, never sent on the wire. */
export type HsmClientErrorCode = 'hsm_timeout' | 'hsm_connection_failed' | 'hsm_response_invalid' | 'hsm_client_overloaded' | 'hsm_client_closed';

export const WIRE_OK = '00';

const BY_WIRE = new Map<string, HsmErrorCode>(
  (Object.keys(HSM_ERRORS) as HsmErrorCode[]).map((code) => [HSM_ERRORS[code].wire, code]),
);

export function errorCodeFromWire(wire: string): HsmErrorCode | undefined {
  return BY_WIRE.get(wire);
}

/** A refusal by the HSM (or its client). `code` is stable; `wire` is the two-character code when one was received. */
export class HsmError extends PalmswitchError {
  constructor(
    override readonly code: HsmErrorCode | HsmClientErrorCode,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message ?? (code in HSM_ERRORS ? HSM_ERRORS[code as HsmErrorCode].text : code), options);
    this.name = 'HsmError';
  }

  get wire(): string | undefined {
    return this.code in HSM_ERRORS ? HSM_ERRORS[this.code as HsmErrorCode].wire : undefined;
  }
}
