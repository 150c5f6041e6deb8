/**
 * Renegotiation attempts on TLS 1.2 against our servers. The attribute table documents that
 * renegotiation is refused to peers (GSK_NO_RENEGOTIATION is "always on"): each renegotiation
 * costs the server a full handshake, and node:tls enforces neither its per-connection limit nor
 * disableRenegotiation() on the sockets the library builds. So a client's renegotiation ends its
 * connection with 412 (errno ERR_TLS_RENEGOTIATION_DISABLED) on the server's session, the server
 * keeps serving, and our own server-initiated gsk_secure_soc_misc(GSK_RESET_CIPHER) still works.
 *
 * Budget: ~2 s.
 */
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_misc,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_write,
  ref,
  type gsk_handle,
  GSK_ERROR_UNSUPPORTED,
  GSK_FALSE,
  GSK_FD,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_PROTOCOL_TLSV13,
  GSK_RESET_CIPHER,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
} from "../../src/index.js";
import { tcpPair } from "../helpers/net.js";
import { PASSWORD } from "../helpers/stores.js";
import {
  closed,
  controlEcho,
  gskServer,
  handleCounts,
  idiomaticServer,
  recordUnhandledRejections,
  serverStores,
  settleHandles,
  tlsClient,
  withDeadline,
  type HandleCounts,
  type RecordingServer,
} from "./helpers.js";

const rejections = recordUnhandledRejections();
afterEach(() => {
  expect(rejections.seen).toEqual([]);
});
afterAll(() => rejections.stop());

/** Starts a client renegotiation; resolves with what the client saw of it. */
function renegotiate(tls: TLSSocket): Promise<"completed" | "closed"> {
  return new Promise((resolve) => {
    tls.once("close", () => resolve("closed"));
    const started = tls.renegotiate({ rejectUnauthorized: false }, (error) => {
      if (!error) resolve("completed");
    });
    expect(started).toBe(true);
  });
}

describe.each([
  ["gsk_* server", () => gskServer({ tls12Only: true })],
  ["idiomatic TlsServer", () => idiomaticServer({ protocols: ["TLSv1.2"] })],
] as const)("%s, TLS 1.2: a client's renegotiation", (_name, makeServer) => {
  let server: RecordingServer;
  let baseline: HandleCounts;

  beforeAll(async () => {
    server = await makeServer();
    await controlEcho(server.port, { maxVersion: "TLSv1.2" });
    await server.outcomes.waitFor(1);
    baseline = await settleHandles(handleCounts());
  });
  afterAll(async () => {
    await server.close();
  });

  it("after data: ends the connection with 412 on the server's session; the client gets no more data", async () => {
    const mark = server.outcomes.mark();
    const { tls } = await tlsClient(server.port, { maxVersion: "TLSv1.2" });
    expect(tls.getProtocol()).toBe("TLSv1.2");
    tls.write("before");
    expect(String(await new Promise<Buffer>((r) => tls.once("data", r)))).toBe("before");
    const received: Buffer[] = [];
    tls.on("data", (d: Buffer) => received.push(d));
    await renegotiate(tls);
    if (!tls.destroyed) tls.write("after");
    const [outcome] = await server.outcomes.since(mark, 1);
    expect(outcome).toMatchObject({ initRc: 0, ioRc: GSK_ERROR_UNSUPPORTED, errno: "ERR_TLS_RENEGOTIATION_DISABLED" });
    expect(outcome!.message).toMatch(/renegotiat/);
    await withDeadline(closed(tls), 5_000, "the renegotiating client's connection to be closed");
    expect(Buffer.concat(received).toString()).toBe("");
  });

  it("before any data, five times over: 412 each time (not 9002), and the server keeps serving", async () => {
    const mark = server.outcomes.mark();
    for (let i = 0; i < 5; i++) {
      const { tls } = await tlsClient(server.port, { maxVersion: "TLSv1.2" });
      await renegotiate(tls);
      await withDeadline(closed(tls), 5_000, "the renegotiating client's connection to be closed");
    }
    const outcomes = await server.outcomes.since(mark, 5);
    expect(outcomes.map((o) => o.ioRc)).toEqual(Array(5).fill(GSK_ERROR_UNSUPPORTED));
    const control = server.outcomes.mark();
    await controlEcho(server.port, { maxVersion: "TLSv1.2" });
    expect((await server.outcomes.since(control, 1))[0]).toMatchObject({ initRc: 0, ioRc: 0 });
    const now = await settleHandles(baseline);
    expect(now.tcp).toBeLessThanOrEqual(baseline.tcp);
    expect(now.timeout).toBeLessThanOrEqual(baseline.timeout);
  });
});

describe("the server's own renegotiation (gsk_secure_soc_misc GSK_RESET_CIPHER) is not refused", () => {
  it("renegotiates with a node:tls client and data flows both ways afterwards", async () => {
    const stores = await serverStores();
    const env = ref<gsk_handle>();
    expect(gsk_environment_open(env)).toBe(GSK_OK);
    gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, stores.server, 0);
    gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, PASSWORD, 0);
    gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, GSK_SERVER_SESSION);
    gsk_attribute_set_enum(env.value, GSK_PROTOCOL_TLSV13, GSK_FALSE);
    expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
    const tcp = await tcpPair();
    const s = ref<gsk_handle>();
    expect(gsk_secure_soc_open(env.value, s)).toBe(GSK_OK);
    gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
    const client = tlsConnect({ socket: tcp.client, servername: "localhost", ca: stores.ca });
    const fromServer: Buffer[] = [];
    client.on("data", (d: Buffer) => fromServer.push(d));
    expect(await gsk_secure_soc_init(s.value)).toBe(GSK_OK);
    await new Promise((r) => client.once("secureConnect", r));

    // The client must be reading for the HelloRequest to be answered; it writes meanwhile.
    const misc = gsk_secure_soc_misc(s.value, GSK_RESET_CIPHER);
    client.write("ping");
    const buf = Buffer.alloc(64);
    const n = ref<number>();
    expect(await gsk_secure_soc_read(s.value, buf, buf.length, n)).toBe(GSK_OK);
    expect(await misc).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("ping");
    expect(await gsk_secure_soc_write(s.value, "pong", 4, n)).toBe(GSK_OK);
    await withDeadline(
      new Promise<void>((r) => {
        const check = (): void => (Buffer.concat(fromServer).toString() === "pong" ? r() : void client.once("data", check));
        check();
      }),
      5_000,
      "the client to receive pong",
    );
    expect(client.destroyed).toBe(false);

    expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);
    client.destroy();
    tcp.close();
    expect(gsk_environment_close(env)).toBe(GSK_OK);
  });
});
