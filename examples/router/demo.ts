/**
 * The message router end to end: sets up the three organisations (setup.ts) once, starts the
 * front, the home servers and the other organisations' home servers, and sends:
 *
 * 1. alice@example.org — the front redirects, the user reconnects to home1 and delivers there;
 * 2. carol@partner.example — the front forwards over mutual TLS, partner's home delivers;
 * 3. dave@other.example — the front cannot verify other.example's home server: FAILED 6000;
 * 4. zed@example.org — nobody lives there: UNKNOWN;
 * 5. carol@partner.example sent by the user straight to partner's home — refused: that server
 *    requires a client certificate (403 on its side, non-zero on the user's).
 *
 * Exits 0 when every outcome is the expected one. With --serve it then keeps the servers running
 * for examples/router/client.ts (Ctrl-C to stop).
 * Run: npx tsx examples/router/demo.ts [--serve] [DIR]   (default examples/.pki/router)
 */
import { fileURLToPath } from "node:url";

import { isGskError } from "gskit-tls";

import { sendDirect, sendMessage } from "./client.js";
import { startRouter, type Router } from "./servers.js";
import { DEFAULT_DIR, setup } from "./setup.js";

export async function runDemo(dir = DEFAULT_DIR, log: (line: string) => void = console.log, keep = false): Promise<{ passed: boolean; router: Router }> {
  const l = await setup(dir, log);
  const router = await startRouter(l, log);
  log(`front msg.example.org on 127.0.0.1:${String(router.front)}`);
  let passed = false;
  try {
    const alice = await sendMessage(l, router.front, "alice@example.org", "lunch at noon?", log);
    const carol = await sendMessage(l, router.front, "carol@partner.example", "the contract is signed", log);
    const dave = await sendMessage(l, router.front, "dave@other.example", "hello", log);
    const zed = await sendMessage(l, router.front, "zed@example.org", "hello", log);
    let direct: string;
    try {
      const answer = await sendDirect(l, router.homes.partner, "home.partner.example", "carol@partner.example", "hi");
      direct = answer === "" ? "refused: closed without answering" : `answered '${answer}'`;
    } catch (error) {
      if (!isGskError(error)) throw error;
      direct = `refused: ${String(error.code)} ${error.codeName}`;
    }
    log(`user → home.partner.example directly: ${direct}`);
    // A server logs a refusal when its side of the handshake ends, which may be a moment after
    // the client gave up: wait for the entries this run should produce (bounded).
    for (let i = 0; i < 80 && !["PARTNER_HOME: 403 GSK_ERROR_NO_CERTIFICATE", "OTHER_HOME: 9002 GSKX_ERROR_PEER_REFUSED_CERTIFICATE"].every((e) => router.refusals.includes(e)); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    passed =
      alice.hops.length === 2 &&
      alice.reply === "DELIVERED alice@example.org by home1.example.org" &&
      carol.hops.length === 1 &&
      carol.reply === "DELIVERED carol@partner.example by home.partner.example" &&
      dave.reply.startsWith("FAILED 6000 ") &&
      zed.reply === "UNKNOWN zed@example.org" &&
      direct.startsWith("refused") &&
      router.refusals.includes("PARTNER_HOME: 403 GSK_ERROR_NO_CERTIFICATE");
    for (const [name, box] of router.mailboxes) for (const d of box) log(`${name} keeps for ${d.to}: '${d.text}' (handed over by ${d.from})`);
    log(passed ? "router: every outcome as expected" : "router: UNEXPECTED OUTCOME");
  } finally {
    if (!keep) await router.close();
  }
  return { passed, router };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const serve = args.includes("--serve");
  const { passed, router } = await runDemo(args.find((a) => a !== "--serve") ?? DEFAULT_DIR, console.log, serve);
  process.exitCode = passed ? 0 : 1;
  if (serve) {
    console.log(`serving; try: npx tsx examples/router/client.ts ${String(router.front)} bob@example.org hello   (Ctrl-C to stop)`);
    process.once("SIGINT", () => void router.close());
  }
}
