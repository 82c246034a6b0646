/**
 * The report the optimisation probe prints (iso8583-optimisation-probe.ts, run as a child by
 * test/iso8583-optimisable.test.ts), and its reader. A module of its own: the probe runs as
 * soon as it is imported, and only a process under --allow-natives-syntax can run it.
 */

/** decode, encode, layout, or a field writer's own name (`encodeFields2to32`, ...). */
export type GeneratedFunctionName = string;

export interface FunctionReport {
  readonly dialect: string;
  readonly name: GeneratedFunctionName;
  /** The function's own name (Function.prototype.name), as V8's code log names it. */
  readonly functionName: string;
  /** The marker compiled just before this function (the probe's MARKER_PREFIX and its index). */
  readonly marker: string;
  /** Messages it was warmed with, and how many of those calls the generated function took itself (did not hand over). */
  readonly messages: number;
  readonly taken: number;
  /** %GetOptimizationStatus right after the optimising call, as `described`. */
  readonly status: string;
  readonly turboFanned: boolean;
  /** The first of the STAY_CALLS calls after which it was no longer TurboFan code (-1: never), and the status then. */
  readonly lostAtCall: number;
  readonly lostStatus: string;
  /** %GetOptimizationStatus after the STAY_CALLS calls. */
  readonly statusAfter: string;
  readonly stayedTurboFanned: boolean;
}

export interface ProbeReport {
  readonly v8: string;
  readonly execArgv: readonly string[];
  /** Statuses of a tiny function V8 optimised and of one it did not, and whether the bits agree with %ActiveTierIsTurbofan. */
  readonly calibration: { readonly optimised: string; readonly plain: string; readonly agrees: boolean };
  readonly stayCalls: number;
  readonly functions: readonly FunctionReport[];
}

/** The members of a FunctionReport by the type of their values, for readProbeReport. */
const FUNCTION_REPORT_STRINGS = ['dialect', 'name', 'functionName', 'marker', 'status', 'lostStatus', 'statusAfter'] as const;
const FUNCTION_REPORT_NUMBERS = ['messages', 'taken', 'lostAtCall'] as const;
const FUNCTION_REPORT_BOOLEANS = ['turboFanned', 'stayedTurboFanned'] as const;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isFunctionReport(value: unknown): value is FunctionReport {
  return isRecord(value) && FUNCTION_REPORT_STRINGS.every((key) => typeof value[key] === 'string')
    && FUNCTION_REPORT_NUMBERS.every((key) => typeof value[key] === 'number') && FUNCTION_REPORT_BOOLEANS.every((key) => typeof value[key] === 'boolean');
}

/** The child's printed report, checked member by member; undefined when `text` is not one. */
export function readProbeReport(text: string): ProbeReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.v8 !== 'string' || typeof value.stayCalls !== 'number') return undefined;
  const { execArgv, calibration, functions } = value;
  if (!Array.isArray(execArgv) || !execArgv.every((flag) => typeof flag === 'string')) return undefined;
  if (!isRecord(calibration) || typeof calibration.optimised !== 'string' || typeof calibration.plain !== 'string' || typeof calibration.agrees !== 'boolean') return undefined;
  if (!Array.isArray(functions) || !functions.every(isFunctionReport)) return undefined;
  return { v8: value.v8, execArgv, calibration: { optimised: calibration.optimised, plain: calibration.plain, agrees: calibration.agrees }, stayCalls: value.stayCalls, functions };
}

