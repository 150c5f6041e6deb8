/**
 * `gskit s_client`: connects, sends a message (or stdin), prints the reply and what the handshake
 * established. The exit code is the GSK return code of a failure modulo 256 (1 if that is 0), so
 * scripts can tell a refused certificate from a closed port.
 */
import { Environment } from "../../api/environment.js";
import type { Session } from "../../api/session.js";
import { RC } from "../../codes.js";
import { GskError } from "../../errors.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, integer, need, parseOptions, printFields, printJson, reportError, STORE_OPTIONS, UsageError, type CliContext } from "../io.js";
import { identityOptions, sessionFacts } from "./s_server.js";

const USAGE = `usage: gskit s_client --connect HOST:PORT [--servername NAME] [--db FILE|*SYSTEM [--pw PASSWORD | --stash] [--label L] | --app-id ID] [--message TEXT] [--json] [--quiet] [--timeout MS] [--dir D]
  Connects with TLS, sends --message (else stdin until its end), reads until as many bytes came
  back (an echo) or the server closes (having replied nothing is a failure), and prints the reply, then the session facts (PROTOCOL,
  CIPHER, PEER, VALIDATION, RESUMED). The server's certificate must match --servername (default:
  the host). Without --db or --app-id the client presents no certificate and trusts no CA, so it
  only reaches servers with --db or an application ID that trusts them. Exit code: 0, or the GSK
  return code modulo 256 (1 when that is 0), 2 for a usage error.
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  connect: { type: "string" },
  servername: { type: "string" },
  label: { type: "string" },
  "app-id": { type: "string" },
  message: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  timeout: { type: "string" },
} as const;

function hostAndPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = m?.[3] !== undefined ? Number(m[3]) : NaN;
  if (m === null || !(port >= 1 && port <= 65_535)) throw new UsageError(`--connect must be HOST:PORT (IPv6: [ADDR]:PORT), not '${value}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Reads until `expected` bytes came back or the peer ends the session. */
async function readReply(session: Session, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  while (received < expected) {
    const chunk = await session.read();
    if (chunk === null) break;
    chunks.push(chunk);
    received += chunk.length;
  }
  return Buffer.concat(chunks);
}

/** A GSK failure's exit code: the return code modulo 256, never 0. */
export function exitCodeFor(code: number): number {
  return code % 256 || EXIT_FAILURE;
}

export async function run(context: CliContext): Promise<number> {
  let env: Environment | undefined;
  try {
    const { values } = parseOptions(context.argv, OPTIONS);
    if (values.help === true) {
      context.stdout.write(USAGE);
      return EXIT_OK;
    }
    const { host, port } = hostAndPort(need(values, "connect"));
    const timeout = integer(values.timeout, "timeout", 1, 3_600_000) ?? 10_000;
    env = await Environment.open({ ...identityOptions(context, values), role: "client", handshakeTimeoutMs: timeout, readTimeoutMs: timeout });
    const session = await env.connect({ host, port, servername: values.servername ?? host });
    const facts = sessionFacts(session);
    let reply: Buffer;
    try {
      const message = values.message !== undefined ? Buffer.from(values.message) : await readAll(context.stdin);
      if (message.length > 0) await session.write(message);
      reply = message.length > 0 ? await readReply(session, message.length) : Buffer.alloc(0);
      if (message.length > 0 && reply.length === 0) {
        // In TLS 1.3 a client's handshake completes before the server has judged its certificate:
        // a server that refuses it (or its absence) just closes, and this is all the client sees.
        throw new GskError(
          RC.GSK_ERROR_SOCKET_CLOSED,
          `${host}:${String(port)} closed the connection without replying; if it requires client authentication, it most likely refused our certificate or its absence (see the server's log)`,
        );
      }
    } finally {
      await session.close();
    }
    if (values.json === true) {
      printJson(context.stdout, { reply: reply.toString("utf8"), ...facts });
      return EXIT_OK;
    }
    context.stdout.write(reply.toString("utf8"));
    if (values.quiet === true) return EXIT_OK;
    if (reply.length > 0 && reply[reply.length - 1] !== 0x0a) context.stdout.write("\n");
    printFields(context.stdout, [
      ["PROTOCOL", facts.protocol],
      ["CIPHER", facts.cipher],
      ["PEER", facts.peer ?? "(none)"],
      ["VALIDATION", `${String(facts.validationCode)} ${facts.validationName}`],
      ["RESUMED", facts.resumed ? "yes" : "no"],
    ]);
    return EXIT_OK;
  } catch (error) {
    const code = reportError(context, "s_client", error);
    return code === EXIT_USAGE || !(error instanceof GskError) ? code : exitCodeFor(error.code);
  } finally {
    await env?.close();
  }
}
