/**
 * End of stream on the default path and on the opt-in path (`GSKX_STRICT_EOF` 9111,
 * `GSKX_KEEP_SOCKET_OPEN` 9110, `GSKX_CLOSE_NOTIFY_RECEIVED` 9112), against node:tls peers that
 * end their side in each way a real peer does: close_notify then FIN (`end()`), a bare FIN under
 * the TLS layer (`end()` on the raw socket), a crash (`destroy()`, which sends no close_notify).
 * Each way was checked against Python's ssl with `suppress_ragged_eofs=False`, so the peers do
 * what the test names say.
 *
 * GSKX_KEEP_SOCKET_OPEN: after both sides' gsk_secure_soc_close the same TCP connection carries
 * plaintext both ways, FTPS `CCC` style, including plaintext a peer sent in the same TCP segment
 * as its close_notify.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { afterAll, afterEach, describe, expect, it } from "vitest";

import {
  gsk_attribute_get_enum,
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_environment_close,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_read,
  gskx_errno,
  ref,
  type gsk_handle,
  type Ref,
  GSK_CLIENT_SESSION,
  GSK_ERROR_IO,
  GSK_FALSE,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_TRUE,
  GSKX_CLOSE_NOTIFY_RECEIVED,
  GSKX_KEEP_SOCKET_OPEN,
  GSKX_STRICT_EOF,
} from "../../src/index.js";
import { pki, pkiPath } from "../fixtures/pki-manifest.js";
import { tcpPair, type TcpPair } from "../helpers/net.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";
import { gskEnvironment, gskReadUntil, gskSession, gskWrite } from "./helpers.js";

type Role = "client" | "server";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const environments = new Map<Role, gsk_handle>();
afterAll(() => {
  for (const env of environments.values()) gsk_environment_close(ref(env));
  environments.clear();
});

/** One environment per role for the whole file (ECDSA keys: the cheapest handshakes). */
async function environmentFor(role: Role): Promise<gsk_handle> {
  let env = environments.get(role);
  if (!env) {
    env =
      role === "server"
        ? await gskEnvironment({ store: await makeStore({ tree: "ecdsa", personal: ["server"] }), password: PASSWORD, sessionType: GSK_SERVER_SESSION })
        : await gskEnvironment({ store: await makeStore({ tree: "ecdsa" }), password: PASSWORD, sessionType: GSK_CLIENT_SESSION });
    environments.set(role, env);
  }
  return env;
}

interface Options {
  strictEof?: boolean;
  keepSocketOpen?: boolean;
}

/** Our gsk_* session on `socket`, handshake not yet started. */
async function ours(role: Role, socket: Socket, options: Options): Promise<Ref<gsk_handle>> {
  const h = gskSession(await environmentFor(role), socket);
  if (role === "client") expect(gsk_attribute_set_buffer(h.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_OK);
  if (options.strictEof) expect(gsk_attribute_set_enum(h.value, GSKX_STRICT_EOF, GSK_TRUE)).toBe(GSK_OK);
  if (options.keepSocketOpen) expect(gsk_attribute_set_enum(h.value, GSKX_KEEP_SOCKET_OPEN, GSK_TRUE)).toBe(GSK_OK);
  cleanups.push(async () => {
    if (h.value !== undefined) await gsk_secure_soc_close(h);
  });
  return h;
}

/**
 * A node:tls peer on `transport` (the raw socket, or a Duplex over it) playing the other role;
 * resolves once its handshake is done.
 */
async function nodePeer(peerRole: Role, transport: Duplex): Promise<tls.TLSSocket> {
  if (peerRole === "client") {
    const s = tls.connect({ socket: transport, servername: "localhost", ca: readFileSync(pkiPath("ecdsa", "ca.pem")) });
    cleanups.push(() => void s.destroy());
    s.on("error", () => undefined);
    await once(s, "secureConnect");
    return s;
  }
  const server = tls.createServer({ cert: pki("ecdsa", "server").chain, key: pki("ecdsa", "server").key });
  const secure = once(server, "secureConnection") as Promise<[tls.TLSSocket]>;
  server.emit("connection", transport);
  const [s] = await secure;
  cleanups.push(() => void s.destroy());
  s.on("error", () => undefined);
  return s;
}

/** Our session in `role` against a node:tls peer over a real TCP pair; both handshakes done. */
async function against(role: Role, options: Options, peerTransport?: (raw: Socket) => Duplex): Promise<{ h: Ref<gsk_handle>; peer: tls.TLSSocket; tcp: TcpPair; ourRaw: Socket; peerRaw: Socket }> {
  const tcp = await tcpPair();
  cleanups.push(() => tcp.close());
  const ourRaw = role === "client" ? tcp.client : tcp.server;
  const peerRaw = role === "client" ? tcp.server : tcp.client;
  const h = await ours(role, ourRaw, options);
  const [rc, peer] = await Promise.all([gsk_secure_soc_init(h.value), nodePeer(role === "client" ? "server" : "client", peerTransport ? peerTransport(peerRaw) : peerRaw)]);
  expect(rc).toBe(GSK_OK);
  return { h, peer, tcp, ourRaw, peerRaw };
}

function closeNotifyReceived(h: gsk_handle | undefined): { rc: number; value: number | undefined } {
  const v = ref<number>();
  const rc = gsk_attribute_get_enum(h, GSKX_CLOSE_NOTIFY_RECEIVED, v);
  return { rc, value: v.value };
}

/**
 * One round trip through the peer. A node:tls server that calls end() while a write of its own
 * (session tickets) may still be in flight sends the FIN without its close_notify (seen on Node
 * 20.20 with Python's ssl as observer), so a peer meant to send close_notify first settles.
 */
async function settle(h: gsk_handle | undefined, peer: tls.TLSSocket): Promise<void> {
  const echoed = once(peer, "data");
  expect(await gskWrite(h, "ping\n")).toBe(GSK_OK);
  await echoed;
  await writeAndFlush(peer, "pong\n");
  expect(await gskReadUntil(h, "\n")).toMatchObject({ rc: GSK_OK, text: "pong\n" });
}

function writeAndFlush(s: Duplex, text: string): Promise<void> {
  return new Promise((resolve, reject) => s.write(text, (e) => (e ? reject(e) : resolve())));
}

/** Reads plaintext from a raw socket until exactly `expected` has arrived. */
function readRaw(socket: Socket, expected: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: Buffer): void => {
      got += d.toString("latin1");
      if (got.length >= expected.length) {
        done();
        resolve(got);
      }
    };
    const onEnd = (): void => {
      done();
      reject(new Error(`the socket ended after ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`));
    };
    const done = (): void => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.pause();
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.resume();
  });
}

const ROLES: readonly Role[] = ["client", "server"];

describe.each(ROLES)("our %s with GSKX_STRICT_EOF", (role) => {
  it("close_notify from the peer: read gives 0 with GSK_OK, GSKX_CLOSE_NOTIFY_RECEIVED is GSK_TRUE", async () => {
    const { h, peer } = await against(role, { strictEof: true });
    // Not known before end of stream.
    expect(closeNotifyReceived(h.value).rc).not.toBe(GSK_OK);
    await settle(h.value, peer);
    peer.end("last words\n");
    expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_OK, text: "last words\n" });
    expect(await gskReadUntil(h.value, "\n")).toEqual({ rc: GSK_OK, text: "", ended: true });
    expect(closeNotifyReceived(h.value)).toEqual({ rc: GSK_OK, value: GSK_TRUE });
    // The peer's end: it reads our close_notify.
    const peerEnded = once(peer, "end");
    expect(await gsk_secure_soc_close(h)).toBe(GSK_OK);
    await peerEnded;
  });

  it("a bare TCP FIN under the peer's TLS: the data before it arrives, then read gives 406 and GSKX_CLOSE_NOTIFY_RECEIVED is GSK_FALSE", async () => {
    const { h, peer, peerRaw } = await against(role, { strictEof: true });
    await writeAndFlush(peer, "truncated here\n");
    peerRaw.end();
    expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_OK, text: "truncated here\n" });
    expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_ERROR_IO, text: "" });
    expect(gskx_errno(h.value)).toBe("ECONNRESET");
    expect(closeNotifyReceived(h.value)).toEqual({ rc: GSK_OK, value: GSK_FALSE });
    expect(await gsk_secure_soc_close(h)).toBe(GSK_OK);
  });

  it("a peer destroyed without closing (a crash): read gives 406 and GSKX_CLOSE_NOTIFY_RECEIVED is GSK_FALSE", async () => {
    const { h, peer } = await against(role, { strictEof: true });
    await writeAndFlush(peer, "crash soon\n");
    expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_OK, text: "crash soon\n" });
    peer.destroy();
    expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_ERROR_IO, text: "" });
    expect(closeNotifyReceived(h.value)).toEqual({ rc: GSK_OK, value: GSK_FALSE });
    expect(await gsk_secure_soc_close(h)).toBe(GSK_OK);
  });
});

describe("the opt-in path under load", () => {
  it("carries 4 MiB each way at once intact through back-pressure, then ends with close_notify on both sides", async () => {
    const tcp = await tcpPair();
    cleanups.push(() => tcp.close());
    const c = await ours("client", tcp.client, { strictEof: true });
    const s = await ours("server", tcp.server, { strictEof: true, keepSocketOpen: true });
    expect(await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)])).toEqual([GSK_OK, GSK_OK]);
    const size = 4 * 1024 * 1024;
    const up = randomBytes(size);
    const down = randomBytes(size);
    async function pump(h: gsk_handle | undefined, data: Buffer): Promise<void> {
      for (let off = 0; off < data.length; off += 65536) expect(await gskWrite(h, data.subarray(off, off + 65536))).toBe(GSK_OK);
    }
    async function drain(h: gsk_handle | undefined): Promise<string> {
      const hash = createHash("sha256");
      const buf = Buffer.alloc(65536);
      const n = ref<number>();
      for (let total = 0; total < size; total += n.value!) {
        const rc = await gsk_secure_soc_read(h, buf, buf.length, n);
        if (rc !== GSK_OK || n.value === 0) throw new Error(`read rc ${String(rc)} after ${String(total)} bytes`);
        hash.update(buf.subarray(0, n.value));
      }
      return hash.digest("hex");
    }
    const [, , atServer, atClient] = await Promise.all([pump(c.value, up), pump(s.value, down), drain(s.value), drain(c.value)]);
    expect(atServer).toBe(createHash("sha256").update(up).digest("hex"));
    expect(atClient).toBe(createHash("sha256").update(down).digest("hex"));

    const serverClosed = gsk_secure_soc_close(s);
    expect(await gskReadUntil(c.value, "\n")).toEqual({ rc: GSK_OK, text: "", ended: true });
    expect(closeNotifyReceived(c.value)).toEqual({ rc: GSK_OK, value: GSK_TRUE });
    expect(await gsk_secure_soc_close(c)).toBe(GSK_OK);
    expect(await serverClosed).toBe(GSK_OK);
  });
});

describe.each(ROLES)("our %s with GSKX_STRICT_EOF and a reader far behind", (role) => {
  it("a large stream ending in close_notify still reads every byte, then a clean end", async () => {
    const { h, peer } = await against(role, { strictEof: true });
    await settle(h.value, peer);
    const size = 3 * 1024 * 1024;
    const data = randomBytes(size);
    peer.write(data);
    peer.end();
    // The reader starts late, so TLS, the gate and TCP are all backed up when the FIN arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const hash = createHash("sha256");
    const buf = Buffer.alloc(65536);
    const n = ref<number>();
    let total = 0;
    for (;;) {
      const rc = await gsk_secure_soc_read(h.value, buf, buf.length, n);
      expect(rc, `after ${String(total)} bytes`).toBe(GSK_OK);
      if (n.value === 0) break;
      hash.update(buf.subarray(0, n.value));
      total += n.value!;
    }
    expect(total).toBe(size);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    expect(closeNotifyReceived(h.value)).toEqual({ rc: GSK_OK, value: GSK_TRUE });
  });
});

describe.each(ROLES)("our %s on the default path", (role) => {
  it("close_notify and a bare FIN both read as amtRead 0 with GSK_OK, as on IBM i", async () => {
    for (const how of ["close_notify", "bare FIN"] as const) {
      const { h, peer, peerRaw } = await against(role, {});
      await settle(h.value, peer);
      await writeAndFlush(peer, `before the ${how}\n`);
      if (how === "close_notify") peer.end();
      else peerRaw.end();
      expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_OK, text: `before the ${how}\n` });
      expect(await gskReadUntil(h.value, "\n"), how).toEqual({ rc: GSK_OK, text: "", ended: true });
      // The default path cannot tell them apart, so it does not claim to know.
      expect(closeNotifyReceived(h.value).rc).not.toBe(GSK_OK);
      expect(await gsk_secure_soc_close(h)).toBe(GSK_OK);
    }
  });
});

describe("GSKX_KEEP_SOCKET_OPEN", () => {
  it("FTPS CCC: after both gsk_secure_soc_close calls, plaintext goes on over the same TCP connection both ways", async () => {
    const tcp = await tcpPair();
    cleanups.push(() => tcp.close());
    const c = await ours("client", tcp.client, { keepSocketOpen: true });
    const s = await ours("server", tcp.server, { keepSocketOpen: true });
    expect(await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)])).toEqual([GSK_OK, GSK_OK]);

    expect(await gskWrite(c.value, "CCC\r\n")).toBe(GSK_OK);
    expect(await gskReadUntil(s.value, "\r\n")).toMatchObject({ rc: GSK_OK, text: "CCC\r\n" });
    expect(await gskWrite(s.value, "200 Clear Command Channel OK\r\n")).toBe(GSK_OK);
    expect(await gskReadUntil(c.value, "\r\n")).toMatchObject({ rc: GSK_OK, text: "200 Clear Command Channel OK\r\n" });

    // The client starts the shutdown; the server sees its close_notify as end of stream and answers
    // with its own, as RFC 4217 describes.
    const clientClosed = gsk_secure_soc_close(c);
    expect(await gskReadUntil(s.value, "\n")).toEqual({ rc: GSK_OK, text: "", ended: true });
    expect(closeNotifyReceived(s.value)).toEqual({ rc: GSK_OK, value: GSK_TRUE });
    expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);
    expect(await clientClosed).toBe(GSK_OK);

    expect(tcp.client.destroyed).toBe(false);
    expect(tcp.server.destroyed).toBe(false);
    // Handed back waiting for a consumer (not paused), so the application's own on("data") starts it.
    expect(tcp.client.readableFlowing).toBeNull();
    expect(tcp.server.readableFlowing).toBeNull();
    const toServer = readRaw(tcp.server, "PWD\r\n");
    tcp.client.write("PWD\r\n");
    expect(await toServer).toBe("PWD\r\n");
    const toClient = readRaw(tcp.client, '257 "/" is the current directory\r\n');
    tcp.server.write('257 "/" is the current directory\r\n');
    expect(await toClient).toBe('257 "/" is the current directory\r\n');
  });

  it("both sides closing at the same moment still leave a clean plaintext channel", async () => {
    const tcp = await tcpPair();
    cleanups.push(() => tcp.close());
    const c = await ours("client", tcp.client, { keepSocketOpen: true });
    const s = await ours("server", tcp.server, { keepSocketOpen: true });
    expect(await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)])).toEqual([GSK_OK, GSK_OK]);
    expect(await gskWrite(c.value, "ping\n")).toBe(GSK_OK);
    expect(await gskReadUntil(s.value, "\n")).toMatchObject({ rc: GSK_OK, text: "ping\n" });
    expect(await gskWrite(s.value, "pong\n")).toBe(GSK_OK);
    expect(await gskReadUntil(c.value, "\n")).toMatchObject({ rc: GSK_OK, text: "pong\n" });

    expect(await Promise.all([gsk_secure_soc_close(c), gsk_secure_soc_close(s)])).toEqual([GSK_OK, GSK_OK]);

    const toServer = readRaw(tcp.server, "plain up\n");
    const toClient = readRaw(tcp.client, "plain down\n");
    tcp.client.write("plain up\n");
    tcp.server.write("plain down\n");
    expect(await Promise.all([toServer, toClient])).toEqual(["plain up\n", "plain down\n"]);
  });

  describe.each(ROLES)("our %s", (role) => {
    it("keeps plaintext the peer sent in the same TCP segment as its close_notify, and plaintext then flows both ways", async () => {
      let splice: Splicer | undefined;
      const { h, peer, ourRaw, peerRaw } = await against(role, { keepSocketOpen: true }, (raw) => (splice = new Splicer(raw)));
      await settle(h.value, peer);
      await writeAndFlush(peer, "secure part\n");
      expect(await gskReadUntil(h.value, "\n")).toMatchObject({ rc: GSK_OK, text: "secure part\n" });

      // The peer's close_notify and its first plaintext leave in one write, so one segment.
      splice!.appendToNextWrite = Buffer.from("PLAIN RIGHT AFTER close_notify\n");
      const peerSawOurClose = once(peer, "end");
      peer.end();
      expect(await gskReadUntil(h.value, "\n")).toEqual({ rc: GSK_OK, text: "", ended: true });
      expect(closeNotifyReceived(h.value)).toEqual({ rc: GSK_OK, value: GSK_TRUE });
      expect(splice!.combinedWrites).toBe(1);

      expect(await gsk_secure_soc_close(h)).toBe(GSK_OK);
      // The peer's TLS read our close_notify; from here its raw socket is plain TCP again.
      await peerSawOurClose;
      splice!.detach();

      expect(ourRaw.destroyed).toBe(false);
      expect(await readRaw(ourRaw, "PLAIN RIGHT AFTER close_notify\n")).toBe("PLAIN RIGHT AFTER close_notify\n");
      const toPeer = readRaw(peerRaw, "from us, in clear\n");
      ourRaw.write("from us, in clear\n");
      expect(await toPeer).toBe("from us, in clear\n");
      const toUs = readRaw(ourRaw, "from the peer, in clear\n");
      peerRaw.write("from the peer, in clear\n");
      expect(await toUs).toBe("from the peer, in clear\n");
    });
  });
});

/**
 * The peer's transport: passes bytes between its TLS socket and the raw TCP socket, can append
 * plaintext to the next record TLS writes (its close_notify) so both leave in one write, and never
 * ends TCP itself, so the connection outlives the peer's TLS.
 */
class Splicer extends Duplex {
  appendToNextWrite: Buffer | undefined;
  combinedWrites = 0;
  private attached = true;

  constructor(private readonly raw: Socket) {
    super({ allowHalfOpen: true });
    raw.on("data", this.onData);
  }

  private readonly onData = (data: Buffer): void => {
    if (!this.push(data)) this.raw.pause();
  };

  override _read(): void {
    if (this.attached) this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const extra = this.appendToNextWrite;
    this.appendToNextWrite = undefined;
    if (extra) this.combinedWrites++;
    this.raw.write(extra ? Buffer.concat([chunk, extra]) : chunk, callback);
  }

  override _final(callback: () => void): void {
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(error);
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.raw.off("data", this.onData);
    this.raw.pause();
  }
}
