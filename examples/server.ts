/**
 * The echo server of examples/gsk-server.ts with the idiomatic API: one Environment (its TLS
 * context is built once), a TlsServer, and `for await` over each session's data.
 * Requires a client certificate (mutual TLS). Run: npx tsx examples/server.ts [port]
 */
import { fileURLToPath } from "node:url";

import { Environment, type TlsServer } from "gskit-tls";
import { ensureDemoPki } from "./demo-pki.js";

export async function startServer(keystore: string, password: string, port = 0, log = console.log): Promise<TlsServer> {
  const env = await Environment.open({ role: "server", keystore: { file: keystore, password }, clientAuth: "required" });
  const server = env.createServer(
    async (session) => {
      log(`server: ${session.protocol} ${session.cipher}, client ${session.peerCertificate?.subject.replace(/\n/g, ",")}`);
      for await (const chunk of session) await session.write(chunk);
      await session.close();
    },
    (error) => log(`server: handshake failed: ${error.codeName} ${error.code}: ${error.message}`),
  );
  await server.listen(port);
  return server;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pki = await ensureDemoPki();
  const server = await startServer(pki.serverStore, pki.password, Number(process.argv[2] ?? 0));
  console.log(`server listening on 127.0.0.1:${server.address.port} (Ctrl-C to stop)`);
}
