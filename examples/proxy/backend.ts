/**
 * The backend behind the proxy: an HTTP API served over the library's sessions (node:http fed
 * with `session.duplex()`), as application ID BACKEND_API. Its definition requires a client
 * certificate and allows only portal.example.org's, so every request it sees came through the
 * proxy, and the X-Client-Identity header can be believed.
 *
 * It answers every request with JSON: the identity the proxy vouched for, and who the proxy was.
 */
import { createServer, type IncomingMessage } from "node:http";

import { Environment, type Session, type TlsServer } from "gskit-tls";

export interface Backend {
  readonly port: number;
  /** Failed handshakes, as `BACKEND_API: 9001 GSKX_ERROR_PEER_NAME_MISMATCH`. */
  readonly refusals: string[];
  close(): Promise<void>;
}

/** What the backend answers. */
export interface BackendReply {
  readonly identity: string | null;
  readonly via: string;
  readonly method: string;
  readonly path: string;
}

export function sessionOf(req: IncomingMessage): Session {
  return (req.socket as unknown as { session: Session }).session;
}

export async function startBackend(systemDirectory: string, log: (line: string) => void = console.log): Promise<Backend> {
  const env = await Environment.open({ role: "server", applicationId: "BACKEND_API", systemDirectory });
  const refusals: string[] = [];
  const http = createServer((req, res) => {
    const reply: BackendReply = {
      identity: typeof req.headers["x-client-identity"] === "string" ? req.headers["x-client-identity"] : null,
      via: sessionOf(req).peerCertificate?.subject.split("\n").reverse().join(",") ?? "",
      method: req.method ?? "",
      path: req.url ?? "",
    };
    log(`backend: ${reply.method} ${reply.path} for ${String(reply.identity)} via ${reply.via}`);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify(reply)}\n`);
  });
  let server: TlsServer | undefined;
  try {
    server = env.createServer(
      (session) => void http.emit("connection", session.duplex()),
      (error) => {
        refusals.push(`BACKEND_API: ${String(error.code)} ${error.codeName}`);
        log(`backend: refused a connection: ${error.message}`);
      },
    );
    const { port } = await server.listen();
    const listening = server;
    return {
      port,
      refusals,
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
