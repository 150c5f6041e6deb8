#!/usr/bin/env node
/**
 * `gskit`: IBM gsk8capicmd-style key store, certificate and application-ID management, plus TLS
 * test client and server. This file only parses the command group and dispatches; the commands
 * live in ./commands, the shared output rules in ./io.ts.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { run as app } from "./commands/app.js";
import { run as cert } from "./commands/cert.js";
import { run as certreq } from "./commands/certreq.js";
import { run as connect } from "./commands/connect.js";
import { run as keydb } from "./commands/keydb.js";
import { run as sClient } from "./commands/s_client.js";
import { run as sServer } from "./commands/s_server.js";
import { run as strerror } from "./commands/strerror.js";
import { run as system } from "./commands/system.js";
import { EXIT_OK, isUsageError, reportError, UsageError, type CliContext, type Command } from "./io.js";

const GROUPS: Readonly<Record<string, { readonly summary: string; readonly run: Command }>> = {
  system: { summary: "create the system store (*SYSTEM) that application IDs use", run: system },
  keydb: { summary: "key stores as a whole: create, list, changepw, stashpw, convert", run: keydb },
  cert: { summary: "certificates: create-ca, issue, sign, receive, add, enable, disable, list, details, delete, extract, import, export", run: cert },
  certreq: { summary: "certificate requests: create, list", run: certreq },
  app: { summary: "application IDs: register, assign, trust, set, show, list, remove", run: app },
  s_server: { summary: "TLS echo server for trying a store or an application ID", run: sServer },
  s_client: { summary: "TLS client: send a message, print the reply and the session facts", run: sClient },
  connect: { summary: "connect step by step (resolve, connect, handshake, validate, send): which step fails and why", run: connect },
  strerror: { summary: "name and text of a GSK return code", run: strerror },
};

const USAGE = `usage: gskit <command> [<action>] [options]

${Object.entries(GROUPS)
  .map(([name, g]) => `  ${name.padEnd(9)} ${g.summary}`)
  .join("\n")}

Options take the form --name value (gsk8capicmd's -name value is accepted too). Every command
has --help. Errors print one line: gskit: <what failed>: <why> (<GSK code name> <code>), and exit
with 1 (2 for a mistake in the command line). --db '*SYSTEM' is the system store; --dir, else
$GSKIT_TLS_HOME, else ~/.gskit-tls, is its directory.
`;

function version(): string {
  try {
    // Two levels up from both src/cli/main.ts and dist/cli/main.js.
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Runs one command line; returns the exit code. */
export async function main(context: CliContext): Promise<number> {
  const args = [...context.argv];
  // gsk8capicmd writes the object with a dash: `-keydb -create`.
  const first = args[0]?.replace(/^-+/, "");
  if (first !== undefined && Object.hasOwn(GROUPS, first)) {
    return (GROUPS[first] as { run: Command }).run({ ...context, argv: args.slice(1) });
  }
  try {
    const { values, positionals } = parseArgs({ args, options: { help: { type: "boolean", short: "h" }, version: { type: "boolean" } }, allowPositionals: true, strict: true });
    if (values.version === true) {
      context.stdout.write(`gskit ${version()}\n`);
      return EXIT_OK;
    }
    if (values.help === true) {
      context.stdout.write(USAGE);
      return EXIT_OK;
    }
    if (positionals.length === 0) throw new UsageError("missing command (gskit --help lists them)");
    throw new UsageError(`unknown command '${positionals[0] ?? ""}': one of ${Object.keys(GROUPS).join(", ")}`);
  } catch (error) {
    return reportError(context, "command line", isUsageError(error) || !(error instanceof Error) ? error : new UsageError(error.message));
  }
}

// The library reports findings (a certificate about to expire, a client without a peer name) as
// process warnings; a command line tool shows them in its own one-line form.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  process.stderr.write(`gskit: warning: ${warning.message.replace(/\s*\n\s*/g, "; ")}\n`);
});

const controller = new AbortController();
const abort = (): void => controller.abort();
process.once("SIGINT", abort);
process.once("SIGTERM", abort);
main({ argv: process.argv.slice(2), stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin, signal: controller.signal }).then(
  (code) => exit(code),
  (error: unknown) => exit(reportError({ stderr: process.stderr }, "gskit", error)),
);

/** Exits once stdout and stderr are flushed: a pipe reader must get every line. */
function exit(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
