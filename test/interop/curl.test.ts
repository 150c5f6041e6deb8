/**
 * curl, a client nobody here wrote, against our servers: Node's `http.Server` fed the idiomatic
 * layer's sessions through `session.duplex()` (mutual TLS, what the server saw comes back in the
 * body), the same server refusing a curl without a certificate, and a gsk_* server answering a
 * hand-written HTTP/1.0 response whose end is our close_notify.
 *
 * curl would rather try ::1 for "localhost"; `--resolve` pins the name to 127.0.0.1 so the name
 * it verifies stays "localhost" while the connection goes where we listen.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";

import {
  Environment,
  GskError,
  gsk_attribute_get_buffer,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  ref,
  type gsk_handle,
  type Ref,
  type Session,
  GSK_CONNECT_SEC_TYPE,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSK_SSL_EXTN_SERVERNAME,
} from "../../src/index.js";
import { pki, pkiPath } from "../fixtures/pki-manifest.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";
import { gskCleanup, gskEnvironment, gskReadUntil, gskSession, gskWrite, has, killPeers, listenOnce, run, warnSkip } from "./helpers.js";

const HAS_CURL = has("curl");
if (!HAS_CURL) warnSkip("interop/curl", "`curl` is not on PATH");

afterEach(killPeers);

function curlArgs(port: number, tree: "rsa" | "ecdsa", tls13: boolean, path: string): string[] {
  return [
    "-sS",
    "--resolve", `localhost:${String(port)}:127.0.0.1`,
    "--cacert", pkiPath(tree, "ca.pem"),
    ...(tls13 ? ["--tlsv1.3"] : ["--tlsv1.2", "--tls-max", "1.2"]),
    "-w", "\nHTTP %{http_code} VERIFY %{ssl_verify_result}\n",
    `https://localhost:${String(port)}${path}`,
  ];
}

interface Seen {
  subject: string | undefined;
  protocol: string;
  validationCode: number;
  method: string | undefined;
  url: string | undefined;
  servername: string | undefined;
}

/**
 * An `http.Server` that never listens: the idiomatic TlsServer accepts and handshakes, and each
 * session's Duplex view is handed to it as a connection.
 */
async function httpsOverSessions(tree: "rsa" | "ecdsa", tls13: boolean) {
  const store = await makeStore({ tree, personal: ["server"] });
  const env = await Environment.open({
    role: "server",
    keystore: { file: store, password: PASSWORD },
    clientAuth: "required",
    protocols: tls13 ? ["TLSv1.3"] : ["TLSv1.2"],
  });
  const views = new Set<Duplex>();
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const session = (req.socket as unknown as { session: Session }).session;
    const seen: Seen = {
      subject: session.peerCertificate?.subject.split("\n").join(","),
      protocol: session.protocol,
      validationCode: session.validationCode,
      method: req.method,
      url: req.url,
      servername: session.servername,
    };
    res.setHeader("Connection", "close");
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(seen));
  });
  const failures: GskError[] = [];
  let failed: () => void = () => undefined;
  const failure = new Promise<void>((resolve) => (failed = resolve));
  const server = env.createServer(
    (session) => {
      const view = session.duplex();
      views.add(view);
      view.once("close", () => views.delete(view));
      http.emit("connection", view);
    },
    (error) => {
      failures.push(error);
      failed();
    },
  );
  const { port } = await server.listen();
  return {
    port,
    failures,
    failure,
    async close() {
      for (const v of views) v.destroy();
      await server.close();
      await env.close();
    },
  };
}

describe.skipIf(!HAS_CURL).each([
  ["rsa", true],
  ["rsa", false],
  ["ecdsa", true],
  ["ecdsa", false],
] as const)("curl, %s keys, TLS 1.3 %s", (tree, tls13) => {
  it("curl with a client certificate gets back what our http.Server saw over session.duplex()", async () => {
    const server = await httpsOverSessions(tree, tls13);
    try {
      const client = pki(tree, "client");
      // client.chain.pem: curl sends the certificate with its intermediate, as the server trusts only the root.
      const r = await run("curl", ["--cert", client.chainPath, "--key", client.keyPath, ...curlArgs(server.port, tree, tls13, "/whoami?x=1")]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/HTTP 200 VERIFY 0\n$/);
      const seen = JSON.parse(r.stdout.split("\n")[0]!) as Seen;
      expect(seen).toEqual({
        subject: `C=US,O=gskit-tls tests,OU=${tree},CN=client.example.test`,
        protocol: tls13 ? "TLSv1.3" : "TLSv1.2",
        validationCode: 0,
        method: "GET",
        url: "/whoami?x=1",
        servername: "localhost",
      });
      expect(server.failures).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("curl without a client certificate fails, and our server reports 403", async () => {
    const server = await httpsOverSessions(tree, tls13);
    try {
      const r = await run("curl", curlArgs(server.port, tree, tls13, "/"));
      expect(r.code, `curl should fail; it printed: ${r.stdout}${r.stderr}`).not.toBe(0);
      expect(r.stdout).not.toContain("HTTP 200");
      await server.failure;
      expect(server.failures.map((e) => e.code)).toEqual([GSK_ERROR_NO_CERTIFICATE]);
      expect(server.failures[0]).toBeInstanceOf(GskError);
    } finally {
      await server.close();
    }
  });

  it("curl reads a hand-written HTTP/1.0 response from a gsk_* server, ended by gsk_secure_soc_close", async () => {
    const env = await gskEnvironment({ store: await makeStore({ tree, personal: ["server"] }), password: PASSWORD, sessionType: GSK_SERVER_SESSION, tls13 });
    const listener = await listenOnce();
    let s: Ref<gsk_handle> | undefined;
    try {
      const curl = run("curl", curlArgs(listener.port, tree, tls13, "/hello"));
      s = gskSession(env, await listener.accepted);
      expect(await gsk_secure_soc_init(s.value)).toBe(GSK_OK);
      const request = await gskReadUntil(s.value, "\r\n\r\n");
      expect(request.rc).toBe(GSK_OK);
      expect(request.text).toMatch(/^GET \/hello HTTP\/1\.1\r\n/);
      expect(request.text).toContain(`Host: localhost:${String(listener.port)}\r\n`);
      expect(request.text).toMatch(/User-Agent: curl\//);

      const sni = ref<string>();
      expect(gsk_attribute_get_buffer(s.value, GSK_SSL_EXTN_SERVERNAME, sni, ref<number>())).toBe(GSK_OK);
      const sec = ref<string>();
      expect(gsk_attribute_get_buffer(s.value, GSK_CONNECT_SEC_TYPE, sec, ref<number>())).toBe(GSK_OK);
      // No Content-Length: HTTP/1.0 ends the body with the connection, so the whole body must
      // arrive before gsk_secure_soc_close ends it.
      const body = `hello ${String(sni.value)} over ${String(sec.value)}\n`;
      expect(await gskWrite(s.value, `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nServer: gsk\r\n\r\n${body}`)).toBe(GSK_OK);
      expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);

      const r = await curl;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${body}\nHTTP 200 VERIFY 0\n`);
    } finally {
      await gskCleanup(s, env);
      listener.close();
    }
  });
});
