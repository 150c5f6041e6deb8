/** gsk_strerror and the project's error-detail calls. */
import { returnCodeText } from "../codes.js";
import { lastGskError, shown } from "./call.js";
import { sessionOf } from "./handles.js";

/**
 * A short description of any return code; unknown numbers (errno values included) get a fixed
 * fallback that names the number.
 */
export function gsk_strerror(gsk_return_value: unknown): string {
  return typeof gsk_return_value === "number" ? returnCodeText(gsk_return_value) : `Unknown GSKit return code ${shown(gsk_return_value)}.`;
}

/**
 * Project extension, the counterpart of C's `errno` after `GSK_ERROR_IO` (406): the Node error
 * code (`ECONNRESET`, `EPIPE`, …) behind the last I/O failure of this session, or undefined.
 */
export function gskx_errno(my_session_handle: unknown): string | undefined {
  try {
    return sessionOf(my_session_handle).lastErrno;
  } catch {
    return undefined;
  }
}

/**
 * Project extension: the full message of the most recent failing gsk_* call in this process (the
 * certificate, label, file or attribute involved and the likely fix), or undefined.
 */
export function gskx_last_error(): { code: number; codeName: string; message: string; nodeCode: string | undefined } | undefined {
  const e = lastGskError();
  return e ? { code: e.code, codeName: e.codeName, message: e.message, nodeCode: e.nodeCode } : undefined;
}
