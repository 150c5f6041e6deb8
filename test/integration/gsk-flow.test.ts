/**
 * IBM's documented client/server flow (gskit-api.md §4), ported call for call, over real
 * loopback TLS: both ends are checked.
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";

import {
  gsk_attribute_get_buffer,
  gsk_attribute_get_cert_info,
  gsk_attribute_get_enum,
  gsk_attribute_get_numeric_value,
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
  ref,
  type gsk_handle,
  type gsk_cert_data_elem,
  CERT_BODY_DER,
  CERT_COMMON_NAME,
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CLIENT_SESSION,
  GSK_CONNECT_CIPHER_SPEC_EX,
  GSK_CONNECT_SEC_TYPE,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_FALSE,
  GSK_FD,
  GSK_IBMI_ERROR_TIMED_OUT,
  GSK_IBMI_READ_TIMEOUT,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_PARTNER_CERT_INFO,
  GSK_PROTOCOL_TLSV13,
  GSK_PROTOCOL_USED,
  GSK_PROTOCOL_USED_TLSV12,
  GSK_PROTOCOL_USED_TLSV13,
  GSK_SERVER_SESSION_WITH_CL_AUTH,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
  GSK_SID_FIRST,
  GSK_SID_IS_FIRST,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
} from "../../src/index.js";
import { tcpPair } from "../helpers/net.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

async function environment(store: string, sessionType: number, tls13: boolean): Promise<gsk_handle> {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, sessionType)).toBe(GSK_OK);
  if (!tls13) expect(gsk_attribute_set_enum(env.value, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);
  expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
  return env.value!;
}

describe.each([
  ["rsa", true],
  ["rsa", false],
  ["ecdsa", true],
  ["ecdsa", false],
] as const)("IBM flow, %s keys, TLS 1.3 %s", (tree, tls13) => {
  it("echoes over mutual TLS and both ends see the same session", async () => {
    const serverStore = await makeStore({ tree, personal: ["server"] });
    const clientStore = await makeStore({ tree, personal: ["client"] });
    const serverEnv = await environment(serverStore, GSK_SERVER_SESSION_WITH_CL_AUTH, tls13);
    const clientEnv = await environment(clientStore, GSK_CLIENT_SESSION, tls13);
    const tcp = await tcpPair();

    const s = ref<gsk_handle>();
    expect(gsk_secure_soc_open(serverEnv, s)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server)).toBe(GSK_OK);
    const c = ref<gsk_handle>();
    expect(gsk_secure_soc_open(clientEnv, c)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_OK);

    const [src, crc] = await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)]);
    expect({ src, crc }).toEqual({ src: GSK_OK, crc: GSK_OK });

    for (const h of [s.value, c.value]) {
      const proto = ref<number>();
      expect(gsk_attribute_get_enum(h, GSK_PROTOCOL_USED, proto)).toBe(GSK_OK);
      expect(proto.value).toBe(tls13 ? GSK_PROTOCOL_USED_TLSV13 : GSK_PROTOCOL_USED_TLSV12);
      const sid = ref<number>();
      expect(gsk_attribute_get_enum(h, GSK_SID_FIRST, sid)).toBe(GSK_OK);
      expect(sid.value).toBe(GSK_SID_IS_FIRST);
      const code = ref<number>();
      expect(gsk_attribute_get_numeric_value(h, GSK_CERTIFICATE_VALIDATION_CODE, code)).toBe(GSK_OK);
      expect(code.value).toBe(0);
      const sec = ref<string>();
      const len = ref<number>();
      expect(gsk_attribute_get_buffer(h, GSK_CONNECT_SEC_TYPE, sec, len)).toBe(GSK_OK);
      expect(sec.value).toBe(tls13 ? "TLSV13" : "TLSV12");
      expect(gsk_attribute_get_buffer(h, GSK_CONNECT_CIPHER_SPEC_EX, sec, len)).toBe(GSK_OK);
      expect(sec.value).toMatch(/^TLS_/);
    }
    // Each side sees the other's certificate.
    const elems = ref<gsk_cert_data_elem[]>();
    const count = ref<number>();
    expect(gsk_attribute_get_cert_info(s.value, GSK_PARTNER_CERT_INFO, elems, count)).toBe(GSK_OK);
    expect(elems.value![0]!.cert_data_id).toBe(CERT_BODY_DER);
    expect(elems.value!.find((e) => e.cert_data_id === CERT_COMMON_NAME)?.cert_data_p).toMatch(/client/i);
    expect(gsk_attribute_get_cert_info(c.value, GSK_PARTNER_CERT_INFO, elems, count)).toBe(GSK_OK);
    expect(count.value).toBe(elems.value!.length);

    // Echo: the client writes, the server reads and writes back.
    const message = Buffer.from("hello over mutual TLS");
    const wrote = ref<number>();
    expect(await gsk_secure_soc_write(c.value, message, message.length, wrote)).toBe(GSK_OK);
    expect(wrote.value).toBe(message.length);
    const buf = Buffer.alloc(100);
    const got = ref<number>();
    expect(await gsk_secure_soc_read(s.value, buf, buf.length, got)).toBe(GSK_OK);
    expect(buf.subarray(0, got.value).toString()).toBe(message.toString());
    expect(await gsk_secure_soc_write(s.value, buf, got.value, wrote)).toBe(GSK_OK);
    const back = Buffer.alloc(100);
    expect(await gsk_secure_soc_read(c.value, back, back.length, got)).toBe(GSK_OK);
    expect(back.subarray(0, got.value).toString()).toBe(message.toString());

    // Close: the peer reads end of stream (amtRead 0 with GSK_OK).
    expect(await gsk_secure_soc_close(c)).toBe(GSK_OK);
    expect(c.value).toBeUndefined();
    expect(await gsk_secure_soc_read(s.value, buf, buf.length, got)).toBe(GSK_OK);
    expect(got.value).toBe(0);
    expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);
    tcp.close();
    const e1 = ref(serverEnv);
    const e2 = ref(clientEnv);
    expect(gsk_environment_close(e1)).toBe(GSK_OK);
    expect(gsk_environment_close(e2)).toBe(GSK_OK);
  });
});

describe("reads", () => {
  async function connected(): Promise<{ c: gsk_handle; s: gsk_handle; done: () => Promise<void> }> {
    const serverEnv = await environment(await makeStore({ tree: "ecdsa", personal: ["server"] }), GSK_SERVER_SESSION, true);
    const clientEnv = await environment(await makeStore({ tree: "ecdsa" }), GSK_CLIENT_SESSION, true);
    const tcp = await tcpPair();
    const s = ref<gsk_handle>();
    const c = ref<gsk_handle>();
    gsk_secure_soc_open(serverEnv, s);
    gsk_secure_soc_open(clientEnv, c);
    gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
    gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client);
    gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    gsk_attribute_set_numeric_value(c.value, GSK_IBMI_READ_TIMEOUT, 200);
    const rcs = await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)]);
    expect(rcs).toEqual([GSK_OK, GSK_OK]);
    return {
      c: c.value!,
      s: s.value!,
      done: async () => {
        await gsk_secure_soc_close(c);
        await gsk_secure_soc_close(s);
        tcp.close();
        gsk_environment_close(ref(serverEnv));
        gsk_environment_close(ref(clientEnv));
      },
    };
  }

  it("a 7-byte buffer reads a 20-byte message in pieces with nothing lost", async () => {
    const { c, s, done } = await connected();
    const message = Buffer.from("ABCDEFGHIJKLMNOPQRST");
    const n = ref<number>();
    expect(await gsk_secure_soc_write(s, message, 20, n)).toBe(GSK_OK);
    const parts: Buffer[] = [];
    let total = 0;
    while (total < 20) {
      const buf = Buffer.alloc(7);
      expect(await gsk_secure_soc_read(c, buf, 7, n)).toBe(GSK_OK);
      expect(n.value).toBeGreaterThan(0);
      expect(n.value).toBeLessThanOrEqual(7);
      parts.push(buf.subarray(0, n.value));
      total += n.value!;
    }
    expect(Buffer.concat(parts).toString()).toBe("ABCDEFGHIJKLMNOPQRST");
    await done();
  });

  it("a read timeout gives 6011 and the session still works", async () => {
    const { c, s, done } = await connected();
    const buf = Buffer.alloc(16);
    const n = ref<number>();
    expect(await gsk_secure_soc_read(c, buf, 16, n)).toBe(GSK_IBMI_ERROR_TIMED_OUT);
    expect(n.value).toBe(0);
    expect(await gsk_secure_soc_write(s, "later", 5, n)).toBe(GSK_OK);
    expect(await gsk_secure_soc_read(c, buf, 16, n)).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("later");
    await done();
  });

  it("16 MiB each way at once arrives intact", async () => {
    const { c, s, done } = await connected();
    const size = 16 * 1024 * 1024;
    const a = randomBytes(size);
    const b = randomBytes(size);
    async function pump(h: gsk_handle, data: Buffer): Promise<void> {
      const n = ref<number>();
      for (let off = 0; off < data.length; off += 65536) {
        const chunk = data.subarray(off, off + 65536);
        expect(await gsk_secure_soc_write(h, chunk, chunk.length, n)).toBe(GSK_OK);
      }
    }
    async function drain(h: gsk_handle): Promise<string> {
      const hash = createHash("sha256");
      const buf = Buffer.alloc(65536);
      const n = ref<number>();
      let total = 0;
      while (total < size) {
        const rc = await gsk_secure_soc_read(h, buf, buf.length, n);
        if (rc !== GSK_OK) throw new Error(`read rc ${rc}`);
        hash.update(buf.subarray(0, n.value));
        total += n.value!;
      }
      return hash.digest("hex");
    }
    const [, , hashAtServer, hashAtClient] = await Promise.all([pump(c, a), pump(s, b), drain(s), drain(c)]);
    expect(hashAtServer).toBe(createHash("sha256").update(a).digest("hex"));
    expect(hashAtClient).toBe(createHash("sha256").update(b).digest("hex"));
    await done();
  });
});

describe("a server with no certificate", () => {
  it("initializes its environment and fails gsk_secure_soc_init with 403", async () => {
    const env = await environment(await makeStore({ tree: "ecdsa" }), GSK_SERVER_SESSION, true);
    const tcp = await tcpPair();
    const s = ref<gsk_handle>();
    expect(gsk_secure_soc_open(env, s)).toBe(GSK_OK);
    gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
    expect(await gsk_secure_soc_init(s.value)).toBe(GSK_ERROR_NO_CERTIFICATE);
    expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);
    tcp.close();
  });
});
