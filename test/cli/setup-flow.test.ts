/**
 * The set-up a user goes through, command by command (system store, CA, RSA and EC server and
 * client certificates, application IDs), then s_server and s_client over mutual TLS on loopback:
 * both ends' output is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Capture, ERROR_LINE, gskit, scratch, type Result } from "./helpers.js";

const tmp = scratch("flow");
const sys = tmp.path("system");
const caStore = tmp.path("ca.p12");
const clientStore = tmp.path("client.p12");
const D = ["--dir", sys];

async function ok(argv: string[]): Promise<Result> {
  const result = await gskit(argv);
  expect(result.stderr, `gskit ${argv.join(" ")}`).toBe("");
  expect(result.code).toBe(0);
  return result;
}

/**
 * Runs `s_server … --count 1`; `connect` gets its port. The server ends by itself once it has
 * logged the connection (so its line about it is complete); it is stopped only if `connect` fails.
 */
async function withServer(args: string[], connect: (port: number) => Promise<void>): Promise<Result> {
  const controller = new AbortController();
  const stdout = new Capture();
  const server = gskit(["s_server", ...args, "--count", "1"], { stdout, signal: controller.signal });
  try {
    const accept = await Promise.race([stdout.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m), server.then((r) => Promise.reject(new Error(`s_server ended: ${r.stderr}`)))]);
    await connect(Number(accept[1]));
  } catch (error) {
    controller.abort();
    await server;
    throw error;
  }
  return server;
}

beforeAll(async () => {
  await ok(["system", "init", ...D]);
  await ok(["keydb", "create", "--db", caStore, "--pw", "ca-secret"]);
  await ok(["cert", "create-ca", "--db", caStore, "--pw", "ca-secret", "--label", "Example CA", "--dn", "CN=Example Root CA,O=Example", "--key", "ec-p384"]);
  const issue = (label: string, dn: string, key: string, extra: string[]): Promise<Result> =>
    ok(["cert", "issue", "--db", caStore, "--pw", "ca-secret", "--ca-label", "Example CA", "--label", label, "--dn", dn, "--key", key, ...extra]);
  const serverNames = ["--san", "dns:localhost,ip:127.0.0.1", "--eku", "serverAuth"];
  await issue("server-rsa", "CN=localhost,O=Example", "rsa", [...serverNames, "--target", "*SYSTEM", ...D]);
  await issue("server-ec", "CN=localhost,O=Example", "ec-p256", [...serverNames, "--target", "*SYSTEM", ...D]);
  await issue("client-ec", "CN=app client,O=Example", "ec-p256", ["--eku", "clientAuth", "--target", "*SYSTEM", ...D]);
  await ok(["keydb", "create", "--db", clientStore, "--pw", "client-secret"]);
  await issue("client-rsa", "CN=store client,O=Example", "rsa", ["--eku", "clientAuth", "--san", "email:client@example.com", "--target", clientStore, "--target_pw", "client-secret"]);

  await ok(["app", "register", "--id", "MY_SERVER", "--type", "server", "--description", "echo server", "--client-auth", "required", ...D]);
  await ok(["app", "assign", "--id", "MY_SERVER", "--label", "server-rsa,server-ec", ...D]);
  await ok(["app", "trust", "--id", "MY_SERVER", "--ca", "Example CA", ...D]);
  await ok(["app", "register", "--id", "MY_CLIENT", "--type", "client", ...D]);
  await ok(["app", "assign", "--id", "MY_CLIENT", "--label", "client-ec", ...D]);
  await ok(["app", "trust", "--id", "MY_CLIENT", "--ca", "Example CA", ...D]);
});

afterAll(() => tmp.cleanup());

describe("gskit set-up, then s_server and s_client", () => {
  it("puts the issued certificates and the CA into the system store", async () => {
    const { stdout } = await ok(["cert", "list", "--db", "*SYSTEM", "--json", ...D]);
    const entries = JSON.parse(stdout) as { label: string; kind: string; trusted: boolean; keyType: string }[];
    expect(entries.map((e) => [e.label, e.kind, e.keyType])).toEqual([
      ["server-rsa", "personal", "RSA 2048"],
      ["server-ec", "personal", "EC P-256"],
      ["client-ec", "personal", "EC P-256"],
      ["Example CA", "ca", "EC P-384"],
    ]);
    expect(entries.find((e) => e.label === "Example CA")?.trusted).toBe(true);

    const details = JSON.parse((await ok(["cert", "details", "--db", "*SYSTEM", "--label", "server-rsa", "--json", ...D])).stdout) as Record<string, unknown>;
    expect(details).toMatchObject({
      subject: "CN=localhost,O=Example",
      issuer: "CN=Example Root CA,O=Example",
      keyType: "RSA 2048",
      isCA: false,
      extendedKeyUsage: ["serverAuth"],
      keyUsage: ["digitalSignature", "keyEncipherment"],
      subjectAltNames: { dns: ["localhost"], ip: ["127.0.0.1"], email: [], uri: [] },
      chain: ["CN=localhost,O=Example", "CN=Example Root CA,O=Example"],
    });
    const client = JSON.parse((await ok(["cert", "details", "--db", clientStore, "--pw", "client-secret", "--label", "client-rsa", "--json"])).stdout) as Record<string, unknown>;
    expect(client).toMatchObject({ extendedKeyUsage: ["clientAuth"], subjectAltNames: { email: ["client@example.com"] } });
  });

  it("shows and lists the application IDs", async () => {
    const shown = JSON.parse((await ok(["app", "show", "--id", "MY_SERVER", "--json", ...D])).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ id: "MY_SERVER", type: "server", certificates: ["server-rsa", "server-ec"], trustList: ["Example CA"], clientAuth: "required" });
    const listed = JSON.parse((await ok(["app", "list", "--json", ...D])).stdout) as { id: string }[];
    expect(listed.map((d) => d.id)).toEqual(["MY_SERVER", "MY_CLIENT"]);
    expect((await ok(["app", "list", ...D])).stdout).toMatch(/^MY_SERVER\s+server\s+server-rsa,server-ec\s+echo server$/m);
  });

  it("echoes over mutual TLS between two application IDs, and both ends see the same session", async () => {
    let client: Result | undefined;
    const server = await withServer(["--app-id", "MY_SERVER", ...D], async (port) => {
      client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--app-id", "MY_CLIENT", "--message", "hello over mTLS", "--json", ...D]);
    });
    expect(client?.stderr).toBe("");
    expect(client?.code).toBe(0);
    const facts = JSON.parse(client?.stdout ?? "") as Record<string, unknown>;
    expect(facts).toMatchObject({ reply: "hello over mTLS", protocol: "TLSv1.3", peer: "CN=localhost,O=Example", validationCode: 0, validationName: "GSK_OK" });

    expect(server.code).toBe(0);
    expect(server.stderr).toBe("");
    const session = /^SESSION #1 (\S+) (\S+) peer="([^"]*)" validation=0 GSK_OK$/m.exec(server.stdout);
    expect(session?.[1]).toBe("TLSv1.3");
    expect(session?.[2]).toBe(facts["cipher"]);
    expect(session?.[3]).toBe("CN=app client,O=Example");
  });

  it("serves a key-store client (RSA, from another store) and prints the human-readable facts", async () => {
    let client: Result | undefined;
    const server = await withServer(["--app-id", "MY_SERVER", ...D], async (port) => {
      client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--servername", "localhost", "--db", clientStore, "--pw", "client-secret", "--message", "ping\n"], {});
    });
    // The client store has the CA as a CA entry, added by `cert issue --target`.
    expect(client?.code).toBe(0);
    expect(client?.stdout).toMatch(/^ping\nPROTOCOL\s+TLSv1\.3\nCIPHER\s+TLS_\w+\nPEER\s+CN=localhost,O=Example\nVALIDATION\s+0 GSK_OK\nRESUMED\s+no\n$/);
    expect(server.stdout).toMatch(/^SESSION #1 TLSv1\.3 \S+ peer="CN=store client,O=Example" validation=0 GSK_OK$/m);
  });

  it("takes stdin when no --message is given", async () => {
    let client: Result | undefined;
    await withServer(["--app-id", "MY_SERVER", ...D], async (port) => {
      client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--app-id", "MY_CLIENT", "--quiet", ...D], { stdin: "from stdin" });
    });
    expect(client?.code).toBe(0);
    expect(client?.stdout).toBe("from stdin");
  });

  it("applies an application's protocols and ciphers (app set) on both ends", async () => {
    await ok(["app", "register", "--id", "TLS12_SERVER", "--type", "server", "--label", "server-ec", "--ca", "Example CA", "--client-auth", "optional", ...D]);
    await ok(["app", "set", "--id", "TLS12_SERVER", "--protocols", "TLSv1.2", "--ciphers", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "--session-lifetime", "600", ...D]);
    let client: Result | undefined;
    const server = await withServer(["--app-id", "TLS12_SERVER", ...D], async (port) => {
      client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--app-id", "MY_CLIENT", "--message", "x", "--json", ...D]);
    });
    expect(JSON.parse(client?.stdout ?? "{}")).toMatchObject({ protocol: "TLSv1.2", cipher: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", peer: "CN=localhost,O=Example" });
    expect(server.stdout).toMatch(/^SESSION #1 TLSv1\.2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 peer="CN=app client,O=Example" validation=0 GSK_OK$/m);
  });

  it("fails a client without a certificate against client-auth required: one line and the GSK code as exit status; the server logs the failure", async () => {
    // Trust only: a store with the CA certificate and no personal entry.
    const trustOnly = tmp.path("trust-only.p12");
    await ok(["keydb", "create", "--db", trustOnly, "--pw", "pw"]);
    await ok(["cert", "extract", "--db", caStore, "--pw", "ca-secret", "--label", "Example CA", "--target", tmp.path("ca.arm")]);
    await ok(["cert", "add", "--db", trustOnly, "--pw", "pw", "--label", "Example CA", "--file", tmp.path("ca.arm")]);
    let client: Result | undefined;
    const server = await withServer(["--app-id", "MY_SERVER", ...D], async (port) => {
      client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--servername", "localhost", "--db", trustOnly, "--pw", "pw", "--message", "x"]);
    });
    const line = ERROR_LINE.exec(client?.stderr ?? "");
    expect(line, client?.stderr).not.toBeNull();
    expect(client?.stderr).toMatch(/^gskit: s_client: /);
    // TLS 1.3: the client's handshake is done before the server judges it; all it sees is the close.
    expect(line?.[1]).toBe("GSK_ERROR_SOCKET_CLOSED");
    expect(client?.code).toBe(420 % 256);
    expect(client?.stdout).toBe("");
    expect(server.code).toBe(0);
    expect(server.stdout).toMatch(/^FAILED #1: .+ \(GSK_ERROR_NO_CERTIFICATE 403\)$/m);
  });

  it("refuses a server whose CA the client application does not trust", async () => {
    const otherCa = tmp.path("other-ca.p12");
    await ok(["keydb", "create", "--db", otherCa, "--pw", "pw"]);
    await ok(["cert", "create-ca", "--db", otherCa, "--pw", "pw", "--label", "Other CA", "--dn", "CN=Other CA", "--key", "ec-p256"]);
    await ok(["cert", "issue", "--db", otherCa, "--pw", "pw", "--ca-label", "Other CA", "--label", "client-other", "--dn", "CN=other client", "--key", "ec-p256", "--eku", "clientAuth", "--target", "*SYSTEM", ...D]);
    await ok(["app", "register", "--id", "PICKY_CLIENT", "--type", "client", "--label", "client-ec", "--ca", "Other CA", ...D]);
    let client: Result | undefined;
    const server = await withServer(["--app-id", "MY_SERVER", ...D], async (port) => {
      client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--servername", "localhost", "--app-id", "PICKY_CLIENT", "--message", "x", ...D]);
    });
    expect(client?.stderr).toMatch(ERROR_LINE);
    expect(client?.stderr).toMatch(/\(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT 6000\)\n$/);
    expect(client?.code).toBe(6000 % 256);
    expect(server.stdout).toMatch(/^FAILED #1: .+ \(GSKX_ERROR_PEER_REFUSED_CERTIFICATE 9002\)$/m);
  });
});
