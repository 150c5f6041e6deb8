/**
 * Every gsk_* function runs through here: a GskError becomes its number, anything else becomes
 * GSK_INTERNAL_ERROR with the details published on diagnostics channel `gskit-tls:error`. So no
 * gsk_* function ever throws or rejects, whatever it is given.
 */
import diagnostics from "node:diagnostics_channel";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";

const errorChannel = diagnostics.channel("gskit-tls:error");

/** The last GskError of each calling function, for `gskx_last_error`. */
let lastError: GskError | undefined;

export function lastGskError(): GskError | undefined {
  return lastError;
}

/**
 * A caller's value for a message. String() throws for objects without a usable toString
 * (Object.create(null)), which would turn a bad argument into GSK_INTERNAL_ERROR instead of its code.
 */
export function shown(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function toCode(fn: string, error: unknown): number {
  if (error instanceof GskError) {
    lastError = error;
    if (errorChannel.hasSubscribers) errorChannel.publish({ function: fn, error });
    return error.code;
  }
  const wrapped = new GskError(RC.GSK_INTERNAL_ERROR, `${fn}: unexpected failure: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  lastError = wrapped;
  if (errorChannel.hasSubscribers) errorChannel.publish({ function: fn, error: wrapped });
  return RC.GSK_INTERNAL_ERROR;
}

export function callSync(fn: string, body: () => void): number {
  try {
    body();
    return RC.GSK_OK;
  } catch (error) {
    return toCode(fn, error);
  }
}

/** The asynchronous calls: the body's promise settles the call with GSK_OK or its error's code. */
export function callAsync(fn: string, body: () => Promise<void>): Promise<number> {
  let pending: Promise<void>;
  try {
    pending = body();
  } catch (error) {
    return Promise.resolve(toCode(fn, error));
  }
  return pending.then(returnOk, (error: unknown) => toCode(fn, error));
}

/**
 * Reads and writes, the hot path: the core reports through callbacks, so a call costs its own
 * promise and no other. `start` checks the arguments and starts the operation; `done` sets the
 * out-parameter before the call settles with GSK_OK. A check that throws settles with its code.
 */
export function callWithCallbacks<T>(
  fn: string,
  start: (resolve: (value: T) => void, reject: (error: Error) => void) => void,
  done: (value: T) => void,
): Promise<number> {
  return new Promise<number>((settle) => {
    try {
      start(
        (value) => {
          done(value);
          settle(RC.GSK_OK);
        },
        (error) => settle(toCode(fn, error)),
      );
    } catch (error) {
      settle(toCode(fn, error));
    }
  });
}

const returnOk = (): number => RC.GSK_OK;
