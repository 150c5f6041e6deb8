/** Runs gskit commands in-process (fast) and as a real process, capturing what they print. */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

import { run as app } from "../../src/cli/commands/app.js";
import { run as cert } from "../../src/cli/commands/cert.js";
import { run as certreq } from "../../src/cli/commands/certreq.js";
import { run as keydb } from "../../src/cli/commands/keydb.js";
import { run as sClient } from "../../src/cli/commands/s_client.js";
import { run as sServer } from "../../src/cli/commands/s_server.js";
import { run as strerror } from "../../src/cli/commands/strerror.js";
import { run as system } from "../../src/cli/commands/system.js";
import type { Command } from "../../src/cli/io.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const GROUPS: Record<string, Command> = { app, cert, certreq, keydb, s_client: sClient, s_server: sServer, strerror, system };

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class Capture {
  text = "";
  private waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  write(chunk: string): boolean {
    this.text += chunk;
    this.waiters = this.waiters.filter((w) => {
      const m = w.pattern.exec(this.text);
      if (m) w.resolve(m);
      return !m;
    });
    return true;
  }

  /** Resolves once the captured text matches (no timer: the test's own timeout bounds it). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    const m = pattern.exec(this.text);
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  signal?: AbortSignal;
  stdout?: Capture;
}

/** `gskit <group> …` in this process. The environment is empty unless given: nothing leaks from the test runner's. */
export async function gskit(argv: string[], options: RunOptions = {}): Promise<Result> {
  const [group, ...rest] = argv;
  const command = GROUPS[group ?? ""];
  if (!command) throw new Error(`no such group ${String(group)}`);
  const stdout = options.stdout ?? new Capture();
  const stderr = new Capture();
  const code = await command({
    argv: rest,
    stdout,
    stderr,
    env: options.env ?? {},
    stdin: options.stdin !== undefined ? Readable.from([Buffer.from(options.stdin)]) : undefined,
    signal: options.signal,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The one-line error format: `gskit: <what>: <why> (<NAME> <n>)`. */
export const ERROR_LINE = /^gskit: [^\n]+: [^\n]+ \(([A-Z][A-Z0-9_]+) (\d+)\)\n$/;

export function scratch(prefix: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gskit-cli-${prefix}-`));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `tsx src/cli/main.ts …` as a child process: the real exit code, stdout and stderr. */
export function spawnGskit(argv: string[], options: { env?: Record<string, string>; onStdout?: (text: string) => void } = {}): { result: Promise<Result>; kill: (signal?: NodeJS.Signals) => void } {
  const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
  const child = spawn(tsx, [join(repoRoot, "src", "cli", "main.ts"), ...argv], {
    cwd: repoRoot,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? tmpdir(), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    options.onStdout?.(stdout);
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const result = new Promise<Result>((resolvePromise, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
  return { result, kill: (signal = "SIGTERM") => child.kill(signal) };
}

const probed = new Map<string, boolean>();

/** True when `tool` runs (looked up on PATH at run time, once per process). */
export function has(tool: string): boolean {
  let found = probed.get(tool);
  if (found === undefined) {
    const r = spawnSync(tool, [tool === "openssl" ? "version" : "--version"], { stdio: "ignore", timeout: 10_000 });
    found = r.error === undefined && r.status === 0;
    probed.set(tool, found);
  }
  return found;
}
