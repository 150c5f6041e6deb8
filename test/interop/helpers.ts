/**
 * Foreign peers for the interoperability suites: `openssl s_server` / `s_client`, `curl` and
 * `python3 -c` scripts, run as child processes on 127.0.0.1, plus the few gsk_* steps every suite
 * repeats (an environment from a key store, a session on a socket, line-oriented reads).
 *
 * Tools are looked up at run time; a suite that needs a missing one skips and says why. Every
 * child is registered, so `killPeers()` in `afterEach` ends whatever a failed test left running.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { expect } from "vitest";

import {
  gsk_attribute_get_cert_info,
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_write,
  ref,
  type gsk_cert_data_elem,
  type gsk_handle,
  type Ref,
  CERT_COMMON_NAME,
  GSK_FALSE,
  GSK_FD,
  GSK_KEYRING_FILE,
  GSK_KEYRING_LABEL,
  GSK_KEYRING_PW,
  GSK_KEYRING_STASH_FILE,
  GSK_OK,
  GSK_PROTOCOL_TLSV13,
  GSK_SESSION_TYPE,
} from "../../src/index.js";

// ---------------------------------------------------------------------------------------------
// Tools

const probed = new Map<string, boolean>();

/** True when `tool` runs (looked up on PATH at run time, once per process). */
export function has(tool: string): boolean {
  let ok = probed.get(tool);
  if (ok === undefined) {
    const args = tool === "openssl" ? ["version"] : ["--version"];
    const r = spawnSync(tool, args, { stdio: "ignore", timeout: 10_000 });
    ok = r.error === undefined && r.status === 0;
    probed.set(tool, ok);
  }
  return ok;
}

/** True when python3 runs and was built with its `ssl` module (minimal images drop it). */
export function hasPythonSsl(): boolean {
  if (!has("python3")) return false;
  const r = spawnSync("python3", ["-c", "import ssl, json, socket"], { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

/** Prints why a suite is skipped, so a green run that tested nothing says so. */
export function warnSkip(suite: string, reason: string): void {
  console.warn(`${suite}: skipped, ${reason}`);
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<Peer>();

/** A child process whose stdout and stderr are collected as text. */
export class Peer {
  stdout = "";
  stderr = "";
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(readonly name: string, readonly child: ChildProcess) {
    live.add(this);
    child.stdout?.on("data", (d: Buffer) => {
      this.stdout += d.toString();
      this.changed();
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
      this.changed();
    });
    // A peer that exits early makes writes to its stdin fail with EPIPE; the test reads the exit.
    child.stdin?.on("error", () => undefined);
    this.exited = new Promise<Exit>((resolve) => {
      child.once("error", (error) => {
        this.stderr += `\n[spawn failed: ${error.message}]`;
        this.exit = { code: -1, signal: null };
        live.delete(this);
        this.changed();
        resolve(this.exit);
      });
      child.once("close", (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        this.changed();
        resolve(this.exit);
      });
    });
  }

  /** Everything printed so far, for assertions and failure messages. */
  get output(): string {
    return `${this.stdout}${this.stderr}`;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves with the first match of `pattern` in stdout+stderr; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = pattern.exec(this.output);
        if (m) {
          done();
          resolve(m);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.name} exited (${describeExit(this.exit!)}) before printing ${String(pattern)}:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} printed no ${String(pattern)} within ${String(timeoutMs)} ms:\n${this.output}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves with the exit; a peer still running after `timeoutMs` is killed and the test fails. */
  async finished(timeoutMs = 15_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`${this.name} did not exit within ${String(timeoutMs)} ms:\n${this.output}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  write(text: string): void {
    this.child.stdin?.write(text);
  }

  endInput(text?: string): void {
    this.child.stdin?.end(text);
  }

  /** Ends the process by its pid (SIGKILL) if it is still running, and waits for it. */
  async stop(): Promise<void> {
    this.kill();
    await this.exited;
  }

  private kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }
}

function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/** Ends every peer still running (for afterEach: a failed assertion leaves no process behind). */
export async function killPeers(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

export function spawnPeer(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Peer {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], cwd: options.cwd, env: options.env ?? process.env });
  return new Peer(`${command} ${args[0] ?? ""}`.trim(), child);
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its exit and output. */
export async function run(command: string, args: readonly string[], timeoutMs = 15_000): Promise<Exit & { stdout: string; stderr: string }> {
  const peer = spawnPeer(command, args);
  peer.endInput();
  const exit = await peer.finished(timeoutMs);
  return { ...exit, stdout: peer.stdout, stderr: peer.stderr };
}

// ---------------------------------------------------------------------------------------------
// openssl

/**
 * `openssl s_server` on 127.0.0.1, a port the kernel picks, serving one connection (`-naccept 1`);
 * resolves once it prints its ACCEPT line with the port.
 */
export async function opensslServer(args: readonly string[]): Promise<{ peer: Peer; port: number }> {
  const peer = spawnPeer("openssl", ["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", ...args]);
  try {
    const m = await peer.waitFor(/ACCEPT\s+\S*:(\d+)/);
    return { peer, port: Number(m[1]) };
  } catch (error) {
    await peer.stop();
    throw error;
  }
}

/** `openssl s_client` to 127.0.0.1:port; stdin stays open until the test ends it. */
export function opensslClient(port: number, args: readonly string[]): Peer {
  return spawnPeer("openssl", ["s_client", "-connect", `127.0.0.1:${String(port)}`, ...args]);
}

/** Seconds since the epoch, as `-attime` takes them. */
export function epochSeconds(iso: string): string {
  return String(Math.floor(Date.parse(iso) / 1000));
}

// ---------------------------------------------------------------------------------------------
// python3

/** `python3 -c script args…`, unbuffered so lines arrive as they are printed. */
export function python(script: string, args: readonly string[]): Peer {
  return spawnPeer("python3", ["-u", "-c", script, ...args]);
}

/** A Python peer that prints `PORT <n>` once it listens; resolves with the port. */
export async function pythonServer(script: string, args: readonly string[]): Promise<{ peer: Peer; port: number }> {
  const peer = python(script, args);
  try {
    const m = await peer.waitFor(/^PORT (\d+)$/m);
    return { peer, port: Number(m[1]) };
  } catch (error) {
    await peer.stop();
    throw error;
  }
}

/** The last line of a peer's stdout that parses as a JSON object. */
export function lastJson<T>(text: string): T {
  const lines = text.split("\n").filter((l) => l.trim().startsWith("{"));
  const last = lines[lines.length - 1];
  if (last === undefined) throw new Error(`no JSON line in:\n${text}`);
  return JSON.parse(last) as T;
}

// ---------------------------------------------------------------------------------------------
// Sockets

/** A listener on 127.0.0.1, port 0; `accepted` is the first connection. */
export async function listenOnce(): Promise<{ port: number; accepted: Promise<Socket>; close(): void }> {
  const server: Server = createServer();
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    // A peer that resets before the session takes the socket over must not crash the worker.
    s.on("error", () => undefined);
  });
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    accepted,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The gsk_* side

export interface GskEnvironmentSpec {
  store: string;
  password?: string;
  stashFile?: string;
  label?: string;
  sessionType: number;
  /** false: TLS 1.2 only. */
  tls13?: boolean;
}

/** gsk_environment_open … gsk_environment_init from a key store; every call must return GSK_OK. */
export async function gskEnvironment(spec: GskEnvironmentSpec): Promise<gsk_handle> {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, spec.store, 0)).toBe(GSK_OK);
  if (spec.password !== undefined) expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, spec.password, 0)).toBe(GSK_OK);
  if (spec.stashFile !== undefined) expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_STASH_FILE, spec.stashFile, 0)).toBe(GSK_OK);
  if (spec.label !== undefined) expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_LABEL, spec.label, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, spec.sessionType)).toBe(GSK_OK);
  if (spec.tls13 === false) expect(gsk_attribute_set_enum(env.value, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);
  expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
  return env.value!;
}

/** gsk_secure_soc_open on `env` with the connected socket as GSK_FD. */
export function gskSession(env: gsk_handle, socket: Socket): Ref<gsk_handle> {
  const h = ref<gsk_handle>();
  expect(gsk_secure_soc_open(env, h)).toBe(GSK_OK);
  expect(gsk_attribute_set_numeric_value(h.value, GSK_FD, socket)).toBe(GSK_OK);
  return h;
}

/** Closes a session box and an environment if they are still open (for finally blocks). */
export async function gskCleanup(session: Ref<gsk_handle> | undefined, env: gsk_handle | undefined): Promise<void> {
  if (session?.value !== undefined) await gsk_secure_soc_close(session);
  if (env !== undefined) gsk_environment_close(ref(env));
}

/** Writes all of `text`; returns the return code. */
export async function gskWrite(h: gsk_handle | undefined, text: string | Buffer): Promise<number> {
  const data = typeof text === "string" ? Buffer.from(text) : text;
  const n = ref<number>();
  const rc = await gsk_secure_soc_write(h, data, data.length, n);
  if (rc === GSK_OK) expect(n.value).toBe(data.length);
  return rc;
}

/**
 * Reads until `until` appears (or end of stream); returns the text and the code of the last read
 * (GSK_OK at a clean end, the failure's code otherwise).
 */
export async function gskReadUntil(h: gsk_handle | undefined, until: string | RegExp = "\n"): Promise<{ text: string; rc: number; ended: boolean }> {
  const buf = Buffer.alloc(16 * 1024);
  const n = ref<number>();
  let text = "";
  for (;;) {
    const rc = await gsk_secure_soc_read(h, buf, buf.length, n);
    if (rc !== GSK_OK) return { text, rc, ended: false };
    if (n.value === 0) return { text, rc, ended: true };
    text += buf.subarray(0, n.value).toString();
    if (typeof until === "string" ? text.includes(until) : until.test(text)) return { text, rc, ended: false };
  }
}

/** The CN of the partner's (or our own) certificate, through gsk_attribute_get_cert_info. */
export function certCommonName(h: gsk_handle | undefined, which: number): string | undefined {
  const elems = ref<gsk_cert_data_elem[]>();
  const count = ref<number>();
  expect(gsk_attribute_get_cert_info(h, which, elems, count)).toBe(GSK_OK);
  const cn = elems.value!.find((e) => e.cert_data_id === CERT_COMMON_NAME)?.cert_data_p;
  return typeof cn === "string" ? cn : undefined;
}
