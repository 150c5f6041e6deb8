/**
 * Load, in one process over 127.0.0.1 (bounded in count and time): the idiomatic layer, TLS 1.3,
 * ECDSA, mutual TLS (the server requires a client certificate), resumption allowed.
 *
 * - 1,000 sessions open at once, each exchanging 100 messages (each echoed and compared byte for
 *   byte), with zero errors on either end; the server saw every client's certificate.
 * - 2,000 idle connections held open at once (skipped with a printed reason when `ulimit -n` is
 *   too low for 4,000 sockets and their margin); memory is reported, each still answers after
 *   the idle period, and the handles return to their baseline once they are closed.
 *
 * Budget: ~35 s on 2 cores (the message exchange is CPU-bound: ~100k round trips).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { Environment, GskError, type Session } from "../../src/index.js";
import { PASSWORD } from "../helpers/stores.js";
import { handleCounts, liveMemory, recordUnhandledRejections, serverStores, settleHandles, type HandleCounts } from "./helpers.js";

const SESSIONS = 1_000;
const MESSAGES = 100;
const IDLE = 2_000;
/** File descriptors the idle test needs: both ends of each connection, and a margin. */
const IDLE_FDS = 2 * IDLE + 512;
/** Handshakes in flight at once while opening: the listen backlog is 511. */
const OPENING = 100;

const rejections = recordUnhandledRejections();
afterEach(() => {
  expect(rejections.seen).toEqual([]);
});
afterAll(() => rejections.stop());

let serverEnv: Environment;
let clientEnv: Environment;
let baseline: HandleCounts;

beforeAll(async () => {
  const stores = await serverStores();
  serverEnv = await Environment.open({ role: "server", keystore: { file: stores.server, password: PASSWORD }, clientAuth: "required", protocols: ["TLSv1.3"] });
  clientEnv = await Environment.open({ keystore: { file: stores.client, password: PASSWORD }, protocols: ["TLSv1.3"] });
  baseline = handleCounts();
});
afterAll(async () => {
  await serverEnv.close();
  await clientEnv.close();
});

/** What the server saw. */
interface ServerTally {
  sessions: number;
  errors: string[];
  bytes: number;
  clientSubjects: Set<string>;
}

/** An echo server that counts what it saw; every failure is recorded as an error. */
async function echoServer(tally: ServerTally): Promise<{ port: number; close(): Promise<void> }> {
  const server = serverEnv.createServer(
    async (session: Session) => {
      tally.sessions++;
      tally.clientSubjects.add(session.peerCertificate?.subject ?? "none");
      try {
        for await (const chunk of session) {
          tally.bytes += chunk.length;
          await session.write(chunk);
        }
      } catch (error) {
        tally.errors.push(error instanceof GskError ? `${String(error.code)} ${error.message}` : String(error));
      }
      await session.close();
    },
    (error) => tally.errors.push(`handshake ${String(error.code)} ${error.message}`),
  );
  const { port } = await server.listen();
  return { port, close: () => server.close() };
}

/** Opens `n` client sessions, `OPENING` handshakes at a time; all stay open. */
async function openSessions(n: number, port: number): Promise<Session[]> {
  const sessions: Session[] = new Array<Session>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: OPENING }, async () => {
      while (next < n) {
        const i = next++;
        sessions[i] = await clientEnv.connect({ host: "127.0.0.1", port, servername: "localhost" });
      }
    }),
  );
  return sessions;
}

/** Reads until `length` bytes have arrived. */
async function readExactly(session: Session, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < length) {
    const chunk = await session.read();
    if (!chunk) throw new Error(`end of stream after ${String(got)} of ${String(length)} bytes`);
    parts.push(chunk);
    got += chunk.length;
  }
  return Buffer.concat(parts);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

describe("load over mutual TLS 1.3 (ECDSA), idiomatic layer", () => {
  it(`${String(SESSIONS)} concurrent sessions × ${String(MESSAGES)} echoed messages: every byte checked, zero errors on both ends`, async () => {
    const tally: ServerTally = { sessions: 0, errors: [], bytes: 0, clientSubjects: new Set() };
    const server = await echoServer(tally);
    const started = Date.now();
    const sessions = await openSessions(SESSIONS, server.port);
    const opened = Date.now();
    expect(sessions.every((s) => s.protocol === "TLSv1.3")).toBe(true);
    const resumed = sessions.filter((s) => s.resumed).length;

    let sent = 0;
    const clientErrors: string[] = [];
    await Promise.all(
      sessions.map(async (session, i) => {
        try {
          for (let k = 0; k < MESSAGES; k++) {
            const message = Buffer.from(`session ${String(i)} message ${String(k)} ${randomBytes(8 + ((i + k) % 48)).toString("hex")}`);
            await session.write(message);
            const echo = await readExactly(session, message.length);
            if (!echo.equals(message)) throw new Error(`session ${String(i)} message ${String(k)}: the echo differs`);
            sent += message.length;
          }
          await session.close();
        } catch (error) {
          clientErrors.push(String(error));
        }
      }),
    );
    const exchanged = Date.now();
    await server.close();
    console.log(
      `load: ${String(SESSIONS)} sessions opened in ${String(opened - started)} ms (${String(resumed)} resumed), ${String(SESSIONS * MESSAGES)} messages (${mib(sent)} MiB each way) echoed in ${String(exchanged - opened)} ms; RSS ${mib(process.memoryUsage().rss)} MiB`,
    );

    expect(clientErrors).toEqual([]);
    expect(tally.errors).toEqual([]);
    expect(tally.sessions).toBe(SESSIONS);
    expect(tally.bytes).toBe(sent);
    // Mutual TLS: every session presented the client certificate, and only it.
    expect([...tally.clientSubjects]).toEqual([expect.stringMatching(/CN=/)]);
    expect([...tally.clientSubjects][0]).not.toBe("none");
    const now = await settleHandles(baseline, 10_000);
    expect(now.tcp).toBeLessThanOrEqual(baseline.tcp);
    expect(now.timeout).toBeLessThanOrEqual(baseline.timeout);
  }, 120_000);

  const limit = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
  const enoughFds = limit === Infinity || Number.isNaN(limit) || limit >= IDLE_FDS;
  if (!enoughFds) console.log(`skipping the ${String(IDLE)} idle connections: ulimit -n is ${String(limit)}, ${String(IDLE_FDS)} descriptors are needed`);

  it.skipIf(!enoughFds)(`${String(IDLE)} idle connections held open at once, each still answering afterwards`, async () => {
    const tally: ServerTally = { sessions: 0, errors: [], bytes: 0, clientSubjects: new Set() };
    const server = await echoServer(tally);
    const before = await liveMemory();
    const started = Date.now();
    const sessions = await openSessions(IDLE, server.port);
    const opened = Date.now();
    // Held idle: nothing is sent for a while, and every connection must still be there.
    await new Promise((r) => setTimeout(r, 1_000));
    const held = await liveMemory();
    const open = handleCounts();
    expect(open.tcp - baseline.tcp).toBeGreaterThanOrEqual(2 * IDLE);
    expect(tally.sessions).toBe(IDLE);
    console.log(
      `idle: ${String(IDLE)} connections opened in ${String(opened - started)} ms, ${String(open.tcp - baseline.tcp)} sockets in this process; live memory (heap + external, after GC) +${mib(held.live - before.live)} MiB = ${((held.live - before.live) / IDLE / 1024).toFixed(1)} KiB per connection (both ends); RSS ${mib(held.rss)} MiB (+${mib(held.rss - before.rss)})`,
    );
    // Bounded: a connection costs tens of KiB (mostly OpenSSL's buffers), not hundreds.
    expect(held.rss - before.rss).toBeLessThan(IDLE * 256 * 1024);
    const answers = await Promise.all(
      sessions.map(async (session, i) => {
        const message = Buffer.from(`still here ${String(i)}`);
        await session.write(message);
        const echo = await readExactly(session, message.length);
        await session.close();
        return echo.equals(message);
      }),
    );
    expect(answers.filter((ok) => !ok)).toEqual([]);
    await server.close();
    expect(tally.errors).toEqual([]);
    const now = await settleHandles(baseline, 10_000);
    expect(now.tcp).toBeLessThanOrEqual(baseline.tcp);
    expect(now.timeout).toBeLessThanOrEqual(baseline.timeout);
  }, 120_000);
});
