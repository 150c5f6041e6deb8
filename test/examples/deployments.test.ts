/**
 * The deployment examples (examples/federation, router, proxy, diagnose) run as users run them:
 * each one's setup (the gskit commands) in a temporary directory, its servers on 127.0.0.1, and
 * its success path and failure paths checked on both ends, with the code each side saw. Where a
 * third-party client fits, it is the real one: openssl s_client against the edge and the front,
 * curl with client certificates against the proxy, openssl s_server serving the expired
 * certificate. A missing tool skips those tests, saying so.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isGskError } from "gskit-tls";

import { askAsPartner, askAsUser } from "../../examples/federation/clients.js";
import { runDemo as runFederationDemo } from "../../examples/federation/demo.js";
import { startNetwork, type Network } from "../../examples/federation/network.js";
import { EXPORT_PASSWORD, setup as setupFederation, type Layout as FederationLayout } from "../../examples/federation/setup.js";
import { sendDirect, sendMessage } from "../../examples/router/client.js";
import { startRouter, type Router } from "../../examples/router/servers.js";
import { setup as setupRouter, type Layout as RouterLayout } from "../../examples/router/setup.js";
import { get, startAll } from "../../examples/proxy/demo.js";
import { setup as setupProxy, USER_KEY_PASSWORD, type Layout as ProxyLayout } from "../../examples/proxy/setup.js";
import { runDemo as runDiagnoseDemo, startExpiredServer } from "../../examples/diagnose/demo.js";
import type { SyncServer } from "../../examples/diagnose/sync-server.js";
import { setup as setupDiagnose, type Layout as DiagnoseLayout } from "../../examples/diagnose/setup.js";
import { run as gskitConnect } from "../../src/cli/commands/connect.js";

/** True when `command` runs (looked up on PATH at run time). */
function has(command: string): boolean {
  const r = spawnSync(command, [command === "openssl" ? "version" : "--version"], { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

const root = mkdtempSync(join(tmpdir(), "gskit-deployments-"));
const HAS_OPENSSL = has("openssl");
const HAS_CURL = has("curl");
// A green run that tested nothing against a real peer says so.
if (!HAS_OPENSSL) console.warn("deployments: the openssl s_client / s_server tests are skipped: no openssl command on PATH");
if (!HAS_CURL) console.warn("deployments: the curl tests against the proxy are skipped: no curl command on PATH");

/** A tool run to completion, stdin fed with `input`; never rejects (its exit code says). */
function tool(command: string, args: readonly string[], input = ""): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    // A peer that hangs would otherwise hold the test until vitest's timeout, with no output.
    const timer = setTimeout(() => child.kill(), 15_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}\n${e.message}` });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(input);
  });
}

/** Waits until `list` holds `entry`: a server logs a refusal when its handshake settles, which is not ordered with the client's view of it. */
async function logged(list: readonly string[], entry: string): Promise<void> {
  for (let i = 0; i < 200 && !list.includes(entry); i++) await new Promise((r) => setTimeout(r, 25));
  expect(list).toContain(entry);
}

async function refusal(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (error) {
    if (isGskError(error)) return error.code;
    throw error;
  }
  return 0;
}

/** An `openssl s_client` line exchange: sends `line`, waits for the server to close. */
function sClient(port: number, servername: string, caFile: string, line: string, extra: readonly string[] = []): Promise<{ code: number | null; out: string }> {
  return tool("openssl", ["s_client", "-connect", `127.0.0.1:${String(port)}`, "-servername", servername, "-verify_hostname", servername, "-CAfile", caFile, "-ign_eof", ...extra], `${line}\n`);
}

describe("federation: an organisation's mutual-TLS network and a federated partner", () => {
  let l: FederationLayout;
  let net: Network;
  const setupLog: string[] = [];
  beforeAll(async () => {
    l = await setupFederation(join(root, "federation"), (line) => setupLog.push(line));
    net = await startNetwork(l, () => undefined);
  });
  afterAll(async () => {
    await net?.close();
  });

  it("the setup is gskit commands: three servers in their own system directories, the partner's root trusted by the edge's server ID only", () => {
    const commands = setupLog.filter((s) => s.startsWith("$ gskit "));
    expect(commands.filter((c) => c.startsWith("$ gskit system init"))).toHaveLength(4);
    expect(commands).toContain(`$ gskit app trust --id ORG_EDGE_SERVER --ca org-root,partner-root --dir ${l.system.edge}`);
    expect(commands.filter((c) => c.includes("partner-root") && c.includes(l.system.app))).toEqual([]);
  });

  it("a user reaches the edge over server-auth TLS; the request crosses edge → app → db over mutual TLS, each hop naming its peer", async () => {
    const reply = await askAsUser(l, net.edge, "/orders/42");
    expect(reply).toBe("/orders/42: in stock (db saw CN=app.example.org,O=Example Org); app saw CN=edge.example.org,O=Example Org; edge saw anonymous");
  });

  it("the partner's gateway is accepted by the edge, and refused by app: 6000 on app's side, non-zero on the gateway's", async () => {
    expect(await askAsPartner(l, net.edge, "edge.example.org", "/orders/43")).toMatch(/edge saw CN=gateway\.partner\.example,O=Partner Org$/);
    const code = await refusal(askAsPartner(l, net.app, "app.example.org", "/orders/44"));
    expect(code).not.toBe(0);
    await logged(net.refusals, "ORG_APP_SERVER: 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT");
  });

  it("a user expecting another name refuses the edge (9001), and the edge sees the user hang up (9002)", async () => {
    expect(await refusal(askAsUser(l, net.edge, "/orders/45", "www.example.org"))).toBe(9001);
    await logged(net.refusals, "ORG_EDGE_SERVER: 9002 GSKX_ERROR_PEER_REFUSED_CERTIFICATE");
  });

  it.skipIf(!HAS_OPENSSL)("openssl s_client: verifies the edge by name, is refused by name, and as the partner gets in at the edge but not at db", async () => {
    const anonymous = await sClient(net.edge, "edge.example.org", l.orgRootPem, "GET /orders/46");
    expect(anonymous.out).toContain("Verify return code: 0 (ok)");
    expect(anonymous.out).toContain("edge saw anonymous");

    const wrongName = await sClient(net.edge, "www.example.org", l.orgRootPem, "GET /orders/47", ["-verify_return_error"]);
    expect(wrongName.code).not.toBe(0);
    expect(wrongName.out).toMatch(/hostname mismatch/);

    const asPartner = ["-cert", l.partnerGatewayPem, "-key", l.partnerGatewayPem, "-pass", `pass:${EXPORT_PASSWORD}`];
    const partnerAtEdge = await sClient(net.edge, "edge.example.org", l.orgRootPem, "GET /orders/48", asPartner);
    expect(partnerAtEdge.out).toContain("edge saw CN=gateway.partner.example,O=Partner Org");
    const partnerAtDb = await sClient(net.db, "db.example.org", l.orgRootPem, "GET /orders/49", asPartner);
    expect(partnerAtDb.out).not.toContain("in stock");
    await logged(net.refusals, "ORG_DB_SERVER: 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT");
  });
});

describe("router: redirect inside the organisation, forward over mutual TLS to another", () => {
  let l: RouterLayout;
  let router: Router;
  beforeAll(async () => {
    l = await setupRouter(join(root, "router"), () => undefined);
    router = await startRouter(l, () => undefined);
  });
  afterAll(async () => {
    await router?.close();
  });

  it("a message for a user of example.org: the front redirects, the user reconnects to the home server, which keeps it", async () => {
    const result = await sendMessage(l, router.front, "alice@example.org", "lunch at noon?", () => undefined);
    expect(result.hops).toEqual([`msg.example.org: REDIRECT 127.0.0.1:${String(router.homes.home1)} home1.example.org`, "home1.example.org: DELIVERED alice@example.org by home1.example.org"]);
    expect(router.mailboxes.get("home1.example.org")).toContainEqual({ to: "alice@example.org", text: "lunch at noon?", from: "user" });
  });

  it("a message for another organisation: the front forwards it over mutual TLS, and the partner's home server saw the front's certificate", async () => {
    const result = await sendMessage(l, router.front, "carol@partner.example", "signed", () => undefined);
    expect(result.hops).toEqual(["msg.example.org: DELIVERED carol@partner.example by home.partner.example"]);
    expect(router.mailboxes.get("home.partner.example")).toContainEqual({ to: "carol@partner.example", text: "signed", from: "CN=msg.example.org,O=Example Org" });
  });

  it("forwarding to a home server whose CA the front does not trust: FAILED 6000 to the user, 9002 in that server's log", async () => {
    const result = await sendMessage(l, router.front, "dave@other.example", "hello", () => undefined);
    expect(result.reply).toBe("FAILED 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT: could not deliver to home.other.example");
    await logged(router.refusals, "OTHER_HOME: 9002 GSKX_ERROR_PEER_REFUSED_CERTIFICATE");
    expect(router.mailboxes.get("home.other.example")).toEqual([]);
  });

  it("a user going straight to the partner's home server is refused for having no certificate (403 on its side) and nothing is delivered", async () => {
    const before = router.mailboxes.get("home.partner.example")?.length ?? 0;
    let answer: string;
    try {
      answer = await sendDirect(l, router.homes.partner, "home.partner.example", "carol@partner.example", "sneaky");
    } catch (error) {
      if (!isGskError(error)) throw error;
      answer = `refused ${String(error.code)}`;
    }
    expect(answer).not.toMatch(/DELIVERED/);
    await logged(router.refusals, "PARTNER_HOME: 403 GSK_ERROR_NO_CERTIFICATE");
    expect(router.mailboxes.get("home.partner.example")).toHaveLength(before);
  });

  it("an unknown user of example.org: UNKNOWN, and no redirect", async () => {
    expect((await sendMessage(l, router.front, "zed@example.org", "hello", () => undefined)).hops).toEqual(["msg.example.org: UNKNOWN zed@example.org"]);
  });

  it.skipIf(!HAS_OPENSSL)("openssl s_client speaks the protocol to the front and gets the redirect", async () => {
    const { out } = await sClient(router.front, "msg.example.org", l.exampleRootPem, "SEND bob@example.org hi");
    expect(out).toContain("Verify return code: 0 (ok)");
    expect(out).toContain(`REDIRECT 127.0.0.1:${String(router.homes.home2)} home2.example.org`);
  });
});

describe("proxy: users authenticated by client certificate, the backend told who over mutual TLS", () => {
  let l: ProxyLayout;
  let all: Awaited<ReturnType<typeof startAll>>;
  beforeAll(async () => {
    l = await setupProxy(join(root, "proxy"), () => undefined);
    all = await startAll(l, () => undefined);
  });
  afterAll(async () => {
    await all?.close();
  });

  const curl = (port: number, name: string, user: keyof ProxyLayout["users"] | undefined, extra: readonly string[] = []): Promise<{ code: number | null; out: string }> =>
    tool("curl", [
      "-sS",
      "--cacert",
      l.rootPem,
      ...(user ? ["--cert", l.users[user], "--pass", USER_KEY_PASSWORD] : []),
      "--resolve",
      `${name}:${String(port)}:127.0.0.1`,
      "-w",
      "\nHTTP %{http_code}\n",
      ...extra,
      `https://${name}:${String(port)}/orders?id=7`,
    ]);

  it.skipIf(!HAS_CURL)("curl with alice's certificate: 200, and the backend saw alice's identity from the proxy, not the header she forged", async () => {
    const { code, out } = await curl(all.proxy.port, "portal.example.org", "alice", ["-H", "X-Client-Identity: admin@example.org"]);
    expect(code).toBe(0);
    expect(out).toContain("HTTP 200");
    expect(JSON.parse(out.split("\n")[0]!)).toEqual({ identity: "alice@example.org", via: "CN=portal.example.org,O=Example Org", method: "GET", path: "/orders?id=7" });
  });

  it.skipIf(!HAS_CURL)("curl without a certificate, with an untrusted one, with one not on the list: 403 pages that give the reason and its code", async () => {
    const none = await curl(all.proxy.port, "portal.example.org", undefined);
    expect(none.out).toContain("HTTP 403");
    expect(none.out).toContain("no client certificate was presented: 403 GSK_ERROR_NO_CERTIFICATE");
    const mallory = await curl(all.proxy.port, "portal.example.org", "mallory");
    expect(mallory.out).toContain("HTTP 403");
    expect(mallory.out).toContain("the client certificate did not validate: 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT");
    const bob = await curl(all.proxy.port, "portal.example.org", "bob");
    expect(bob.out).toContain("HTTP 403");
    expect(bob.out).toContain("bob@example.org is not on this site's list of allowed users");
  });

  it.skipIf(!HAS_CURL)("curl with alice's certificate straight to the backend: refused in the handshake, 9001 in the backend's log", async () => {
    const { code, out } = await curl(all.backend.port, "backend.example.org", "alice");
    expect(code).not.toBe(0);
    expect(out).not.toContain("HTTP 200");
    await logged(all.backend.refusals, "BACKEND_API: 9001 GSKX_ERROR_PEER_NAME_MISMATCH");
  });

  it("the demo's own client (node:https) sees the same outcomes", async () => {
    const alice = await get(l, all.proxy.port, "/a", { user: "alice" });
    expect(alice).toMatchObject({ status: 200 });
    const mallory = await get(l, all.proxy.port, "/a", { user: "mallory" });
    expect(mallory).toMatchObject({ status: 403, body: expect.stringContaining("6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT") as unknown });
  });
});

describe("diagnose: a device that says which step failed", () => {
  let l: DiagnoseLayout;
  let demo: Awaited<ReturnType<typeof runDiagnoseDemo>>;
  beforeAll(async () => {
    l = await setupDiagnose(join(root, "diagnose"), () => undefined);
    demo = await runDiagnoseDemo(join(root, "diagnose"), () => undefined, true);
  });
  afterAll(async () => {
    await demo?.sync.close();
  });

  it("each scenario stops at its step with its code, and the chain is shown once a handshake completed", () => {
    const at = (name: string): { step?: string; code?: number; chain?: number } => {
      const d = demo.scenarios.find((s) => s.name === name)!.diagnosis;
      const failed = d.steps.find((s) => !s.ok);
      return { ...(failed ? { step: failed.step } : {}), ...(failed?.code !== undefined ? { code: failed.code } : {}), ...(d.chain ? { chain: d.chain.length } : {}) };
    };
    expect(at("synced")).toEqual({ chain: 2 });
    expect(demo.scenarios.find((s) => s.name === "synced")!.diagnosis.steps.map((s) => s.step)).toEqual(["resolve", "connect", "handshake", "validate", "send"]);
    expect(at("no such host")).toEqual({ step: "resolve", code: 406 });
    expect(at("server down")).toEqual({ step: "connect", code: 406 });
    expect(at("not TLS")).toMatchObject({ step: "handshake" });
    expect(at("impostor")).toEqual({ step: "validate", code: 6000, chain: 1 });
    expect(at("wrong name")).toEqual({ step: "validate", code: 9001, chain: 2 });
    expect(at("wrong token")).toEqual({ step: "send", chain: 2 });
    if (HAS_OPENSSL) expect(at("expired")).toEqual({ step: "validate", code: 107, chain: 2 });
    expect(demo.passed).toBe(true);
  });

  /** `gskit connect` in-process, as the CLI runs it. */
  async function connect(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await gskitConnect({ argv, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {} });
    return { code, out: out.join(""), err: err.join("") };
  }

  it("gskit connect: the chain, protocol, cipher and every step; exit 0", async () => {
    const r = await connect("--connect", `localhost:${String(demo.sync.port)}`, "--servername", "sync.example.org", "--trust", l.rootPem, "--send", "HELLO device-17 token-17-s3cret", "--expect", "^OK");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^resolve +ok +localhost resolves to/m);
    expect(r.out).toMatch(/^send +ok +sent \d+ bytes; the server answered 'OK 3 items'/m);
    expect(r.out).toContain("subject  CN=sync.example.org,O=Example Devices");
    expect(r.out).toContain("issuer   CN=Sync Root CA,O=Example Devices");
    expect(r.out).toMatch(/^PROTOCOL +TLSv1\.[23]$/m);
    expect(r.out).toMatch(/^CIPHER +TLS_/m);
    expect(r.err).toBe("");
  });

  it("gskit connect: a wrong name fails at validate (9001, exit 9001 % 256), a closed port at connect, JSON on request", async () => {
    const wrong = await connect("--connect", `127.0.0.1:${String(demo.sync.port)}`, "--servername", "backup.example.org", "--trust", l.rootPem, "--json");
    expect(wrong.code).toBe(9001 % 256);
    const json = JSON.parse(wrong.out) as { ok: boolean; steps: { step: string; ok: boolean; code?: number }[]; chain: unknown[] };
    expect(json.ok).toBe(false);
    expect(json.steps.at(-1)).toMatchObject({ step: "validate", ok: false, code: 9001 });
    expect(json.chain).toHaveLength(2);
    expect(wrong.err).toContain("gskit: connect: the validate step failed");

    const refused = await connect("--connect", "127.0.0.1:1", "--trust", l.rootPem);
    expect(refused.code).toBe(406 % 256);
    expect(refused.err).toMatch(/the connect step failed: 127\.0\.0\.1:1 refused the connection.*\(GSK_ERROR_IO 406\)/);

    const usage = await connect("--connect", "127.0.0.1");
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^gskit: connect: --connect must be HOST:PORT .*\(GSK_INVALID_PARAMETER 13\)\n$/);
  });

  it.skipIf(!HAS_OPENSSL)("gskit connect against openssl s_server with an expired certificate: validate fails with 107 and names the date", async () => {
    const expired = await startExpiredServer(l);
    try {
      const r = await connect("--connect", `127.0.0.1:${String(expired.port)}`, "--servername", "sync.example.org", "--trust", l.rootPem);
      expect(r.code).toBe(107);
      expect(r.out).toMatch(/^validate +FAILED +107 GSK_KEYFILE_CERT_EXPIRED: .*has expired \(on \d{4}-/m);
    } finally {
      expired.child.kill();
    }
  });
});

describe("the demo scripts, as a user runs them", () => {
  it("federation's demo exits 0 with every outcome as expected (in-process run of the same script)", async () => {
    const lines: string[] = [];
    const { passed, outcomes } = await runFederationDemo(join(root, "federation"), (line) => lines.push(line));
    expect(outcomes.map((o) => [o.what, o.ok])).toEqual([
      ["user → edge", true],
      ["partner → edge", true],
      ["partner → app", false],
      ["user → edge as www.example.org", false],
    ]);
    expect(passed).toBe(true);
    expect(lines.at(-1)).toBe("federation: every outcome as expected");
  });

  it("each demo script runs with node from a fresh process and exits 0", async () => {
    const scripts = ["federation", "router", "proxy", "diagnose"].map((name) => tool(process.execPath, ["--import", "tsx", `examples/${name}/demo.ts`, join(root, name)]));
    const results = await Promise.all(scripts);
    for (const r of results) expect(r.code, r.out).toBe(0);
    expect(results.map((r) => r.out.trim().split("\n").at(-1))).toEqual([
      "federation: every outcome as expected",
      "router: every outcome as expected",
      "proxy: every outcome as expected",
      "diagnose: every scenario stopped at the expected step",
    ]);
  });
});
