/**
 * The certificate-authenticating reverse proxy end to end: sets up the PKI (setup.ts) once,
 * starts the backend and the proxy, and makes the requests a user's browser or curl would, with
 * node:https as the client (the test does the same with curl):
 *
 * 1. alice's certificate, with a forged X-Client-Identity — 200: the backend saw alice@example.org;
 * 2. no certificate — 403, "403 GSK_ERROR_NO_CERTIFICATE";
 * 3. mallory's certificate from an untrusted CA — 403, "6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT";
 * 4. bob's valid certificate, not on the allowed list — 403, "not on this site's list";
 * 5. alice going around the proxy to the backend — refused in the handshake: the backend takes
 *    portal.example.org's certificate only (9001 on the backend's side).
 *
 * Exits 0 when every outcome is the expected one. With --serve it keeps running (Ctrl-C to
 * stop) and prints curl commands to try.
 * Run: npx tsx examples/proxy/demo.ts [--serve] [DIR]   (default examples/.pki/proxy)
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { fileURLToPath } from "node:url";

import { startBackend, type Backend } from "./backend.js";
import { startProxy, type Proxy } from "./proxy.js";
import { DEFAULT_DIR, setup, USER_KEY_PASSWORD, type Layout } from "./setup.js";

export const ALLOWED = ["alice@example.org"];

export async function startAll(l: Layout, log: (line: string) => void = console.log): Promise<{ proxy: Proxy; backend: Backend; close(): Promise<void> }> {
  const backend = await startBackend(l.system.backend, log);
  try {
    const proxy = await startProxy({ systemDirectory: l.system.proxy, backend: { port: backend.port, name: "backend.example.org" }, allowed: ALLOWED, log });
    return { proxy, backend, close: async () => void (await Promise.all([proxy.close(), backend.close()])) };
  } catch (error) {
    await backend.close();
    throw error;
  }
}

/** One HTTPS GET as a user: status and body, or the TLS error a refused handshake gave. */
export function get(l: Layout, port: number, path: string, options: { user?: keyof Layout["users"]; servername?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string } | { error: string }> {
  const pem = options.user ? readFileSync(l.users[options.user]) : undefined;
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        servername: options.servername ?? "portal.example.org",
        ca: readFileSync(l.rootPem),
        ...(pem ? { cert: pem, key: pem, passphrase: USER_KEY_PASSWORD } : {}),
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: `${e.code ?? ""} ${e.message}`.trim() }));
    req.end();
  });
}

export async function runDemo(dir = DEFAULT_DIR, log: (line: string) => void = console.log, keep = false): Promise<{ passed: boolean; port: number; close(): Promise<void> }> {
  const l = await setup(dir, log);
  const all = await startAll(l, log);
  const port = all.proxy.port;
  log(`proxy https://portal.example.org:${String(port)} (127.0.0.1), backend 127.0.0.1:${String(all.backend.port)}`);
  let passed = false;
  try {
    const show = (what: string, r: { status: number; body: string } | { error: string }): typeof r => {
      log(`${what}: ${"error" in r ? `TLS error: ${r.error}` : `${String(r.status)} ${r.body.replace(/\s+/g, " ").trim()}`}`);
      return r;
    };
    const alice = show("alice", await get(l, port, "/orders", { user: "alice", headers: { "X-Client-Identity": "admin@example.org" } }));
    const none = show("no certificate", await get(l, port, "/orders"));
    const mallory = show("mallory", await get(l, port, "/orders", { user: "mallory" }));
    const bob = show("bob", await get(l, port, "/orders", { user: "bob" }));
    const around = show("alice straight to the backend", await get(l, all.backend.port, "/orders", { user: "alice", servername: "backend.example.org" }));
    const body = (r: { status: number; body: string } | { error: string }, status: number): string => ("error" in r || r.status !== status ? "" : r.body);
    passed =
      (JSON.parse(body(alice, 200) || "{}") as { identity?: string }).identity === "alice@example.org" &&
      body(none, 403).includes("403 GSK_ERROR_NO_CERTIFICATE") &&
      body(mallory, 403).includes("6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT") &&
      body(bob, 403).includes("not on this site's list") &&
      "error" in around;
    log(passed ? "proxy: every outcome as expected" : "proxy: UNEXPECTED OUTCOME");
  } finally {
    if (!keep) await all.close();
  }
  return { passed, port, close: all.close };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const serve = args.includes("--serve");
  const dir = args.find((a) => a !== "--serve") ?? DEFAULT_DIR;
  const { passed, port, close } = await runDemo(dir, console.log, serve);
  process.exitCode = passed ? 0 : 1;
  if (serve) {
    const l = await setup(dir, () => undefined);
    console.log(`serving; try:\n  curl --cacert ${l.rootPem} --cert ${l.users.alice} --pass ${USER_KEY_PASSWORD} --resolve portal.example.org:${String(port)}:127.0.0.1 https://portal.example.org:${String(port)}/orders`);
    process.once("SIGINT", () => void close());
  }
}
