/**
 * The message router's servers, each an application ID (setup.ts):
 *
 *   user ──TLS──▶ front msg.example.org ── "REDIRECT 127.0.0.1:port home1.example.org"
 *   user ──TLS──▶ home1.example.org ── "DELIVERED"                    (inside the organisation)
 *   user ──TLS──▶ front ──mutual TLS──▶ home.partner.example ── "DELIVERED"   (forwarded)
 *
 * The protocol is one line each way:
 *   SEND user@org text  →  REDIRECT host:port name | DELIVERED user@org by server | UNKNOWN user@org
 *                          | NO ROUTE org | FAILED code name: why
 *
 * A user of example.org can reach its home servers, so the front only says where to go: the
 * message then travels once, straight to where it is kept. Another organisation's home servers
 * take deliveries from other organisations' fronts only (mutual TLS, allowed peer names), so for
 * them the front delivers the message itself.
 */
import { Environment, isGskError, type Session, type TlsServer } from "gskit-tls";

import type { Layout } from "./setup.js";

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

export function parseSend(line: string): { user: string; org: string; text: string } | undefined {
  const m = /^SEND ([^@\s]+)@(\S+) (.*)$/.exec(line);
  return m ? { user: m[1]!, org: m[2]!, text: m[3]! } : undefined;
}

/** A delivered message as the home server that keeps it saw it. */
export interface Delivery {
  readonly to: string;
  readonly text: string;
  /** Who handed it over: the forwarding front's certificate subject, or "user" for a direct send. */
  readonly from: string;
}

export interface Router {
  readonly front: number;
  readonly homes: Readonly<Record<"home1" | "home2" | "partner" | "other", number>>;
  /** Messages kept per home server name. */
  readonly mailboxes: ReadonlyMap<string, readonly Delivery[]>;
  /** Failed handshakes, as `PARTNER_HOME: 403 GSK_ERROR_NO_CERTIFICATE`. */
  readonly refusals: string[];
  close(): Promise<void>;
}

/** Who lives where in example.org. */
export const USERS: Readonly<Record<string, "home1" | "home2">> = { "alice@example.org": "home1", "bob@example.org": "home2" };
/** The users each other organisation's home server keeps. */
const REMOTE_USERS: Readonly<Record<string, readonly string[]>> = { "home.partner.example": ["carol@partner.example"], "home.other.example": ["dave@other.example"] };

export async function startRouter(l: Layout, log: (line: string) => void = console.log): Promise<Router> {
  const envs: Environment[] = [];
  const servers: TlsServer[] = [];
  const refusals: string[] = [];
  const mailboxes = new Map<string, Delivery[]>();
  const open = async (applicationId: string, role: "client" | "server", systemDirectory: string): Promise<Environment> => {
    const env = await Environment.open({ applicationId, role, systemDirectory });
    envs.push(env);
    return env;
  };
  const serve = async (id: string, env: Environment, answer: (line: string, session: Session) => Promise<string>): Promise<number> => {
    const server = env.createServer(
      async (session) => {
        try {
          const line = await readLine(session);
          if (line !== null) await session.write(`${await answer(line, session)}\n`);
        } finally {
          await session.close();
        }
      },
      (error) => {
        refusals.push(`${id}: ${String(error.code)} ${error.codeName}`);
        log(`${id}: refused a connection: ${error.message}`);
      },
    );
    servers.push(server);
    return (await server.listen()).port;
  };
  /** A home server: keeps messages for its own users. */
  const home = async (id: string, name: string, systemDirectory: string, users: readonly string[]): Promise<number> => {
    const box: Delivery[] = [];
    mailboxes.set(name, box);
    return serve(id, await open(id, "server", systemDirectory), async (line, session) => {
      const msg = parseSend(line);
      if (!msg) return "BAD REQUEST";
      const to = `${msg.user}@${msg.org}`;
      if (!users.includes(to)) return `UNKNOWN ${to}`;
      box.push({ to, text: msg.text, from: session.peerCertificate?.subject.split("\n").reverse().join(",") ?? "user" });
      return `DELIVERED ${to} by ${name}`;
    });
  };

  try {
    const users = (h: string): string[] => Object.keys(USERS).filter((u) => USERS[u] === h);
    const homes = {
      home1: await home("MSG_HOME1", "home1.example.org", l.system.example, users("home1")),
      home2: await home("MSG_HOME2", "home2.example.org", l.system.example, users("home2")),
      partner: await home("PARTNER_HOME", "home.partner.example", l.system.partner, REMOTE_USERS["home.partner.example"]!),
      other: await home("OTHER_HOME", "home.other.example", l.system.other, REMOTE_USERS["home.other.example"]!),
    };
    // The front's routes to other organisations: the address of their home server and the name
    // its certificate must carry (in real life, from DNS: an SRV or MX-like record).
    const routes: Record<string, { port: number; name: string }> = {
      "partner.example": { port: homes.partner, name: "home.partner.example" },
      "other.example": { port: homes.other, name: "home.other.example" },
    };

    const forwarder = await open("MSG_FORWARDER", "client", l.system.example);
    const front = await serve("MSG_FRONT", await open("MSG_FRONT", "server", l.system.example), async (line) => {
      const msg = parseSend(line);
      if (!msg) return "BAD REQUEST";
      const to = `${msg.user}@${msg.org}`;
      if (msg.org === "example.org") {
        const h = USERS[to];
        return h === undefined ? `UNKNOWN ${to}` : `REDIRECT 127.0.0.1:${String(homes[h])} ${h}.example.org`;
      }
      const route = routes[msg.org];
      if (!route) return `NO ROUTE ${msg.org}`;
      try {
        await using session = await forwarder.connect({ host: "127.0.0.1", port: route.port, servername: route.name });
        await session.write(`${line}\n`);
        return (await readLine(session)) ?? `FAILED ${route.name} closed the connection without answering`;
      } catch (error) {
        if (!isGskError(error)) throw error;
        log(`MSG_FRONT: forwarding to ${route.name} failed: ${error.message}`);
        return `FAILED ${String(error.code)} ${error.codeName}: could not deliver to ${route.name}`;
      }
    });

    return {
      front,
      homes,
      mailboxes,
      refusals,
      async close() {
        await Promise.all(servers.map((s) => s.close()));
        await Promise.all(envs.map((e) => e.close()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(envs.map((e) => e.close()));
    throw error;
  }
}
