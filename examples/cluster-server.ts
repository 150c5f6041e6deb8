/**
 * A mutual-TLS server on every core with `node:cluster`, resuming sessions across workers.
 *
 * Each worker opens its own Environment (its own TLS context, built once per worker) and listens
 * on the same port; the primary spreads connections over the workers. Session tickets are
 * encrypted with the context's ticket keys, which are random per context unless given: the
 * primary makes 48 bytes once and hands them to every worker over the IPC channel
 * (`Environment.open({ ticketKeys })`), so a ticket issued by one worker resumes on any other.
 *
 * Each session is greeted with `hello from worker <pid>, resumed <yes|no>`, then echoed.
 * Run: npx tsx examples/cluster-server.ts [port] [workers] [pki-dir]   (default 8443, one per core,
 * examples/.pki)
 */
import cluster, { type Worker } from "node:cluster";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

import { Environment } from "gskit-tls";
import { ensureDemoPki } from "./demo-pki.js";

/** What the primary sends each worker. Ticket keys travel over IPC, not the environment or argv. */
interface WorkerConfig {
  keystore: string;
  password: string;
  port: number;
  ticketKeys: string;
}

async function runWorker(config: WorkerConfig): Promise<void> {
  const env = await Environment.open({
    role: "server",
    keystore: { file: config.keystore, password: config.password },
    clientAuth: "required",
    ticketKeys: Buffer.from(config.ticketKeys, "base64"),
  });
  const server = env.createServer(async (session) => {
    await session.write(`hello from worker ${process.pid}, resumed ${session.resumed ? "yes" : "no"}\n`);
    for await (const chunk of session) await session.write(chunk);
    await session.close();
  });
  const { port } = await server.listen(config.port);
  process.send?.({ listening: port });
}

/** Starts `workers` workers; resolves with the port once all of them listen. */
export async function startPrimary(port: number, workers: number, pkiDir?: string): Promise<number> {
  const pki = await ensureDemoPki(pkiDir);
  // Rotate by restarting the workers with new keys; tickets issued under the old ones then
  // simply fall back to a full handshake.
  const config: WorkerConfig = { keystore: pki.serverStore, password: pki.password, port, ticketKeys: randomBytes(48).toString("base64") };
  const ports = await Promise.all(
    Array.from({ length: workers }, () => {
      const worker: Worker = cluster.fork();
      return new Promise<number>((resolve, reject) => {
        // The worker asks once its listener is in place: a message sent earlier could be lost.
        worker.on("message", (m: { ready?: boolean; listening?: number }) => {
          if (m.ready) worker.send(config);
          if (m.listening !== undefined) resolve(m.listening);
        });
        worker.once("exit", (code) => reject(new Error(`worker ${String(worker.process.pid)} exited with ${String(code)} before listening`)));
      });
    }),
  );
  // Workers that listen on port 0 share the one port the primary picked.
  return ports[0]!;
}

if (cluster.isWorker) {
  process.once("message", (config: WorkerConfig) => {
    runWorker(config).catch((error: unknown) => {
      console.error(`worker ${process.pid}: ${(error as Error).message}`);
      process.exit(1);
    });
  });
  process.send?.({ ready: true });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const workers = Number(process.argv[3] ?? availableParallelism());
  const port = await startPrimary(Number(process.argv[2] ?? 8443), workers, process.argv[4]);
  console.log(`listening on 127.0.0.1:${port} with ${workers} workers (Ctrl-C to stop)`);
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
