/**
 * Opaque handles and out-parameter boxes. A `gsk_handle` stands for one environment or session;
 * closing it unregisters it, so any later use of the old value is `GSK_INVALID_HANDLE` rather
 * than a use-after-free.
 */
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { EnvironmentCore } from "../core/environment.js";
import type { SessionCore } from "../core/session.js";

const HANDLE = Symbol("gsk_handle");

/** An environment or session handle, as C's `gsk_handle`: opaque, compared by identity. */
export interface gsk_handle {
  readonly [HANDLE]: "environment" | "session";
}

/** An out-parameter, as C's `T *`: the call writes `value`. */
export interface Ref<T> {
  value: T | undefined;
}

/** Creates an out-parameter box: `const h = ref<gsk_handle>(); gsk_environment_open(h)`. */
export function ref<T>(value?: T): Ref<T> {
  return { value };
}

const environments = new WeakMap<gsk_handle, EnvironmentCore>();
const sessions = new WeakMap<gsk_handle, SessionCore>();
const handlesOfCores = new WeakMap<object, gsk_handle>();

function newHandle(kind: "environment" | "session"): gsk_handle {
  const h = Object.freeze({ [HANDLE]: kind }) as gsk_handle;
  return h;
}

export function registerEnvironment(core: EnvironmentCore): gsk_handle {
  const h = newHandle("environment");
  environments.set(h, core);
  handlesOfCores.set(core, h);
  return h;
}

export function registerSession(core: SessionCore): gsk_handle {
  const h = newHandle("session");
  sessions.set(h, core);
  handlesOfCores.set(core, h);
  return h;
}

/** The handle a core object was registered under (for callbacks that pass a handle). */
export function handleOf(core: object): gsk_handle | undefined {
  return handlesOfCores.get(core);
}

export function unregister(h: gsk_handle): void {
  environments.delete(h);
  sessions.delete(h);
}

export function isHandle(value: unknown): value is gsk_handle {
  return typeof value === "object" && value !== null && HANDLE in value;
}

export function environmentOf(h: unknown): EnvironmentCore {
  const core = isHandle(h) ? environments.get(h) : undefined;
  if (!core) throw new GskError(RC.GSK_INVALID_HANDLE, describeBadHandle(h, "an environment"));
  return core;
}

export function sessionOf(h: unknown): SessionCore {
  const core = isHandle(h) ? sessions.get(h) : undefined;
  if (!core) throw new GskError(RC.GSK_INVALID_HANDLE, describeBadHandle(h, "a session"));
  return core;
}

/** Either kind, for the calls that accept both. */
export function coreOf(h: unknown): EnvironmentCore | SessionCore {
  if (isHandle(h)) {
    const core = environments.get(h) ?? sessions.get(h);
    if (core) return core;
  }
  throw new GskError(RC.GSK_INVALID_HANDLE, describeBadHandle(h, "an environment or session"));
}

function describeBadHandle(h: unknown, wanted: string): string {
  if (h === undefined || h === null) return `the handle is ${String(h)}: pass ${wanted} handle (box.value after the open call)`;
  if (!isHandle(h)) {
    if (typeof h === "object" && "value" in h) return `a box was passed where ${wanted} handle is expected: pass box.value`;
    return `${typeof h} is not a gsk_handle`;
  }
  if (environments.has(h) || sessions.has(h)) return `${h[HANDLE]} handle given where ${wanted} handle is expected`;
  return "the handle is closed";
}

/** The box of an out-parameter, or 6010. A handle passed where its box is expected is 6010 too. */
export function box<T>(value: unknown, what: string): Ref<T> {
  if (typeof value !== "object" || value === null || isHandle(value)) {
    throw new GskError(RC.GSK_IBMI_ERROR_INVALID_POINTER, `${what} must be an out-parameter box (ref()), got ${isHandle(value) ? "a handle" : value === null ? "null" : typeof value}`);
  }
  return value as Ref<T>;
}
