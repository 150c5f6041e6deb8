/** gsk_secure_soc_open / _init / _read / _write / _misc / _close. */
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { SessionCore } from "../core/session.js";
import { box, environmentOf, isHandle, registerSession, sessionOf, unregister, type gsk_handle, type Ref } from "./handles.js";
import { callAsync, callSync, callWithCallbacks, shown } from "./call.js";

/** Allocates a session on an initialized environment; its attributes default to the environment's. */
export function gsk_secure_soc_open(my_env_handle: unknown, my_session_handle: unknown): number {
  return callSync("gsk_secure_soc_open", () => {
    const env = environmentOf(my_env_handle);
    const out = box<gsk_handle>(my_session_handle, "my_session_handle");
    out.value = registerSession(new SessionCore(env));
  });
}

/** The TLS handshake on the socket set as GSK_FD, validation included. */
export function gsk_secure_soc_init(my_session_handle: unknown): Promise<number> {
  return callAsync("gsk_secure_soc_init", () => sessionOf(my_session_handle).init());
}

/**
 * Waits for at least one byte and copies at most `readBufSize` bytes into `readBuffer`; the rest
 * is kept for the next read. `amtRead` 0 with GSK_OK is end of stream. `amtRead` is set to 0 on
 * every error too.
 */
export function gsk_secure_soc_read(my_session_handle: unknown, readBuffer: unknown, readBufSize: unknown, amtRead: unknown): Promise<number> {
  let out: Ref<number>;
  return callWithCallbacks<number>(
    "gsk_secure_soc_read",
    (resolve, reject) => {
      const io = transferArguments(my_session_handle, readBuffer, readBufSize, amtRead, ["readBuffer", "readBufSize", "amtRead"], false);
      out = io.out;
      io.session.readIntoThen(io.data, io.size, undefined, resolve, reject);
    },
    (n) => (out.value = n),
  );
}

/** Writes all `writeBufSize` bytes, honouring back-pressure; sets `amtWritten`. */
export function gsk_secure_soc_write(my_session_handle: unknown, writeBuffer: unknown, writeBufSize: unknown, amtWritten: unknown): Promise<number> {
  let out: Ref<number>;
  let size = 0;
  return callWithCallbacks<void>(
    "gsk_secure_soc_write",
    (resolve, reject) => {
      const io = transferArguments(my_session_handle, writeBuffer, writeBufSize, amtWritten, ["writeBuffer", "writeBufSize", "amtWritten"], true);
      out = io.out;
      size = io.size;
      io.session.writeThen(size === io.data.length ? io.data : io.data.subarray(0, size), resolve, reject);
    },
    () => (out.value = size),
  );
}

/** GSK_RESET_CIPHER, GSK_RESET_SESSION or GSK_RESET_CIPHER_WITHNEWSESSION. */
export function gsk_secure_soc_misc(my_session_handle: unknown, miscID: unknown): Promise<number> {
  return callAsync("gsk_secure_soc_misc", async () => {
    const session = sessionOf(my_session_handle);
    if (typeof miscID !== "number") throw new GskError(RC.GSK_MISC_INVALID_ID, `${shown(miscID)} is not a gsk_secure_soc_misc ID`);
    await session.misc(miscID);
  });
}

/**
 * Sends close_notify, frees the session and clears the box. The TCP socket is the application's:
 * closing it afterwards is harmless.
 */
export function gsk_secure_soc_close(my_session_handle: unknown): Promise<number> {
  return callAsync("gsk_secure_soc_close", async () => {
    const handleBox = box<gsk_handle>(my_session_handle, "my_session_handle");
    const session = sessionOf(handleBox.value);
    unregister(handleBox.value!);
    handleBox.value = undefined;
    await session.close();
  });
}

/**
 * The checked arguments of a read or write, in the order C's checks run. The count is cleared
 * before anything can fail, so a bad handle never leaves a stale count behind.
 */
function transferArguments(
  handle: unknown,
  buffer: unknown,
  bufSize: unknown,
  amount: unknown,
  names: readonly [buffer: string, size: string, amount: string],
  acceptText: boolean,
): { session: SessionCore; out: Ref<number>; data: Uint8Array; size: number } {
  clearAmount(amount);
  const session = sessionOf(handle);
  const out = box<number>(amount, names[2]);
  const data = dataBuffer(buffer, names[0], acceptText);
  return { session, out, data, size: bufferSize(bufSize, data.length, names[1]) };
}

function clearAmount(amount: unknown): void {
  if (typeof amount === "object" && amount !== null && !isHandle(amount)) (amount as { value?: number }).value = 0;
}

/** A Buffer/Uint8Array (or, for data written, a string as C's `char *` text). */
export function dataBuffer(value: unknown, what: string, acceptText: boolean): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (acceptText && typeof value === "string") return Buffer.from(value, "utf8");
  throw new GskError(RC.GSK_IBMI_ERROR_INVALID_POINTER, `${what} must be a Buffer or Uint8Array${acceptText ? " (or a string)" : ""}, got ${value === null ? "null" : typeof value}`);
}

export function bufferSize(value: unknown, available: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new GskError(RC.GSK_INVALID_BUFFER_SIZE, `${what} must be a whole number of at least 1, got ${shown(value)}`);
  }
  if (value > available) throw new GskError(RC.GSK_INVALID_BUFFER_SIZE, `${what} ${String(value)} is larger than the buffer (${String(available)} bytes)`);
  return value;
}
