/**
 * The federated network end to end: sets up the PKI and application IDs (setup.ts) once, starts
 * edge, app and db, and runs each caller against them:
 *
 * 1. a user of the organisation asks the edge (server-auth TLS, DNS-name check) — the request
 *    travels edge → app → db over mutual TLS and each hop says whom it saw;
 * 2. the partner's gateway asks the edge — accepted: the edge's application ID trusts the
 *    partner's root;
 * 3. the partner's gateway asks app directly — refused: app trusts the organisation CA only
 *    (6000 on app's side, a non-zero code on the gateway's);
 * 4. a user who expects another name of the edge — refused by the user's own name check (9001).
 *
 * Exits 0 when every outcome is the expected one.
 * Run: npx tsx examples/federation/demo.ts [DIR]   (default examples/.pki/federation)
 */
import { fileURLToPath } from "node:url";

import { isGskError } from "gskit-tls";

import { askAsPartner, askAsUser } from "./clients.js";
import { startNetwork } from "./network.js";
import { DEFAULT_DIR, setup } from "./setup.js";

/** One caller's outcome: the reply, or the code it was refused with. */
export interface Outcome {
  readonly what: string;
  readonly ok: boolean;
  readonly text: string;
  readonly code?: number;
}

async function attempt(what: string, call: () => Promise<string>): Promise<Outcome> {
  try {
    return { what, ok: true, text: await call() };
  } catch (error) {
    if (!isGskError(error)) throw error;
    return { what, ok: false, code: error.code, text: `${String(error.code)} ${error.codeName}: ${error.message}` };
  }
}

/** Waits up to two seconds for `entries` to appear in `log`. */
export async function logged(log: readonly string[], entries: readonly string[]): Promise<void> {
  for (let i = 0; i < 80 && !entries.every((e) => log.includes(e)); i++) await new Promise((r) => setTimeout(r, 25));
}

export async function runDemo(dir = DEFAULT_DIR, log: (line: string) => void = console.log): Promise<{ outcomes: Outcome[]; refusals: string[]; passed: boolean }> {
  const l = await setup(dir, log);
  const net = await startNetwork(l, log);
  log(`edge 127.0.0.1:${String(net.edge)}, app 127.0.0.1:${String(net.app)}, db 127.0.0.1:${String(net.db)}`);
  const outcomes: Outcome[] = [];
  try {
    outcomes.push(await attempt("user → edge", () => askAsUser(l, net.edge, "/orders/42")));
    outcomes.push(await attempt("partner → edge", () => askAsPartner(l, net.edge, "edge.example.org", "/orders/43")));
    outcomes.push(await attempt("partner → app", () => askAsPartner(l, net.app, "app.example.org", "/orders/44")));
    outcomes.push(await attempt("user → edge as www.example.org", () => askAsUser(l, net.edge, "/orders/45", "www.example.org")));
    // A server logs a refusal when its side of the handshake ends, which may be a moment after
    // the client gave up: wait for the entries this run should produce (bounded).
    await logged(net.refusals, ["ORG_APP_SERVER: 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT", "ORG_EDGE_SERVER: 9002 GSKX_ERROR_PEER_REFUSED_CERTIFICATE"]);
  } finally {
    await net.close();
  }
  for (const o of outcomes) log(`${o.what}: ${o.ok ? "OK" : "REFUSED"} ${o.text}`);
  for (const r of net.refusals) log(`server log: ${r}`);
  const [user, partnerEdge, partnerApp, wrongName] = outcomes;
  const passed =
    user?.ok === true &&
    partnerEdge?.ok === true &&
    partnerApp?.ok === false &&
    net.refusals.includes("ORG_APP_SERVER: 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT") &&
    wrongName?.ok === false &&
    wrongName.code === 9001;
  log(passed ? "federation: every outcome as expected" : "federation: UNEXPECTED OUTCOME");
  return { outcomes, refusals: net.refusals, passed };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { passed } = await runDemo(process.argv[2] ?? DEFAULT_DIR);
  process.exitCode = passed ? 0 : 1;
}
