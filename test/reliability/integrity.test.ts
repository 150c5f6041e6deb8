/**
 * Data integrity: what one end writes is what the other reads, byte for byte, and an end of
 * stream is never reported as clean when data may be missing.
 *
 * - 256 MiB each way at once over one session, through the idiomatic Duplex view and
 *   `stream.pipeline`, with a half-close: the client ends its writing side (close_notify) while
 *   the server still sends, and the server sends its last MiB only after it has read the
 *   client's end. SHA-256 of what each end sent equals SHA-256 of what the other received.
 * - The opt-in strict path (GSKX_STRICT_EOF, the idiomatic `strictEof: true`): a bare TCP FIN in
 *   the middle of a transfer (truncation, at a record boundary or inside a record) is reported
 *   as 406 after every byte that did arrive, never as a clean end, and GSKX_CLOSE_NOTIFY_RECEIVED
 *   says GSK_FALSE; a proper close gives a clean end and GSK_TRUE.
 *
 * Budget: ~10 s on 2 cores (the 256 MiB exchange is ~5 s of it; its time is printed).
 */
import { createCipheriv, createHash, type Hash } from "node:crypto";
import type { Socket } from "node:net";
import { Duplex, Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { connect as tlsConnect, TLSSocket, createSecureContext } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  Environment,
  GskError,
  gsk_attribute_get_enum,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gskx_errno,
  ref,
  type Session,
  type gsk_handle,
  GSK_ERROR_IO,
  GSK_FALSE,
  GSK_FD,
  GSK_OK,
  GSK_TRUE,
  GSKX_CLOSE_NOTIFY_RECEIVED,
  GSKX_STRICT_EOF,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_attribute_set_buffer,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_SESSION_TYPE,
  GSK_SERVER_SESSION,
} from "../../src/index.js";
import { tcpPair } from "../helpers/net.js";
import { PASSWORD } from "../helpers/stores.js";
import { pki } from "../fixtures/pki-manifest.js";
import { handleCounts, recordUnhandledRejections, serverStores, settleHandles, withDeadline, type HandleCounts } from "./helpers.js";

const MiB = 1024 * 1024;

const rejections = recordUnhandledRejections();
afterEach(() => {
  expect(rejections.seen).toEqual([]);
});
afterAll(() => rejections.stop());

/** `size` bytes of an AES-128-CTR keystream (seeded, fast, incompressible), hashed as they go out. */
function source(seed: number, size: number, hash: Hash, chunk = MiB): Readable {
  const key = Buffer.alloc(16, seed);
  const keystream = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, size - sent);
      const data = keystream.update(zeros.subarray(0, n));
      hash.update(data);
      sent += n;
      this.push(data);
    },
  });
}

/** Hashes and counts what arrives. */
function sink(hash: Hash, counter: { bytes: number }): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      callback();
    },
  });
}

describe("256 MiB each way through the Duplex view, with a half-close", () => {
  let serverEnv: Environment;
  let clientEnv: Environment;
  let baseline: HandleCounts;

  beforeAll(async () => {
    const stores = await serverStores();
    serverEnv = await Environment.open({ role: "server", keystore: { file: stores.server, password: PASSWORD }, clientAuth: "required" });
    clientEnv = await Environment.open({ keystore: { file: stores.client, password: PASSWORD } });
    baseline = handleCounts();
  });
  afterAll(async () => {
    await serverEnv.close();
    await clientEnv.close();
  });

  it("SHA-256 of what each end sent equals SHA-256 of what the other received; data after the client's close_notify arrives", async () => {
    const SIZE = 256 * MiB;
    const TAIL = MiB;
    type ServerResult = { sent: string; received: string; bytes: number; tailAfterEnd: boolean };
    let settle!: { resolve: (r: ServerResult) => void; reject: (e: unknown) => void };
    const serverSide = new Promise<ServerResult>((resolve, reject) => (settle = { resolve, reject }));
    const server = serverEnv.createServer(
      async (session: Session) => {
        try {
          const view = session.duplex();
          const sentHash = createHash("sha256");
          const receivedHash = createHash("sha256");
          const counter = { bytes: 0 };
          let clientEnded = false;
          const reading = pipeline(view, sink(receivedHash, counter)).then(() => void (clientEnded = true));
          // All but the last MiB at once; the last MiB only once the client's end has arrived.
          let out = 0;
          let tailAfterEnd = false;
          const holdTail = new Transform({
            transform(chunk: Buffer, _e, callback) {
              out += chunk.length;
              if (out <= SIZE - TAIL) {
                callback(null, chunk);
                return;
              }
              reading.then(
                () => {
                  tailAfterEnd = clientEnded;
                  callback(null, chunk);
                },
                (error: Error) => callback(error),
              );
            },
          });
          await Promise.all([reading, pipeline(source(2, SIZE, sentHash), holdTail, view)]);
          settle.resolve({ sent: sentHash.digest("hex"), received: receivedHash.digest("hex"), bytes: counter.bytes, tailAfterEnd });
        } catch (error) {
          settle.reject(error);
        }
      },
      (error) => settle.reject(error),
    );
    const { port } = await server.listen();

    const started = Date.now();
    const session = await clientEnv.connect({ host: "127.0.0.1", port, servername: "localhost" });
    expect(session.protocol).toBe("TLSv1.3");
    const view = session.duplex();
    const sentHash = createHash("sha256");
    const receivedHash = createHash("sha256");
    const counter = { bytes: 0 };
    // pipeline ends the view's writable side when the source is done: the half-close.
    await Promise.all([pipeline(source(1, SIZE, sentHash), view), pipeline(view, sink(receivedHash, counter))]);
    const result = await withDeadline(serverSide, 60_000, "the server's side of the transfer");
    const elapsed = Date.now() - started;
    console.log(`256 MiB each way with half-close: ${String(elapsed)} ms (${((2 * SIZE) / MiB / (elapsed / 1000)).toFixed(0)} MiB/s both directions)`);

    expect(counter.bytes).toBe(SIZE);
    expect(result.bytes).toBe(SIZE);
    expect(result.received).toBe(sentHash.digest("hex"));
    expect(receivedHash.digest("hex")).toBe(result.sent);
    expect(result.tailAfterEnd).toBe(true);
    await server.close();
    const now = await settleHandles(baseline);
    expect(now.tcp).toBeLessThanOrEqual(baseline.tcp);
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------
// Strict end of stream

/** A node:tls server over `raw` (no library): the peer that truncates or closes properly. */
function foreignServer(raw: Socket): TLSSocket {
  const server = pki("ecdsa", "server");
  const socket = new TLSSocket(raw, { isServer: true, secureContext: createSecureContext({ key: server.key, cert: server.chain }) });
  socket.on("error", () => undefined);
  return socket;
}

/**
 * Sits between a node:tls end and its TCP socket so the test can cut the byte stream anywhere:
 * `cutAfter(n)` forwards n more bytes of the TLS output (maybe half a record) and then sends a
 * bare FIN.
 */
function cuttable(raw: Socket): { stream: Duplex; cutAfter(n: number): void } {
  let budget = Infinity;
  const stream = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (budget === Infinity) {
        raw.write(chunk, callback);
        return;
      }
      const part = chunk.subarray(0, Math.max(0, budget));
      budget -= part.length;
      if (part.length > 0) raw.write(part);
      if (budget <= 0 && !raw.writableEnded) raw.end();
      callback();
    },
  });
  raw.on("data", (d: Buffer) => {
    if (!stream.push(d)) raw.pause();
  });
  raw.on("end", () => stream.push(null));
  raw.on("error", (e) => stream.destroy(e));
  return {
    stream,
    cutAfter(n) {
      budget = n;
      if (n <= 0) raw.end();
    },
  };
}

async function gskServerEnv(): Promise<gsk_handle> {
  const stores = await serverStores();
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, stores.server, 0);
  gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, PASSWORD, 0);
  gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, GSK_SERVER_SESSION);
  expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
  return env.value!;
}

/** Reads a gsk session to its end: the bytes' hash and count, and the code that ended it. */
async function drain(h: gsk_handle | undefined): Promise<{ hash: string; bytes: number; rc: number }> {
  const hash = createHash("sha256");
  const buf = Buffer.alloc(64 * 1024);
  const n = ref<number>();
  let bytes = 0;
  for (;;) {
    const rc = await gsk_secure_soc_read(h, buf, buf.length, n);
    if (rc !== GSK_OK) return { hash: hash.digest("hex"), bytes, rc };
    if (n.value === 0) return { hash: hash.digest("hex"), bytes, rc: GSK_OK };
    hash.update(buf.subarray(0, n.value));
    bytes += n.value!;
  }
}

function closeNotifyReceived(h: gsk_handle | undefined): number | undefined {
  const v = ref<number>();
  expect(gsk_attribute_get_enum(h, GSKX_CLOSE_NOTIFY_RECEIVED, v)).toBe(GSK_OK);
  return v.value;
}

describe("GSKX_STRICT_EOF on a gsk_* server session, 16 MiB from a node:tls client", () => {
  let env: gsk_handle;
  beforeAll(async () => {
    env = await gskServerEnv();
  });
  afterAll(() => {
    expect(gsk_environment_close(ref(env))).toBe(GSK_OK);
  });

  async function transfer(ending: "close_notify" | "FIN at a record boundary" | "FIN inside a record"): Promise<{ sent: string; sentBytes: number; got: Awaited<ReturnType<typeof drain>>; notify: number | undefined }> {
    const stores = await serverStores();
    const tcp = await tcpPair();
    const s = ref<gsk_handle>();
    expect(gsk_secure_soc_open(env, s)).toBe(GSK_OK);
    gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
    expect(gsk_attribute_set_enum(s.value, GSKX_STRICT_EOF, GSK_TRUE)).toBe(GSK_OK);
    const cut = cuttable(tcp.client);
    const client = tlsConnect({ socket: cut.stream, servername: "localhost", ca: stores.ca });
    client.on("error", () => undefined);
    const [rc] = await Promise.all([gsk_secure_soc_init(s.value), new Promise((r) => client.once("secureConnect", r))]);
    expect(rc).toBe(GSK_OK);

    const reading = drain(s.value);
    const hash = createHash("sha256");
    await pipeline(source(3, 16 * MiB, hash, 256 * 1024), new Writable({ write: (c: Buffer, _e, cb) => void client.write(c, cb) }));
    if (ending === "close_notify") client.end();
    else cut.cutAfter(ending === "FIN inside a record" ? 7 : 0);
    if (ending === "FIN inside a record") client.write(Buffer.alloc(1024, 0x7a)); // a record of which 7 bytes go out
    const got = await withDeadline(reading, 30_000, "the server's reads to end");
    const notify = closeNotifyReceived(s.value);
    if (got.rc === GSK_ERROR_IO) expect(gskx_errno(s.value)).toBeDefined();
    expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);
    client.destroy();
    tcp.close();
    return { sent: hash.digest("hex"), sentBytes: 16 * MiB, got, notify };
  }

  it("a proper close: every byte, a clean end, GSKX_CLOSE_NOTIFY_RECEIVED = GSK_TRUE", async () => {
    const r = await transfer("close_notify");
    expect(r.got).toEqual({ hash: r.sent, bytes: r.sentBytes, rc: GSK_OK });
    expect(r.notify).toBe(GSK_TRUE);
  });

  it.each(["FIN at a record boundary", "FIN inside a record"] as const)("truncation (%s): every byte sent before it, then 406, never a clean end; GSKX_CLOSE_NOTIFY_RECEIVED = GSK_FALSE", async (ending) => {
    const r = await transfer(ending);
    expect(r.got.bytes).toBe(r.sentBytes);
    expect(r.got.hash).toBe(r.sent);
    expect(r.got.rc).toBe(GSK_ERROR_IO);
    expect(r.notify).toBe(GSK_FALSE);
  });
});

describe("strictEof: true on an idiomatic client session, 16 MiB from a node:tls server", () => {
  let env: Environment;
  beforeAll(async () => {
    const stores = await serverStores();
    env = await Environment.open({ keystore: { file: stores.client, password: PASSWORD } });
  });
  afterAll(async () => {
    await env.close();
  });

  async function receive(ending: "close_notify" | "FIN"): Promise<{ sent: string; received: string; bytes: number; error: unknown }> {
    const tcp = await tcpPair();
    const cut = cuttable(tcp.server);
    const server = foreignServer(cut.stream as unknown as Socket);
    const session = await env.connect({ socket: tcp.client, servername: "localhost", strictEof: true });
    const sentHash = createHash("sha256");
    const writing = pipeline(source(4, 16 * MiB, sentHash, 256 * 1024), new Writable({ write: (c: Buffer, _e, cb) => void server.write(c, cb) })).then(() => {
      if (ending === "close_notify") server.end();
      else cut.cutAfter(0);
    });
    const receivedHash = createHash("sha256");
    const counter = { bytes: 0 };
    let error: unknown;
    try {
      await pipeline(session.duplex(), sink(receivedHash, counter));
    } catch (e) {
      error = e;
    }
    await writing;
    await session.close();
    server.destroy();
    tcp.close();
    return { sent: sentHash.digest("hex"), received: receivedHash.digest("hex"), bytes: counter.bytes, error };
  }

  it("a proper close: the pipeline completes with every byte", async () => {
    const r = await receive("close_notify");
    expect(r.error).toBeUndefined();
    expect(r.bytes).toBe(16 * MiB);
    expect(r.received).toBe(r.sent);
  });

  it("a bare FIN: every byte sent before it arrives, then the pipeline fails with 406 instead of completing", async () => {
    const r = await receive("FIN");
    expect(r.bytes).toBe(16 * MiB);
    expect(r.received).toBe(r.sent);
    expect(r.error).toBeInstanceOf(GskError);
    expect((r.error as GskError).code).toBe(GSK_ERROR_IO);
    expect((r.error as GskError).message).toMatch(/close_notify|truncat/);
  });
});
