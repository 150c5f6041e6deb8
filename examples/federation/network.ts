/**
 * The trusted server network: three servers of one organisation, each named by its application
 * ID in its own system directory (see setup.ts), chained edge → app → db over mutual TLS.
 *
 *   client ──server-auth TLS──▶ edge ──mutual TLS──▶ app ──mutual TLS──▶ db
 *   partner gateway ──mutual TLS──▶ edge   (federated: the edge's ID trusts the partner's root)
 *
 * The protocol is one line each way: `GET <what>` in, one line of answer out. Each server adds
 * who it was talking to, so a caller sees what every hop saw.
 *
 * Nothing here names a certificate, a key store or a CA: each server only says which application
 * it is. Whom it trusts and whether it requires client certificates is the administrator's
 * decision, made with `gskit app` (setup.ts).
 */
import { Environment, type GskError, type Session, type TlsServer } from "gskit-tls";

import type { Layout } from "./setup.js";

export interface Network {
  readonly edge: number;
  readonly app: number;
  readonly db: number;
  /** Failed handshakes per server, as `ORG_APP_SERVER: 6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT`. */
  readonly refusals: string[];
  close(): Promise<void>;
}

/** Reads one line (without its newline); null if the peer ended first. */
export async function readLine(session: Session): Promise<string | null> {
  let text = "";
  for (;;) {
    const newline = text.indexOf("\n");
    if (newline >= 0) return text.slice(0, newline);
    const chunk = await session.read();
    if (chunk === null) return text === "" ? null : text;
    text += chunk.toString("utf8");
  }
}

/** The peer as the log and the replies show it: its subject (most specific first), or "anonymous" with no certificate. */
export function peerOf(session: Session): string {
  return session.peerCertificate?.subject.split("\n").reverse().join(",") ?? "anonymous";
}

/** Starts db, app and edge (each the next one's client), on 127.0.0.1 with free ports. */
export async function startNetwork(l: Layout, log: (line: string) => void = console.log): Promise<Network> {
  const refusals: string[] = [];
  const opened: Environment[] = [];
  const servers: TlsServer[] = [];
  const open = async (id: string, role: "client" | "server", systemDirectory: string): Promise<Environment> => {
    const env = await Environment.open({ applicationId: id, role, systemDirectory });
    opened.push(env);
    return env;
  };
  const serve = async (id: string, env: Environment, handle: (request: string, session: Session) => Promise<string>): Promise<number> => {
    const server = env.createServer(
      async (session) => {
        try {
          const request = await readLine(session);
          if (request !== null) await session.write(`${await handle(request, session)}\n`);
        } catch (error) {
          await session.write(`ERROR ${(error as GskError).code ?? ""} ${(error as Error).message}\n`).catch(() => undefined);
        } finally {
          await session.close();
        }
      },
      // What the administrator reads in the server's log when a peer is turned away.
      (error) => {
        refusals.push(`${id}: ${String(error.code)} ${error.codeName}`);
        log(`${id}: refused a connection: ${error.message}`);
      },
    );
    servers.push(server);
    return (await server.listen()).port;
  };
  /** One request to the next server in, with this server's client application ID. */
  const call = async (env: Environment, port: number, servername: string, request: string): Promise<string> => {
    await using session = await env.connect({ host: "127.0.0.1", port, servername });
    await session.write(`${request}\n`);
    return (await readLine(session)) ?? "";
  };

  try {
    const db = await serve("ORG_DB_SERVER", await open("ORG_DB_SERVER", "server", l.system.db), async (request, session) => `${request.replace(/^GET /, "")}: in stock (db saw ${peerOf(session)})`);

    const appClient = await open("ORG_APP_CLIENT", "client", l.system.app);
    const app = await serve("ORG_APP_SERVER", await open("ORG_APP_SERVER", "server", l.system.app), async (request, session) => {
      const answer = await call(appClient, db, "db.example.org", request);
      return `${answer}; app saw ${peerOf(session)}`;
    });

    const edgeClient = await open("ORG_EDGE_CLIENT", "client", l.system.edge);
    const edge = await serve("ORG_EDGE_SERVER", await open("ORG_EDGE_SERVER", "server", l.system.edge), async (request, session) => {
      // Client authentication is optional on the edge: no certificate is an anonymous user
      // (validation code 403), a certificate that does not validate never gets this far.
      const answer = await call(edgeClient, app, "app.example.org", request);
      return `${answer}; edge saw ${peerOf(session)}`;
    });

    return {
      edge,
      app,
      db,
      refusals,
      async close() {
        await Promise.all(servers.map((s) => s.close()));
        await Promise.all(opened.map((e) => e.close()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(opened.map((e) => e.close()));
    throw error;
  }
}
