/**
 * examples/cluster-server.ts as a user runs it: two cluster workers behind one port, sharing
 * session-ticket keys, so a client's session resumes on whichever worker takes the connection.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ensureDemoPki } from "../../examples/demo-pki.js";
import { Environment, type Session } from "../../src/index.js";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGTERM");
});

function startCluster(pkiDir: string, workers: number): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/cluster-server.ts", "0", String(workers), pkiDir], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+) with (\d+) workers/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => reject(new Error(`cluster example exited with ${String(code)}: ${err}`)));
  });
}

async function readLine(session: Session): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const chunk = await session.read();
    if (!chunk) throw new Error(`end of stream after ${JSON.stringify(text)}`);
    text += chunk.toString();
  }
  return text.slice(0, text.indexOf("\n"));
}

describe("examples/cluster-server.ts", () => {
  it("resumes a client's session on another worker than the one that issued its ticket", async () => {
    const pki = await ensureDemoPki(mkdtempSync(join(tmpdir(), "gskit-cluster-")));
    const port = await startCluster(join(pki.serverStore, ".."), 2);
    await using env = await Environment.open({ keystore: { file: pki.clientStore, password: pki.password } });

    const seen: { pid: string; serverResumed: boolean; clientResumed: boolean }[] = [];
    for (let i = 0; i < 6; i++) {
      await using session = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
      const m = /^hello from worker (\d+), resumed (yes|no)$/.exec(await readLine(session));
      expect(m).not.toBeNull();
      await session.write("ping");
      expect((await session.read())?.toString()).toBe("ping");
      seen.push({ pid: m![1]!, serverResumed: m![2] === "yes", clientResumed: session.resumed });
    }

    // Both workers served; every connection after the first resumed, on both ends.
    expect(new Set(seen.map((s) => s.pid)).size).toBe(2);
    expect(seen[0]).toMatchObject({ serverResumed: false, clientResumed: false });
    for (const s of seen.slice(1)) expect(s).toMatchObject({ serverResumed: true, clientResumed: true });
    // And at least one of them on the worker that did not issue the ticket of the first handshake.
    expect(seen.slice(1).some((s) => s.pid !== seen[0]!.pid)).toBe(true);
  });
});
