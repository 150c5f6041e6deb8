/**
 * The sync service the devices talk to: application ID SYNC_SERVER (or SYNC_IMPOSTOR, the same
 * name from an untrusted CA). One line each way: `HELLO <device> <token>` → `OK <n> items` or
 * `DENIED <why>`.
 */
import { Environment, type TlsServer } from "gskit-tls";

import type { Layout } from "./setup.js";

/** The devices the service knows, and their tokens. */
export const DEVICES: Readonly<Record<string, string>> = { "device-17": "token-17-s3cret" };

export interface SyncServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startSyncServer(l: Layout, applicationId = "SYNC_SERVER", log: (line: string) => void = console.log): Promise<SyncServer> {
  const env = await Environment.open({ role: "server", applicationId, systemDirectory: l.system });
  let server: TlsServer | undefined;
  try {
    server = env.createServer(
      async (session) => {
        try {
          let line = "";
          for await (const chunk of session) {
            line += chunk.toString("utf8");
            if (line.includes("\n")) break;
          }
          const [verb, device, token] = line.trim().split(/\s+/);
          const known = verb === "HELLO" && device !== undefined && DEVICES[device] !== undefined && DEVICES[device] === token;
          await session.write(known ? "OK 3 items\n" : "DENIED unknown device or wrong token\n");
          log(`${applicationId}: ${device ?? "?"} ${known ? "synced" : "denied"}`);
        } finally {
          await session.close();
        }
      },
      (error) => log(`${applicationId}: handshake failed: ${error.codeName} ${String(error.code)}`),
    );
    const { port } = await server.listen();
    const listening = server;
    return {
      port,
      async close() {
        await listening.close();
        await env.close();
      },
    };
  } catch (error) {
    await server?.close();
    await env.close();
    throw error;
  }
}
