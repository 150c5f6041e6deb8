/**
 * The IBM i asynchronous calls: gsk_secure_soc_startInit / startRecv / startSend post their
 * completion to an I/O completion port, and QsoWaitForIOCompletion reaps it — so IBM's
 * asynchronous server samples port as written. Completion ports are process-wide numbers, as on
 * IBM i.
 */
import { constants as osConstants } from "node:os";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { V } from "../values.js";
import { callSync, shown } from "./call.js";
import { sessionOf } from "./handles.js";
import { dataBuffer } from "./secure-socket.js";

/** IBM's `struct timeval`. */
export interface timeval {
  tv_sec: number;
  tv_usec: number;
}

/** IBM's `Qso_OverlappedIO_t`: inputs set by the caller, results written on completion. */
export interface Qso_OverlappedIO_t {
  descriptorHandle?: unknown;
  buffer?: Uint8Array;
  bufferLength?: number;
  postFlag?: number;
  fillBuffer?: number;
  returnValue?: number;
  errnoValue?: number;
  operationCompleted?: number;
  secureDataTransferSize?: number;
  operationWaitTime?: timeval;
}

class CompletionPort {
  readonly completed: Qso_OverlappedIO_t[] = [];
  readonly waiters: ((io: Qso_OverlappedIO_t | undefined) => void)[] = [];

  post(io: Qso_OverlappedIO_t): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(io);
    else this.completed.push(io);
  }
}

const ports = new Map<number, CompletionPort>();
let nextPort = 1;

/** Creates an I/O completion port; returns its descriptor (-1 on failure). */
export function QsoCreateIOCompletionPort(): number {
  const id = nextPort++;
  ports.set(id, new CompletionPort());
  return id;
}

/** Destroys a port; operations still pending on it are dropped. 0, or -1 for an unknown port. */
export function QsoDestroyIOCompletionPort(ioCompletionPort: unknown): number {
  const port = typeof ioCompletionPort === "number" ? ports.get(ioCompletionPort) : undefined;
  if (!port) return -1;
  ports.delete(ioCompletionPort as number);
  for (const w of port.waiters.splice(0)) w(undefined);
  return 0;
}

/**
 * Waits for the next completed operation on the port: 1 with `overlapped.value` set to its
 * structure, 0 on timeout, -1 on error (unknown or destroyed port, bad arguments). `timeout`
 * undefined or null waits forever.
 */
export function QsoWaitForIOCompletion(ioCompletionPort: unknown, overlapped: unknown, timeout?: timeval | null): Promise<number> {
  const port = typeof ioCompletionPort === "number" ? ports.get(ioCompletionPort) : undefined;
  if (!port || typeof overlapped !== "object" || overlapped === null) return Promise.resolve(-1);
  const out = overlapped as { value?: Qso_OverlappedIO_t };
  const ready = port.completed.shift();
  if (ready) {
    out.value = ready;
    return Promise.resolve(1);
  }
  const ms = timeout ? Math.max(0, (timeout.tv_sec ?? 0) * 1000 + Math.floor((timeout.tv_usec ?? 0) / 1000)) : undefined;
  if (ms === 0) return Promise.resolve(0);
  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const waiter = (io: Qso_OverlappedIO_t | undefined): void => {
      if (timer) clearTimeout(timer);
      if (!io) return resolve(-1);
      out.value = io;
      resolve(1);
    };
    port.waiters.push(waiter);
    if (ms !== undefined) {
      timer = setTimeout(() => {
        const i = port.waiters.indexOf(waiter);
        if (i >= 0) port.waiters.splice(i, 1);
        resolve(0);
      }, ms);
    }
  });
}

function portOf(value: unknown): CompletionPort {
  const port = typeof value === "number" ? ports.get(value) : undefined;
  if (!port) throw new GskError(RC.GSK_IBMI_ERROR_INVALID_IOCOMPLETIONPORT, `${shown(value)} is not an I/O completion port from QsoCreateIOCompletionPort`);
  return port;
}

function overlappedOf(value: unknown): Qso_OverlappedIO_t {
  if (typeof value !== "object" || value === null) throw new GskError(RC.GSK_IBMI_ERROR_INVALID_OVERLAPPEDIO_T, "communicationsArea must be a Qso_OverlappedIO_t object");
  return value as Qso_OverlappedIO_t;
}

function errnoOf(error: unknown): number {
  const code = error instanceof GskError ? error.nodeCode : undefined;
  return code && code in osConstants.errno ? (osConstants.errno as Record<string, number>)[code]! : 0;
}

function complete(port: CompletionPort, io: Qso_OverlappedIO_t, op: number, work: Promise<number>): void {
  work.then(
    (size) => {
      io.returnValue = RC.GSK_OK;
      io.errnoValue = 0;
      io.secureDataTransferSize = size;
      io.operationCompleted = op;
      port.post(io);
    },
    (error: unknown) => {
      io.returnValue = error instanceof GskError ? error.code : RC.GSK_INTERNAL_ERROR;
      io.errnoValue = errnoOf(error);
      io.secureDataTransferSize = 0;
      io.operationCompleted = op;
      port.post(io);
    },
  );
}

/** Starts the handshake; its result is posted to the port. Returns GSK_IBMI_ASYNCHRONOUS_SOC_INIT. */
export function gsk_secure_soc_startInit(my_session_handle: unknown, IOCompletionPort: unknown, communicationsArea: unknown): number {
  let rc = RC.GSK_OK as number;
  const sync = callSync("gsk_secure_soc_startInit", () => {
    const session = sessionOf(my_session_handle);
    const port = portOf(IOCompletionPort);
    const io = overlappedOf(communicationsArea);
    if (session.state !== "open") throw new GskError(RC.GSK_INVALID_STATE, `the handshake was already started (the session is ${session.state})`);
    complete(port, io, V.GSKSECURESOCSTARTINIT, session.init().then(() => 0));
    rc = RC.GSK_IBMI_ASYNCHRONOUS_SOC_INIT;
  });
  return sync !== RC.GSK_OK ? sync : rc;
}

/**
 * Starts a receive into `buffer` (up to `bufferLength`). If data is already there and `postFlag`
 * is 0 it completes at once: GSK_OK with `secureDataTransferSize` set. Otherwise it returns
 * GSK_IBMI_ASYNCHRONOUS_RECV and posts to the port; `fillBuffer` 1 waits for the whole length,
 * and `operationWaitTime` bounds the wait (expiry posts 6011 with errno EAGAIN).
 */
export function gsk_secure_soc_startRecv(my_session_handle: unknown, IOCompletionPort: unknown, communicationsArea: unknown): number {
  let rc = RC.GSK_OK as number;
  const sync = callSync("gsk_secure_soc_startRecv", () => {
    const session = sessionOf(my_session_handle);
    const port = portOf(IOCompletionPort);
    const io = overlappedOf(communicationsArea);
    if (session.state !== "ready") throw new GskError(RC.GSK_INVALID_STATE, `receiving needs a session whose handshake succeeded (the session is ${session.state})`);
    const buffer = dataBuffer(io.buffer, "communicationsArea.buffer", false);
    const length = io.bufferLength ?? buffer.length;
    if (!Number.isInteger(length) || length < 1 || length > buffer.length) throw new GskError(RC.GSK_INVALID_BUFFER_SIZE, `communicationsArea.bufferLength ${String(length)} is not valid for a ${String(buffer.length)}-byte buffer`);
    // As on IBM i: data already there completes the receive at once (GSK_OK, nothing posted)
    // unless the caller asked for a post regardless (postFlag 1).
    if (io.postFlag !== 1 && session.readableLength >= (io.fillBuffer === 1 ? length : 1)) {
      io.secureDataTransferSize = session.readAvailable(buffer, length);
      io.returnValue = RC.GSK_OK;
      io.errnoValue = 0;
      io.operationCompleted = V.GSKSECURESOCSTARTRECV;
      rc = RC.GSK_OK;
      return;
    }
    const waitMs = io.operationWaitTime ? io.operationWaitTime.tv_sec * 1000 : 0;
    const work = receive(session, buffer, length, io.fillBuffer === 1, waitMs);
    rc = RC.GSK_IBMI_ASYNCHRONOUS_RECV;
    complete(port, io, V.GSKSECURESOCSTARTRECV, work);
  });
  return sync !== RC.GSK_OK ? sync : rc;
}

async function receive(session: ReturnType<typeof sessionOf>, buffer: Uint8Array, length: number, fill: boolean, waitMs: number): Promise<number> {
  const deadline = waitMs > 0 ? Date.now() + waitMs : 0;
  const expired = (): GskError => new GskError(RC.GSK_IBMI_ERROR_TIMED_OUT, "operationWaitTime expired", { nodeCode: "EAGAIN" });
  let got = 0;
  do {
    let part: number;
    if (deadline === 0) {
      part = await session.readInto(buffer.subarray(got), length - got);
    } else {
      const left = deadline - Date.now();
      if (left <= 0) throw expired();
      try {
        part = await session.readInto(buffer.subarray(got), length - got, left);
      } catch (error) {
        throw error instanceof GskError && error.code === RC.GSK_IBMI_ERROR_TIMED_OUT ? expired() : error;
      }
    }
    if (part === 0) break;
    got += part;
  } while (fill && got < length);
  return got;
}

/** Starts a send of `bufferLength` bytes of `buffer`; returns GSK_IBMI_ASYNCHRONOUS_SEND and posts to the port. */
export function gsk_secure_soc_startSend(my_session_handle: unknown, IOCompletionPort: unknown, communicationsArea: unknown): number {
  let rc = RC.GSK_OK as number;
  const sync = callSync("gsk_secure_soc_startSend", () => {
    const session = sessionOf(my_session_handle);
    const port = portOf(IOCompletionPort);
    const io = overlappedOf(communicationsArea);
    if (session.state !== "ready") throw new GskError(RC.GSK_INVALID_STATE, `sending needs a session whose handshake succeeded (the session is ${session.state})`);
    const buffer = dataBuffer(io.buffer, "communicationsArea.buffer", true);
    const length = io.bufferLength ?? buffer.length;
    if (!Number.isInteger(length) || length < 1 || length > buffer.length) throw new GskError(RC.GSK_INVALID_BUFFER_SIZE, `communicationsArea.bufferLength ${String(length)} is not valid for a ${String(buffer.length)}-byte buffer`);
    const data = Buffer.from(buffer.subarray(0, length));
    complete(port, io, V.GSKSECURESOCSTARTSEND, session.write(data).then(() => length));
    rc = RC.GSK_IBMI_ASYNCHRONOUS_SEND;
  });
  return sync !== RC.GSK_OK ? sync : rc;
}
