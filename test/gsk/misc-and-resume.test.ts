/**
 * gsk_secure_soc_misc and resumption (spec §3 Misc, §4 Resumption and results): the session
 * cache of a client environment, GSK_RESET_SESSION / GSK_RESET_CIPHER on TLS 1.3 and 1.2, and
 * handshake results that outlive the peer until gsk_secure_soc_close — both ends checked.
 */
import { readFileSync } from "node:fs";
import { createServer as netCreateServer, connect as netConnect, type Server, type Socket } from "node:net";
import * as tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";

import { RETURN_CODES } from "../../src/codes.js";
import {
  gsk_attribute_get_buffer,
  gsk_attribute_get_cert_info,
  gsk_attribute_get_enum,
  gsk_attribute_get_numeric_value,
  gsk_attribute_set_buffer,
  gsk_attribute_set_callback,
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
  gskx_last_error,
  ref,
  type gsk_cert_data_elem,
  type gsk_handle,
  CERT_BODY_DER,
  CERT_COMMON_NAME,
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CIPHER_SESSION_RESET,
  GSK_CLIENT_SESSION,
  GSK_CONNECT_CIPHER_SPEC_EX,
  GSK_CONNECT_SEC_TYPE,
  GSK_ERROR_IO,
  GSK_ERROR_SOCKET_CLOSED,
  GSK_ERROR_UNSUPPORTED,
  GSK_FALSE,
  GSK_FD,
  GSK_INTERNAL_ERROR,
  GSK_INVALID_HANDLE,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_PARTNER_CERT_INFO,
  GSK_PROTOCOL_TLSV13,
  GSK_PROTOCOL_USED,
  GSK_PROTOCOL_USED_TLSV12,
  GSK_PROTOCOL_USED_TLSV13,
  GSK_RESET_CIPHER,
  GSK_RESET_CIPHER_WITHNEWSESSION,
  GSK_RESET_SESSION,
  GSK_SERVER_SESSION,
  GSK_SERVER_SESSION_WITH_CL_AUTH,
  GSK_SESSION_TYPE,
  GSK_SID_FIRST,
  GSK_SID_IS_FIRST,
  GSK_SID_NOT_FIRST,
  GSK_SSL_EXTN_SERVERNAME,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_V3_SESSION_TIMEOUT,
} from "../../src/index.js";
import { pkiPath } from "../fixtures/pki-manifest.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

const sessions: gsk_handle[] = [];
const environments: gsk_handle[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) await gsk_secure_soc_close(ref(s));
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  for (const e of environments.splice(0)) gsk_environment_close(ref(e));
});

type Configure = (env: gsk_handle) => void;

async function environment(role: "server" | "client" | "mutual-client", configure: Configure = () => undefined): Promise<gsk_handle> {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  environments.push(env.value!);
  const personal = role === "server" ? ["server"] : role === "mutual-client" ? ["client"] : [];
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, await makeStore({ tree: "ecdsa", personal }), 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, role === "server" ? GSK_SERVER_SESSION : GSK_CLIENT_SESSION)).toBe(GSK_OK);
  configure(env.value!);
  expect(await gsk_environment_init(env.value), gskx_last_error()?.message).toBe(GSK_OK);
  return env.value!;
}

const tls12: Configure = (env) => expect(gsk_attribute_set_enum(env, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);

/** One listening address for several connections: resumption is per server address and SNI. */
async function listener(): Promise<{ port: number; pair: () => Promise<{ client: Socket; server: Socket }> }> {
  const server = netCreateServer();
  servers.push(server);
  const accepted: Socket[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  server.on("connection", (s: Socket) => {
    sockets.push(s);
    const w = waiting.shift();
    if (w) w(s);
    else accepted.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async pair() {
      const client = netConnect(port, "127.0.0.1");
      sockets.push(client);
      await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
      const serverSide = accepted.shift() ?? (await new Promise<Socket>((resolve) => waiting.push(resolve)));
      return { client, server: serverSide };
    },
  };
}

interface Connection {
  c: gsk_handle;
  s: gsk_handle;
}

async function connect(serverEnv: gsk_handle, clientEnv: gsk_handle, pair: { client: Socket; server: Socket }, sni = "localhost"): Promise<Connection> {
  const s = ref<gsk_handle>();
  const c = ref<gsk_handle>();
  expect(gsk_secure_soc_open(serverEnv, s)).toBe(GSK_OK);
  expect(gsk_secure_soc_open(clientEnv, c)).toBe(GSK_OK);
  sessions.push(s.value!, c.value!);
  gsk_attribute_set_numeric_value(s.value, GSK_FD, pair.server);
  gsk_attribute_set_numeric_value(c.value, GSK_FD, pair.client);
  gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, sni, 0);
  const [src, crc] = await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)]);
  expect({ src, crc }, gskx_last_error()?.message).toEqual({ src: GSK_OK, crc: GSK_OK });
  return { c: c.value!, s: s.value! };
}

function readEnum(h: gsk_handle, id: number): number | undefined {
  const v = ref<number>();
  expect(gsk_attribute_get_enum(h, id, v)).toBe(GSK_OK);
  return v.value;
}

function readBuffer(h: gsk_handle, id: number): string | undefined {
  const v = ref<string>();
  expect(gsk_attribute_get_buffer(h, id, v, ref())).toBe(GSK_OK);
  return v.value;
}

async function send(from: gsk_handle, to: gsk_handle, text: string): Promise<void> {
  const n = ref<number>();
  expect(await gsk_secure_soc_write(from, text, text.length, n)).toBe(GSK_OK);
  const buf = Buffer.alloc(256);
  let got = "";
  while (got.length < text.length) {
    expect(await gsk_secure_soc_read(to, buf, buf.length, n)).toBe(GSK_OK);
    expect(n.value).toBeGreaterThan(0);
    got += buf.subarray(0, n.value).toString();
  }
  expect(got).toBe(text);
}

/** Data both ways; on TLS 1.3 this also lets the server's tickets reach the client's cache. */
async function both(conn: Connection): Promise<void> {
  await send(conn.c, conn.s, "from the client");
  await send(conn.s, conn.c, "from the server");
}

async function closeBoth(conn: Connection): Promise<void> {
  for (const h of [conn.c, conn.s]) {
    sessions.splice(sessions.indexOf(h), 1);
    expect(await gsk_secure_soc_close(ref(h))).toBe(GSK_OK);
  }
}

function expectSid(conn: Connection, sid: number): void {
  expect({ client: readEnum(conn.c, GSK_SID_FIRST), server: readEnum(conn.s, GSK_SID_FIRST) }).toEqual({ client: sid, server: sid });
}

function isDocumentedFailure(rc: number): boolean {
  return rc !== GSK_OK && rc !== GSK_INTERNAL_ERROR && RETURN_CODES.some((r) => r.code === rc);
}

describe("resumption from one client environment", () => {
  it.each([
    ["TLS 1.3", undefined, GSK_PROTOCOL_USED_TLSV13],
    ["TLS 1.2", tls12, GSK_PROTOCOL_USED_TLSV12],
  ] as const)("%s: the second connection to the same address and SNI is resumed on both ends", async (_name, configure, protocol) => {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client", configure);
    const net = await listener();
    const first = await connect(serverEnv, clientEnv, await net.pair());
    expectSid(first, GSK_SID_IS_FIRST);
    expect(readBuffer(first.s, GSK_SSL_EXTN_SERVERNAME)).toBe("localhost");
    await both(first);
    await closeBoth(first);
    const second = await connect(serverEnv, clientEnv, await net.pair());
    expectSid(second, GSK_SID_NOT_FIRST);
    for (const h of [second.c, second.s]) expect(readEnum(h, GSK_PROTOCOL_USED)).toBe(protocol);
    // A resumed session is a full session: validation result, partner certificate, data.
    const code = ref<number>();
    expect(gsk_attribute_get_numeric_value(second.c, GSK_CERTIFICATE_VALIDATION_CODE, code)).toBe(GSK_OK);
    expect(code.value).toBe(0);
    const elems = ref<gsk_cert_data_elem[]>();
    expect(gsk_attribute_get_cert_info(second.c, GSK_PARTNER_CERT_INFO, elems, ref())).toBe(GSK_OK);
    expect(elems.value!.find((e) => e.cert_data_id === CERT_COMMON_NAME)?.cert_data_p).toBe("localhost");
    // node:tls gives a server no SNI name on a resumed TLS 1.2 session (servername is false and
    // the SNI callback is not called), so only TLS 1.3 can show it here.
    if (protocol === GSK_PROTOCOL_USED_TLSV13) expect(readBuffer(second.s, GSK_SSL_EXTN_SERVERNAME)).toBe("localhost");
    await both(second);
  });

  it("with GSK_V3_SESSION_TIMEOUT 0 every connection is a full handshake", async () => {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client", (env) => expect(gsk_attribute_set_numeric_value(env, GSK_V3_SESSION_TIMEOUT, 0)).toBe(GSK_OK));
    const net = await listener();
    const first = await connect(serverEnv, clientEnv, await net.pair());
    await both(first);
    await closeBoth(first);
    const second = await connect(serverEnv, clientEnv, await net.pair());
    expectSid(second, GSK_SID_IS_FIRST);
    await both(second);
  });

  it("another expected name is another cache entry: a full handshake", async () => {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client");
    const net = await listener();
    const first = await connect(serverEnv, clientEnv, await net.pair(), "localhost");
    await both(first);
    const second = await connect(serverEnv, clientEnv, await net.pair(), "127.0.0.1");
    expectSid(second, GSK_SID_IS_FIRST);
    await both(second);
    const third = await connect(serverEnv, clientEnv, await net.pair(), "localhost");
    expectSid(third, GSK_SID_NOT_FIRST);
  });

  it("another client environment does not share the cache", async () => {
    const serverEnv = await environment("server");
    const net = await listener();
    const first = await connect(serverEnv, await environment("client"), await net.pair());
    await both(first);
    const second = await connect(serverEnv, await environment("client"), await net.pair());
    expectSid(second, GSK_SID_IS_FIRST);
  });
});

describe("GSK_RESET_SESSION", () => {
  it.each([
    ["TLS 1.3", undefined],
    ["TLS 1.2", tls12],
  ] as const)("%s: returns 0 and the next connection is a full handshake", async (_name, configure) => {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client", configure);
    const net = await listener();
    const first = await connect(serverEnv, clientEnv, await net.pair());
    await both(first);
    expect(await gsk_secure_soc_misc(first.c, GSK_RESET_SESSION)).toBe(GSK_OK);
    expect(await gsk_secure_soc_misc(first.s, GSK_RESET_SESSION)).toBe(GSK_OK);
    // The session itself goes on.
    await both(first);
    const second = await connect(serverEnv, clientEnv, await net.pair());
    expectSid(second, GSK_SID_IS_FIRST);
    await both(second);
    // ... and caches afresh: the third connection resumes the second's session.
    const third = await connect(serverEnv, clientEnv, await net.pair());
    expectSid(third, GSK_SID_NOT_FIRST);
  });
});

describe("GSK_RESET_CIPHER", () => {
  it("on TLS 1.3 gives 412 on both ends (no renegotiation, no key update in node:tls), and the session goes on", async () => {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client");
    const conn = await connect(serverEnv, clientEnv, await (await listener()).pair());
    for (const h of [conn.c, conn.s]) {
      expect(await gsk_secure_soc_misc(h, GSK_RESET_CIPHER)).toBe(GSK_ERROR_UNSUPPORTED);
      expect(gskx_last_error()?.message).toMatch(/TLS 1\.2/);
      expect(await gsk_secure_soc_misc(h, GSK_RESET_CIPHER_WITHNEWSESSION)).toBe(GSK_ERROR_UNSUPPORTED);
    }
    await both(conn);
    expect(readEnum(conn.c, GSK_PROTOCOL_USED)).toBe(GSK_PROTOCOL_USED_TLSV13);
  });

  it("on TLS 1.2 from the server renegotiates; data flows both ways and GSK_CIPHER_SESSION_RESET gets the session handle", async () => {
    const serverEnv = await environment("server", tls12);
    const clientEnv = await environment("client", tls12);
    const net = await listener();
    const pair = await net.pair();
    const s = ref<gsk_handle>();
    const c = ref<gsk_handle>();
    gsk_secure_soc_open(serverEnv, s);
    gsk_secure_soc_open(clientEnv, c);
    sessions.push(s.value!, c.value!);
    gsk_attribute_set_numeric_value(s.value, GSK_FD, pair.server);
    gsk_attribute_set_numeric_value(c.value, GSK_FD, pair.client);
    gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    const resets: unknown[] = [];
    expect(gsk_attribute_set_callback(s.value, GSK_CIPHER_SESSION_RESET, (h: unknown) => resets.push(h))).toBe(GSK_OK);
    expect(await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)])).toEqual([GSK_OK, GSK_OK]);
    const conn = { c: c.value!, s: s.value! };
    await both(conn);
    expect(await gsk_secure_soc_misc(conn.s, GSK_RESET_CIPHER)).toBe(GSK_OK);
    expect(resets).toEqual([conn.s]);
    await both(conn);
    await send(conn.c, conn.s, "x".repeat(100_000));
    // More of its own renegotiations than node:tls allows a peer (three handshakes in ten minutes).
    for (const id of [GSK_RESET_CIPHER, GSK_RESET_CIPHER_WITHNEWSESSION, GSK_RESET_CIPHER]) {
      expect(await gsk_secure_soc_misc(conn.s, id)).toBe(GSK_OK);
      await both(conn);
    }
    expect(resets).toEqual([conn.s, conn.s, conn.s, conn.s]);
    for (const h of [conn.c, conn.s]) expect(readEnum(h, GSK_PROTOCOL_USED)).toBe(GSK_PROTOCOL_USED_TLSV12);
  });

  it("on TLS 1.2 from a client renegotiates with a peer that allows it", async () => {
    const dir = "ecdsa";
    const server = tls.createServer({
      key: readFileSync(pkiPath(dir, "server.key.pem")),
      cert: readFileSync(pkiPath(dir, "server.chain.pem")),
      maxVersion: "TLSv1.2",
    });
    servers.push(server);
    const echoed: string[] = [];
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.on("data", (d: Buffer) => {
        echoed.push(d.toString());
        socket.write(d);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const raw = netConnect((server.address() as { port: number }).port, "127.0.0.1");
    sockets.push(raw);
    await new Promise<void>((resolve) => raw.once("connect", resolve));
    const clientEnv = await environment("client", tls12);
    const c = ref<gsk_handle>();
    gsk_secure_soc_open(clientEnv, c);
    sessions.push(c.value!);
    gsk_attribute_set_numeric_value(c.value, GSK_FD, raw);
    gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    const resets: unknown[] = [];
    gsk_attribute_set_callback(c.value, GSK_CIPHER_SESSION_RESET, (h: unknown) => resets.push(h));
    expect(await gsk_secure_soc_init(c.value)).toBe(GSK_OK);
    const n = ref<number>();
    const buf = Buffer.alloc(64);
    expect(await gsk_secure_soc_write(c.value, "before", 6, n)).toBe(GSK_OK);
    expect(await gsk_secure_soc_read(c.value, buf, 64, n)).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("before");
    expect(await gsk_secure_soc_misc(c.value, GSK_RESET_CIPHER)).toBe(GSK_OK);
    expect(resets).toEqual([c.value]);
    expect(await gsk_secure_soc_write(c.value, "after", 5, n)).toBe(GSK_OK);
    expect(await gsk_secure_soc_read(c.value, buf, 64, n)).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("after");
    expect(echoed.join("")).toBe("beforeafter");
  });

  it("on TLS 1.2 from a client to a gsk server, which refuses peer renegotiation: documented codes on both ends, no hang", async () => {
    const serverEnv = await environment("server", tls12);
    const clientEnv = await environment("client", tls12);
    const conn = await connect(serverEnv, clientEnv, await (await listener()).pair());
    await both(conn);
    const serverRead = ref<number>();
    const pendingRead = gsk_secure_soc_read(conn.s, Buffer.alloc(64), 64, serverRead);
    const rc = await gsk_secure_soc_misc(conn.c, GSK_RESET_CIPHER);
    // Recorded behaviour: the server ends the connection, so the client's misc learns that the
    // peer went away (420, or 406 if the end arrives as a reset) and the server's pending read
    // reports the refused renegotiation as 412.
    expect(isDocumentedFailure(rc), `gsk_secure_soc_misc returned ${rc}`).toBe(true);
    expect([GSK_ERROR_SOCKET_CLOSED, GSK_ERROR_IO]).toContain(rc);
    expect(gskx_last_error()?.message).toMatch(/renegotiat/i);
    const src = await pendingRead;
    expect(src).toBe(GSK_ERROR_UNSUPPORTED);
    expect(serverRead.value).toBe(0);
    // Both can still close.
    await closeBoth(conn);
  });
});

describe("results after the peer closed", () => {
  it.each([
    ["the server closes", "server"],
    ["the client closes", "client"],
  ] as const)("%s: the other end still reads protocol, SID, cipher, partner certificate and validation code until its own close", async (_name, closer) => {
    const serverEnv = await environment("server", (env) => gsk_attribute_set_enum(env, GSK_SESSION_TYPE, GSK_SERVER_SESSION_WITH_CL_AUTH));
    const clientEnv = await environment("mutual-client");
    const pair = await (await listener()).pair();
    const conn = await connect(serverEnv, clientEnv, pair);
    await both(conn);
    const [gone, left] = closer === "server" ? [conn.s, conn.c] : [conn.c, conn.s];
    sessions.splice(sessions.indexOf(gone), 1);
    expect(await gsk_secure_soc_close(ref(gone))).toBe(GSK_OK);
    const n = ref<number>(9);
    expect(await gsk_secure_soc_read(left, Buffer.alloc(16), 16, n)).toBe(GSK_OK);
    expect(n.value).toBe(0);
    pair.client.destroy();
    pair.server.destroy();

    const check = (): void => {
      expect(readEnum(left, GSK_PROTOCOL_USED)).toBe(GSK_PROTOCOL_USED_TLSV13);
      expect(readEnum(left, GSK_SID_FIRST)).toBe(GSK_SID_IS_FIRST);
      expect(readBuffer(left, GSK_CONNECT_SEC_TYPE)).toBe("TLSV13");
      expect(readBuffer(left, GSK_CONNECT_CIPHER_SPEC_EX)).toMatch(/^TLS_/);
      const code = ref<number>();
      expect(gsk_attribute_get_numeric_value(left, GSK_CERTIFICATE_VALIDATION_CODE, code)).toBe(GSK_OK);
      expect(code.value).toBe(0);
      const elems = ref<gsk_cert_data_elem[]>();
      const count = ref<number>();
      expect(gsk_attribute_get_cert_info(left, GSK_PARTNER_CERT_INFO, elems, count)).toBe(GSK_OK);
      expect(elems.value![0]!.cert_data_id).toBe(CERT_BODY_DER);
      expect(count.value).toBe(elems.value!.length);
      expect(elems.value!.find((e) => e.cert_data_id === CERT_COMMON_NAME)?.cert_data_p).toMatch(closer === "server" ? /^localhost$/ : /^client/);
    };
    check();
    // Still there once the TCP connection is gone for good.
    await new Promise((resolve) => setImmediate(resolve));
    check();
    const leftBox = ref(left);
    sessions.splice(sessions.indexOf(left), 1);
    expect(await gsk_secure_soc_close(leftBox)).toBe(GSK_OK);
    expect(gsk_attribute_get_enum(left, GSK_PROTOCOL_USED, ref())).toBe(GSK_INVALID_HANDLE);
    expect(gsk_attribute_get_cert_info(left, GSK_PARTNER_CERT_INFO, ref(), ref())).toBe(GSK_INVALID_HANDLE);
  });
});
