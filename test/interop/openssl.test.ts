/**
 * The gsk_* layer against OpenSSL's own command-line peers, which nobody here wrote: `s_client`
 * against our server, our client against `s_server`, mutual TLS both ways, TLS 1.3 and 1.2, RSA
 * and ECDSA. Each test checks what both ends saw: OpenSSL's verdict and the data in its output,
 * our return codes, the partner certificate and the data on our side.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";

import {
  gsk_attribute_get_buffer,
  gsk_attribute_get_enum,
  gsk_attribute_get_numeric_value,
  gsk_attribute_set_buffer,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  ref,
  type gsk_handle,
  type Ref,
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CLIENT_SESSION,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_LOCAL_CERT_INFO,
  GSK_OK,
  GSK_PARTNER_CERT_INFO,
  GSK_PROTOCOL_USED,
  GSK_PROTOCOL_USED_TLSV12,
  GSK_PROTOCOL_USED_TLSV13,
  GSK_SERVER_SESSION_WITH_CL_AUTH,
  GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL,
  GSK_SSL_EXTN_SERVERNAME,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
} from "../../src/index.js";
import { pki, pkiPath } from "../fixtures/pki-manifest.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";
import {
  certCommonName,
  gskCleanup,
  gskEnvironment,
  gskReadUntil,
  gskSession,
  gskWrite,
  has,
  killPeers,
  listenOnce,
  opensslClient,
  opensslServer,
  warnSkip,
} from "./helpers.js";

const HAS_OPENSSL = has("openssl");
if (!HAS_OPENSSL) warnSkip("interop/openssl", "`openssl` is not on PATH");

afterEach(killPeers);

const CASES = [
  ["rsa", true],
  ["rsa", false],
  ["ecdsa", true],
  ["ecdsa", false],
] as const;

function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

function protocolOf(h: gsk_handle | undefined): number | undefined {
  const p = ref<number>();
  expect(gsk_attribute_get_enum(h, GSK_PROTOCOL_USED, p)).toBe(GSK_OK);
  return p.value;
}

describe.skipIf(!HAS_OPENSSL).each(CASES)("openssl, %s keys, TLS 1.3 %s", (tree, tls13) => {
  const version = tls13 ? "TLSv1.3" : "TLSv1.2";
  const used = tls13 ? GSK_PROTOCOL_USED_TLSV13 : GSK_PROTOCOL_USED_TLSV12;

  it("s_client with a client certificate verifies our server, and our server sees its certificate and line", async () => {
    const env = await gskEnvironment({ store: await makeStore({ tree, personal: ["server"] }), password: PASSWORD, sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, tls13 });
    const listener = await listenOnce();
    let s: Ref<gsk_handle> | undefined;
    try {
      const client = pki(tree, "client");
      // -ign_eof: s_client stays until our server's close_notify, so the echo is read first.
      const sc = opensslClient(listener.port, [
        "-servername", "localhost",
        "-CAfile", pkiPath(tree, "ca.pem"),
        "-verify_return_error",
        "-verify_hostname", "localhost",
        "-cert", client.certPath,
        "-key", client.keyPath,
        "-cert_chain", pkiPath(tree, "intermediate.pem"),
        "-ign_eof",
      ]);
      sc.write("hello from s_client\n");
      s = gskSession(env, await listener.accepted);
      expect(await gsk_secure_soc_init(s.value)).toBe(GSK_OK);

      // Our end: the client's certificate, validated, the SNI name and the protocol.
      expect(certCommonName(s.value, GSK_PARTNER_CERT_INFO)).toBe("client.example.test");
      expect(certCommonName(s.value, GSK_LOCAL_CERT_INFO)).toBe("localhost");
      const code = ref<number>();
      expect(gsk_attribute_get_numeric_value(s.value, GSK_CERTIFICATE_VALIDATION_CODE, code)).toBe(GSK_OK);
      expect(code.value).toBe(0);
      const sni = ref<string>();
      expect(gsk_attribute_get_buffer(s.value, GSK_SSL_EXTN_SERVERNAME, sni, ref<number>())).toBe(GSK_OK);
      expect(sni.value).toBe("localhost");
      expect(protocolOf(s.value)).toBe(used);

      const line = await gskReadUntil(s.value, "\n");
      expect(line.rc).toBe(GSK_OK);
      expect(line.text).toBe("hello from s_client\n");
      expect(await gskWrite(s.value, `echo: ${line.text}`)).toBe(GSK_OK);
      expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);

      // OpenSSL's end: it verified our chain and name, and read the echo before our close_notify.
      const exit = await sc.finished();
      expect(sc.stdout).toContain("Verify return code: 0 (ok)");
      expect(sc.stdout).toMatch(new RegExp(`New, ${version.replace(".", "\\.")}, Cipher is `));
      expect(sc.stdout).toContain("echo: hello from s_client");
      expect(sc.output).toMatch(/depth=0 .*CN = localhost/);
      expect(exit.code, sc.output).toBe(0);
    } finally {
      await gskCleanup(s, env);
      listener.close();
    }
  });

  it("our client against s_server -Verify: both see each other's certificate and the line comes back reversed", async () => {
    const server = pki(tree, "server");
    const { peer, port } = await opensslServer([
      "-cert", server.certPath,
      "-key", server.keyPath,
      "-cert_chain", pkiPath(tree, "intermediate.pem"),
      "-CAfile", pkiPath(tree, "ca.pem"),
      "-Verify", "2",
      "-verify_return_error",
      "-rev",
      tls13 ? "-tls1_3" : "-tls1_2",
    ]);
    const env = await gskEnvironment({ store: await makeStore({ tree, personal: ["client"] }), password: PASSWORD, sessionType: GSK_CLIENT_SESSION, tls13 });
    const socket = await tcpConnect(port);
    let c: Ref<gsk_handle> | undefined;
    try {
      c = gskSession(env, socket);
      expect(gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_OK);
      expect(await gsk_secure_soc_init(c.value)).toBe(GSK_OK);
      expect(certCommonName(c.value, GSK_PARTNER_CERT_INFO)).toBe("localhost");
      expect(protocolOf(c.value)).toBe(used);

      expect(await gskWrite(c.value, "hello openssl\n")).toBe(GSK_OK);
      const back = await gskReadUntil(c.value, "\n");
      expect(back.rc).toBe(GSK_OK);
      expect(back.text).toBe("lssnepo olleh\n");
      expect(await gsk_secure_soc_close(c)).toBe(GSK_OK);

      // s_server's end: it verified our chain and saw our certificate; our close_notify ended it.
      const exit = await peer.finished();
      expect(peer.output).toMatch(/Peer certificate: .*CN = client\.example\.test/);
      expect(peer.output).toContain("Verification: OK");
      expect(peer.output).toContain(`Protocol version: ${version}`);
      expect(peer.output).toContain("CONNECTION CLOSED");
      expect(exit.code, peer.output).toBe(0);
    } finally {
      await gskCleanup(c, env);
      socket.destroy();
    }
  });

  it("s_client without a certificate against a WITH_CL_AUTH_CRITICAL server: 403 here, a failure there", async () => {
    const env = await gskEnvironment({ store: await makeStore({ tree, personal: ["server"] }), password: PASSWORD, sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL, tls13 });
    const listener = await listenOnce();
    let s: Ref<gsk_handle> | undefined;
    try {
      const sc = opensslClient(listener.port, ["-servername", "localhost", "-CAfile", pkiPath(tree, "ca.pem"), "-verify_return_error", "-ign_eof"]);
      sc.write("should never be answered\n");
      s = gskSession(env, await listener.accepted);
      expect(await gsk_secure_soc_init(s.value)).toBe(GSK_ERROR_NO_CERTIFICATE);
      expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);

      const exit = await sc.finished();
      // Our server decides after the handshake messages are through (node:tls completes them
      // before the certificate is checked), so s_client learns of the refusal when it reads: the
      // connection ends under it, it reports an error and fails, and no data ever came back.
      expect(sc.output).toMatch(/unexpected eof|alert|errno|read:fail|write:fail/i);
      expect(sc.stdout).not.toContain("should never be answered");
      expect(exit.code, sc.output).not.toBe(0);
    } finally {
      await gskCleanup(s, env);
      listener.close();
    }
  });
});
