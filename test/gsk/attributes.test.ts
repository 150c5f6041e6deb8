/**
 * The attribute table (src/attributes.ts) against the gsk_* layer, row by row: what can be set
 * where, what reads back, what is refused with 701, the documented defaults; then the
 * attributes whose effect only a real handshake shows (protocols, ciphers, GSK_FD, the
 * handshake timeout), checked on both ends over loopback.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ATTRIBUTES, attributeConstantNames, type AttributeRow } from "../../src/attributes.js";
import * as api from "../../src/index.js";
import {
  gsk_attribute_get_buffer,
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
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_write,
  gskx_last_error,
  ref,
  type gsk_handle,
  GSK_ATTRIBUTE_INVALID_ID,
  GSK_CLIENT_AUTH_PASSTHRU,
  GSK_CLIENT_SESSION,
  GSK_CONNECT_CIPHER_SPEC,
  GSK_CONNECT_CIPHER_SPEC_EX,
  GSK_CONNECT_SEC_TYPE,
  GSK_DELAYED_ENVIRONMENT_CLOSE,
  GSK_ERROR_BAD_V3_CIPHER,
  GSK_ERROR_NO_CIPHERS,
  GSK_ERROR_UNSUPPORTED,
  GSK_FALSE,
  GSK_FD,
  GSK_HANDSHAKE_TIMEOUT,
  GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR,
  GSK_IBMI_ERROR_TIMED_OUT,
  GSK_INVALID_STATE,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_PROTOCOL_SSLV2,
  GSK_PROTOCOL_SSLV2_ON,
  GSK_PROTOCOL_SSLV3,
  GSK_PROTOCOL_SSLV3_ON,
  GSK_PROTOCOL_TLSV1,
  GSK_PROTOCOL_TLSV12,
  GSK_PROTOCOL_TLSV13,
  GSK_PROTOCOL_TLSV1_OFF,
  GSK_PROTOCOL_USED,
  GSK_PROTOCOL_USED_TLSV12,
  GSK_PROTOCOL_USED_TLSV13,
  GSK_SERVER_AUTH_PASSTHRU,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_TLSV12_CIPHER_SPECS_EX,
  GSK_TLSV13_CIPHER_SPECS_EX,
  GSK_TRUE,
  GSK_USER_DATA,
  GSK_V3_CIPHER_SPECS,
  GSK_V3_SESSION_TIMEOUT,
  GSK_PROTOCOL_SSLV2_OFF,
} from "../../src/index.js";
import { tcpPair, type TcpPair } from "../helpers/net.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

const exported = api as unknown as Record<string, number>;
const ROWS = ATTRIBUTES as readonly AttributeRow[];
const nameOf = (row: AttributeRow): string => attributeConstantNames(row)[0]!;

const sessions: gsk_handle[] = [];
const environments: gsk_handle[] = [];
const pairs: TcpPair[] = [];
let plainEnv: gsk_handle;
let spareTcp: TcpPair;

afterEach(async () => {
  for (const s of sessions.splice(0)) await gsk_secure_soc_close(ref(s));
  for (const p of pairs.splice(0)) p.close();
  for (const e of environments.splice(0)) gsk_environment_close(ref(e));
});

beforeAll(async () => {
  const env = ref<gsk_handle>();
  gsk_environment_open(env);
  expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
  plainEnv = env.value!;
  spareTcp = await tcpPair();
});

afterAll(() => {
  gsk_environment_close(ref(plainEnv));
  spareTcp.close();
});

function openEnv(): gsk_handle {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  environments.push(env.value!);
  return env.value!;
}

function openSession(env: gsk_handle): gsk_handle {
  const s = ref<gsk_handle>();
  expect(gsk_secure_soc_open(env, s)).toBe(GSK_OK);
  sessions.push(s.value!);
  return s.value!;
}

/** A valid, non-default value for every settable, supported attribute. */
function sample(row: AttributeRow): unknown {
  const byId: Record<number, unknown> = {
    200: "opaque application data",
    201: "/nonexistent/store.p12",
    202: "password",
    203: "my-label",
    204: "/nonexistent/store.sth",
    206: "9C9D",
    230: "www.example.com",
    236: "9C",
    237: "9D",
    238: "3C",
    240: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    241: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    242: "*ECDHE_RSA_AES_256_GCM_SHA384",
    243: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    254: "label-a,label-b",
    2008: "TLS_AES_128_GCM_SHA256,TLS_CHACHA20_POLY1305_SHA256",
    6999: "MY_APPLICATION",
    9100: "peer.example.com",
    9101: "dns:*.example.com,ip:10.0.0.1",
    9102: "/nonexistent/a.crl,/nonexistent/b.crl",
    9103: "/nonexistent/trust.pem",
    300: spareTcp.client,
    301: 50,
    302: 600,
    305: 64,
    6993: 1500,
    6998: 30,
    401: GSK_CLIENT_AUTH_PASSTHRU,
    402: GSK_SERVER_SESSION,
    403: GSK_PROTOCOL_SSLV2_ON,
    404: GSK_PROTOCOL_SSLV3_ON,
    407: GSK_PROTOCOL_TLSV1_OFF,
    410: GSK_SERVER_AUTH_PASSTHRU,
    411: GSK_DELAYED_ENVIRONMENT_CLOSE,
    436: GSK_TRUE,
    437: GSK_TRUE,
    438: GSK_FALSE,
    4030: GSK_FALSE,
    9110: GSK_TRUE,
    9111: GSK_TRUE,
    804: () => undefined,
    805: { validation_callback: () => GSK_OK },
    807: () => undefined,
  };
  if (!(row.id in byId)) throw new Error(`no sample value for ${nameOf(row)}: add one to this test`);
  return byId[row.id];
}

/** A value of the right type for rows that are refused anyway. */
function anyValueOfKind(row: AttributeRow): unknown {
  return { buffer: "x", numeric: 1, enum: GSK_TRUE, callback: () => undefined }[row.kind];
}

function set(h: gsk_handle, row: AttributeRow, value: unknown): number {
  switch (row.kind) {
    case "buffer":
      return gsk_attribute_set_buffer(h, row.id, value, 0);
    case "enum":
      return gsk_attribute_set_enum(h, row.id, value);
    case "numeric":
      return gsk_attribute_set_numeric_value(h, row.id, value);
    case "callback":
      return gsk_attribute_set_callback(h, row.id, value);
  }
}

/** Reads with the getter of the row's kind: [rc, value]; callbacks have no getter in the API. */
function get(h: gsk_handle, row: AttributeRow): [number, unknown] {
  if (row.kind === "buffer") {
    const value = ref<string>();
    const length = ref<number>();
    const rc = gsk_attribute_get_buffer(h, row.id, value, length);
    if (rc === GSK_OK) expect(length.value).toBe(Buffer.byteLength(value.value!, "utf8"));
    return [rc, value.value];
  }
  const value = ref<unknown>();
  const rc = row.kind === "enum" ? gsk_attribute_get_enum(h, row.id, value) : gsk_attribute_get_numeric_value(h, row.id, value);
  return [rc, value.value];
}

describe("every row of the attribute table", () => {
  const settable = ROWS.filter((r) => r.supported === true && r.scope !== "get");
  const unsupported = ROWS.filter((r) => r.supported !== true);
  const results = ROWS.filter((r) => r.supported === true && r.scope === "get");

  it.each(settable.map((r) => [nameOf(r), r.scope, r] as const))("%s (scope %s) sets where its scope allows and reads back", (name, scope, row) => {
    const value = sample(row);
    const env = openEnv();
    const session = openSession(plainEnv);
    const onEnv = scope === "env" || scope === "both";
    const onSession = scope === "session" || scope === "both";
    for (const [where, h, allowed] of [["environment", env, onEnv], ["session", session, onSession]] as const) {
      const rc = set(h, row, value);
      expect(rc, `${name} on the ${where}`).toBe(allowed ? GSK_OK : GSK_ATTRIBUTE_INVALID_ID);
      if (!allowed) {
        expect(gskx_last_error()?.message).toContain(name);
        continue;
      }
      if (row.kind === "callback") continue;
      const [grc, got] = get(h, row);
      if (row.writeOnly) {
        expect(grc, `${name} is write-only`).toBe(GSK_ATTRIBUTE_INVALID_ID);
        continue;
      }
      expect(grc, `get ${name} on the ${where}`).toBe(GSK_OK);
      expect(got, `${name} on the ${where}`).toBe(value);
    }
  });

  it.each(unsupported.map((r) => [nameOf(r), r] as const))("%s is not supported: 701 on set and get, with the reason", (name, row) => {
    const env = openEnv();
    const session = openSession(plainEnv);
    for (const h of [env, session]) {
      expect(set(h, row, anyValueOfKind(row)), name).toBe(GSK_ATTRIBUTE_INVALID_ID);
      expect(gskx_last_error()?.message).toContain(row.supported as string);
      if (row.kind !== "callback") expect(get(h, row)[0], name).toBe(GSK_ATTRIBUTE_INVALID_ID);
    }
  });

  it.each(results.map((r) => [nameOf(r), r] as const))("%s is a result: 701 on set, 701 on an environment, 5 on a session before init", (name, row) => {
    const env = openEnv();
    const session = openSession(plainEnv);
    for (const h of [env, session]) expect(set(h, row, anyValueOfKind(row)), name).toBe(GSK_ATTRIBUTE_INVALID_ID);
    expect(get(env, row)[0], `${name} on an environment`).toBe(GSK_ATTRIBUTE_INVALID_ID);
    expect(get(session, row)[0], `${name} on a session before init`).toBe(GSK_INVALID_STATE);
  });

  const withDefault = ROWS.filter((r) => r.default !== undefined && (r.kind === "enum" || r.kind === "numeric"));
  it.each(withDefault.map((r) => [nameOf(r), r.default!, r] as const))("%s reads its documented default %s before anything is set", (name, text, row) => {
    const expected = row.kind === "enum" ? exported[text] : Number(/^\d+/.exec(text)?.[0]);
    expect(typeof expected === "number" && !Number.isNaN(expected), `default '${text}' of ${name} is a constant or a number`).toBe(true);
    const env = openEnv();
    const session = openSession(plainEnv);
    for (const h of [env, session].filter((_, i) => (i === 0 ? row.scope !== "session" : row.scope !== "env"))) {
      const [rc, got] = get(h, row);
      expect(rc, name).toBe(GSK_OK);
      expect(got, name).toBe(expected);
    }
  });

  it("reads the defaults the spec names", () => {
    const env = openEnv();
    const read = (id: number, kind: "enum" | "numeric"): unknown => {
      const box = ref<unknown>();
      expect(kind === "enum" ? gsk_attribute_get_enum(env, id, box) : gsk_attribute_get_numeric_value(env, id, box)).toBe(GSK_OK);
      return box.value;
    };
    expect(read(GSK_SESSION_TYPE, "enum")).toBe(GSK_CLIENT_SESSION);
    expect(read(GSK_V3_SESSION_TIMEOUT, "numeric")).toBe(86400);
    expect(read(GSK_PROTOCOL_TLSV13, "enum")).toBe(GSK_TRUE);
    expect(read(GSK_PROTOCOL_TLSV12, "enum")).toBe(GSK_TRUE);
    expect(read(api.GSK_PROTOCOL_TLSV10, "enum")).toBe(GSK_FALSE);
    expect(read(api.GSK_PROTOCOL_TLSV11, "enum")).toBe(GSK_FALSE);
    expect(read(GSK_PROTOCOL_TLSV1, "enum")).toBe(api.GSK_PROTOCOL_TLSV1_ON);
    expect(read(GSK_PROTOCOL_SSLV2, "enum")).toBe(GSK_PROTOCOL_SSLV2_OFF);
    expect(read(api.GSK_CLIENT_AUTH_TYPE, "enum")).toBe(api.GSK_CLIENT_AUTH_FULL);
    expect(read(api.GSK_SERVER_AUTH_TYPE, "enum")).toBe(api.GSK_SERVER_AUTH_FULL);
    expect(read(GSK_HANDSHAKE_TIMEOUT, "numeric")).toBe(0);
    expect(read(api.GSK_IBMI_READ_TIMEOUT, "numeric")).toBe(0);
  });

  it("a session inherits the environment's values and its own override wins", async () => {
    const env = openEnv();
    expect(gsk_attribute_set_enum(env, GSK_SESSION_TYPE, GSK_SERVER_SESSION)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(env, GSK_HANDSHAKE_TIMEOUT, 20)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(env, GSK_USER_DATA, "from the environment", 0)).toBe(GSK_OK);
    expect(await gsk_environment_init(env)).toBe(GSK_OK);
    const a = openSession(env);
    const b = openSession(env);
    expect(gsk_attribute_set_enum(b, GSK_SESSION_TYPE, GSK_CLIENT_SESSION)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(b, GSK_HANDSHAKE_TIMEOUT, 3)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(b, GSK_USER_DATA, "from the session", 0)).toBe(GSK_OK);
    const type = ref<number>();
    const timeout = ref<number>();
    const data = ref<string>();
    for (const [h, t, s, d] of [[a, GSK_SERVER_SESSION, 20, "from the environment"], [b, GSK_CLIENT_SESSION, 3, "from the session"], [env, GSK_SERVER_SESSION, 20, "from the environment"]] as const) {
      gsk_attribute_get_enum(h, GSK_SESSION_TYPE, type);
      gsk_attribute_get_numeric_value(h, GSK_HANDSHAKE_TIMEOUT, timeout);
      gsk_attribute_get_buffer(h, GSK_USER_DATA, data, ref());
      expect([type.value, timeout.value, data.value]).toEqual([t, s, d]);
    }
  });

  it("set_buffer takes C lengths: a prefix of the value, and 0 means up to the first NUL", () => {
    const env = openEnv();
    const value = ref<string>();
    const length = ref<number>();
    expect(gsk_attribute_set_buffer(env, GSK_USER_DATA, "hostname.example.com", 8)).toBe(GSK_OK);
    expect(gsk_attribute_get_buffer(env, GSK_USER_DATA, value, length)).toBe(GSK_OK);
    expect([value.value, length.value]).toEqual(["hostname", 8]);
    expect(gsk_attribute_set_buffer(env, GSK_USER_DATA, Buffer.from("abc\0garbage"), 0)).toBe(GSK_OK);
    expect(gsk_attribute_get_buffer(env, GSK_USER_DATA, value, length)).toBe(GSK_OK);
    expect([value.value, length.value]).toEqual(["abc", 3]);
    expect(gsk_attribute_set_buffer(env, GSK_USER_DATA, "héllo", 0)).toBe(GSK_OK);
    expect(gsk_attribute_get_buffer(env, GSK_USER_DATA, value, length)).toBe(GSK_OK);
    expect([value.value, length.value]).toEqual(["héllo", 6]);
  });
});

// --- attributes seen in a real handshake ---

type Configure = (h: gsk_handle) => void;

async function environment(tree: "rsa" | "ecdsa", role: "server" | "client", configure: Configure = () => undefined): Promise<{ env: gsk_handle; rc: number }> {
  const env = openEnv();
  const store = await makeStore(role === "server" ? { tree, personal: ["server"] } : { tree });
  expect(gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(env, GSK_SESSION_TYPE, role === "server" ? GSK_SERVER_SESSION : GSK_CLIENT_SESSION)).toBe(GSK_OK);
  configure(env);
  return { env, rc: await gsk_environment_init(env) };
}

async function initialized(tree: "rsa" | "ecdsa", role: "server" | "client", configure?: Configure): Promise<gsk_handle> {
  const { env, rc } = await environment(tree, role, configure);
  expect(rc, gskx_last_error()?.message).toBe(GSK_OK);
  return env;
}

interface Connection {
  c: gsk_handle;
  s: gsk_handle;
  crc: number;
  src: number;
  tcp: TcpPair;
}

async function connect(serverEnv: gsk_handle, clientEnv: gsk_handle): Promise<Connection> {
  const tcp = await tcpPair();
  pairs.push(tcp);
  const s = openSession(serverEnv);
  const c = openSession(clientEnv);
  gsk_attribute_set_numeric_value(s, GSK_FD, tcp.server);
  gsk_attribute_set_numeric_value(c, GSK_FD, tcp.client);
  gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
  const [src, crc] = await Promise.all([gsk_secure_soc_init(s), gsk_secure_soc_init(c)]);
  return { c, s, crc, src, tcp };
}

function readBuffer(h: gsk_handle, id: number): string | undefined {
  const value = ref<string>();
  expect(gsk_attribute_get_buffer(h, id, value, ref())).toBe(GSK_OK);
  return value.value;
}

function readEnum(h: gsk_handle, id: number): number | undefined {
  const value = ref<number>();
  expect(gsk_attribute_get_enum(h, id, value)).toBe(GSK_OK);
  return value.value;
}

/** Both ends succeeded, agree on protocol and cipher, and data flows both ways. */
async function expectBothEnds(conn: Connection, protocol: number, cipher?: string): Promise<void> {
  expect({ src: conn.src, crc: conn.crc }).toEqual({ src: GSK_OK, crc: GSK_OK });
  for (const h of [conn.c, conn.s]) {
    expect(readEnum(h, GSK_PROTOCOL_USED)).toBe(protocol);
    expect(readBuffer(h, GSK_CONNECT_SEC_TYPE)).toBe(protocol === GSK_PROTOCOL_USED_TLSV13 ? "TLSV13" : "TLSV12");
    if (cipher) expect(readBuffer(h, GSK_CONNECT_CIPHER_SPEC_EX)).toBe(cipher);
  }
  const n = ref<number>();
  const buf = Buffer.alloc(16);
  expect(await gsk_secure_soc_write(conn.c, "ping", 4, n)).toBe(GSK_OK);
  expect(await gsk_secure_soc_read(conn.s, buf, 16, n)).toBe(GSK_OK);
  expect(buf.subarray(0, n.value).toString()).toBe("ping");
  expect(await gsk_secure_soc_write(conn.s, "pong", 4, n)).toBe(GSK_OK);
  expect(await gsk_secure_soc_read(conn.c, buf, 16, n)).toBe(GSK_OK);
  expect(buf.subarray(0, n.value).toString()).toBe("pong");
}

describe("protocol attributes in a real handshake", () => {
  const tls12Only: Configure = (h) => {
    expect(gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV1, GSK_PROTOCOL_TLSV1_OFF)).toBe(GSK_OK);
    expect(gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV12, GSK_TRUE)).toBe(GSK_OK);
  };
  const tls13Only: Configure = (h) => expect(gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV12, GSK_FALSE)).toBe(GSK_OK);

  it("'TLSV1 off, then TLSV12 on' on the client gives TLS 1.2 against a server that could do 1.3", async () => {
    const conn = await connect(await initialized("ecdsa", "server"), await initialized("ecdsa", "client", tls12Only));
    await expectBothEnds(conn, GSK_PROTOCOL_USED_TLSV12);
  });

  it("'TLSV1 off, then TLSV12 on' on the server gives TLS 1.2 to a default client", async () => {
    const conn = await connect(await initialized("ecdsa", "server", tls12Only), await initialized("ecdsa", "client"));
    await expectBothEnds(conn, GSK_PROTOCOL_USED_TLSV12);
  });

  it("TLSV12 off leaves TLS 1.3 only", async () => {
    const conn = await connect(await initialized("ecdsa", "server"), await initialized("ecdsa", "client", tls13Only));
    await expectBothEnds(conn, GSK_PROTOCOL_USED_TLSV13);
  });

  it("a session override of the protocol takes effect for that session only", async () => {
    const serverEnv = await initialized("ecdsa", "server");
    const clientEnv = await initialized("ecdsa", "client");
    const tcp = await tcpPair();
    pairs.push(tcp);
    const s = openSession(serverEnv);
    const c = openSession(clientEnv);
    gsk_attribute_set_numeric_value(s, GSK_FD, tcp.server);
    gsk_attribute_set_numeric_value(c, GSK_FD, tcp.client);
    gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    expect(gsk_attribute_set_enum(c, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);
    const [src, crc] = await Promise.all([gsk_secure_soc_init(s), gsk_secure_soc_init(c)]);
    await expectBothEnds({ c, s, src, crc, tcp }, GSK_PROTOCOL_USED_TLSV12);
    await expectBothEnds(await connect(serverEnv, clientEnv), GSK_PROTOCOL_USED_TLSV13);
  });

  it("a TLS 1.3-only client and a TLS 1.2-only server share no version: 402 on both ends", async () => {
    const conn = await connect(await initialized("ecdsa", "server", tls12Only), await initialized("ecdsa", "client", tls13Only));
    expect({ src: conn.src, crc: conn.crc }).toEqual({ src: GSK_ERROR_NO_CIPHERS, crc: GSK_ERROR_NO_CIPHERS });
  });

  it("SSLV3 or SSLV2 on gives 412 at init", async () => {
    for (const [id, on] of [[GSK_PROTOCOL_SSLV3, GSK_PROTOCOL_SSLV3_ON], [GSK_PROTOCOL_SSLV2, GSK_PROTOCOL_SSLV2_ON]] as const) {
      const { rc } = await environment("ecdsa", "client", (h) => expect(gsk_attribute_set_enum(h, id, on)).toBe(GSK_OK));
      expect(rc).toBe(GSK_ERROR_UNSUPPORTED);
      expect(gskx_last_error()?.message).toMatch(/SSL/);
    }
  });

  it("every version off gives 402 at init", async () => {
    const masterOff = await environment("ecdsa", "client", (h) => gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV1, GSK_PROTOCOL_TLSV1_OFF));
    expect(masterOff.rc).toBe(GSK_ERROR_NO_CIPHERS);
    const eachOff = await environment("ecdsa", "server", (h) => {
      gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV12, GSK_FALSE);
      gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV13, GSK_FALSE);
    });
    expect(eachOff.rc).toBe(GSK_ERROR_NO_CIPHERS);
    expect(gskx_last_error()?.message).toMatch(/TLS 1\.2 or TLS 1\.3/);
  });
});

describe("cipher attributes in a real handshake", () => {
  it.each([
    ["GSK_TLSV12_CIPHER_SPECS_EX", GSK_TLSV12_CIPHER_SPECS_EX, "TLS_NO_SUCH_SUITE"],
    ["GSK_TLSV12_CIPHER_SPECS_EX (a TLS 1.3 suite)", GSK_TLSV12_CIPHER_SPECS_EX, "TLS_AES_128_GCM_SHA256"],
    ["GSK_TLSV13_CIPHER_SPECS_EX", GSK_TLSV13_CIPHER_SPECS_EX, "TLS_AES_512_GCM"],
    ["GSK_TLSV13_CIPHER_SPECS_EX (empty)", GSK_TLSV13_CIPHER_SPECS_EX, " , "],
    ["GSK_V3_CIPHER_SPECS (unknown code)", GSK_V3_CIPHER_SPECS, "9CZZ"],
    ["GSK_V3_CIPHER_SPECS (RC4, removed)", GSK_V3_CIPHER_SPECS, "05"],
    ["GSK_V3_CIPHER_SPECS (odd length)", GSK_V3_CIPHER_SPECS, "9C9"],
  ])("%s = '%s' is refused at set with 422", (_name, id, value) => {
    const env = openEnv();
    expect(gsk_attribute_set_buffer(env, id, value, 0)).toBe(GSK_ERROR_BAD_V3_CIPHER);
    const session = openSession(plainEnv);
    expect(gsk_attribute_set_buffer(session, id, value, 0)).toBe(GSK_ERROR_BAD_V3_CIPHER);
  });

  it("GSK_TLSV13_CIPHER_SPECS_EX = TLS_AES_128_GCM_SHA256 is what both ends negotiate", async () => {
    const only128: Configure = (h) => expect(gsk_attribute_set_buffer(h, GSK_TLSV13_CIPHER_SPECS_EX, "TLS_AES_128_GCM_SHA256", 0)).toBe(GSK_OK);
    const conn = await connect(await initialized("ecdsa", "server"), await initialized("ecdsa", "client", only128));
    await expectBothEnds(conn, GSK_PROTOCOL_USED_TLSV13, "TLS_AES_128_GCM_SHA256");
    // The default would have been another suite, so the attribute made the difference.
    const plain = await connect(await initialized("ecdsa", "server"), await initialized("ecdsa", "client"));
    await expectBothEnds(plain, GSK_PROTOCOL_USED_TLSV13);
    expect(readBuffer(plain.c, GSK_CONNECT_CIPHER_SPEC_EX)).not.toBe("TLS_AES_128_GCM_SHA256");
  });

  it("GSK_TLSV12_CIPHER_SPECS_EX = one ECDHE suite is what both ends negotiate over TLS 1.2", async () => {
    const suite = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    const conn = await connect(
      await initialized("ecdsa", "server", (h) => expect(gsk_attribute_set_buffer(h, GSK_TLSV12_CIPHER_SPECS_EX, suite, 0)).toBe(GSK_OK)),
      await initialized("ecdsa", "client", (h) => expect(gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK)),
    );
    await expectBothEnds(conn, GSK_PROTOCOL_USED_TLSV12, suite);
    // No two-character GSKit code exists for an ECDHE suite: 207 gives the IANA name.
    expect(readBuffer(conn.c, GSK_CONNECT_CIPHER_SPEC)).toBe(suite);
  });

  it("GSK_V3_CIPHER_SPECS two-character codes '9C9D' work for TLS 1.2 with an RSA server", async () => {
    const conn = await connect(
      await initialized("rsa", "server", (h) => expect(gsk_attribute_set_buffer(h, GSK_V3_CIPHER_SPECS, "9C9D", 0)).toBe(GSK_OK)),
      await initialized("rsa", "client", (h) => {
        expect(gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);
        expect(gsk_attribute_set_buffer(h, GSK_V3_CIPHER_SPECS, "9D", 0)).toBe(GSK_OK);
      }),
    );
    await expectBothEnds(conn, GSK_PROTOCOL_USED_TLSV12, "TLS_RSA_WITH_AES_256_GCM_SHA384");
    for (const h of [conn.c, conn.s]) expect(readBuffer(h, GSK_CONNECT_CIPHER_SPEC)).toBe("9D");
  });

  it("no shared TLS 1.2 cipher gives 402 on both ends", async () => {
    const conn = await connect(
      await initialized("ecdsa", "server", (h) => gsk_attribute_set_buffer(h, GSK_TLSV12_CIPHER_SPECS_EX, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0)),
      await initialized("ecdsa", "client", (h) => {
        gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV13, GSK_FALSE);
        gsk_attribute_set_buffer(h, GSK_TLSV12_CIPHER_SPECS_EX, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0);
      }),
    );
    expect({ src: conn.src, crc: conn.crc }).toEqual({ src: GSK_ERROR_NO_CIPHERS, crc: GSK_ERROR_NO_CIPHERS });
  });

  it("no shared TLS 1.3 cipher gives 402 on both ends", async () => {
    const tls13With = (suite: string): Configure => (h) => {
      gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV12, GSK_FALSE);
      gsk_attribute_set_buffer(h, GSK_TLSV13_CIPHER_SPECS_EX, suite, 0);
    };
    const conn = await connect(await initialized("ecdsa", "server", tls13With("TLS_AES_256_GCM_SHA384")), await initialized("ecdsa", "client", tls13With("TLS_AES_128_GCM_SHA256")));
    expect({ src: conn.src, crc: conn.crc }).toEqual({ src: GSK_ERROR_NO_CIPHERS, crc: GSK_ERROR_NO_CIPHERS });
  });
});

describe("GSK_FD", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("refuses the descriptor number of a socket this process already owns (6016)", async () => {
    const tcp = await tcpPair();
    pairs.push(tcp);
    const fd = (tcp.client as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) {
      console.warn("skipped: this platform does not expose socket descriptors (_handle.fd)");
      return;
    }
    const session = openSession(plainEnv);
    expect(gsk_attribute_set_numeric_value(session, GSK_FD, fd)).toBe(GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR);
    expect(gskx_last_error()?.message).toMatch(/net\.Socket/);
    // The socket that owns it is untouched.
    tcp.client.write("still mine");
    const [chunk] = (await once(tcp.server, "data")) as [Buffer];
    expect(chunk.toString()).toBe("still mine");
  });

  it("takes a descriptor that is not a socket, then fails gsk_secure_soc_init with 6016", async () => {
    dir = mkdtempSync(join(tmpdir(), "gskit-fd-"));
    const file = join(dir, "not-a-socket.txt");
    writeFileSync(file, "plain file");
    const fd = openSync(file, "r");
    try {
      const session = openSession(plainEnv);
      expect(gsk_attribute_set_numeric_value(session, GSK_FD, fd)).toBe(GSK_OK);
      expect(await gsk_secure_soc_init(session)).toBe(GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR);
      expect(gskx_last_error()?.message).toContain(String(fd));
    } finally {
      closeSync(fd);
    }
  });
});

describe("GSK_HANDSHAKE_TIMEOUT", () => {
  it("1 second against a silent peer gives 6011 and closes the socket, on a client and on a server", async () => {
    const serverEnv = await initialized("ecdsa", "server");
    const clientEnv = await initialized("ecdsa", "client");
    const silentServer = await tcpPair();
    const silentClient = await tcpPair();
    pairs.push(silentServer, silentClient);
    // The silent ends read (so they see the end of the connection) but never write; they may
    // see a reset rather than a FIN, which is their business, not a test failure.
    for (const quiet of [silentServer.server, silentClient.client]) {
      quiet.on("error", () => undefined);
      quiet.resume();
    }

    const c = openSession(clientEnv);
    gsk_attribute_set_numeric_value(c, GSK_FD, silentServer.client);
    gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    expect(gsk_attribute_set_numeric_value(c, GSK_HANDSHAKE_TIMEOUT, 1)).toBe(GSK_OK);
    const s = openSession(serverEnv);
    gsk_attribute_set_numeric_value(s, GSK_FD, silentClient.server);
    expect(gsk_attribute_set_numeric_value(s, GSK_HANDSHAKE_TIMEOUT, 1)).toBe(GSK_OK);

    const quietClosed = (sock: Socket): Promise<unknown> => (sock.destroyed ? Promise.resolve() : new Promise((resolve) => sock.once("close", resolve)));
    const [crc, src] = await Promise.all([gsk_secure_soc_init(c), gsk_secure_soc_init(s)]);
    expect({ crc, src }).toEqual({ crc: GSK_IBMI_ERROR_TIMED_OUT, src: GSK_IBMI_ERROR_TIMED_OUT });
    expect(gskx_last_error()?.message).toMatch(/GSK_HANDSHAKE_TIMEOUT/);
    expect(silentServer.client.destroyed).toBe(true);
    expect(silentClient.server.destroyed).toBe(true);
    // The silent peers see their connection end.
    await Promise.all([quietClosed(silentServer.server), quietClosed(silentClient.client)]);
  });
});
