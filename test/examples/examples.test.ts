/** The examples run as a user runs them, and do what their headers say. */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

import { runClient } from "../../examples/client.js";
import { ensureDemoPki } from "../../examples/demo-pki.js";
import { runGskClient } from "../../examples/gsk-client.js";
import { startGskServer } from "../../examples/gsk-server.js";
import { startServer } from "../../examples/server.js";

const run = promisify(execFile);

describe("examples", () => {
  it("every client/server pair echoes over mutual TLS, and both ends report it", async () => {
    const pki = await ensureDemoPki(mkdtempSync(join(tmpdir(), "gskit-demo-")));
    const serverLog: string[] = [];
    const clientLog: string[] = [];
    const gsk = await startGskServer(pki.serverStore, pki.password, 0, (l) => serverLog.push(l));
    const idiomatic = await startServer(pki.serverStore, pki.password, 0, (l) => serverLog.push(l));
    try {
      for (const port of [gsk.port, idiomatic.address.port]) {
        expect(await runGskClient(pki.clientStore, pki.password, port, "one", (l) => clientLog.push(l))).toBe("one");
        expect(await runClient(pki.clientStore, pki.password, port, "two", (l) => clientLog.push(l))).toBe("two");
      }
    } finally {
      await gsk.close();
      await idiomatic.close();
    }
    // The servers saw the client's certificate; the clients saw TLS 1.3 and the server's.
    expect(serverLog.filter((l) => /CN=demo-client/.test(l))).toHaveLength(4);
    expect(clientLog.filter((l) => /TLSV13|TLSv1\.3/.test(l))).toHaveLength(4);
  });

  it("the script behind npm run example exits 0 after all four pairs echoed", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/mtls-demo.ts"], { cwd: process.cwd(), timeout: 60_000 });
    expect(stdout).toContain("all four client/server pairs echoed over mutual TLS");
  });
});
