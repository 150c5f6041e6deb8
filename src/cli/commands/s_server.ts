/**
 * `gskit s_server`: a TLS echo server over the idiomatic layer, to try a key store or an
 * application ID against real clients. Prints `ACCEPT host:port` once listening, then one line per
 * session (or failed handshake).
 */
import { Environment } from "../../api/environment.js";
import type { EnvironmentOptions } from "../../api/options.js";
import type { Session } from "../../api/session.js";
import { RC, returnCodeName } from "../../codes.js";
import { GskError } from "../../errors.js";
import { certificateSubject } from "../../pki/certificate.js";
import { EXIT_OK, integer, list, oneOf, parseOptions, reportError, STORE_OPTIONS, storeOf, systemLocation, UsageError, type CliContext } from "../io.js";

const USAGE = `usage: gskit s_server (--db FILE|*SYSTEM [--pw PASSWORD | --stash] [--label L[,L2…]] | --app-id ID) [--port N] [--host ADDR] [--client-auth none|optional|required] [--count N] [--dir D]
  An echo server: every session gets back what it sends until it closes. Prints
  'ACCEPT host:port' once listening (--port 0, the default, picks a free port), then per session
  'SESSION #n <protocol> <cipher> peer="<subject>" validation=<code> <name>' and per failed
  handshake 'FAILED #n: <why> (<code name> <code>)'. --count N stops after N
  connections; otherwise it runs until interrupted (SIGINT/SIGTERM).
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  label: { type: "string" },
  "app-id": { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "client-auth": { type: "string" },
  count: { type: "string" },
} as const;

/** The facts of a session, as `s_server` and `s_client` print them. */
export function sessionFacts(session: Session): { protocol: string; cipher: string; peer: string | null; validationCode: number; validationName: string; resumed: boolean } {
  const peer = session.peerCertificate;
  return {
    protocol: session.protocol,
    cipher: session.cipher,
    peer: peer === undefined ? null : certificateSubject(peer),
    validationCode: session.validationCode,
    validationName: returnCodeName(session.validationCode) ?? "GSK_UNKNOWN",
    resumed: session.resumed,
  };
}

/** What identifies this side: a key store, or an application ID (which names its own store). */
export function identityOptions(context: CliContext, values: { db?: string; pw?: string; stash?: boolean; stashed?: boolean; dir?: string; label?: string; "app-id"?: string }): EnvironmentOptions {
  const systemDirectory = systemLocation(context, values.dir).directory;
  if (values["app-id"] !== undefined) {
    if (values.db !== undefined) throw new UsageError("give either --app-id or --db, not both: an application ID names its certificates in the system store");
    return { applicationId: values["app-id"], systemDirectory };
  }
  if (values.db === undefined) return { systemDirectory };
  const { file, access } = storeOf(context, values);
  const labels = list(values.label);
  return {
    systemDirectory,
    keystore: {
      file,
      ...(access.password !== undefined ? { password: access.password } : {}),
      ...(access.stashFile !== undefined ? { stashFile: access.stashFile } : {}),
      ...(labels !== undefined ? { label: labels.length === 1 ? (labels[0] as string) : labels } : {}),
    },
  };
}

export async function run(context: CliContext): Promise<number> {
  let env: Environment | undefined;
  try {
    const { values } = parseOptions(context.argv, OPTIONS);
    if (values.help === true) {
      context.stdout.write(USAGE);
      return EXIT_OK;
    }
    const identity = identityOptions(context, values);
    if (identity.keystore === undefined && identity.applicationId === undefined) throw new UsageError("a server needs a certificate: give --db or --app-id");
    const port = integer(values.port, "port", 0, 65_535) ?? 0;
    const host = values.host ?? "127.0.0.1";
    const count = integer(values.count, "count", 1, Number.MAX_SAFE_INTEGER);
    const clientAuth = oneOf(values["client-auth"], "client-auth", ["none", "optional", "required"] as const);

    env = await Environment.open({ ...identity, role: "server", ...(clientAuth !== undefined ? { clientAuth } : {}) });

    let connections = 0;
    let finished = 0;
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const done = (): void => {
      finished++;
      if (count !== undefined && finished >= count) stop();
    };
    const echo = async (session: Session): Promise<void> => {
      const n = ++connections;
      const f = sessionFacts(session);
      context.stdout.write(`SESSION #${String(n)} ${f.protocol} ${f.cipher} peer="${f.peer ?? "(none)"}" validation=${String(f.validationCode)} ${f.validationName}\n`);
      try {
        for await (const chunk of session) await session.write(chunk);
      } catch (error) {
        const e = error instanceof GskError ? error : undefined;
        context.stdout.write(`CLOSED #${String(n)}: ${e !== undefined ? `${e.codeName} ${String(e.code)}` : String(error)}\n`);
      } finally {
        await session.close().catch(() => undefined);
        done();
      }
    };
    const server = env.createServer(echo, (error) => {
      const n = ++connections;
      const why = error.message.replace(/^gsk: /, "").replace(/ \([A-Z0-9_]+ \d+\)$/, "").replace(/\s*\n\s*/g, "; ");
      context.stdout.write(`FAILED #${String(n)}: ${why} (${error.codeName} ${String(error.code)})\n`);
      done();
    });
    try {
      const address = await server.listen(port, host).catch((error: NodeJS.ErrnoException) => {
        throw new GskError(RC.GSK_ERROR_IO, `cannot listen on ${host}:${String(port)}: ${error.code ?? error.message}${error.code === "EADDRINUSE" ? " (the port is taken: choose another, or --port 0 for a free one)" : ""}`, { cause: error });
      });
      context.stdout.write(`ACCEPT ${address.address}:${String(address.port)}\n`);
      const signal = context.signal;
      if (signal?.aborted === true) stop();
      signal?.addEventListener("abort", () => stop(), { once: true });
      await stopped;
    } finally {
      await server.close();
    }
    return EXIT_OK;
  } catch (error) {
    return reportError(context, "s_server", error);
  } finally {
    await env?.close();
  }
}
