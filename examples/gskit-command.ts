/**
 * Runs a `gskit` command line in the examples' own process, through the CLI's command modules:
 * the same commands a user types (each is echoed as its shell line), without a process start per
 * command. A failing command throws.
 */
import { run as app } from "../src/cli/commands/app.js";
import { run as cert } from "../src/cli/commands/cert.js";
import { run as keydb } from "../src/cli/commands/keydb.js";
import { run as system } from "../src/cli/commands/system.js";

const COMMANDS = { app, cert, keydb, system } as const;

/** Runs one `gskit` command line in-process; its output goes to `log`, a failure throws. */
export async function gskit(log: (line: string) => void, ...argv: string[]): Promise<void> {
  log(`$ gskit ${argv.map((a) => (/^[\w./:,=@-]+$/.test(a) ? a : `'${a}'`)).join(" ")}`);
  const out: string[] = [];
  const code = await COMMANDS[argv[0] as keyof typeof COMMANDS]({
    argv: argv.slice(1),
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => out.push(s) },
    env: process.env,
  });
  for (const line of out.join("").split("\n")) if (line !== "") log(`  ${line}`);
  if (code !== 0) throw new Error(`gskit ${argv.join(" ")} exited with ${String(code)}`);
}
