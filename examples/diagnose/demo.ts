/**
 * A device diagnosing its connection to the sync service, one scenario per way it fails: sets up
 * the PKI (setup.ts) once, starts the sync server, an impostor and the other broken peers, and
 * runs the device's check (device.ts) against each:
 *
 *   synced       localhost → the real server                          every step ok
 *   no such host sync.invalid                                         resolve   406 (ENOTFOUND)
 *   server down  a port nobody listens on                             connect   406 (ECONNREFUSED)
 *   not TLS      a plain-text server                                  handshake (its code)
 *   impostor     sync.example.org from a CA the device does not trust validate  6000
 *   wrong name   the real server, expected as backup.example.org      validate  9001
 *   expired      openssl s_server with an expired certificate         validate  107 (skipped without openssl)
 *   wrong token  the real server, a token it does not know            send      DENIED
 *
 * Exits 0 when every scenario fails (or succeeds) at the step expected. With --serve it keeps the
 * sync server running for device.ts and `gskit connect` (Ctrl-C to stop).
 * Run: npx tsx examples/diagnose/demo.ts [--serve] [DIR]   (default examples/.pki/diagnose)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo, type Server } from "node:net";
import { fileURLToPath } from "node:url";

import type { Diagnosis } from "gskit-tls/tools";

import { syncCheck } from "./device.js";
import { DEFAULT_DIR, setup, type Layout } from "./setup.js";
import { startSyncServer, type SyncServer } from "./sync-server.js";

/** True when an `openssl` command is on PATH. */
export function hasOpenssl(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}

/** `openssl s_server` with the expired certificate, for one connection; resolves with its port. */
export function startExpiredServer(l: Layout): Promise<{ port: number; child: ChildProcess }> {
  // stdin is a pipe left open: s_server stops at the end of its standard input.
  const child = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", l.expiredCertPem, "-key", l.expiredKeyPem, "-naccept", "1"], { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /ACCEPT .*:(\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`openssl s_server exited with ${String(code)}: ${out}`)));
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

export interface Scenario {
  readonly name: string;
  readonly diagnosis: Diagnosis;
  /** The step expected to fail (undefined: every step passes), and its code. */
  readonly expectStep: string | undefined;
  readonly expectCode?: number;
}

export async function runDemo(dir = DEFAULT_DIR, log: (line: string) => void = console.log, keep = false): Promise<{ passed: boolean; scenarios: Scenario[]; sync: SyncServer }> {
  const l = await setup(dir, log);
  const sync = await startSyncServer(l, "SYNC_SERVER", log);
  const impostor = await startSyncServer(l, "SYNC_IMPOSTOR", log);
  // Speaks first, and not TLS: what a device meets behind a captive portal or a wrong port.
  const plain = createServer((socket) => socket.end("220 mail.example.org ESMTP ready\r\n"));
  // A port that was free a moment ago: nothing listens there now.
  const closed = createServer();
  const closedPort = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  const scenarios: Scenario[] = [];
  try {
    const plainPort = await listen(plain);
    const run = async (name: string, expectStep: string | undefined, expectCode: number | undefined, o: Parameters<typeof syncCheck>[1]): Promise<void> => {
      log(`${name}:`);
      scenarios.push({ name, diagnosis: await syncCheck(l, o, log), expectStep, ...(expectCode !== undefined ? { expectCode } : {}) });
    };
    const token = "token-17-s3cret";
    await run("synced", undefined, undefined, { host: "localhost", port: sync.port, token });
    await run("no such host", "resolve", 406, { host: "sync.invalid", port: sync.port, token });
    await run("server down", "connect", 406, { host: "127.0.0.1", port: closedPort, token });
    await run("not TLS", "handshake", undefined, { host: "127.0.0.1", port: plainPort, token });
    await run("impostor", "validate", 6000, { host: "127.0.0.1", port: impostor.port, token });
    await run("wrong name", "validate", 9001, { host: "127.0.0.1", port: sync.port, servername: "backup.example.org", token });
    if (hasOpenssl()) {
      const expired = await startExpiredServer(l);
      try {
        await run("expired", "validate", 107, { host: "127.0.0.1", port: expired.port, token });
      } finally {
        expired.child.kill();
      }
    } else {
      log("expired: skipped, no openssl command on PATH to serve the expired certificate");
    }
    await run("wrong token", "send", undefined, { host: "127.0.0.1", port: sync.port, token: "stolen-token" });
  } finally {
    plain.close();
    await impostor.close();
    if (!keep) await sync.close();
  }
  const passed = scenarios.every((s) => {
    const failed = s.diagnosis.steps.find((x) => !x.ok);
    return failed?.step === s.expectStep && (s.expectCode === undefined || failed?.code === s.expectCode);
  });
  log(passed ? "diagnose: every scenario stopped at the expected step" : "diagnose: UNEXPECTED OUTCOME");
  return { passed, scenarios, sync };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const serve = args.includes("--serve");
  const dir = args.find((a) => a !== "--serve") ?? DEFAULT_DIR;
  const { passed, sync } = await runDemo(dir, console.log, serve);
  process.exitCode = passed ? 0 : 1;
  if (serve) {
    const l = await setup(dir, () => undefined);
    console.log(`serving sync.example.org on 127.0.0.1:${String(sync.port)}; try:`);
    console.log(`  npx tsx examples/diagnose/device.ts 127.0.0.1:${String(sync.port)}`);
    console.log(`  npx tsx src/cli/main.ts connect --connect 127.0.0.1:${String(sync.port)} --servername sync.example.org --trust ${l.rootPem} --send 'HELLO device-17 token-17-s3cret' --expect '^OK'`);
    process.once("SIGINT", () => void sync.close());
  }
}
