/**
 * The main job: client and server over mutual TLS, with their own generated PKI. Starts the
 * gsk_* server and the idiomatic server, and talks to each with both clients.
 * Run: npm run example
 */
import { runClient } from "./client.js";
import { ensureDemoPki } from "./demo-pki.js";
import { runGskClient } from "./gsk-client.js";
import { startGskServer } from "./gsk-server.js";
import { startServer } from "./server.js";

const pki = await ensureDemoPki();
console.log(`PKI: ${pki.serverStore}, ${pki.clientStore}`);

const gskServer = await startGskServer(pki.serverStore, pki.password);
console.log(`gsk_* server on 127.0.0.1:${gskServer.port}`);
const server = await startServer(pki.serverStore, pki.password);
console.log(`idiomatic server on 127.0.0.1:${server.address.port}`);

let failed = false;
for (const [name, port] of [["gsk_* server", gskServer.port], ["idiomatic server", server.address.port]] as const) {
  for (const [client, run] of [["gsk_* client", runGskClient], ["idiomatic client", runClient]] as const) {
    const message = `hello from the ${client} to the ${name}`;
    try {
      const reply = await run(pki.clientStore, pki.password, port, message);
      if (reply !== message) throw new Error(`echo mismatch: '${reply}'`);
    } catch (error) {
      failed = true;
      console.error(`${client} → ${name}: ${(error as Error).message}`);
    }
  }
}
await gskServer.close();
await server.close();
console.log(failed ? "mutual TLS demo: FAILED" : "mutual TLS demo: all four client/server pairs echoed over mutual TLS");
process.exitCode = failed ? 1 : 0;
