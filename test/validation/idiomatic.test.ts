/**
 * The same verdicts through the idiomatic layer: `Environment.open` + `connect` rejects with a
 * `GskError` whose `.code` is the validating end's code; a `TlsServer` reports each failed
 * handshake to its `onError` with its code; a refused client that connected learns it from its
 * first read.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";

import {
  Environment,
  GSK_ERROR_CERT_VALIDATION,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_KEYFILE_CERT_EXPIRED,
  GSKX_ERROR_PEER_NAME_MISMATCH,
  GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
  GskError,
  type Session,
  type TlsServer,
} from "../../src/index.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";
import { pkiPath } from "../fixtures/pki-manifest.js";
import { TREES, caEntry, customStore, nodeTlsServer, untrustedClientEntry, type Tree } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Served {
  server: TlsServer;
  port: number;
  /** The failed handshakes the server reported. */
  errors: GskError[];
  /** Resolves with the next failure. */
  nextError(): Promise<GskError>;
}

async function serve(tree: Tree, leaf: string, clientAuth: "none" | "optional" | "required" = "none"): Promise<Served> {
  const file = await makeStore({ tree, personal: [leaf] });
  const env = await Environment.open({ role: "server", keystore: { file, password: PASSWORD }, clientAuth });
  const errors: GskError[] = [];
  const waiting: ((e: GskError) => void)[] = [];
  const server = env.createServer(
    async (session: Session) => {
      for await (const chunk of session) await session.write(chunk);
      await session.close();
    },
    (error: GskError) => {
      errors.push(error);
      waiting.shift()?.(error);
    },
  );
  const { port } = await server.listen();
  cleanup.push(() => env.close());
  cleanup.push(() => server.close());
  return {
    server,
    port,
    errors,
    nextError: () => (errors.length > 0 ? Promise.resolve(errors[0]!) : new Promise((resolve) => waiting.push(resolve))),
  };
}

async function clientEnv(tree: Tree, options: { personal?: string[]; store?: string; dangerousPassthru?: boolean; verifyPeer?: () => boolean } = {}): Promise<Environment> {
  const file = options.store ?? (await makeStore({ tree, personal: options.personal ?? [] }));
  const env = await Environment.open({
    keystore: { file, password: PASSWORD },
    ...(options.dangerousPassthru ? { dangerousPassthru: true } : {}),
    ...(options.verifyPeer ? { verifyPeer: options.verifyPeer } : {}),
  });
  cleanup.push(() => env.close());
  return env;
}

async function rejection(promise: Promise<unknown>): Promise<GskError> {
  try {
    const value = await promise;
    if (value && typeof (value as Session).close === "function") await (value as Session).close();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a rejection, the call succeeded");
}

describe.each(TREES)("idiomatic layer, %s tree", (tree) => {
  it("a good server: connects and echoes", async () => {
    const { port } = await serve(tree, "server");
    const env = await clientEnv(tree);
    await using session = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
    expect(session.validationCode).toBe(0);
    await session.write("hello");
    expect((await session.read())?.toString()).toBe("hello");
  });

  it("an untrusted server: connect rejects with 6000; the server reports 9002", async () => {
    const served = await serve(tree, "server-untrusted");
    const env = await clientEnv(tree);
    const error = await rejection(env.connect({ host: "127.0.0.1", port: served.port, servername: "localhost" }));
    expect(error.code).toBe(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    expect(error.message).toContain("GSKit Test Other CA");
    expect((await served.nextError()).code).toBe(GSKX_ERROR_PEER_REFUSED_CERTIFICATE);
  });

  it("the wrong host: connect rejects with 9001", async () => {
    const served = await serve(tree, "server-wrong-host");
    const env = await clientEnv(tree);
    const error = await rejection(env.connect({ host: "127.0.0.1", port: served.port, servername: "localhost" }));
    expect(error.code).toBe(GSKX_ERROR_PEER_NAME_MISMATCH);
    expect(error.message).toContain("DNS:other.example.test");
  });

  it("an expired server (a node:tls server): connect rejects with 107", async () => {
    const foreign = await nodeTlsServer({ key: readFileSync(pkiPath(tree, "server-expired.key.pem")), cert: readFileSync(pkiPath(tree, "server-expired.chain.pem")) });
    cleanup.push(() => foreign.close());
    const env = await clientEnv(tree);
    const error = await rejection(env.connect({ host: "127.0.0.1", port: foreign.port, servername: "localhost" }));
    expect(error.code).toBe(GSK_KEYFILE_CERT_EXPIRED);
  });

  it("a client certificate the server does not trust (clientAuth required): the server reports 6000, connect rejects with 9002", async () => {
    const served = await serve(tree, "server", "required");
    const env = await clientEnv(tree, { store: await customStore([await untrustedClientEntry(tree), caEntry(tree, "root")]) });
    const error = await rejection(env.connect({ host: "127.0.0.1", port: served.port, servername: "localhost" }));
    expect(error.code).toBe(GSKX_ERROR_PEER_REFUSED_CERTIFICATE);
    expect((await served.nextError()).code).toBe(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
  });

  it("no client certificate (clientAuth required): the server reports 403; the client's connect or first read fails with 9002", async () => {
    const served = await serve(tree, "server", "required");
    const env = await clientEnv(tree);
    // TLS 1.3: a client that presented nothing finishes its handshake before the server's verdict.
    const error = await rejection(
      env.connect({ host: "127.0.0.1", port: served.port, servername: "localhost" }).then(async (session) => {
        try {
          await session.read();
        } finally {
          await session.close();
        }
      }),
    );
    expect(error.code).toBe(GSKX_ERROR_PEER_REFUSED_CERTIFICATE);
    expect(error.message).toMatch(/requires client authentication/);
    expect((await served.nextError()).code).toBe(GSK_ERROR_NO_CERTIFICATE);
  });

  it("no client certificate (clientAuth optional): connects, the server's session reads 403", async () => {
    const file = await makeStore({ tree, personal: ["server"] });
    const serverEnv = await Environment.open({ role: "server", keystore: { file, password: PASSWORD }, clientAuth: "optional" });
    cleanup.push(() => serverEnv.close());
    let seen: number | undefined;
    const server = serverEnv.createServer(async (session) => {
      seen = session.validationCode;
      await session.write("ok");
      await session.close();
    });
    const { port } = await server.listen();
    cleanup.push(() => server.close());
    const env = await clientEnv(tree);
    await using session = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
    expect((await session.read())?.toString()).toBe("ok");
    expect(seen).toBe(GSK_ERROR_NO_CERTIFICATE);
  });

  it("dangerousPassthru connects to an untrusted server; validationCode reads 6000", async () => {
    const { port } = await serve(tree, "server-untrusted");
    const env = await clientEnv(tree, { dangerousPassthru: true });
    await using session = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
    expect(session.validationCode).toBe(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
  });

  it("verifyPeer returning false: connect rejects with 8", async () => {
    const { port } = await serve(tree, "server");
    const env = await clientEnv(tree, { verifyPeer: () => false });
    const error = await rejection(env.connect({ host: "127.0.0.1", port, servername: "localhost" }));
    expect(error.code).toBe(GSK_ERROR_CERT_VALIDATION);
  });
});
