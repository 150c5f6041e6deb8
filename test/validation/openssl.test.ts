/**
 * Validation against a foreign TLS stack: `openssl s_server` and `openssl s_client` with strict
 * verification (`-verify_return_error`, `-Verify 1`, `-CAfile`). Where openssl validates, our end
 * must map the alert it sends to the code of the same meaning (spec: alert mapping); where we
 * validate, openssl must not get through (no data, the connection ends).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

import {
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CLIENT_AUTH_FULL,
  GSK_ERROR_BAD_CERTIFICATE,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_ERROR_NO_CIPHERS,
  GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE,
  GSK_IBMI_CLIENT_AUTH_REQUIRED,
  GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSK_SERVER_SESSION_WITH_CL_AUTH,
  GSKX_ERROR_PEER_NAME_MISMATCH,
  gsk_attribute_get_numeric_value,
  gsk_attribute_set_buffer,
  gsk_attribute_set_numeric_value,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_write,
  gskx_last_error,
  ref,
  type gsk_handle,
  GSK_FD,
  GSK_IBMI_READ_TIMEOUT,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
} from "../../src/index.js";
import {
  HAS_OPENSSL,
  TREES,
  acceptOne,
  expectAccepted,
  expectPeerRefused,
  expectRejected,
  file,
  openEnv,
  opensslClient,
  opensslServer,
  tcpConnect,
  type EndResult,
  type OpenedEnv,
  type OpensslProcess,
  type Tree,
} from "./helpers.js";
import { scratchDir } from "../helpers/stores.js";

if (!HAS_OPENSSL) console.warn("test/validation/openssl.test.ts: `openssl` is not on PATH, so the cases against openssl s_server/s_client are skipped");

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function serverCertArgs(tree: Tree, leaf: string): string[] {
  return ["-cert", file(tree, `${leaf}.cert.pem`), "-key", file(tree, `${leaf}.key.pem`), "-cert_chain", file(tree, "intermediate.pem")];
}

function versionArg(tls13: boolean): string {
  return tls13 ? "-tls1_3" : "-tls1_2";
}

function validationCode(h: gsk_handle | undefined): number | undefined {
  const code = ref<number>();
  expect(gsk_attribute_get_numeric_value(h, GSK_CERTIFICATE_VALIDATION_CODE, code)).toBe(GSK_OK);
  return code.value;
}

/** Our client against a running s_server: init, then (if it connected) a write and the first read. */
async function clientAgainst(env: OpenedEnv, port: number, sni = "localhost"): Promise<EndResult & { wrote: number | undefined }> {
  const socket = await tcpConnect(port);
  socket.on("error", () => undefined);
  const c = ref<gsk_handle>();
  const end: EndResult & { wrote: number | undefined } = {
    init: -1,
    message: undefined,
    validation: undefined,
    firstRead: undefined,
    firstReadMessage: undefined,
    servername: undefined,
    sidFirst: undefined,
    wrote: undefined,
  };
  try {
    expect(gsk_secure_soc_open(env.handle, c)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(c.value, GSK_FD, socket)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(c.value, GSK_IBMI_READ_TIMEOUT, 5000)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, sni, 0)).toBe(GSK_OK);
    end.init = await gsk_secure_soc_init(c.value);
    if (end.init !== GSK_OK) {
      end.message = gskx_last_error()?.message;
      return end;
    }
    end.validation = validationCode(c.value);
    const n = ref<number>();
    end.wrote = await gsk_secure_soc_write(c.value, "ping\n", 5, n);
    const buf = Buffer.alloc(256);
    end.firstRead = await gsk_secure_soc_read(c.value, buf, buf.length, n);
    end.firstReadMessage = end.firstRead === GSK_OK ? buf.subarray(0, n.value).toString() : gskx_last_error()?.message;
    return end;
  } finally {
    if (c.value) await gsk_secure_soc_close(c);
    socket.destroy();
  }
}

/** Our server session on the next connection to `port`: init, then (if it connected) read and echo. */
async function serveOne(env: OpenedEnv, accepted: Promise<Socket>): Promise<EndResult & { received: string }> {
  const socket = await accepted;
  socket.on("error", () => undefined);
  const s = ref<gsk_handle>();
  const end: EndResult & { received: string } = {
    init: -1,
    message: undefined,
    validation: undefined,
    firstRead: undefined,
    firstReadMessage: undefined,
    servername: undefined,
    sidFirst: undefined,
    received: "",
  };
  try {
    expect(gsk_secure_soc_open(env.handle, s)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(s.value, GSK_FD, socket)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(s.value, GSK_IBMI_READ_TIMEOUT, 5000)).toBe(GSK_OK);
    end.init = await gsk_secure_soc_init(s.value);
    if (end.init !== GSK_OK) {
      end.message = gskx_last_error()?.message;
      return end;
    }
    end.validation = validationCode(s.value);
    const buf = Buffer.alloc(256);
    const n = ref<number>();
    end.firstRead = await gsk_secure_soc_read(s.value, buf, buf.length, n);
    if (end.firstRead === GSK_OK) {
      end.received = buf.subarray(0, n.value).toString();
      await gsk_secure_soc_write(s.value, "pong\n", 5, n);
    } else end.firstReadMessage = gskx_last_error()?.message;
    return end;
  } finally {
    if (s.value) await gsk_secure_soc_close(s);
    socket.destroy();
  }
}

function track<T extends OpensslProcess>(p: T): T {
  cleanup.push(async () => {
    p.kill();
    await p.exited;
  });
  return p;
}

function open(envPromise: Promise<OpenedEnv>): Promise<OpenedEnv> {
  return envPromise.then((env) => {
    cleanup.push(() => env.close());
    return env;
  });
}

describe.skipIf(!HAS_OPENSSL)("our client against openssl s_server", () => {
  describe.each(TREES.flatMap((tree) => [true, false].map((tls13) => [tree, tls13] as const)))("%s tree, TLS 1.3 %s", (tree, tls13) => {
    it("a good server: connects, data both ways", async () => {
      const server = track(await opensslServer([...serverCertArgs(tree, "server"), versionArg(tls13)]));
      const env = await open(openEnv({ tree }));
      const pending = clientAgainst(env, server.port);
      // s_server prints what it receives; once it has the ping it gets a line to send back.
      await waitFor(() => server.output().includes("ping"));
      server.child.stdin?.write("pong\n");
      const r = await pending;
      expectAccepted(r);
      expect(r.firstReadMessage).toBe("pong\n");
    });

    it("an expired server certificate: the client gets 107, s_server never sees data", async () => {
      const server = track(await opensslServer([...serverCertArgs(tree, "server-expired"), versionArg(tls13)]));
      const env = await open(openEnv({ tree }));
      const r = await clientAgainst(env, server.port);
      expectRejected(r, GSK_KEYFILE_CERT_EXPIRED);
      expect(r.message).toMatch(/has expired/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.output()).not.toContain("ping");
    });

    it("a server certificate for another name: 9001", async () => {
      const server = track(await opensslServer([...serverCertArgs(tree, "server-wrong-host"), versionArg(tls13)]));
      const env = await open(openEnv({ tree }));
      const r = await clientAgainst(env, server.port);
      expectRejected(r, GSKX_ERROR_PEER_NAME_MISMATCH);
    });

    it("-Verify 1 -verify_return_error with a CA that did not issue our certificate: the client gets 6000 (alert 48 unknown_ca)", async () => {
      const server = track(await opensslServer([...serverCertArgs(tree, "server"), versionArg(tls13), "-Verify", "1", "-verify_return_error", "-CAfile", file(tree, "other-ca.pem")]));
      const env = await open(openEnv({ tree, personal: ["client"] }));
      const r = await clientAgainst(env, server.port);
      // TLS 1.3: the client finishes first and learns the verdict while waiting for the server's
      // flight; TLS 1.2: during its handshake. Either way before any data is taken as sent.
      const refused = expectPeerRefused(r, [GSK_IBMI_ERROR_NOT_TRUSTED_ROOT]);
      expect(refused.message).toMatch(/alert 48/);
      expect(r.init === GSK_OK ? r.wrote : GSK_OK).toBe(GSK_OK);
      await server.exited;
      expect(server.output()).toMatch(/verify error|unable to get local issuer certificate/);
    });

    it("-Verify 1 with no client certificate: the client gets 403 (TLS 1.3 alert 116) or 402 (TLS 1.2 alert 40)", async () => {
      const server = track(await opensslServer([...serverCertArgs(tree, "server"), versionArg(tls13), "-Verify", "1", "-verify_return_error", "-CAfile", file(tree, "ca.pem")]));
      const env = await open(openEnv({ tree }));
      const r = await clientAgainst(env, server.port);
      const refused = expectPeerRefused(r, [tls13 ? GSK_ERROR_NO_CERTIFICATE : GSK_ERROR_NO_CIPHERS]);
      expect(refused.message).toMatch(tls13 ? /alert 116/ : /alert 40/);
      await server.exited;
      expect(server.output()).toMatch(/peer did not return a certificate/);
    });

    it("-Verify 1 with our client certificate of the wrong EKU (serverAuth only): the client gets 405 (alert 43 unsupported_certificate)", async () => {
      const server = track(await opensslServer([...serverCertArgs(tree, "server"), versionArg(tls13), "-Verify", "1", "-verify_return_error", "-CAfile", file(tree, "ca.pem")]));
      const env = await open(openEnv({ tree, personal: ["client-eku-server-only"] }));
      const r = await clientAgainst(env, server.port);
      const refused = expectPeerRefused(r, [GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE]);
      expect(refused.message).toMatch(/alert 43/);
      await server.exited;
      expect(server.output()).toMatch(/unsuitable certificate purpose/);
    });

    it("-crl_check_all with our revoked client certificate: the client gets 6017 (alert 44 certificate_revoked)", async () => {
      const server = track(
        await opensslServer([
          ...serverCertArgs(tree, "server"),
          versionArg(tls13),
          "-Verify",
          "1",
          "-verify_return_error",
          // s_server's -CRL reads one CRL; a CAfile may carry them all.
          "-CAfile",
          caFileWithCrls(tree),
          "-crl_check_all",
        ]),
      );
      const env = await open(openEnv({ tree, personal: ["client-revoked"] }));
      const r = await clientAgainst(env, server.port);
      const refused = expectPeerRefused(r, [GSK_IBMI_ERROR_CERTIFICATE_REVOKED]);
      expect(refused.message).toMatch(/alert 44/);
      await server.exited;
      expect(server.output()).toMatch(/certificate revoked/);
    });
  });
});

describe.skipIf(!HAS_OPENSSL)("openssl s_client against our server", () => {
  describe.each(TREES.flatMap((tree) => [true, false].map((tls13) => [tree, tls13] as const)))("%s tree, TLS 1.3 %s", (tree, tls13) => {
    async function serverAndClient(serverSpec: Parameters<typeof openEnv>[0], clientArgs: string[]): Promise<{ server: Awaited<ReturnType<typeof serveOne>>; client: OpensslProcess }> {
      const env = await open(openEnv(serverSpec));
      const port = await acceptOne();
      cleanup.push(() => port.close());
      const client = track(opensslClient(port.port, [versionArg(tls13), "-servername", "localhost", ...clientArgs]));
      client.send("ping\n");
      const server = await serveOne(env, port.socket);
      client.end();
      await client.exited;
      return { server, client };
    }

    it("verifies our server (-verify_return_error -verify_hostname localhost) and exchanges data", async () => {
      const { server, client } = await serverAndClient({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, [
        "-verify_return_error",
        "-CAfile",
        file(tree, "ca.pem"),
        "-verify_hostname",
        "localhost",
      ]);
      expectAccepted(server);
      expect(server.received).toBe("ping\n");
      expect(client.output()).toMatch(/Verify return code: 0 \(ok\)/);
    });

    it("an s_client that does not trust our CA: our server gets 6000 (alert 48 unknown_ca) from init", async () => {
      const { server, client } = await serverAndClient({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, ["-verify_return_error", "-CAfile", file(tree, "other-ca.pem")]);
      expectRejected(server, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
      expect(server.message).toMatch(/alert 48/);
      expect(client.output()).toMatch(/verify error|unable to get local issuer certificate/);
    });

    it("an s_client expecting another host name (-verify_hostname): our server gets the alert's code, 404 (alert 42 bad_certificate)", async () => {
      const { server, client } = await serverAndClient({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, [
        "-verify_return_error",
        "-CAfile",
        file(tree, "ca.pem"),
        "-verify_hostname",
        "other.example.test",
      ]);
      expectRejected(server, GSK_ERROR_BAD_CERTIFICATE);
      expect(server.message).toMatch(/alert 42/);
      expect(client.output()).toMatch(/hostname mismatch/);
    });

    it("an untrusted client certificate under WITH_CL_AUTH + FULL: our server gets 6000; s_client gets no data", async () => {
      const { server, client } = await serverAndClient(
        { tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, clientAuth: GSK_CLIENT_AUTH_FULL, trust: ["other-ca"] },
        ["-cert", file(tree, "client.cert.pem"), "-key", file(tree, "client.key.pem"), "-cert_chain", file(tree, "intermediate.pem")],
      );
      expectRejected(server, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
      expect(client.output()).not.toContain("pong");
    });

    it("an expired client certificate under WITH_CL_AUTH + FULL: our server gets 107; s_client gets no data", async () => {
      const { server, client } = await serverAndClient({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, clientAuth: GSK_CLIENT_AUTH_FULL }, [
        "-cert",
        file(tree, "client-expired.cert.pem"),
        "-key",
        file(tree, "client-expired.key.pem"),
        "-cert_chain",
        file(tree, "intermediate.pem"),
      ]);
      expectRejected(server, GSK_KEYFILE_CERT_EXPIRED);
      expect(client.output()).not.toContain("pong");
    });

    it("no client certificate under GSK_IBMI_CLIENT_AUTH_REQUIRED: our server gets 403; s_client gets no data", async () => {
      const { server, client } = await serverAndClient({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION, clientAuth: GSK_IBMI_CLIENT_AUTH_REQUIRED }, []);
      expectRejected(server, GSK_ERROR_NO_CERTIFICATE);
      expect(client.output()).not.toContain("pong");
    });
  });
});

function caFileWithCrls(tree: Tree): string {
  const path = join(scratchDir(), `ca-and-crls-${tree}-${String(process.pid)}.pem`);
  writeFileSync(path, readFileSync(file(tree, "ca-bundle.pem"), "utf8") + readFileSync(file(tree, "crls.pem"), "utf8"));
  return path;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
