/** `gskit strerror N`: the name and text of a return code (a number or a constant name). */
import { RC, returnCodeName } from "../../codes.js";
import { gsk_strerror } from "../../gsk/strerror.js";
import { EXIT_OK, parseOptions, reportError, UsageError, type CliContext } from "../io.js";

const USAGE = `usage: gskit strerror CODE…
  Prints the name and text of GSKit return codes, given as numbers (408) or names
  (GSK_ERROR_BAD_KEYFILE_PASSWORD).
`;

export async function run(context: CliContext): Promise<number> {
  try {
    const { values, positionals } = parseOptions(context.argv, { json: { type: "boolean" } }, Number.MAX_SAFE_INTEGER);
    if (values.help === true) {
      context.stdout.write(USAGE);
      return EXIT_OK;
    }
    if (positionals.length === 0) throw new UsageError("missing the return code (a number such as 408, or a name)");
    const rows = positionals.map((arg) => {
      const name = arg.toUpperCase();
      const code = /^-?\d+$/.test(arg) ? Number(arg) : Object.hasOwn(RC, name) ? (RC as Readonly<Record<string, number>>)[name] : undefined;
      if (code === undefined) throw new UsageError(`'${arg}' is neither a number nor a return-code name`);
      return { code, name: returnCodeName(code) ?? null, text: gsk_strerror(code) };
    });
    if (values.json === true) context.stdout.write(JSON.stringify(rows.length === 1 ? rows[0] : rows, null, 2) + "\n");
    else for (const r of rows) context.stdout.write(`${String(r.code)} ${r.name ?? "(unknown)"}: ${r.text}\n`);
    return EXIT_OK;
  } catch (error) {
    return reportError(context, "strerror", error);
  }
}
