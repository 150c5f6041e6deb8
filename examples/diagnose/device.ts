/**
 * A device syncing with its server, and saying exactly what went wrong when it cannot: the name
 * does not resolve, nothing listens, the TLS handshake fails, the server's certificate is not
 * trusted, has expired or is for another name, or the server refuses the device's token.
 * `diagnoseConnection` (gskit-tls/tools) runs the steps; the device turns the failed one into a
 * line its user (or its support desk) can act on.
 *
 * Run: npx tsx examples/diagnose/device.ts HOST:PORT [TOKEN]   (against demo.ts --serve)
 */
import { fileURLToPath } from "node:url";

import { diagnoseConnection, type Diagnosis } from "gskit-tls/tools";

import { DEFAULT_DIR, layout, type Layout } from "./setup.js";

/** Advice per failed step, in the device user's terms. */
const ADVICE: Readonly<Record<string, string>> = {
  resolve: "check the server address in the settings, and that the device is online",
  connect: "the sync server is not reachable: it may be down, or a firewall is in the way",
  handshake: "the server does not speak the expected secure protocol: contact support",
  validate: "the server could not prove it is the real sync server: do NOT continue; contact support",
  send: "the server did not accept this device: re-register the device",
};

export interface SyncOptions {
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  readonly device?: string;
  readonly token: string;
  readonly timeoutMs?: number;
}

export async function syncCheck(l: Layout, o: SyncOptions, log: (line: string) => void = console.log): Promise<Diagnosis> {
  const d = await diagnoseConnection({
    host: o.host,
    port: o.port,
    servername: o.servername ?? "sync.example.org",
    trustFile: l.rootPem,
    timeoutMs: o.timeoutMs ?? 5000,
    credentials: `HELLO ${o.device ?? "device-17"} ${o.token}\n`,
    expectReply: /^OK\b/,
  });
  for (const s of d.steps) log(`  ${s.step.padEnd(9)} ${s.ok ? "ok    " : "FAILED"} ${s.code !== undefined && !s.ok ? `${String(s.code)} ${s.codeName ?? ""}: ` : ""}${s.message}`);
  const leaf = d.chain?.[0];
  if (leaf) log(`  server certificate: ${leaf.subject}, issued by ${leaf.issuer}, valid ${leaf.validFrom} to ${leaf.validTo}`);
  const failed = d.steps.find((s) => !s.ok);
  log(failed ? `  → sync failed at '${failed.step}': ${ADVICE[failed.step] ?? ""}` : `  → synced over ${d.protocol ?? ""} (${d.cipher ?? ""})`);
  return d;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [target, token] = process.argv.slice(2);
  const m = /^(.+):(\d+)$/.exec(target ?? "");
  if (!m) {
    console.error("usage: npx tsx examples/diagnose/device.ts HOST:PORT [TOKEN]");
    process.exitCode = 2;
  } else {
    const d = await syncCheck(layout(DEFAULT_DIR), { host: m[1]!, port: Number(m[2]), token: token ?? "token-17-s3cret" });
    process.exitCode = d.ok ? 0 : 1;
  }
}
