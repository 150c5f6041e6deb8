/**
 * Python's `ssl` module as the foreign peer: a Python server that requires a client certificate
 * against our gsk_* client, and a Python client (hostname checking on, presenting a certificate)
 * against our gsk_* server. Both ends report what they saw: Python prints JSON (getpeercert(),
 * the protocol, the line it read, how the stream ended), we read the partner certificate, the
 * data and, on the server, GSKX_CLOSE_NOTIFY_RECEIVED.
 *
 * Python runs with `suppress_ragged_eofs=False`, so a TCP FIN without close_notify from our side
 * would raise SSLEOFError there instead of passing for a clean end.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";

import {
  gsk_attribute_get_enum,
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  ref,
  type gsk_handle,
  type Ref,
  GSK_CLIENT_SESSION,
  GSK_OK,
  GSK_PARTNER_CERT_INFO,
  GSK_PROTOCOL_USED,
  GSK_PROTOCOL_USED_TLSV12,
  GSK_PROTOCOL_USED_TLSV13,
  GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_TRUE,
  GSKX_CLOSE_NOTIFY_RECEIVED,
  GSKX_STRICT_EOF,
} from "../../src/index.js";
import { pki, pkiPath } from "../fixtures/pki-manifest.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";
import { certCommonName, gskCleanup, gskEnvironment, gskReadUntil, gskSession, gskWrite, hasPythonSsl, killPeers, lastJson, listenOnce, python, pythonServer, warnSkip } from "./helpers.js";

const HAS_PYTHON_SSL = hasPythonSsl();
if (!HAS_PYTHON_SSL) warnSkip("interop/python", "`python3` is not on PATH or was built without its ssl module");

afterEach(killPeers);

/** What the Python side prints as its last line. */
interface PythonReport {
  line: string;
  eof: "close_notify" | "ragged" | "none";
  version: string;
  subject: [string, string][][];
  san: [string, string][];
}

const COMMON = String.raw`
import json, socket, ssl, sys

def limit(ctx, maxver):
    if maxver == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3

def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data

def read_end(conn):
    try:
        rest = conn.recv(4096)
        return "close_notify" if rest == b"" else "data:" + rest.decode()
    except ssl.SSLEOFError:
        return "ragged"

def report(conn, line, eof):
    peer = conn.getpeercert()
    print(json.dumps({"line": line.decode(), "eof": eof, "version": conn.version(),
                      "subject": peer["subject"], "san": peer.get("subjectAltName", [])}))
`;

const SERVER = String.raw`
cert, key, ca, maxver = sys.argv[1:5]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
limit(ctx, maxver)
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(1)
print("PORT", listener.getsockname()[1])
raw, _ = listener.accept()
listener.close()
raw.settimeout(10)
conn = ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
line = read_line(conn)
conn.sendall(b"python says: " + line)
eof = read_end(conn)
report(conn, line, eof)
conn.close()
`;

const CLIENT = String.raw`
port, ca, cert, key, maxver = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
ctx.load_cert_chain(cert, key)
limit(ctx, maxver)
raw = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
conn = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
conn.sendall(b"hello from python\n")
line = read_line(conn)
# unwrap() sends close_notify and waits for the server's: a clean bidirectional shutdown.
report(conn, line, "none")
conn.unwrap()
print("UNWRAPPED")
raw.close()
`;

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

/** getpeercert()'s subject, flattened to { commonName: …, … }. */
function subjectOf(report: PythonReport): Record<string, string> {
  return Object.fromEntries(report.subject.flat());
}

describe.skipIf(!HAS_PYTHON_SSL).each([
  ["rsa", true],
  ["rsa", false],
  ["ecdsa", true],
  ["ecdsa", false],
] as const)("python ssl, %s keys, TLS 1.3 %s", (tree, tls13) => {
  const version = tls13 ? "TLSv1.3" : "TLSv1.2";

  it("our client against a Python server requiring a client certificate: both see each other and the line", async () => {
    const server = pki(tree, "server");
    const { peer, port } = await pythonServer(COMMON + SERVER, [server.chainPath, server.keyPath, pkiPath(tree, "ca.pem"), tls13 ? "1.3" : "1.2"]);
    const env = await gskEnvironment({ store: await makeStore({ tree, personal: ["client"] }), password: PASSWORD, sessionType: GSK_CLIENT_SESSION, tls13 });
    const socket = await tcpConnect(port);
    let c: Ref<gsk_handle> | undefined;
    try {
      c = gskSession(env, socket);
      expect(gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0)).toBe(GSK_OK);
      expect(await gsk_secure_soc_init(c.value)).toBe(GSK_OK);
      expect(certCommonName(c.value, GSK_PARTNER_CERT_INFO)).toBe("localhost");
      expect(protocolOf(c.value)).toBe(tls13 ? GSK_PROTOCOL_USED_TLSV13 : GSK_PROTOCOL_USED_TLSV12);
      expect(await gskWrite(c.value, "hello from gsk\n")).toBe(GSK_OK);
      const back = await gskReadUntil(c.value, "\n");
      expect(back).toMatchObject({ rc: GSK_OK, text: "python says: hello from gsk\n" });
      expect(await gsk_secure_soc_close(c)).toBe(GSK_OK);

      const exit = await peer.finished();
      expect(exit.code, peer.output).toBe(0);
      const report = lastJson<PythonReport>(peer.stdout);
      expect(report.line).toBe("hello from gsk\n");
      expect(report.version).toBe(version);
      expect(subjectOf(report)).toMatchObject({ commonName: "client.example.test", organizationalUnitName: tree });
      expect(report.san).toContainEqual(["DNS", "client.example.test"]);
      // Our gsk_secure_soc_close sent close_notify before the FIN.
      expect(report.eof).toBe("close_notify");
    } finally {
      await gskCleanup(c, env);
      socket.destroy();
    }
  });

  it("a Python client with hostname checking against our WITH_CL_AUTH_CRITICAL server: both see each other, both shut down cleanly", async () => {
    const env = await gskEnvironment({ store: await makeStore({ tree, personal: ["server"] }), password: PASSWORD, sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL, tls13 });
    const listener = await listenOnce();
    let s: Ref<gsk_handle> | undefined;
    try {
      const client = pki(tree, "client");
      const py = python(COMMON + CLIENT, [String(listener.port), pkiPath(tree, "ca.pem"), client.chainPath, client.keyPath, tls13 ? "1.3" : "1.2"]);
      s = gskSession(env, await listener.accepted);
      // The strict path tells a close_notify from a bare FIN, so Python's unwrap() is checked too.
      expect(gsk_attribute_set_enum(s.value, GSKX_STRICT_EOF, GSK_TRUE)).toBe(GSK_OK);
      expect(await gsk_secure_soc_init(s.value)).toBe(GSK_OK);
      expect(certCommonName(s.value, GSK_PARTNER_CERT_INFO)).toBe("client.example.test");
      expect(protocolOf(s.value)).toBe(tls13 ? GSK_PROTOCOL_USED_TLSV13 : GSK_PROTOCOL_USED_TLSV12);

      const line = await gskReadUntil(s.value, "\n");
      expect(line).toMatchObject({ rc: GSK_OK, text: "hello from python\n" });
      expect(await gskWrite(s.value, `echo: ${line.text}`)).toBe(GSK_OK);
      const end = await gskReadUntil(s.value, "\n");
      expect(end).toMatchObject({ rc: GSK_OK, text: "", ended: true });
      const notify = ref<number>();
      expect(gsk_attribute_get_enum(s.value, GSKX_CLOSE_NOTIFY_RECEIVED, notify)).toBe(GSK_OK);
      expect(notify.value).toBe(GSK_TRUE);
      // Python's unwrap() is still waiting for this close_notify.
      expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);

      const exit = await py.finished();
      expect(exit.code, py.output).toBe(0);
      const report = lastJson<PythonReport>(py.stdout);
      expect(report.line).toBe("echo: hello from python\n");
      expect(report.version).toBe(version);
      expect(subjectOf(report)).toMatchObject({ commonName: "localhost", organizationalUnitName: tree });
      expect(report.san).toContainEqual(["DNS", "localhost"]);
      expect(py.stdout).toContain("UNWRAPPED");
    } finally {
      await gskCleanup(s, env);
      listener.close();
    }
  });
});
