/**
 * The client of examples/gsk-client.ts with the idiomatic API: open an Environment, connect
 * (handshake, trust-list validation and the strict name check included), write, read, close —
 * `await using` closes both on every path. Run: npx tsx examples/client.ts <port> [message]
 */
import { fileURLToPath } from "node:url";

import { Environment } from "gskit-tls";
import { ensureDemoPki } from "./demo-pki.js";

export async function runClient(keystore: string, password: string, port: number, message: string, log = console.log): Promise<string> {
  await using env = await Environment.open({ keystore: { file: keystore, password } });
  await using session = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
  log(`client: ${session.protocol} ${session.cipher}, server ${session.peerCertificate?.subject.replace(/\n/g, ",")}`);
  await session.write(message);
  const reply = (await session.read())?.toString() ?? "";
  log(`client: server echoed '${reply}'`);
  return reply;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pki = await ensureDemoPki();
  await runClient(pki.clientStore, pki.password, Number(process.argv[2]), process.argv[3] ?? "hello from client");
}
