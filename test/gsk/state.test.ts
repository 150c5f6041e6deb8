/**
 * The state rules of the gsk_* layer (spec §3 State, §4, §6; reference/gskit-api.md §4.3):
 * attributes only before init, init once, sessions only on an initialized environment, a failed
 * handshake leaves a session that can only be closed, a failed environment init can be retried
 * on the same handle, sessions outlive their environment's close, and a closed handle is
 * GSK_INVALID_HANDLE everywhere.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

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
  gsk_secure_soc_startInit,
  gsk_secure_soc_startRecv,
  gsk_secure_soc_startSend,
  gsk_secure_soc_write,
  gskx_last_error,
  QsoCreateIOCompletionPort,
  QsoDestroyIOCompletionPort,
  ref,
  type gsk_cert_data_elem,
  type gsk_handle,
  CERT_COMMON_NAME,
  GSK_CERT_VALIDATION_CALLBACK,
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CLIENT_SESSION,
  GSK_ENVIRONMENT_CLOSE_CALLBACK,
  GSK_ERROR_BAD_KEYFILE_LABEL,
  GSK_ERROR_BAD_KEYFILE_PASSWORD,
  GSK_ERROR_NO_PRIVATE_KEY,
  GSK_FD,
  GSK_HANDSHAKE_TIMEOUT,
  GSK_IBMI_APPLICATION_ID,
  GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR,
  GSK_IBMI_ERROR_NOT_REGISTERED,
  GSK_INVALID_HANDLE,
  GSK_INVALID_STATE,
  GSK_KEYRING_FILE,
  GSK_KEYRING_LABEL,
  GSK_KEYRING_OPEN_ERROR,
  GSK_KEYRING_PW,
  GSK_LOCAL_CERT_INFO,
  GSK_NO_KEYFILE_PASSWORD,
  GSK_OK,
  GSK_PARTNER_CERT_INFO,
  GSK_PROTOCOL_TLSV13,
  GSK_PROTOCOL_USED,
  GSK_RESET_CIPHER,
  GSK_RESET_SESSION,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
  GSK_SID_FIRST,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_TRUE,
  GSK_FALSE,
  GSK_USER_DATA,
  GSK_V3_SESSION_TIMEOUT,
} from "../../src/index.js";
import { writeStashFile } from "../../src/keystore/stash.js";
import { ApplicationRegistry } from "../../src/registry/registry.js";
import { tcpPair, type TcpPair } from "../helpers/net.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

/** Everything a test opened, closed afterwards whatever happened. */
const sessions: gsk_handle[] = [];
const environments: gsk_handle[] = [];
const pairs: TcpPair[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) await gsk_secure_soc_close(ref(s));
  for (const p of pairs.splice(0)) p.close();
  for (const e of environments.splice(0)) gsk_environment_close(ref(e));
});

function openEnv(): gsk_handle {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  environments.push(env.value!);
  return env.value!;
}

async function environment(store: string, sessionType: number, options: { tls13?: boolean } = {}): Promise<gsk_handle> {
  const env = openEnv();
  expect(gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(env, GSK_SESSION_TYPE, sessionType)).toBe(GSK_OK);
  if (options.tls13 === false) expect(gsk_attribute_set_enum(env, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);
  expect(await gsk_environment_init(env)).toBe(GSK_OK);
  return env;
}

function openSession(env: gsk_handle): gsk_handle {
  const s = ref<gsk_handle>();
  expect(gsk_secure_soc_open(env, s)).toBe(GSK_OK);
  sessions.push(s.value!);
  return s.value!;
}

/** Forgets a handle the test closed itself, so afterEach does not close it again. */
function forget(h: gsk_handle | undefined): void {
  for (const list of [sessions, environments]) {
    const i = list.indexOf(h!);
    if (i >= 0) list.splice(i, 1);
  }
}

async function serverAndClient(): Promise<{ serverEnv: gsk_handle; clientEnv: gsk_handle }> {
  const serverEnv = await environment(await makeStore({ tree: "ecdsa", personal: ["server"] }), GSK_SERVER_SESSION);
  const clientEnv = await environment(await makeStore({ tree: "ecdsa" }), GSK_CLIENT_SESSION);
  return { serverEnv, clientEnv };
}

/** Runs both handshakes over loopback; returns the two sessions. */
async function handshake(serverEnv: gsk_handle, clientEnv: gsk_handle): Promise<{ c: gsk_handle; s: gsk_handle; tcp: TcpPair }> {
  const tcp = await tcpPair();
  pairs.push(tcp);
  const s = openSession(serverEnv);
  const c = openSession(clientEnv);
  expect(gsk_attribute_set_numeric_value(s, GSK_FD, tcp.server)).toBe(GSK_OK);
  expect(gsk_attribute_set_numeric_value(c, GSK_FD, tcp.client)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_OK);
  expect(await Promise.all([gsk_secure_soc_init(s), gsk_secure_soc_init(c)])).toEqual([GSK_OK, GSK_OK]);
  return { c, s, tcp };
}

/** One message each way, checked on the receiving end. */
async function exchange(a: gsk_handle, b: gsk_handle, text: string): Promise<void> {
  const n = ref<number>();
  expect(await gsk_secure_soc_write(a, text, text.length, n)).toBe(GSK_OK);
  expect(n.value).toBe(text.length);
  const buf = Buffer.alloc(256);
  let got = "";
  while (got.length < text.length) {
    expect(await gsk_secure_soc_read(b, buf, buf.length, n)).toBe(GSK_OK);
    expect(n.value).toBeGreaterThan(0);
    got += buf.subarray(0, n.value).toString();
  }
  expect(got).toBe(text);
}

describe("environment state", () => {
  it("takes attributes only before init: after init every setter gives 5, getters still work", async () => {
    const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
    const env = await environment(store, GSK_CLIENT_SESSION);
    expect(gsk_attribute_set_buffer(env, GSK_KEYRING_LABEL, "client", 0)).toBe(GSK_INVALID_STATE);
    expect(gskx_last_error()?.message).toMatch(/before gsk_environment_init/);
    expect(gsk_attribute_set_buffer(env, GSK_USER_DATA, "x", 0)).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_set_enum(env, GSK_SESSION_TYPE, GSK_SERVER_SESSION)).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_set_numeric_value(env, GSK_V3_SESSION_TIMEOUT, 10)).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_set_numeric_value(env, GSK_HANDSHAKE_TIMEOUT, 10)).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_set_callback(env, GSK_ENVIRONMENT_CLOSE_CALLBACK, () => undefined)).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_set_callback(env, GSK_CERT_VALIDATION_CALLBACK, { validation_callback: () => GSK_OK })).toBe(GSK_INVALID_STATE);
    // The refused sets changed nothing.
    const type = ref<number>();
    expect(gsk_attribute_get_enum(env, GSK_SESSION_TYPE, type)).toBe(GSK_OK);
    expect(type.value).toBe(GSK_CLIENT_SESSION);
    const timeout = ref<number>();
    expect(gsk_attribute_get_numeric_value(env, GSK_V3_SESSION_TIMEOUT, timeout)).toBe(GSK_OK);
    expect(timeout.value).toBe(86400);
    const file = ref<string>();
    const len = ref<number>();
    expect(gsk_attribute_get_buffer(env, GSK_KEYRING_FILE, file, len)).toBe(GSK_OK);
    expect(file.value).toBe(store);
  });

  it("init twice gives 5 and leaves the environment usable", async () => {
    const { serverEnv, clientEnv } = await serverAndClient();
    expect(await gsk_environment_init(clientEnv)).toBe(GSK_INVALID_STATE);
    expect(await gsk_environment_init(serverEnv)).toBe(GSK_INVALID_STATE);
    const { c, s } = await handshake(serverEnv, clientEnv);
    await exchange(c, s, "after a second init");
  });

  it("gsk_secure_soc_open on an environment not initialized gives 5 and writes no handle", () => {
    const env = openEnv();
    const s = ref<gsk_handle>();
    expect(gsk_secure_soc_open(env, s)).toBe(GSK_INVALID_STATE);
    expect(gskx_last_error()?.message).toMatch(/not initialized/);
    expect(s.value).toBeUndefined();
  });

  it("GSK_LOCAL_CERT_INFO on an environment is known only after init (5 before)", async () => {
    const env = openEnv();
    expect(gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, await makeStore({ tree: "rsa", personal: ["client"] }), 0)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
    const elems = ref<gsk_cert_data_elem[]>();
    const count = ref<number>();
    expect(gsk_attribute_get_cert_info(env, GSK_LOCAL_CERT_INFO, elems, count)).toBe(GSK_INVALID_STATE);
    expect(await gsk_environment_init(env)).toBe(GSK_OK);
    expect(gsk_attribute_get_cert_info(env, GSK_LOCAL_CERT_INFO, elems, count)).toBe(GSK_OK);
    expect(elems.value!.find((e) => e.cert_data_id === CERT_COMMON_NAME)?.cert_data_p).toMatch(/client/i);
  });
});

describe("a failed gsk_environment_init can be retried on the same handle once the cause is fixed", () => {
  /** Fails init with `expected`, checks the handle is still open for attributes, fixes, retries. */
  async function failThenFix(env: gsk_handle, expected: number, fix: () => void, mentions: RegExp): Promise<void> {
    expect(await gsk_environment_init(env)).toBe(expected);
    expect(gskx_last_error()?.message).toMatch(mentions);
    // Still "open": sessions cannot start, attributes can be set again.
    expect(gsk_secure_soc_open(env, ref())).toBe(GSK_INVALID_STATE);
    fix();
    expect(await gsk_environment_init(env)).toBe(GSK_OK);
    // Now initialized: the usual rules hold.
    expect(gsk_attribute_set_buffer(env, GSK_USER_DATA, "late", 0)).toBe(GSK_INVALID_STATE);
    expect(await gsk_environment_init(env)).toBe(GSK_INVALID_STATE);
  }

  it("wrong password (408), then the right one", async () => {
    const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
    const env = openEnv();
    gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0);
    gsk_attribute_set_buffer(env, GSK_KEYRING_PW, "not-the-password", 0);
    await failThenFix(env, GSK_ERROR_BAD_KEYFILE_PASSWORD, () => expect(gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK), /password/i);
  });

  it("missing file (202), then the right file", async () => {
    const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
    const env = openEnv();
    gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, `${store}.missing`, 0);
    gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0);
    await failThenFix(env, GSK_KEYRING_OPEN_ERROR, () => expect(gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK), /\.missing/);
  });

  it("no password (201), then the password", async () => {
    const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
    const env = openEnv();
    gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0);
    await failThenFix(env, GSK_NO_KEYFILE_PASSWORD, () => expect(gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK), /password/i);
  });

  it("unknown label (407), then a label the store has", async () => {
    const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
    const env = openEnv();
    gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0);
    gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0);
    gsk_attribute_set_buffer(env, GSK_KEYRING_LABEL, "no-such-label", 0);
    await failThenFix(env, GSK_ERROR_BAD_KEYFILE_LABEL, () => expect(gsk_attribute_set_buffer(env, GSK_KEYRING_LABEL, "client", 0)).toBe(GSK_OK), /no-such-label/);
  });

  it("a label without a private key (428), then a personal label", async () => {
    const store = await makeStore({ tree: "ecdsa", personal: ["client"] });
    const env = openEnv();
    gsk_attribute_set_buffer(env, GSK_KEYRING_FILE, store, 0);
    gsk_attribute_set_buffer(env, GSK_KEYRING_PW, PASSWORD, 0);
    gsk_attribute_set_buffer(env, GSK_KEYRING_LABEL, "ca-root", 0);
    await failThenFix(env, GSK_ERROR_NO_PRIVATE_KEY, () => expect(gsk_attribute_set_buffer(env, GSK_KEYRING_LABEL, "client", 0)).toBe(GSK_OK), /ca-root/);
  });

  describe("an application ID", () => {
    let home: string | undefined;
    const saved = process.env["GSKIT_TLS_HOME"];
    afterEach(() => {
      if (saved === undefined) delete process.env["GSKIT_TLS_HOME"];
      else process.env["GSKIT_TLS_HOME"] = saved;
      if (home) rmSync(home, { recursive: true, force: true });
      home = undefined;
    });

    it("not registered (6002), then registered, serves a real handshake", async () => {
      home = mkdtempSync(join(tmpdir(), "gskit-state-home-"));
      process.env["GSKIT_TLS_HOME"] = home;
      copyFileSync(await makeStore({ tree: "ecdsa", personal: ["server"] }), join(home, "system.p12"));
      await writeStashFile(join(home, "system.sth"), PASSWORD);

      const serverEnv = openEnv();
      expect(gsk_attribute_set_buffer(serverEnv, GSK_IBMI_APPLICATION_ID, "STATE_TEST_SERVER", 0)).toBe(GSK_OK);
      expect(gsk_attribute_set_enum(serverEnv, GSK_SESSION_TYPE, GSK_SERVER_SESSION)).toBe(GSK_OK);
      // The registry file does not exist yet: an empty registry, so the ID is not registered.
      expect(await gsk_environment_init(serverEnv)).toBe(GSK_IBMI_ERROR_NOT_REGISTERED);
      expect(gskx_last_error()?.message).toContain("STATE_TEST_SERVER");
      expect(gsk_secure_soc_open(serverEnv, ref())).toBe(GSK_INVALID_STATE);
      // Attributes can still be set on the handle that failed.
      expect(gsk_attribute_set_buffer(serverEnv, GSK_USER_DATA, "retry", 0)).toBe(GSK_OK);
      // What a program does between the two inits: register the missing ID.
      const registry = await ApplicationRegistry.load(join(home, "applications.json"));
      await registry.register({ id: "STATE_TEST_SERVER", type: "server", certificates: ["server"] });
      expect(await gsk_environment_init(serverEnv)).toBe(GSK_OK);
      expect(await gsk_environment_init(serverEnv)).toBe(GSK_INVALID_STATE);

      const clientEnv = await environment(await makeStore({ tree: "ecdsa" }), GSK_CLIENT_SESSION);
      const { c, s } = await handshake(serverEnv, clientEnv);
      await exchange(c, s, "served under an application ID");
      await exchange(s, c, "and back");
    });
  });
});

describe("session state", () => {
  it("takes attributes only before gsk_secure_soc_init: afterwards every setter gives 5", async () => {
    const { serverEnv, clientEnv } = await serverAndClient();
    const { c, s, tcp } = await handshake(serverEnv, clientEnv);
    for (const h of [c, s]) {
      expect(gsk_attribute_set_buffer(h, GSK_SSL_EXTN_SERVERNAME_REQUEST, "other", 0)).toBe(GSK_INVALID_STATE);
      expect(gsk_attribute_set_buffer(h, GSK_KEYRING_LABEL, "server", 0)).toBe(GSK_INVALID_STATE);
      expect(gsk_attribute_set_numeric_value(h, GSK_FD, tcp.client)).toBe(GSK_INVALID_STATE);
      expect(gsk_attribute_set_numeric_value(h, GSK_HANDSHAKE_TIMEOUT, 5)).toBe(GSK_INVALID_STATE);
      expect(gsk_attribute_set_enum(h, GSK_SESSION_TYPE, GSK_CLIENT_SESSION)).toBe(GSK_INVALID_STATE);
      expect(gsk_attribute_set_callback(h, GSK_CERT_VALIDATION_CALLBACK, { validation_callback: () => GSK_OK })).toBe(GSK_INVALID_STATE);
    }
    expect(gskx_last_error()?.message).toMatch(/before gsk_secure_soc_init/);
    await exchange(c, s, "still fine");
    expect(await gsk_secure_soc_init(c)).toBe(GSK_INVALID_STATE);
  });

  it("refuses read, write, misc and the start calls before gsk_secure_soc_init (5)", async () => {
    const { clientEnv } = await serverAndClient();
    const c = openSession(clientEnv);
    const n = ref<number>(7);
    expect(await gsk_secure_soc_read(c, Buffer.alloc(8), 8, n)).toBe(GSK_INVALID_STATE);
    expect(n.value).toBe(0);
    expect(await gsk_secure_soc_write(c, "x", 1, n)).toBe(GSK_INVALID_STATE);
    expect(await gsk_secure_soc_misc(c, GSK_RESET_SESSION)).toBe(GSK_INVALID_STATE);
    const port = QsoCreateIOCompletionPort();
    try {
      expect(gsk_secure_soc_startRecv(c, port, { buffer: Buffer.alloc(8), bufferLength: 8 })).toBe(GSK_INVALID_STATE);
      expect(gsk_secure_soc_startSend(c, port, { buffer: Buffer.from("x"), bufferLength: 1 })).toBe(GSK_INVALID_STATE);
    } finally {
      QsoDestroyIOCompletionPort(port);
    }
    // Results of a handshake that has not happened.
    expect(gsk_attribute_get_enum(c, GSK_PROTOCOL_USED, ref())).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_get_numeric_value(c, GSK_CERTIFICATE_VALIDATION_CODE, ref())).toBe(GSK_INVALID_STATE);
    expect(gsk_attribute_get_cert_info(c, GSK_PARTNER_CERT_INFO, ref(), ref())).toBe(GSK_INVALID_STATE);
  });

  describe("after a failed gsk_secure_soc_init", () => {
    async function expectOnlyCloseWorks(h: gsk_handle, tcp: TcpPair | undefined): Promise<void> {
      const n = ref<number>(7);
      expect(await gsk_secure_soc_read(h, Buffer.alloc(8), 8, n)).toBe(GSK_INVALID_STATE);
      expect(n.value).toBe(0);
      n.value = 7;
      expect(await gsk_secure_soc_write(h, "x", 1, n)).toBe(GSK_INVALID_STATE);
      expect(n.value).toBe(0);
      for (const id of [GSK_RESET_CIPHER, GSK_RESET_SESSION]) expect(await gsk_secure_soc_misc(h, id)).toBe(GSK_INVALID_STATE);
      expect(await gsk_secure_soc_init(h)).toBe(GSK_INVALID_STATE);
      if (tcp) expect(gsk_attribute_set_numeric_value(h, GSK_FD, tcp.client)).toBe(GSK_INVALID_STATE);
      expect(gsk_attribute_set_buffer(h, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_INVALID_STATE);
      const port = QsoCreateIOCompletionPort();
      try {
        expect(gsk_secure_soc_startInit(h, port, {})).toBe(GSK_INVALID_STATE);
        expect(gsk_secure_soc_startRecv(h, port, { buffer: Buffer.alloc(8), bufferLength: 8 })).toBe(GSK_INVALID_STATE);
        expect(gsk_secure_soc_startSend(h, port, { buffer: Buffer.from("x"), bufferLength: 1 })).toBe(GSK_INVALID_STATE);
      } finally {
        QsoDestroyIOCompletionPort(port);
      }
      expect(gsk_attribute_get_enum(h, GSK_PROTOCOL_USED, ref())).toBe(GSK_INVALID_STATE);
      const box = ref(h);
      forget(h);
      expect(await gsk_secure_soc_close(box)).toBe(GSK_OK);
      expect(box.value).toBeUndefined();
      expect(await gsk_secure_soc_read(h, Buffer.alloc(8), 8, ref())).toBe(GSK_INVALID_HANDLE);
    }

    it("without a socket (GSK_FD not set: 6016)", async () => {
      const { clientEnv } = await serverAndClient();
      const c = openSession(clientEnv);
      expect(await gsk_secure_soc_init(c)).toBe(GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR);
      expect(gskx_last_error()?.message).toMatch(/GSK_FD/);
      await expectOnlyCloseWorks(c, undefined);
    });

    it("when the peer hangs up mid-handshake (both ends fail, both can only close)", async () => {
      const { serverEnv, clientEnv } = await serverAndClient();
      const tcp = await tcpPair();
      pairs.push(tcp);
      const c = openSession(clientEnv);
      gsk_attribute_set_numeric_value(c, GSK_FD, tcp.client);
      gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
      const pending = gsk_secure_soc_init(c);
      // The "server" reads the ClientHello and hangs up without a word.
      tcp.server.once("data", () => tcp.server.destroy());
      const rc = await pending;
      expect(rc).not.toBe(GSK_OK);
      expect(gskx_last_error()?.code).toBe(rc);
      await expectOnlyCloseWorks(c, tcp);

      // A server whose client gives up the same way.
      const tcp2 = await tcpPair();
      pairs.push(tcp2);
      const s = openSession(serverEnv);
      gsk_attribute_set_numeric_value(s, GSK_FD, tcp2.server);
      const pendingServer = gsk_secure_soc_init(s);
      tcp2.client.end("\x16\x03\x01\x00\x02\x01\x00");
      const src = await pendingServer;
      expect(src).not.toBe(GSK_OK);
      await expectOnlyCloseWorks(s, tcp2);
    });
  });
});

describe("closing an environment with live sessions", () => {
  it("a session opened just before gsk_environment_close handshakes and works (curl's order)", async () => {
    const { serverEnv, clientEnv } = await serverAndClient();
    const tcp = await tcpPair();
    pairs.push(tcp);
    const c = openSession(clientEnv);
    const envBox = ref(clientEnv);
    forget(clientEnv);
    expect(gsk_environment_close(envBox)).toBe(GSK_OK);
    expect(envBox.value).toBeUndefined();
    // No new session on the closed environment.
    expect(gsk_secure_soc_open(clientEnv, ref())).toBe(GSK_INVALID_HANDLE);

    expect(gsk_attribute_set_numeric_value(c, GSK_FD, tcp.client)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_OK);
    const s = openSession(serverEnv);
    expect(gsk_attribute_set_numeric_value(s, GSK_FD, tcp.server)).toBe(GSK_OK);
    expect(await Promise.all([gsk_secure_soc_init(s), gsk_secure_soc_init(c)])).toEqual([GSK_OK, GSK_OK]);
    await exchange(c, s, "GET / HTTP/1.1\r\n\r\n");
    await exchange(s, c, "HTTP/1.1 200 OK\r\n\r\n");
    const protocol = ref<number>();
    expect(gsk_attribute_get_enum(c, GSK_PROTOCOL_USED, protocol)).toBe(GSK_OK);
    expect(gsk_attribute_get_cert_info(c, GSK_PARTNER_CERT_INFO, ref(), ref())).toBe(GSK_OK);
  });

  it("a connected session keeps reading and writing after its environment is closed", async () => {
    const { serverEnv, clientEnv } = await serverAndClient();
    const { c, s } = await handshake(serverEnv, clientEnv);
    forget(serverEnv);
    forget(clientEnv);
    expect(gsk_environment_close(ref(serverEnv))).toBe(GSK_OK);
    expect(gsk_environment_close(ref(clientEnv))).toBe(GSK_OK);
    await exchange(c, s, "after both environments closed");
    await exchange(s, c, "reply");
    const sid = ref<number>();
    expect(gsk_attribute_get_enum(s, GSK_SID_FIRST, sid)).toBe(GSK_OK);
  });

  it("fires GSK_ENVIRONMENT_CLOSE_CALLBACK once, at close", async () => {
    const env = openEnv();
    const calls: unknown[] = [];
    expect(gsk_attribute_set_callback(env, GSK_ENVIRONMENT_CLOSE_CALLBACK, (h: unknown) => calls.push(h))).toBe(GSK_OK);
    expect(await gsk_environment_init(env)).toBe(GSK_OK);
    expect(calls).toHaveLength(0);
    forget(env);
    expect(gsk_environment_close(ref(env))).toBe(GSK_OK);
    expect(gsk_environment_close(ref(env))).toBe(GSK_INVALID_HANDLE);
    expect(calls).toEqual([env]);
  });
});

describe("closed handles", () => {
  it("closing an environment twice gives 1, through the cleared box and through a copy of the handle", () => {
    const env = openEnv();
    forget(env);
    const box = ref(env);
    expect(gsk_environment_close(box)).toBe(GSK_OK);
    expect(box.value).toBeUndefined();
    expect(gsk_environment_close(box)).toBe(GSK_INVALID_HANDLE);
    expect(gsk_environment_close(ref(env))).toBe(GSK_INVALID_HANDLE);
  });

  it("closing a session twice gives 1, also after a real connection", async () => {
    const { serverEnv, clientEnv } = await serverAndClient();
    const { c, s } = await handshake(serverEnv, clientEnv);
    // Data first: a close before any data reads as a refused certificate (9002), spec §3.
    await exchange(c, s, "bye");
    forget(c);
    const box = ref(c);
    expect(await gsk_secure_soc_close(box)).toBe(GSK_OK);
    expect(box.value).toBeUndefined();
    expect(await gsk_secure_soc_close(box)).toBe(GSK_INVALID_HANDLE);
    expect(await gsk_secure_soc_close(ref(c))).toBe(GSK_INVALID_HANDLE);
    // The peer saw the close as end of stream.
    const n = ref<number>(5);
    expect(await gsk_secure_soc_read(s, Buffer.alloc(8), 8, n)).toBe(GSK_OK);
    expect(n.value).toBe(0);
  });

  it("every call on a closed environment gives 1", async () => {
    const env = await environment(await makeStore({ tree: "ecdsa", personal: ["client"] }), GSK_CLIENT_SESSION);
    forget(env);
    expect(gsk_environment_close(ref(env))).toBe(GSK_OK);
    const calls: [string, () => number | Promise<number>][] = [
      ["gsk_environment_init", () => gsk_environment_init(env)],
      ["gsk_environment_close", () => gsk_environment_close(ref(env))],
      ["gsk_secure_soc_open", () => gsk_secure_soc_open(env, ref())],
      ["gsk_attribute_set_buffer", () => gsk_attribute_set_buffer(env, GSK_USER_DATA, "x", 0)],
      ["gsk_attribute_set_enum", () => gsk_attribute_set_enum(env, GSK_SESSION_TYPE, GSK_CLIENT_SESSION)],
      ["gsk_attribute_set_numeric_value", () => gsk_attribute_set_numeric_value(env, GSK_V3_SESSION_TIMEOUT, 1)],
      ["gsk_attribute_set_callback", () => gsk_attribute_set_callback(env, GSK_ENVIRONMENT_CLOSE_CALLBACK, () => 0)],
      ["gsk_attribute_get_buffer", () => gsk_attribute_get_buffer(env, GSK_KEYRING_FILE, ref(), ref())],
      ["gsk_attribute_get_enum", () => gsk_attribute_get_enum(env, GSK_SESSION_TYPE, ref())],
      ["gsk_attribute_get_numeric_value", () => gsk_attribute_get_numeric_value(env, GSK_V3_SESSION_TIMEOUT, ref())],
      ["gsk_attribute_get_cert_info", () => gsk_attribute_get_cert_info(env, GSK_LOCAL_CERT_INFO, ref(), ref())],
    ];
    for (const [fn, call] of calls) expect(await call(), fn).toBe(GSK_INVALID_HANDLE);
  });

  it("every call on a closed session gives 1", async () => {
    const { serverEnv, clientEnv } = await serverAndClient();
    const { c, tcp } = await handshake(serverEnv, clientEnv);
    forget(c);
    expect(await gsk_secure_soc_close(ref(c))).toBe(GSK_OK);
    const port = QsoCreateIOCompletionPort();
    try {
      const calls: [string, () => number | Promise<number>][] = [
        ["gsk_secure_soc_init", () => gsk_secure_soc_init(c)],
        ["gsk_secure_soc_read", () => gsk_secure_soc_read(c, Buffer.alloc(8), 8, ref())],
        ["gsk_secure_soc_write", () => gsk_secure_soc_write(c, "x", 1, ref())],
        ["gsk_secure_soc_misc", () => gsk_secure_soc_misc(c, GSK_RESET_SESSION)],
        ["gsk_secure_soc_close", () => gsk_secure_soc_close(ref(c))],
        ["gsk_attribute_set_buffer", () => gsk_attribute_set_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, "x", 0)],
        ["gsk_attribute_set_enum", () => gsk_attribute_set_enum(c, GSK_SESSION_TYPE, GSK_CLIENT_SESSION)],
        ["gsk_attribute_set_numeric_value", () => gsk_attribute_set_numeric_value(c, GSK_FD, tcp.client)],
        ["gsk_attribute_set_callback", () => gsk_attribute_set_callback(c, GSK_CERT_VALIDATION_CALLBACK, { validation_callback: () => 0 })],
        ["gsk_attribute_get_buffer", () => gsk_attribute_get_buffer(c, GSK_SSL_EXTN_SERVERNAME_REQUEST, ref(), ref())],
        ["gsk_attribute_get_enum", () => gsk_attribute_get_enum(c, GSK_PROTOCOL_USED, ref())],
        ["gsk_attribute_get_numeric_value", () => gsk_attribute_get_numeric_value(c, GSK_CERTIFICATE_VALIDATION_CODE, ref())],
        ["gsk_attribute_get_cert_info", () => gsk_attribute_get_cert_info(c, GSK_PARTNER_CERT_INFO, ref(), ref())],
        ["gsk_secure_soc_startInit", () => gsk_secure_soc_startInit(c, port, {})],
        ["gsk_secure_soc_startRecv", () => gsk_secure_soc_startRecv(c, port, { buffer: Buffer.alloc(8), bufferLength: 8 })],
        ["gsk_secure_soc_startSend", () => gsk_secure_soc_startSend(c, port, { buffer: Buffer.from("x"), bufferLength: 1 })],
      ];
      for (const [fn, call] of calls) expect(await call(), fn).toBe(GSK_INVALID_HANDLE);
    } finally {
      QsoDestroyIOCompletionPort(port);
    }
  });

  it("a session's handle stays valid when only its environment is closed (GSK_TRUE reads back)", async () => {
    const { clientEnv } = await serverAndClient();
    const c = openSession(clientEnv);
    forget(clientEnv);
    expect(gsk_environment_close(ref(clientEnv))).toBe(GSK_OK);
    expect(gsk_attribute_set_enum(c, GSK_PROTOCOL_TLSV13, GSK_TRUE)).toBe(GSK_OK);
    const v = ref<number>();
    expect(gsk_attribute_get_enum(c, GSK_PROTOCOL_TLSV13, v)).toBe(GSK_OK);
    expect(v.value).toBe(GSK_TRUE);
  });
});
