/**
 * Hostile peers against our servers — the gsk_* layer (one session per accepted socket, as an
 * IBM i program does) and the idiomatic TlsServer — over real TCP on 127.0.0.1.
 *
 * Each case: the hostile client does its thing; the server's session ends with the documented
 * code (and errno where 406); the hostile client sees its connection ended; a control connection
 * then echoes through the same server; no unhandled rejection was raised; and the process's
 * sockets, servers and timers return to what they were before the case.
 *
 * Budget: ~15 s on 2 cores (the 50 stalled handshakes wait out GSK_HANDSHAKE_TIMEOUT, 1 s, once
 * per server).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { GSK_ERROR_BAD_MAC, GSK_ERROR_BAD_MESSAGE, GSK_ERROR_IO, GSK_ERROR_SOCKET_CLOSED, GSK_IBMI_ERROR_TIMED_OUT, GSKX_ERROR_PEER_REFUSED_CERTIFICATE } from "../../src/index.js";
import {
  DOCUMENTED_CODES,
  FLOOD_COMMAND,
  Prng,
  closed,
  controlEcho,
  gskServer,
  handleCounts,
  idiomaticServer,
  rawConnect,
  realClientHello,
  recordUnhandledRejections,
  settleHandles,
  sleep,
  tlsClient,
  withDeadline,
  type HandleCounts,
  type RecordingServer,
  type ServerOutcome,
} from "./helpers.js";

/** Hostile inputs tried, reported at the end (docs/security.md quotes the figures). */
const tried: Record<string, number> = {};
function count(what: string, n = 1): void {
  tried[what] = (tried[what] ?? 0) + n;
}

const rejections = recordUnhandledRejections();
afterEach(() => {
  expect(rejections.seen).toEqual([]);
});
afterAll(() => {
  rejections.stop();
  console.log(`hostile peers tried: ${JSON.stringify(tried)}`);
});

/** A TLS record header of `type` announcing `length` bytes. */
function recordHeader(type: number, length: number): Buffer {
  const h = Buffer.from([type, 0x03, 0x03, 0, 0]);
  h.writeUInt16BE(length, 3);
  return h;
}

/** The largest record TLS 1.2 allows is 2^14 + 2048 bytes of ciphertext; one more is hostile. */
const OVERSIZED = 16_384 + 2_048 + 1;

function expectDocumented(o: ServerOutcome): void {
  expect(DOCUMENTED_CODES.has(o.initRc)).toBe(true);
  if (o.ioRc !== undefined) expect(DOCUMENTED_CODES.has(o.ioRc)).toBe(true);
}

describe.each([
  ["gsk_* server", () => gskServer()],
  ["idiomatic TlsServer", () => idiomaticServer()],
] as const)("%s against hostile peers", (_name, makeServer) => {
  let server: RecordingServer;
  let baseline: HandleCounts;

  beforeAll(async () => {
    server = await makeServer();
    // Warm up (stores, contexts, the captured ClientHello) so the baseline is the steady state.
    await controlEcho(server.port);
    await realClientHello();
    await server.outcomes.waitFor(1);
    baseline = await settleHandles(handleCounts());
  });

  afterAll(async () => {
    await server.close();
  });

  /** The control connection echoes, its session ends cleanly, and handles are back to baseline. */
  async function expectServerHealthy(): Promise<void> {
    const mark = server.outcomes.mark();
    await controlEcho(server.port);
    const [control] = await server.outcomes.since(mark, 1);
    expect(control).toMatchObject({ initRc: 0, ioRc: 0 });
    expect(control!.echoed).toBeGreaterThan(0);
    const now = await settleHandles(baseline);
    expect(now.tcp).toBeLessThanOrEqual(baseline.tcp);
    expect(now.server).toBeLessThanOrEqual(baseline.server);
    expect(now.timeout).toBeLessThanOrEqual(baseline.timeout);
  }

  it.each([
    ["random bytes", () => Buffer.concat([Buffer.from([0x42]), new Prng(0x5eed).bytes(4095)])],
    ["a plaintext HTTP request", () => Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")],
    ["a record header announcing 2^14+2048+1 bytes", () => Buffer.concat([recordHeader(0x16, OVERSIZED), Buffer.alloc(1024)])],
  ])("garbage before the handshake (%s): 410 on the server, the connection is closed", async (what, bytes) => {
    const mark = server.outcomes.mark();
    const socket = await rawConnect(server.port);
    socket.on("data", () => undefined);
    socket.write(bytes());
    const [outcome] = await server.outcomes.since(mark, 1);
    count(`garbage: ${what}`);
    expect(outcome!.initRc).toBe(GSK_ERROR_BAD_MESSAGE);
    expect(outcome!.message).toMatch(/speak TLS|TLS/);
    expectDocumented(outcome!);
    await withDeadline(closed(socket), 5_000, "the hostile client's connection to be closed");
    await expectServerHealthy();
  });

  it("a truncated ClientHello followed by FIN: 420 (nothing was presented, so not 9002)", async () => {
    const hello = await realClientHello();
    const mark = server.outcomes.mark();
    const socket = await rawConnect(server.port);
    socket.end(hello.subarray(0, Math.floor(hello.length / 2)));
    const [outcome] = await server.outcomes.since(mark, 1);
    count("truncated ClientHello + FIN");
    expect(outcome!.initRc).toBe(GSK_ERROR_SOCKET_CLOSED);
    await withDeadline(closed(socket), 5_000, "the hostile client's connection to be closed");
    await expectServerHealthy();
  });

  it("a truncated ClientHello followed by a reset: 406 with errno ECONNRESET", async () => {
    const hello = await realClientHello();
    const mark = server.outcomes.mark();
    const socket = await rawConnect(server.port);
    socket.write(hello.subarray(0, 40));
    await sleep(50);
    socket.resetAndDestroy();
    const [outcome] = await server.outcomes.since(mark, 1);
    count("truncated ClientHello + RST");
    expect(outcome!.initRc).toBe(GSK_ERROR_IO);
    expect(outcome!.errno).toBe("ECONNRESET");
    await expectServerHealthy();
  });

  it("50 handshakes stalling byte by byte are all reclaimed by GSK_HANDSHAKE_TIMEOUT (6011)", async () => {
    const hello = await realClientHello();
    const mark = server.outcomes.mark();
    const sockets = await Promise.all(Array.from({ length: 50 }, () => rawConnect(server.port)));
    // One byte per socket every 50 ms: never a whole ClientHello within the 1 s timeout.
    let sent = 0;
    const drip = setInterval(() => {
      sent++;
      for (const s of sockets) if (!s.destroyed && sent < hello.length) s.write(hello.subarray(sent - 1, sent));
    }, 50);
    try {
      const outcomes = await server.outcomes.since(mark, 50);
      count("stalled handshakes", 50);
      expect(outcomes.map((o) => o.initRc)).toEqual(Array(50).fill(GSK_IBMI_ERROR_TIMED_OUT));
      expect(outcomes[0]!.message).toMatch(/GSK_HANDSHAKE_TIMEOUT/);
      // The server cut them: every hostile client sees its connection end.
      await withDeadline(Promise.all(sockets.map(closed)), 5_000, "the stalled connections to be closed");
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
    await expectServerHealthy();
  });

  it("a reset after the server's first flight (mid-handshake): 9002 with errno ECONNRESET", async () => {
    const hello = await realClientHello();
    const mark = server.outcomes.mark();
    const socket = await rawConnect(server.port);
    const firstFlight = new Promise<Buffer>((r) => socket.once("data", r));
    socket.write(hello);
    const flight = await firstFlight;
    expect(flight[0]).toBe(0x16); // a handshake record: ServerHello (and, in TLS 1.3, the certificate)
    socket.resetAndDestroy();
    const [outcome] = await server.outcomes.since(mark, 1);
    count("reset mid-handshake");
    expect(outcome!.initRc).toBe(GSKX_ERROR_PEER_REFUSED_CERTIFICATE);
    expect(outcome!.errno).toBe("ECONNRESET");
    await expectServerHealthy();
  });

  it("a reset in mid-transfer: the server's session ends with 406, errno ECONNRESET", async () => {
    const mark = server.outcomes.mark();
    const { tls, raw } = await tlsClient(server.port);
    tls.write("first");
    const echo = await new Promise<Buffer>((r) => tls.once("data", r));
    expect(echo.toString()).toBe("first");
    tls.write(Buffer.alloc(256 * 1024, 0x62));
    raw.resetAndDestroy();
    const [outcome] = await server.outcomes.since(mark, 1);
    count("reset mid-transfer");
    expect(outcome).toMatchObject({ initRc: 0, ioRc: GSK_ERROR_IO, errno: "ECONNRESET" });
    expect(outcome!.echoed).toBeGreaterThanOrEqual(5);
    tls.destroy();
    await expectServerHealthy();
  });

  it.each([
    ["an application record announcing 2^14+2048+1 bytes", GSK_ERROR_BAD_MESSAGE, () => Buffer.concat([recordHeader(0x17, OVERSIZED), Buffer.alloc(OVERSIZED)])],
    ["a forged application record (bad MAC)", GSK_ERROR_BAD_MAC, () => Buffer.concat([recordHeader(0x17, 64), new Prng(7).bytes(64)])],
  ] as const)("after the handshake, %s: the read fails with %i instead of waiting for ever", async (what, code, bytes) => {
    for (const [maxVersion, dataFirst] of [
      ["TLSv1.2", true],
      ["TLSv1.3", true],
      // Before any data, too: the code stays the record's, not 9002 ("it refused our certificate").
      ["TLSv1.2", false],
      ["TLSv1.3", false],
    ] as const) {
      const mark = server.outcomes.mark();
      const { tls, raw } = await tlsClient(server.port, { maxVersion });
      if (dataFirst) {
        tls.write("ping");
        await new Promise((r) => tls.once("data", r));
      }
      // Bytes on the TCP socket under the client's TLS: the server's TLS sees a hostile record.
      raw.write(bytes());
      const [outcome] = await server.outcomes.since(mark, 1);
      count(`post-handshake: ${what}`);
      // In TLS 1.3 the client finishes first: a record right behind its Finished can reach the
      // server while its own handshake still runs, so the code comes from init or from the read.
      expect(outcome!.initRc === 0 ? outcome!.ioRc : outcome!.initRc).toBe(code);
      if (dataFirst) expect(outcome!.initRc).toBe(0);
      expectDocumented(outcome!);
      await withDeadline(closed(raw), 5_000, "the hostile client's connection to be closed");
      tls.destroy();
    }
    await expectServerHealthy();
  });

  it("a client that never reads: the server's write stays pending and memory stays bounded, then a reset gives 406", async () => {
    const mark = server.outcomes.mark();
    const flooding = server.floodState.length;
    const rssBefore = process.memoryUsage().rss;
    const { tls, raw } = await tlsClient(server.port);
    tls.write(FLOOD_COMMAND);
    tls.pause();
    // Wait until the server's writes stop completing (the loopback buffers are full).
    let last = -1;
    let stable = 0;
    for (let i = 0; i < 100 && stable < 3; i++) {
      await sleep(50);
      const state = server.floodState[flooding];
      if (state && state.pending && state.written === last) stable++;
      else stable = 0;
      last = state?.written ?? -1;
    }
    const state = server.floodState[flooding]!;
    expect(state.pending).toBe(true);
    // Kernel buffers and one paused TLS reader: a few MiB, never the unbounded amount a server
    // that ignored back-pressure would queue.
    expect(state.written).toBeLessThan(32 * 1024 * 1024);
    if (state.socket) expect(state.socket.writableLength).toBeLessThan(1024 * 1024);
    await sleep(300);
    expect(server.floodState[flooding]).toMatchObject({ pending: true, written: state.written });
    const growth = process.memoryUsage().rss - rssBefore;
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    count("non-reading client");
    raw.resetAndDestroy();
    const [outcome] = await server.outcomes.since(mark, 1);
    expect(outcome).toMatchObject({ initRc: 0, ioRc: GSK_ERROR_IO, errno: "ECONNRESET" });
    tls.destroy();
    await expectServerHealthy();
  });
});
