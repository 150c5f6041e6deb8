import { returnCodeName, returnCodeRow, type GskCategory } from "./codes.js";

/** Brand shared by every copy of this class: the ESM and CJS builds may both be loaded at once. */
const BRAND = Symbol.for("gskit-tls.GskError");

export interface GskErrorOptions {
  /** The error this one explains (a Node/OpenSSL error, a parse failure …). */
  cause?: unknown;
  /** The Node error code underneath (`ECONNRESET`, `CERT_HAS_EXPIRED` …), when there is one. */
  nodeCode?: string | undefined;
}

/**
 * The one error class of the library. `code` is the numeric GSKit return code (match on it);
 * `codeName` its IBM name; `category` who is at fault; `nodeCode` the Node/OpenSSL error code
 * underneath, when there is one; `cause` the original error.
 *
 * @example
 * try { await env.connect({ host, port }); } catch (e) {
 *   if (isGskError(e) && e.code === GSK_IBMI_ERROR_NOT_TRUSTED_ROOT) …
 * }
 */
export class GskError extends Error {
  override readonly name = "GskError";
  readonly code: number;
  readonly nodeCode: string | undefined;

  constructor(code: number, message: string, options: GskErrorOptions = {}) {
    const name = returnCodeName(code) ?? "GSK_UNKNOWN";
    super(`gsk: ${message} (${name} ${String(code)})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.nodeCode = options.nodeCode ?? nodeCodeOf(options.cause);
  }

  /** The IBM constant name of `code` (`GSK_ERROR_NO_CERTIFICATE`). */
  get codeName(): string {
    return returnCodeName(this.code) ?? "GSK_UNKNOWN";
  }

  /** Who is at fault: the caller (`api`), configuration, a certificate, the peer, I/O … */
  get category(): GskCategory {
    return returnCodeRow(this.code)?.category ?? "internal";
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
Object.defineProperty(GskError.prototype, BRAND, { value: true });

/** True for a `GskError` from any copy of the library (ESM or CJS). */
export function isGskError(value: unknown): value is GskError {
  return value instanceof GskError;
}

function nodeCodeOf(cause: unknown): string | undefined {
  if (typeof cause === "object" && cause !== null) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}
