/**
 * A reverse proxy that authenticates users by client certificate: HTTPS in front (node:http fed
 * with `session.duplex()`, application ID PORTAL_HTTPS), the user's identity taken from the
 * certificate (its subjectAltName email, else its subject CN) and checked against an allowed
 * list, and the request forwarded to the backend over mutual TLS (application ID PORTAL_UPSTREAM)
 * with that identity in the X-Client-Identity header.
 *
 * Why `clientAuth: "optional"` together with `dangerousPassthru`:
 * - "required" fails the handshake when a user has no certificate or a bad one, and "optional"
 *   still fails it for a bad one: the browser or curl then shows a TLS alert, and the user
 *   never learns what was wrong.
 * - With PASSTHRU every handshake completes and `session.validationCode` carries the verdict
 *   (0, 403 for no certificate, 6000 for an untrusted issuer, …). The proxy reads it before
 *   anything else and answers every non-zero verdict with a 403 page that gives the code and its
 *   text. Such a request is never forwarded, so PASSTHRU weakens nothing behind the proxy: it
 *   only moves the refusal from the handshake to the HTTP answer. This is the one place where
 *   the library leaves the check to the application, so the check comes first in the handler.
 *
 * The proxy also removes any X-Client-Identity a user sends: only the proxy may set it.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";

import { Environment, GskError, gsk_strerror, type Session, type TlsServer } from "gskit-tls";

import { sessionOf } from "./backend.js";

export interface ProxyOptions {
  readonly systemDirectory: string;
  readonly backend: { readonly port: number; readonly host?: string; readonly name: string };
  /** Identities (emails or CNs) allowed through. */
  readonly allowed: readonly string[];
  readonly log?: (line: string) => void;
}

export interface Proxy {
  readonly port: number;
  close(): Promise<void>;
}

/** The verdict on a user: the identity to forward, or why not. */
export type Verdict = { readonly ok: true; readonly identity: string } | { readonly ok: false; readonly code: number; readonly reason: string };

/** The user's identity as the certificate states it: its email SAN, else its subject CN. */
export function identityOf(cert: X509Certificate): string | undefined {
  const email = cert.subjectAltName?.split(", ").find((n) => n.startsWith("email:"));
  if (email) return email.slice("email:".length);
  return cert.subject.split("\n").find((a) => a.startsWith("CN="))?.slice(3);
}

export function authenticate(session: Session, allowed: readonly string[]): Verdict {
  const code = session.validationCode;
  if (code !== 0) {
    // GskError knows the IBM name of every return code.
    const name = new GskError(code, "").codeName;
    const what = code === 403 ? "no client certificate was presented" : "the client certificate did not validate";
    return { ok: false, code, reason: `${what}: ${String(code)} ${name}: ${gsk_strerror(code)}` };
  }
  const identity = session.peerCertificate ? identityOf(session.peerCertificate) : undefined;
  if (identity === undefined) return { ok: false, code: 0, reason: "the certificate names no email address and no common name" };
  if (!allowed.includes(identity)) return { ok: false, code: 0, reason: `${identity} is not on this site's list of allowed users (the certificate itself is valid: 0 GSK_OK)` };
  return { ok: true, identity };
}

function refuse(res: ServerResponse, status: number, title: string, reason: string): void {
  const body = `<!doctype html>\n<title>${status} ${title}</title>\n<h1>${status} ${title}</h1>\n<p>${reason.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>\n`;
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const log = options.log ?? console.log;
  const front = await Environment.open({ role: "server", applicationId: "PORTAL_HTTPS", systemDirectory: options.systemDirectory, clientAuth: "optional", dangerousPassthru: true });
  const upstream = await Environment.open({ applicationId: "PORTAL_UPSTREAM", systemDirectory: options.systemDirectory });

  const forward = async (req: IncomingMessage, res: ServerResponse, identity: string): Promise<void> => {
    const backend = options.backend;
    const session = await upstream.connect({ host: backend.host ?? "127.0.0.1", port: backend.port, servername: backend.name });
    const headers = { ...req.headers, host: backend.name, "x-client-identity": identity, connection: "close" };
    await new Promise<void>((resolve, reject) => {
      // node:http writes the request into whatever stream createConnection returns; the session's
      // Duplex stands in for the Socket its type names.
      const out = request({ method: req.method, path: req.url, headers, createConnection: () => session.duplex() as unknown as Socket }, (back) => {
        res.writeHead(back.statusCode ?? 502, back.headers);
        back.pipe(res);
        back.once("end", resolve);
        back.once("error", reject);
      });
      out.once("error", reject);
      req.pipe(out);
    }).finally(() => session.close());
  };

  const http = createServer((req, res) => {
    const verdict = authenticate(sessionOf(req), options.allowed);
    // Only the proxy speaks for the user's identity.
    delete req.headers["x-client-identity"];
    if (!verdict.ok) {
      log(`proxy: 403 for ${req.method ?? ""} ${req.url ?? ""}: ${verdict.reason}`);
      refuse(res, 403, "Forbidden", verdict.reason);
      return;
    }
    log(`proxy: ${req.method ?? ""} ${req.url ?? ""} as ${verdict.identity}`);
    forward(req, res, verdict.identity).catch((error: unknown) => {
      const why = error instanceof GskError ? `${String(error.code)} ${error.codeName}: ${error.message}` : String(error);
      log(`proxy: backend failed: ${why}`);
      if (!res.headersSent) refuse(res, 502, "Bad Gateway", `the backend could not be reached over mutual TLS: ${why}`);
      else res.destroy();
    });
  });

  let server: TlsServer | undefined;
  try {
    server = front.createServer(
      (session) => void http.emit("connection", session.duplex()),
      // With PASSTHRU only a broken handshake lands here (no shared protocol, a reset, …).
      (error) => log(`proxy: handshake failed: ${error.message}`),
    );
    const { port } = await server.listen();
    const listening = server;
    return {
      port,
      async close() {
        await listening.close();
        await front.close();
        await upstream.close();
      },
    };
  } catch (error) {
    await server?.close();
    await front.close();
    await upstream.close();
    throw error;
  }
}
