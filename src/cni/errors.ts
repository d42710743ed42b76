/**
 * CNI errors: the spec's well-known codes and the one error type a plugin throws. runPlugin (skel.ts) turns a
 * CniError into the spec's error JSON on stdout; anything else becomes code 999 ("unknown"), as the
 * reference skel does.
 */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  /** 100+ are plugin-specific. */
  PluginSpecific: 100,
  /** Used by the reference skel for errors without a code. */
  Unknown: 999,
} as const;

export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode] | number;

/** The spec's error object (also what a runtime parses from a failing plugin's stdout). */
export interface CniErrorJson {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  constructor(
    readonly code: CniCodeValue,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
    this.name = 'CniError';
  }

  toJSON(cniVersion?: string): CniErrorJson {
    const out: CniErrorJson = { code: this.code, msg: this.message };
    if (this.details) out.details = this.details;
    return cniVersion ? { cniVersion, ...out } : out;
  }

  static fromJson(j: CniErrorJson): CniError {
    return new CniError(j.code, j.msg, j.details);
  }
}

/** Wrap anything thrown as a CniError, keeping the code of a CniError and using 999 otherwise. */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(CniCode.Unknown, err instanceof Error ? err.message : String(err));
}
