/**
 * Soak test (minutes, not part of CI): a client process and a server process over 127.0.0.1.
 *
 *   tsx scripts/soak.ts [--minutes 5] [--connections 10000] [--gib 1] [--report 10] [--churn 2]
 *
 * The parent is the client; it forks itself as the server (IPC for the port and the server's
 * figures). Mutual TLS 1.3 with the generated ECDSA test PKI, the idiomatic layer on both ends.
 *
 * 1. Opens `--connections` idle sessions and holds them (both processes need `ulimit -n` above
 *    that; the script says so and stops otherwise).
 * 2. Sends `--gib` GiB each way over one more session (Duplex view + pipeline, half-close),
 *    SHA-256 on both ends, compared.
 * 3. Until `--minutes` are up: every second replaces `--churn` % of the idle sessions (close,
 *    reconnect: handshakes, resumed or not, under load) and pings a sample of the others.
 * 4. Every `--report` seconds prints, for both processes: sessions open, handshakes done,
 *    handshake and I/O errors by code, RSS and live memory (heap + external right after a full
 *    collection) with their growth since the connections were all open, and active handles (TCP
 *    sockets, timers).
 * 5. Closes everything and checks that both processes are back to their handle baseline.
 *
 * Exit code 0 when there were no errors, the hashes matched and the handles came back; 1
 * otherwise. Memory growth is reported, not judged: live memory that keeps rising from report to
 * report is a leak; RSS alone also rises with the allocator's fragmentation.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { createCipheriv, createHash, type Hash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { Environment, GskError, type Session } from "../src/index.js";
import { ensurePki } from "../test/fixtures/pki-manifest.js";
import { makeStore, PASSWORD } from "../test/helpers/stores.js";

const MiB = 1024 * 1024;

interface Options {
  minutes: number;
  connections: number;
  gib: number;
  report: number;
  churn: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { minutes: 5, connections: 10_000, gib: 1, report: 10, churn: 2 };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, "") as keyof Options;
    if (!(name in options)) throw new Error(`unknown option ${argv[i]!}; known: ${Object.keys(options).map((k) => `--${k}`).join(" ")}`);
    const value = Number(argv[++i]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number`);
    options[name] = value;
  }
  return options;
}

/** What each process reports. */
interface Figures {
  role: "client" | "server";
  open: number;
  handshakes: number;
  errors: Record<string, number>;
  rss: number;
  /** V8 heap in use plus external memory right after a full collection: what is really held. */
  live: number;
  tcp: number;
  timers: number;
}

function count(errors: Record<string, number>, error: unknown): void {
  const key = error instanceof GskError ? `${String(error.code)} ${error.codeName}` : error instanceof Error ? error.message.slice(0, 60) : String(error);
  errors[key] = (errors[key] ?? 0) + 1;
}

function handles(): { tcp: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { tcp: info.filter((r) => r === "TCPSocketWrap").length, timers: info.filter((r) => r === "Timeout").length };
}

// A full collection before each report, so a rising figure is memory held, not garbage not yet
// collected (the flag applies to contexts created after it is set).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function figures(role: Figures["role"], open: number, handshakes: number, errors: Record<string, number>): Figures {
  gc();
  const m = process.memoryUsage();
  return { role, open, handshakes, errors: { ...errors }, rss: m.rss, live: m.heapUsed + m.external, ...handles() };
}

/** `size` bytes of an AES-CTR keystream, hashed as they go out. */
function source(seed: number, size: number, hash: Hash): Readable {
  const keystream = createCipheriv("aes-128-ctr", Buffer.alloc(16, seed), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(MiB, size - sent);
      const data = keystream.update(zeros.subarray(0, n));
      hash.update(data);
      sent += n;
      this.push(data);
    },
  });
}

function sink(hash: Hash, counter: { bytes: number }): Writable {
  return new Writable({
    write(chunk: Buffer, _e, callback) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      callback();
    },
  });
}

// ------------------------------------------------------------------------------------------------
// Server process

type ToServer = { type: "figures" } | { type: "stop" };
type FromServer = { type: "listening"; port: number; baseline: { tcp: number; timers: number } } | { type: "figures"; figures: Figures } | { type: "bulk"; sent: string; received: string; bytes: number } | { type: "stopped"; figures: Figures };

async function serverMain(options: Options): Promise<void> {
  const send = (m: FromServer): void => void process.send!(m);
  const store = await makeStore({ tree: "ecdsa", personal: ["server"] });
  const env = await Environment.open({ role: "server", keystore: { file: store, password: PASSWORD }, clientAuth: "required", protocols: ["TLSv1.3"], handshakeTimeoutMs: 30_000 });
  const baseline = handles();
  const errors: Record<string, number> = {};
  let open = 0;
  let handshakes = 0;
  const server = env.createServer(
    async (session: Session) => {
      handshakes++;
      open++;
      try {
        const first = await session.read();
        if (first?.toString() === "BULK") {
          // The bulk session: the Duplex view, both ways at once, half-close.
          const view = session.duplex();
          const sentHash = createHash("sha256");
          const receivedHash = createHash("sha256");
          const counter = { bytes: 0 };
          await Promise.all([pipeline(view, sink(receivedHash, counter)), pipeline(source(2, Math.round(options.gib * 1024 * MiB), sentHash), view)]);
          send({ type: "bulk", sent: sentHash.digest("hex"), received: receivedHash.digest("hex"), bytes: counter.bytes });
        } else if (first) {
          await session.write(first);
          for await (const chunk of session) await session.write(chunk);
        }
      } catch (error) {
        count(errors, error);
      }
      await session.close();
      open--;
    },
    (error) => count(errors, error),
  );
  const { port } = await server.listen();
  send({ type: "listening", port, baseline });
  process.on("message", (m: ToServer) => {
    if (m.type === "figures") send({ type: "figures", figures: figures("server", open, handshakes, errors) });
    if (m.type === "stop") {
      void (async () => {
        await server.close();
        await env.close();
        const deadline = Date.now() + 10_000;
        while (handles().tcp > baseline.tcp && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        send({ type: "stopped", figures: figures("server", open, handshakes, errors) });
        process.disconnect();
      })();
    }
  });
}

// ------------------------------------------------------------------------------------------------
// Client process (the parent)

function ask<T extends FromServer["type"]>(child: ChildProcess, type: T, request?: ToServer): Promise<Extract<FromServer, { type: T }>> {
  return new Promise((resolve) => {
    const onMessage = (m: FromServer): void => {
      if (m.type === type) {
        child.off("message", onMessage);
        resolve(m as Extract<FromServer, { type: T }>);
      }
    };
    child.on("message", onMessage);
    if (request) child.send(request);
  });
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

function line(f: Figures, base: Figures | undefined): string {
  const growth = (now: number, then: number | undefined): string => (then === undefined ? "" : ` (${now >= then ? "+" : ""}${mib(now - then)})`);
  const errors = Object.keys(f.errors).length === 0 ? "none" : JSON.stringify(f.errors);
  return `${f.role.padEnd(6)} open ${String(f.open).padStart(6)}  handshakes ${String(f.handshakes).padStart(7)}  RSS ${mib(f.rss).padStart(7)} MiB${growth(f.rss, base?.rss)}  live ${mib(f.live)} MiB${growth(f.live, base?.live)}  tcp ${String(f.tcp)}  timers ${String(f.timers)}  errors ${errors}`;
}

/** `n` distinct random indices below `length`. */
function distinct(n: number, length: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(n, length)) picked.add(Math.floor(Math.random() * length));
  return [...picked];
}

/** Writes `message` and reads until its echo has arrived, comparing it. */
async function echo(s: Session, message: Buffer): Promise<void> {
  await s.write(message);
  const parts: Buffer[] = [];
  let got = 0;
  while (got < message.length) {
    const chunk = await s.read();
    if (!chunk) throw new Error("end of stream instead of the echo");
    parts.push(chunk);
    got += chunk.length;
  }
  if (!Buffer.concat(parts).equals(message)) throw new Error(`echo differs: ${Buffer.concat(parts).toString()}`);
}

async function clientMain(options: Options): Promise<number> {
  const limit = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  const needed = options.connections + 1_024;
  if (limit !== "unlimited" && Number(limit) < needed) {
    console.error(`soak: ulimit -n is ${limit}; ${String(options.connections)} connections need at least ${String(needed)} descriptors in each process. Raise it (ulimit -n ${String(needed)}) or pass --connections.`);
    return 2;
  }
  await ensurePki();
  const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
  const env = await Environment.open({ keystore: { file: store, password: PASSWORD }, protocols: ["TLSv1.3"] });
  const baseline = handles();
  const child = fork(fileURLToPath(import.meta.url), ["--role-server", ...process.argv.slice(2)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port, baseline: serverBaseline } = await ask(child, "listening");
  console.log(`soak: server pid ${String(child.pid)} on 127.0.0.1:${String(port)}; ${String(options.connections)} idle connections, ${String(options.gib)} GiB each way, ${String(options.minutes)} min`);

  const errors: Record<string, number> = {};
  let handshakes = 0;
  /**
   * A session that has said hello (and had it echoed): the library reads a peer that closes
   * before any data as having refused our certificate (9002), so idle sessions greet first, as
   * most protocols do.
   */
  const connect = async (greet = true): Promise<Session | undefined> => {
    try {
      const s = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
      handshakes++;
      if (greet) await echo(s, Buffer.from("hello"));
      return s;
    } catch (error) {
      count(errors, error);
      return undefined;
    }
  };

  // 1. The idle connections, 200 handshakes in flight at a time.
  const started = Date.now();
  const idle: (Session | undefined)[] = new Array<Session | undefined>(options.connections);
  let next = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < options.connections) idle[next++] = await connect();
    }),
  );
  const openCount = (): number => idle.filter((s) => s !== undefined).length;
  console.log(`soak: ${String(openCount())} idle connections open in ${String(Date.now() - started)} ms`);

  const report = async (): Promise<[Figures, Figures]> => {
    const server = (await ask(child, "figures", { type: "figures" })).figures;
    return [figures("client", openCount(), handshakes, errors), server];
  };
  const [clientBase, serverBase] = await report();
  console.log(line(clientBase, undefined));
  console.log(line(serverBase, undefined));

  // 2. The bulk transfer.
  let failed = false;
  const bulkSession = await connect(false);
  if (bulkSession) {
    const t0 = Date.now();
    const size = Math.round(options.gib * 1024 * MiB);
    await bulkSession.write("BULK");
    const view = bulkSession.duplex();
    const sentHash = createHash("sha256");
    const receivedHash = createHash("sha256");
    const counter = { bytes: 0 };
    const serverBulk = ask(child, "bulk");
    try {
      await Promise.all([pipeline(source(1, size, sentHash), view), pipeline(view, sink(receivedHash, counter))]);
    } catch (error) {
      count(errors, error);
    }
    const server = await serverBulk;
    const sent = sentHash.digest("hex");
    const received = receivedHash.digest("hex");
    const ok = server.received === sent && received === server.sent && counter.bytes === size && server.bytes === size;
    failed ||= !ok;
    console.log(`soak: ${String(options.gib)} GiB each way in ${String(Date.now() - t0)} ms: SHA-256 ${ok ? "equal on both ends" : `MISMATCH (client sent ${sent}, server received ${server.received}; server sent ${server.sent}, client received ${received})`}`);
  } else {
    failed = true;
  }

  // 3. Churn and pings until the time is up, with periodic reports.
  const end = Date.now() + options.minutes * 60_000;
  let nextReport = Date.now() + options.report * 1000;
  let pings = 0;
  while (Date.now() < end) {
    // Distinct slots: two replacements of one slot would lose track of a session.
    const replace = distinct(Math.ceil((options.connections * options.churn) / 100), idle.length);
    await Promise.all(
      replace.map(async (i) => {
        const old = idle[i];
        idle[i] = undefined;
        await old?.close();
        idle[i] = await connect();
      }),
    );
    // Distinct sessions: two pings in flight on one session could share a read.
    await Promise.all(
      distinct(50, idle.length).map(async (i) => {
        const s = idle[i];
        if (!s) return;
        try {
          await echo(s, Buffer.from(`ping ${String(pings++)}`));
        } catch (error) {
          count(errors, error);
        }
      }),
    );
    if (Date.now() >= nextReport) {
      nextReport += options.report * 1000;
      const [c, s] = await report();
      const elapsed = ((options.minutes * 60_000 - (end - Date.now())) / 1000).toFixed(0);
      console.log(`--- ${elapsed} s, ${String(pings)} pings`);
      console.log(line(c, clientBase));
      console.log(line(s, serverBase));
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }

  // 4. Close everything; both processes back to their handle baselines.
  await Promise.all(idle.map((s) => s?.close()));
  await env.close();
  child.send({ type: "stop" } satisfies ToServer);
  const stopped = await ask(child, "stopped");
  const deadline = Date.now() + 10_000;
  while (handles().tcp > baseline.tcp && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const final = figures("client", 0, handshakes, errors);
  console.log("--- final");
  console.log(line(final, clientBase));
  console.log(line(stopped.figures, serverBase));
  const leaked = final.tcp > baseline.tcp || stopped.figures.tcp > serverBaseline.tcp;
  const anyErrors = Object.keys(final.errors).length + Object.keys(stopped.figures.errors).length > 0;
  console.log(`soak: ${anyErrors ? "ERRORS" : "no errors"}, ${failed ? "bulk transfer FAILED" : "bulk transfer intact"}, handles ${leaked ? "NOT back to baseline" : "back to baseline"}`);
  return anyErrors || failed || leaked ? 1 : 0;
}

const argv = process.argv.slice(2);
if (argv[0] === "--role-server") {
  await serverMain(parseOptions(argv.slice(1)));
} else {
  process.exitCode = await clientMain(parseOptions(argv));
}
