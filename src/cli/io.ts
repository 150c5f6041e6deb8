/**
 * What every `gskit` command shares: the context it runs in, option parsing, the one-line error
 * format, JSON output and the system-store location.
 */
import { access } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { StoreAccess } from "../keystore/edit.js";
import { stashPathFor } from "../keystore/stash.js";
import { systemStoreLocation, type SystemStoreLocation } from "../registry/locations.js";

/** Where a command writes: `process.stdout`, or a collector in tests. */
export interface Output {
  write(chunk: string): unknown;
}

/** Everything a command reads from its surroundings, so tests can run it in-process. */
export interface CliContext {
  /** The arguments after the command group (`["create", "--db", "x.p12", …]`). */
  readonly argv: readonly string[];
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Input for `s_client` when no `--message` is given. */
  readonly stdin?: NodeJS.ReadableStream | undefined;
  /** Ends long-running commands (`s_server`); the process entry point wires it to SIGINT/SIGTERM. */
  readonly signal?: AbortSignal | undefined;
}

export type Command = (context: CliContext) => Promise<number>;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A command line that does not fit the command: exit code 2 instead of 1. */
export class UsageError extends GskError {
  /** GskError's instanceof accepts every GskError (a brand check), so usage errors carry their own mark. */
  readonly usage = true;

  constructor(message: string) {
    super(RC.GSK_INVALID_PARAMETER, message);
  }
}

export function isUsageError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { usage?: unknown }).usage === true;
}

type OptionKind = { readonly type: "string" | "boolean"; readonly short?: string };
export type OptionSpec = Readonly<Record<string, OptionKind>>;
export type ParsedValues<S extends OptionSpec> = { [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean : string };

/**
 * gsk8capicmd spells options with one dash and underscores (`-db`, `-new_pw`); both that and the
 * GNU spelling (`--db`, `--new-pw`) are accepted, for the options the command knows.
 */
function normalize(argv: readonly string[], spec: OptionSpec): string[] {
  const out: string[] = [];
  let ended = false;
  for (const arg of argv) {
    const m = /^(--?)([A-Za-z][\w-]*)(=.*)?$/.exec(arg);
    if (ended || m === null) {
      if (arg === "--") ended = true;
      out.push(arg);
      continue;
    }
    const name = (m[2] ?? "").replace(/_/g, "-");
    const known = Object.hasOwn(spec, name) || name === "help";
    // A single dash and one letter is a short option; anything else unknown is left for parseArgs to name.
    out.push(known && !(m[1] === "-" && name.length === 1) ? `--${name}${m[3] ?? ""}` : arg);
  }
  return out;
}

/** Parses options (and at most `positionals` positional arguments); bad input is a UsageError. */
export function parseOptions<S extends OptionSpec>(argv: readonly string[], spec: S, positionals = 0): { values: ParsedValues<S> & { help?: boolean }; positionals: string[] } {
  const options = { ...spec, help: { type: "boolean", short: "h" } } as Record<string, OptionKind>;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: normalize(argv, spec), options: options as ParseArgsConfig["options"], allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(oneLine(error instanceof Error ? error.message : String(error)).replace(/\.$/, ""));
  }
  if (parsed.values["help"] !== true && parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals] ?? ""}'${positionals === 0 ? " (options take the form --name value)" : ""}`);
  }
  return parsed as { values: ParsedValues<S> & { help?: boolean }; positionals: string[] };
}

/** The value of a required option. */
export function need(values: Readonly<Record<string, unknown>>, name: string, why = ""): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`missing --${name}${why === "" ? "" : ` (${why})`}`);
  return value;
}

/** An option value from a fixed set. */
export function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, not '${value}'`);
  return value as T;
}

/** A whole-number option value. */
export function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${String(min)} to ${String(max)}, not '${value}'`);
  }
  return n;
}

/** A comma-separated option value as a list (empty items dropped). */
export function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, "; ");
}

/** `gskit: <what failed>: <why> (<GSK code name> <n>)` on stderr; returns the exit code. */
export function reportError(context: Pick<CliContext, "stderr">, what: string, error: unknown): number {
  const gsk = error instanceof GskError ? error : new GskError(RC.GSK_INTERNAL_ERROR, error instanceof Error ? error.message : String(error), { cause: error });
  const why = gsk.message.replace(/^gsk: /, "").replace(/ \([A-Z0-9_]+ \d+\)$/, "");
  context.stderr.write(`gskit: ${what}: ${oneLine(why)} (${gsk.codeName} ${String(gsk.code)})\n`);
  return isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE;
}

/** Non-fatal findings of a successful command, one line each. */
export function reportWarnings(context: Pick<CliContext, "stderr">, warnings: readonly string[]): void {
  for (const w of warnings) context.stderr.write(`gskit: warning: ${oneLine(w)}\n`);
}

export function printJson(out: Output, value: unknown): void {
  out.write(JSON.stringify(value, null, 2) + "\n");
}

/** Left-aligned columns for human-readable listings. */
export function printTable(out: Output, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  out.write(line(header) + "\n");
  for (const row of rows) out.write(line(row) + "\n");
}

/** `name  value` lines, values aligned: one entry's facts. */
export function printFields(out: Output, rows: readonly (readonly [string, string])[]): void {
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  for (const [name, value] of rows) out.write(`${name.padEnd(width)}  ${value}\n`);
}

/** The system store directory: `--dir`, else GSKIT_TLS_HOME of the command's environment, else ~/.gskit-tls. */
export function systemLocation(context: CliContext, dir: string | undefined): SystemStoreLocation {
  const directory = dir !== undefined && dir !== "" ? dir : context.env["GSKIT_TLS_HOME"] || join(context.env["HOME"] || homedir(), ".gskit-tls");
  return systemStoreLocation({ directory });
}

export const SYSTEM_STORE_NAME = "*SYSTEM";

export function isSystemStore(db: string): boolean {
  return db.toUpperCase() === SYSTEM_STORE_NAME;
}

/** The options that name a store and unlock it (`--stashed` is gsk8capicmd's spelling of `--stash`). */
export const STORE_OPTIONS = {
  db: { type: "string" },
  pw: { type: "string" },
  stash: { type: "boolean" },
  stashed: { type: "boolean" },
  dir: { type: "string" },
} as const;

/** `--db` (a file or `*SYSTEM`) with `--pw` / `--stash` as a file and how to unlock it. */
export function storeOf(
  context: CliContext,
  values: { db?: string | undefined; pw?: string | undefined; stash?: boolean | undefined; stashed?: boolean | undefined; dir?: string | undefined },
  name = "db",
): { file: string; access: StoreAccess } {
  // `name` is the option the value came from (`--db`, or `--file` for import), for the message.
  const db = need({ [name]: values.db }, name);
  const stash = values.stash === true || values.stashed === true;
  if (isSystemStore(db)) {
    const location = systemLocation(context, values.dir);
    return { file: location.storeFile, access: values.pw !== undefined ? { password: values.pw } : { stashFile: location.stashFile } };
  }
  const file = resolve(db);
  return { file, access: { password: values.pw, stashFile: values.pw === undefined && stash ? stashPathFor(file) : undefined } };
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** One action of a command group: its usage text and what it does. */
export interface Action {
  readonly usage: string;
  readonly run: (context: CliContext, argv: readonly string[]) => Promise<number>;
}

/**
 * Runs `<group> <action> [options]`: `--help` anywhere prints the usage, a missing or unknown
 * action is a usage error, and any failure becomes the one-line error.
 */
export async function runGroup(context: CliContext, group: string, summary: string, actions: Readonly<Record<string, Action>>): Promise<number> {
  const [first, ...rest] = context.argv;
  const groupUsage = (): string =>
    `usage: gskit ${group} <action> [options]\n${summary}\n\nactions:\n${Object.values(actions)
      .map((a) => `  ${a.usage.split("\n")[0] ?? ""}`)
      .join("\n")}\n\nRun 'gskit ${group} <action> --help' for an action's options.\n`;
  if (first === undefined) {
    return reportError(context, group, new UsageError(`missing action: one of ${Object.keys(actions).join(", ")} (gskit ${group} --help)`));
  }
  if (first === "--help" || first === "-h" || first === "-help") {
    context.stdout.write(groupUsage());
    return EXIT_OK;
  }
  const name = first.replace(/^-+/, "");
  const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
  if (action === undefined) {
    return reportError(context, group, new UsageError(`unknown action '${first}': one of ${Object.keys(actions).join(", ")}`));
  }
  if (rest.some((a) => a === "--help" || a === "-h" || a === "-help")) {
    context.stdout.write(`usage: gskit ${group} ${action.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await action.run(context, rest);
  } catch (error) {
    return reportError(context, `${group} ${name}`, error);
  }
}
