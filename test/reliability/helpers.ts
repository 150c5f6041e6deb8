/**
 * Shared pieces of the reliability suite: servers that record what each connection ended with
 * (gsk_* layer and idiomatic layer), a control client, hostile raw clients, handle accounting,
 * an unhandled-rejection recorder, a seeded PRNG and the file mutator.
 *
 * Everything runs on 127.0.0.1 with port 0, and every helper that starts something gives back
 * the means to stop it, so a test can prove the process returns to its handle baseline.
 */
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Server, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";

import {
  Environment,
  GskError,
  TlsServer,
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_write,
  gskx_errno,
  gskx_last_error,
  ref,
  type EnvironmentOptions,
  type Session,
  type gsk_handle,
  GSK_FALSE,
  GSK_FD,
  GSK_HANDSHAKE_TIMEOUT,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_PROTOCOL_TLSV13,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
} from "../../src/index.js";
import { RETURN_CODES } from "../../src/codes.js";
import { pkiFile } from "../fixtures/pki-manifest.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

// ------------------------------------------------------------------------------------------------
// Codes

/** Every code the return-code table documents. */
export const DOCUMENTED_CODES: ReadonlySet<number> = new Set(RETURN_CODES.map((r) => r.code));

// ------------------------------------------------------------------------------------------------
// Process health: handles, unhandled rejections

export interface HandleCounts {
  tcp: number;
  server: number;
  timeout: number;
}

/** The process's live TCP sockets, TCP servers and timers, as Node reports them. */
export function handleCounts(): HandleCounts {
  const info = process.getActiveResourcesInfo();
  return {
    tcp: info.filter((r) => r === "TCPSocketWrap").length,
    server: info.filter((r) => r === "TCPServerWrap").length,
    timeout: info.filter((r) => r === "Timeout").length,
  };
}

/**
 * Waits (event-loop turns, bounded) until no more sockets, servers and timers are alive than at
 * `baseline`, and returns the last counts: the caller asserts on them, so a leak fails with its
 * numbers instead of a timeout.
 */
export async function settleHandles(baseline: HandleCounts, limitMs = 5_000): Promise<HandleCounts> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const now = handleCounts();
    if ((now.tcp <= baseline.tcp && now.server <= baseline.server && now.timeout <= baseline.timeout) || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
}

let gcFunction: (() => void) | undefined;

/**
 * Memory held live after a full garbage collection: V8 heap in use plus memory outside it
 * (buffers, OpenSSL's objects that Node accounts as external), and the process's RSS.
 */
export async function liveMemory(): Promise<{ live: number; rss: number }> {
  if (!gcFunction) {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    // The test runner does not start Node with --expose-gc; this flag takes effect for new contexts.
    v8.setFlagsFromString("--expose-gc");
    gcFunction = vm.runInNewContext("gc") as () => void;
  }
  gcFunction();
  await new Promise((r) => setImmediate(r));
  gcFunction();
  const m = process.memoryUsage();
  return { live: m.heapUsed + m.external, rss: m.rss };
}

/** Records unhandled rejections while installed; `stop()` removes the listener. */
export function recordUnhandledRejections(): { readonly seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on("unhandledRejection", listener);
  return { seen, stop: () => void process.off("unhandledRejection", listener) };
}

// ------------------------------------------------------------------------------------------------
// Outcomes recorded by servers

/** How one accepted connection ended on the server. */
export interface ServerOutcome {
  /** gsk_secure_soc_init's code (gsk layer) or the handshake error's code (idiomatic; 0 = ok). */
  initRc: number;
  /** The first non-OK read/write code after a successful handshake (0: clean end of stream). */
  ioRc?: number;
  /** gskx_errno after a 406 (gsk layer) or the GskError's nodeCode (idiomatic). */
  errno?: string | undefined;
  message?: string | undefined;
  /** Bytes echoed back. */
  echoed: number;
}

/** A queue of outcomes, in completion order, with a way to wait for the next N. */
export class Outcomes {
  readonly all: ServerOutcome[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  push(o: ServerOutcome): void {
    this.all.push(o);
    this.waiters = this.waiters.filter((w) => {
      if (this.all.length >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  /** How many outcomes are recorded now: pass it to `since` to wait for the next ones. */
  mark(): number {
    return this.all.length;
  }

  /** The `count` outcomes recorded after `mark`, once they are there. */
  async since(mark: number, count: number, limitMs = 15_000): Promise<ServerOutcome[]> {
    const all = await this.waitFor(mark + count, limitMs);
    return all.slice(mark, mark + count);
  }

  /** Resolves once `n` outcomes in total are recorded; rejects after `limitMs`. */
  async waitFor(n: number, limitMs = 15_000): Promise<ServerOutcome[]> {
    if (this.all.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${String(this.all.length)} of ${String(n)} server outcomes within ${String(limitMs)} ms`)), limitMs);
        this.waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    return this.all.slice(0, n);
  }
}

// ------------------------------------------------------------------------------------------------
// Stores

export interface ServerStores {
  server: string;
  client: string;
  /** The trust anchors a plain node:tls client needs for the control connection. */
  ca: string;
}

let storesCache: Promise<ServerStores> | undefined;

/** One ECDSA server store (server identity) and one client store (client identity), made once. */
export function serverStores(): Promise<ServerStores> {
  storesCache ??= (async () => ({
    server: await makeStore({ tree: "ecdsa", personal: ["server"] }),
    client: await makeStore({ tree: "ecdsa", personal: ["client"] }),
    ca: pkiFile("ecdsa", "ca.pem"),
  }))();
  return storesCache;
}

// ------------------------------------------------------------------------------------------------
// Servers: echo what arrives; a session whose first message is FLOOD_COMMAND instead writes
// without end (for back-pressure), until the write fails or the test calls stopFlood().

/** First message that turns a session into a flooding one. */
export const FLOOD_COMMAND = "FLOOD!";

/** One flooding session: bytes whose write resolved, and whether a write is pending now. */
export interface FloodState {
  written: number;
  pending: boolean;
  /** The TCP socket under the session (gsk server), where the test can see its queue. */
  socket: Socket | undefined;
}

/** Write loops that a test can watch and release. */
class Flood {
  readonly state: FloodState[] = [];
  private running = true;
  private readonly wake: (() => void)[] = [];

  /** Writes `chunk` until a write fails (rethrown) or `stop()`; a pending write is abandoned then. */
  async run(socket: Socket | undefined, write: (chunk: Buffer) => Promise<void>): Promise<void> {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const state: FloodState = { written: 0, pending: false, socket };
    this.state.push(state);
    const stopped = new Promise<"stopped">((r) => this.wake.push(() => r("stopped")));
    while (this.running) {
      state.pending = true;
      const written = write(chunk).then(() => "written" as const);
      // Released by stop() while the write is pending: its promise then settles (or fails) with
      // the connection, so it gets a handler here.
      written.catch(() => undefined);
      const result = await Promise.race([written, stopped]);
      state.pending = false;
      if (result === "stopped") return;
      state.written += chunk.length;
    }
  }

  stop(): void {
    this.running = false;
    for (const wake of this.wake.splice(0)) wake();
  }
}

export interface RecordingServer {
  readonly port: number;
  readonly outcomes: Outcomes;
  readonly floodState: readonly FloodState[];
  /** Releases the flooding sessions' pending writes (their sessions are then closed). */
  stopFlood(): void;
  close(): Promise<void>;
}

export interface GskServerOptions {
  /** GSK_HANDSHAKE_TIMEOUT in seconds (default 1). */
  handshakeTimeout?: number;
  /** TLS 1.2 only (for renegotiation). */
  tls12Only?: boolean;
}

/** A gsk_* server: one environment, a session per accepted socket, gsk_secure_soc_read/write. */
export async function gskServer(options: GskServerOptions = {}): Promise<RecordingServer> {
  const stores = await serverStores();
  const envBox = ref<gsk_handle>();
  expectOk(gsk_environment_open(envBox), "gsk_environment_open");
  const env = envBox.value!;
  expectOk(gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, stores.server, 0), "GSK_KEYRING_FILE");
  expectOk(gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0), "GSK_KEYRING_PW");
  expectOk(gsk_attribute_set_enum(env, GSK_SESSION_TYPE, GSK_SERVER_SESSION), "GSK_SESSION_TYPE");
  expectOk(gsk_attribute_set_numeric_value(env, GSK_HANDSHAKE_TIMEOUT, options.handshakeTimeout ?? 1), "GSK_HANDSHAKE_TIMEOUT");
  if (options.tls12Only) expectOk(gsk_attribute_set_enum(env, GSK_PROTOCOL_TLSV13, GSK_FALSE), "GSK_PROTOCOL_TLSV13");
  expectOk(await gsk_environment_init(env), "gsk_environment_init");

  const outcomes = new Outcomes();
  const sockets = new Set<Socket>();
  const flood = new Flood();

  const serve = async (socket: Socket): Promise<void> => {
    const h = ref<gsk_handle>();
    expectOk(gsk_secure_soc_open(env, h), "gsk_secure_soc_open");
    gsk_attribute_set_numeric_value(h.value, GSK_FD, socket);
    const initRc = await gsk_secure_soc_init(h.value);
    const outcome: ServerOutcome = { initRc, echoed: 0 };
    const failed = (rc: number): void => {
      outcome.ioRc = rc;
      outcome.errno = gskx_errno(h.value);
      outcome.message = gskx_last_error()?.message;
    };
    if (initRc !== GSK_OK) {
      outcome.errno = gskx_errno(h.value);
      outcome.message = gskx_last_error()?.message;
    } else {
      const buf = Buffer.alloc(16 * 1024);
      const n = ref<number>();
      const w = ref<number>();
      for (;;) {
        const rc = await gsk_secure_soc_read(h.value, buf, buf.length, n);
        if (rc !== GSK_OK) {
          failed(rc);
          break;
        }
        if (n.value === 0) {
          outcome.ioRc = 0;
          break;
        }
        if (outcome.echoed === 0 && buf.subarray(0, n.value).toString() === FLOOD_COMMAND) {
          try {
            await flood.run(socket, async (chunk) => {
              const wrc = await gsk_secure_soc_write(h.value, chunk, chunk.length, w);
              if (wrc !== GSK_OK) throw new GskError(wrc, gskx_last_error()?.message ?? "write failed");
            });
            outcome.ioRc = 0;
          } catch (error) {
            failed((error as GskError).code);
          }
          break;
        }
        const wrc = await gsk_secure_soc_write(h.value, buf, n.value!, w);
        if (wrc !== GSK_OK) {
          failed(wrc);
          break;
        }
        outcome.echoed += n.value!;
      }
    }
    await gsk_secure_soc_close(h);
    socket.destroy();
    outcomes.push(outcome);
  };

  const server = netCreateServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    void serve(socket);
  });
  const port = await listen(server);
  return {
    port,
    outcomes,
    floodState: flood.state,
    stopFlood: () => flood.stop(),
    async close() {
      flood.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      gsk_environment_close(ref(env));
    },
  };
}

/** The idiomatic server: TlsServer, echo through async iteration, failed handshakes via onError. */
export async function idiomaticServer(extra: Partial<EnvironmentOptions> = {}): Promise<RecordingServer & { env: Environment; server: TlsServer }> {
  const stores = await serverStores();
  const env = await Environment.open({ role: "server", keystore: { file: stores.server, password: PASSWORD }, handshakeTimeoutMs: 1_000, ...extra });
  const outcomes = new Outcomes();
  const flood = new Flood();
  const server = env.createServer(
    async (session: Session) => {
      const outcome: ServerOutcome = { initRc: 0, echoed: 0 };
      try {
        for await (const chunk of session) {
          if (outcome.echoed === 0 && chunk.toString() === FLOOD_COMMAND) {
            await flood.run(undefined, (c) => session.write(c));
            break;
          }
          await session.write(chunk);
          outcome.echoed += chunk.length;
        }
        outcome.ioRc = 0;
      } catch (error) {
        outcome.ioRc = error instanceof GskError ? error.code : -1;
        outcome.errno = error instanceof GskError ? error.nodeCode : undefined;
        outcome.message = error instanceof Error ? error.message : String(error);
      }
      await session.close();
      outcomes.push(outcome);
    },
    (error) => outcomes.push({ initRc: error.code, errno: error.nodeCode, message: error.message, echoed: 0 }),
  );
  const address = await server.listen();
  return {
    port: address.port,
    outcomes,
    env,
    server,
    floodState: flood.state,
    stopFlood: () => flood.stop(),
    async close() {
      flood.stop();
      await server.close();
      await env.close();
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Clients

/** A node:tls client that echoes `message` through the server and closes: the control connection. */
export async function controlEcho(port: number, options: Partial<ConnectionOptions> = {}): Promise<string> {
  const stores = await serverStores();
  return new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: stores.ca, ...options });
    const parts: Buffer[] = [];
    const message = "control-" + String(Math.random()).slice(2);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("the control connection got no echo within 10 s"));
    }, 10_000);
    socket.once("secureConnect", () => socket.write(message));
    socket.on("data", (d: Buffer) => {
      parts.push(d);
      if (Buffer.concat(parts).toString() === message) {
        clearTimeout(timer);
        socket.end();
      }
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      const got = Buffer.concat(parts).toString();
      if (got === message) resolve(got);
      else reject(new Error(`control connection closed with ${JSON.stringify(got)} instead of the echo`));
    });
  });
}

/**
 * A node:tls client over a TCP socket of our own, so the test can reset the TCP connection under
 * the TLS layer (`raw.resetAndDestroy()`), which a TLSSocket's own handle cannot do.
 */
export async function tlsClient(port: number, options: Partial<ConnectionOptions> = {}): Promise<{ tls: TLSSocket; raw: Socket }> {
  const stores = await serverStores();
  const raw = await rawConnect(port);
  const socket = tlsConnect({ socket: raw, servername: "localhost", ca: stores.ca, ...options });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => {
      socket.off("error", reject);
      resolve();
    });
    socket.once("error", reject);
  });
  socket.on("error", () => undefined);
  return { tls: socket, raw };
}

/** A connected raw TCP socket to 127.0.0.1:port. */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", () => undefined);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Resolves when the socket is closed (by either end). */
export function closed(socket: Socket): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return new Promise((r) => socket.once("close", () => r()));
}

let clientHelloCache: Promise<Buffer> | undefined;

/**
 * A real ClientHello as node:tls sends it (TLS 1.3 capable, SNI localhost), captured once from a
 * listener that never answers.
 */
export function realClientHello(): Promise<Buffer> {
  clientHelloCache ??= (async () => {
    const listener = netCreateServer();
    const port = await listen(listener);
    const got = new Promise<Buffer>((resolve) => {
      listener.once("connection", (s: Socket) => {
        s.once("data", (d: Buffer) => {
          resolve(d);
          s.destroy();
        });
      });
    });
    const client = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false });
    client.on("error", () => undefined);
    const hello = await got;
    client.destroy();
    await new Promise<void>((r) => listener.close(() => r()));
    return hello;
  })();
  return clientHelloCache;
}

// ------------------------------------------------------------------------------------------------
// Small utilities

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function expectOk(rc: number, what: string): void {
  if (rc !== GSK_OK) throw new Error(`${what} returned ${String(rc)}: ${gskx_last_error()?.message ?? ""}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Races `promise` against a deadline; the timer is always cleared. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${String(ms)} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------------------------------------
// Seeded randomness and file mutation

/** mulberry32: a tiny, fast, seedable PRNG (32-bit state) — enough to make fuzz runs repeatable. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

export type MutationKind = "bitflip" | "byteset" | "truncate" | "insert" | "duplicate" | "interesting";

/** Byte values that tend to hit boundaries in length and tag fields. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff, 0x30, 0x04, 0x02, 0x0a, 0x22, 0x7b, 0x5b];

/**
 * One mutant of `seed`: 1–4 stacked mutations among bit flips, byte sets, truncation, insertion
 * of random bytes and duplication of a chunk. Returns the mutant and what was done (for the
 * failure message, so a finding can be replayed).
 */
export function mutate(seed: Buffer, rng: Prng): { data: Buffer; kinds: MutationKind[] } {
  let data: Buffer = Buffer.from(seed);
  const kinds: MutationKind[] = [];
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds; r++) {
    const kind = (["bitflip", "byteset", "truncate", "insert", "duplicate", "interesting"] as const)[rng.below(6)]!;
    kinds.push(kind);
    if (data.length === 0) {
      data = rng.bytes(1 + rng.below(8));
      continue;
    }
    const at = rng.below(data.length);
    switch (kind) {
      case "bitflip":
        data[at] = data[at]! ^ (1 << rng.below(8));
        break;
      case "byteset":
        data[at] = rng.u32() & 0xff;
        break;
      case "interesting":
        data[at] = INTERESTING[rng.below(INTERESTING.length)]!;
        break;
      case "truncate":
        data = data.subarray(0, at);
        break;
      case "insert":
        data = Buffer.concat([data.subarray(0, at), rng.bytes(1 + rng.below(16)), data.subarray(at)]);
        break;
      case "duplicate": {
        const len = 1 + rng.below(Math.min(256, data.length - at));
        const chunk = data.subarray(at, at + len);
        const to = rng.below(data.length + 1);
        data = Buffer.concat([data.subarray(0, to), chunk, data.subarray(to)]);
        break;
      }
    }
  }
  return { data, kinds };
}

// ------------------------------------------------------------------------------------------------
// File fuzzing. The parsers run in a worker thread so that a mutant that hangs (even in
// synchronous code) is caught: the main thread watches a shared progress counter and terminates
// the worker when one mutant takes longer than its limit, naming the mutant for replay. The
// worker's heap is capped, so an allocation bomb ends it instead of the test process.

/** The file formats the fuzzer mutates. */
export const FUZZ_FORMATS = ["pkcs12", "pkcs12-legacy", "pem", "stash", "kdb", "registry"] as const;
export type FuzzFormat = (typeof FUZZ_FORMATS)[number];

export interface FuzzOptions {
  /** At most this many mutants. */
  count: number;
  /** And at most this long (ms): whichever bound comes first. */
  budgetMs: number;
  /** A mutant still running after this long is a hang. */
  perMutantMs: number;
  /** Base seed; mutant i uses its own PRNG seeded from (seed, i), so any one can be replayed. */
  seed: number;
  /** Harness self-test: mutant 3 hangs, or throws a TypeError, instead of being parsed. */
  selfTest?: "hang" | "throw";
}

export interface FuzzFailure {
  index: number;
  kinds: string[];
  error: string;
}

export interface FuzzReport {
  format: FuzzFormat;
  mutants: number;
  /** Mutants that parsed (a mutation in a part nothing checks, or a harmless one). */
  parsed: number;
  /** GskError codes seen, with counts. */
  codes: Record<string, number>;
  /** The first failures (at most 20) and how many there were in all. */
  failures: FuzzFailure[];
  failureCount: number;
  slowestMs: number;
  /** Largest growth of the worker's heap + ArrayBuffer memory over its start, sampled per mutant. */
  memoryGrowth: number;
  elapsedMs: number;
  stoppedBy: "count" | "time" | "hang" | "crash";
}

/** Mutant i's PRNG: independent of every other mutant, so a finding replays alone. */
export function mutantRng(seed: number, index: number): Prng {
  return new Prng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
}

/** Runs the fuzzer for one format in a worker and returns its report. */
export async function runFuzz(format: FuzzFormat, options: FuzzOptions): Promise<FuzzReport> {
  const { Worker } = await import("node:worker_threads");
  const { createRequire } = await import("node:module");
  const { fileURLToPath } = await import("node:url");
  const { pathToFileURL } = await import("node:url");
  // The worker loads this file through tsx's ESM API (a worker does not inherit the test runner's
  // TypeScript loader), addressed by absolute URL: a data: URL module cannot resolve bare names.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const self = fileURLToPath(import.meta.url);
  const progress = new Int32Array(new SharedArrayBuffer(8));
  const source = `import { tsImport } from ${JSON.stringify(tsxApi)};
    import { workerData } from "node:worker_threads";
    const m = await tsImport(${JSON.stringify(self)}, ${JSON.stringify(pathToFileURL(self).href)});
    await m.fuzzWorkerMain(workerData);`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
    workerData: { format, options, progress },
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
  const started = Date.now();
  return new Promise<FuzzReport>((resolve) => {
    let lastIndex = -2;
    let lastChange = Date.now();
    const done = (report: FuzzReport): void => {
      clearInterval(watch);
      void worker.terminate();
      resolve(report);
    };
    const empty = (stoppedBy: FuzzReport["stoppedBy"], failure: FuzzFailure): FuzzReport => ({
      format,
      mutants: Math.max(0, Atomics.load(progress, 0)),
      parsed: 0,
      codes: {},
      failures: [failure],
      failureCount: 1,
      slowestMs: Date.now() - lastChange,
      memoryGrowth: 0,
      elapsedMs: Date.now() - started,
      stoppedBy,
    });
    const watch = setInterval(() => {
      const index = Atomics.load(progress, 0);
      if (index !== lastIndex) {
        lastIndex = index;
        lastChange = Date.now();
      } else if (Atomics.load(progress, 1) === 1 && Date.now() - lastChange > options.perMutantMs) {
        // Seeds take the worker a while to build before the first mutant; only a mutant can hang.
        const mutant = seedsMutantHint(index);
        done(empty("hang", { index, kinds: [], error: `mutant ${String(index)} ran longer than ${String(options.perMutantMs)} ms (${mutant})` }));
      }
    }, 50);
    worker.once("message", (report: FuzzReport) => done(report));
    worker.once("error", (error) => done(empty("crash", { index: Atomics.load(progress, 0), kinds: [], error: `the worker died: ${String(error)}` })));
    worker.once("exit", (code) => done(empty("crash", { index: Atomics.load(progress, 0), kinds: [], error: `the worker exited with ${String(code)} before reporting` })));
  });
}

function seedsMutantHint(index: number): string {
  return `replay: mutate(seeds[${String(index)} % seeds.length], mutantRng(seed, ${String(index)}))`;
}

/** The seeds of a format: valid files, with low KDF iteration counts so mutants parse fast. */
export async function fuzzSeeds(format: FuzzFormat): Promise<Buffer[]> {
  const { createPrivateKey, X509Certificate } = await import("node:crypto");
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { pkiDir } = await import("../fixtures/pki-manifest.js");
  const { writePkcs12 } = await import("../../src/keystore/pkcs12.js");
  const { writePemBundle } = await import("../../src/keystore/pem.js");
  const { encodeStash } = await import("../../src/keystore/stash.js");
  const { writeCmsKeyDb } = await import("../../src/keystore/cms-kdb.js");
  type Entry = import("../../src/keystore/types.js").KeyStoreEntry;

  const certs = (tree: string, file: string): InstanceType<typeof X509Certificate>[] =>
    (readFileSync(join(pkiDir, tree, file), "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
  const personal = (tree: string, name: string): Entry => ({
    label: name,
    certificates: certs(tree, `${name}.chain.pem`),
    privateKey: createPrivateKey(readFileSync(join(pkiDir, tree, `${name}.key.pem`))),
    trusted: false,
  });
  const ca = (tree: string): Entry => ({ label: `${tree}-root`, certificates: certs(tree, "ca.pem"), trusted: true });
  const ecdsa: Entry[] = [personal("ecdsa", "server"), ca("ecdsa")];
  const rsa: Entry[] = [personal("rsa", "client"), ca("rsa")];

  switch (format) {
    case "pkcs12":
      return [await writePkcs12(ecdsa, PASSWORD, { iterations: 1 }), await writePkcs12(rsa, PASSWORD, { iterations: 1 })];
    case "pkcs12-legacy":
      return [await writePkcs12(ecdsa, PASSWORD, { iterations: 1, legacy: true }), await writePkcs12(rsa, PASSWORD, { iterations: 1, legacy: true })];
    case "pem":
      return [Buffer.from(writePemBundle(ecdsa)), Buffer.from(writePemBundle(ecdsa, PASSWORD)), Buffer.from(writePemBundle(rsa))];
    case "stash":
      return [encodeStash(PASSWORD, 8), encodeStash(PASSWORD, 1), encodeStash("a much longer pässword for the stash", 8)];
    case "kdb": {
      // A CMS record holds only the entry's own certificate; the chain lives in CA entries.
      const single = (e: Entry): Entry => ({ ...e, certificates: e.certificates.slice(0, 1) });
      const intermediate: Entry = { label: "ecdsa-int", certificates: certs("ecdsa", "intermediate.pem"), trusted: true };
      return [
        writeCmsKeyDb([single(ecdsa[0]!), intermediate, ecdsa[1]!], PASSWORD, { iterations: 1, slotSize: 1500 }),
        writeCmsKeyDb([single(rsa[0]!), rsa[1]!], PASSWORD, { iterations: 1, version: 4 }),
      ];
    }
    case "registry":
      return [
        Buffer.from(
          JSON.stringify(
            {
              version: 1,
              applications: [
                {
                  id: "MY_SERVER",
                  type: "server",
                  description: "fuzz seed",
                  certificates: ["server"],
                  trustList: ["ecdsa-root"],
                  clientAuth: "required",
                  allowedPeerNames: ["dns:client.example", "ip:127.0.0.1"],
                  protocols: ["TLSv1.3"],
                  ciphers: ["TLS_AES_128_GCM_SHA256"],
                  sessionLifetime: 300,
                },
                { id: "MY_CLIENT", type: "client", description: "", certificates: [], trustList: null, clientAuth: "none", allowedPeerNames: [], protocols: [], ciphers: [], sessionLifetime: null },
              ],
            },
            null,
            2,
          ) + "\n",
        ),
      ];
  }
}

/** One parse of `data` as `format`; resolves with nothing or throws what the parser threw. */
async function fuzzParse(format: FuzzFormat, data: Buffer, index: number, scratch: string): Promise<void> {
  switch (format) {
    case "pkcs12":
    case "pkcs12-legacy": {
      const { readPkcs12 } = await import("../../src/keystore/pkcs12.js");
      await readPkcs12(data, PASSWORD, "fuzz.p12");
      return;
    }
    case "pem": {
      const { readPemBundle } = await import("../../src/keystore/pem.js");
      readPemBundle(data.toString("utf8"), PASSWORD, "fuzz.pem");
      return;
    }
    case "stash": {
      const { decodeStash } = await import("../../src/keystore/stash.js");
      decodeStash(data, "fuzz.sth");
      return;
    }
    case "kdb": {
      const { readCmsKeyDb } = await import("../../src/keystore/cms-kdb.js");
      // Every other mutant without the password: both MACs are then skipped and the records
      // themselves meet the mutations.
      readCmsKeyDb(data, index % 2 === 0 ? PASSWORD : undefined, "fuzz.kdb");
      return;
    }
    case "registry": {
      const { writeFile } = await import("node:fs/promises");
      const { join } = await import("node:path");
      const { ApplicationRegistry } = await import("../../src/registry/registry.js");
      const file = join(scratch, "applications.json");
      await writeFile(file, data);
      await ApplicationRegistry.load(file);
      return;
    }
  }
}

/** The worker's side of `runFuzz` (exported for the worker; tests call `runFuzz`). */
export async function fuzzWorkerMain(data: { format: FuzzFormat; options: FuzzOptions; progress: Int32Array }): Promise<void> {
  const { parentPort } = await import("node:worker_threads");
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { format, options, progress } = data;
  const seeds = await fuzzSeeds(format);
  const scratch = await mkdtemp(join(tmpdir(), "gskit-fuzz-"));
  // Every parse once on its seed, so modules are loaded and the memory baseline is steady.
  for (const [i, seed] of seeds.entries()) await fuzzParse(format, seed, i * 2, scratch);
  const memory = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = memory();
  const report: FuzzReport = { format, mutants: 0, parsed: 0, codes: {}, failures: [], failureCount: 0, slowestMs: 0, memoryGrowth: 0, elapsedMs: 0, stoppedBy: "count" };
  const started = Date.now();
  Atomics.store(progress, 1, 1);
  for (let i = 0; i < options.count; i++) {
    if (Date.now() - started > options.budgetMs) {
      report.stoppedBy = "time";
      break;
    }
    Atomics.store(progress, 0, i);
    const { data: mutant, kinds } = mutate(seeds[i % seeds.length]!, mutantRng(options.seed, i));
    const t0 = performance.now();
    try {
      if (options.selfTest !== undefined && i === 3) {
        if (options.selfTest === "throw") throw new TypeError("self-test: a parser bug");
        for (;;) Atomics.load(progress, 0);
      }
      await fuzzParse(format, mutant, i, scratch);
      report.parsed++;
    } catch (error) {
      if (error instanceof GskError && DOCUMENTED_CODES.has(error.code)) {
        report.codes[String(error.code)] = (report.codes[String(error.code)] ?? 0) + 1;
      } else if (report.failureCount++ < 20) {
        report.failures.push({ index: i, kinds, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
    }
    report.slowestMs = Math.max(report.slowestMs, performance.now() - t0);
    report.memoryGrowth = Math.max(report.memoryGrowth, memory() - base);
    report.mutants++;
  }
  report.elapsedMs = Date.now() - started;
  await rm(scratch, { recursive: true, force: true });
  parentPort!.postMessage(report);
}
