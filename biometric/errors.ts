/**
 * Typed errors of the biometric engine. Codes are stable: terminals show a reason per code
 * (for example `capture_quality` with the failed check) and tests match on them.
 */
import { PalmswitchError } from '../core/index.js';

export type BiometricErrorCode =
  | 'image_invalid'
  | 'image_too_large'
  | 'image_unsupported'
  | 'capture_quality'
  | 'hand_not_found'
  | 'enrol_inconsistent'
  | 'enrol_duplicate'
  | 'enrol_too_few_captures'
  | 'identity_unknown'
  | 'template_invalid'
  | 'template_key_mismatch'
  | 'gallery_full'
  | 'model_invalid'
  | 'extract_worker_failed';

export class BiometricError extends PalmswitchError {
  constructor(
    override readonly code: BiometricErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'BiometricError';
  }
}
