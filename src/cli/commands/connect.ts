/**
 * `gskit connect`: connects to a server one step at a time (resolve, connect, handshake,
 * validate, and with --send the credentials) and says which step failed and why, with the
 * server's chain, protocol and cipher. Built on `diagnoseConnection` (gskit-tls/tools).
 */
import { diagnoseConnection, type Diagnosis } from "../../diagnose.js";
import { returnCodeText } from "../../codes.js";
import { GskError } from "../../errors.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, integer, need, parseOptions, printFields, printJson, reportError, STORE_OPTIONS, UsageError, type CliContext } from "../io.js";
import { exitCodeFor } from "./s_client.js";
import { identityOptions } from "./s_server.js";

const USAGE = `usage: gskit connect --connect HOST:PORT [--servername NAME] [--trust CA.pem | --db FILE|*SYSTEM [--pw PASSWORD | --stash] [--label L] | --app-id ID] [--send TEXT [--expect REGEX]] [--timeout MS] [--json] [--dir D]
  Connects step by step and prints each step's verdict: resolve (DNS), connect (TCP: refused,
  unreachable, timed out), handshake (TLS), validate (the server's certificate against the trust
  list and NAME, default HOST: untrusted, expired, wrong name …) and, with --send, send (TEXT is
  written once the certificate validated, and the server's first line of answer shown; --expect
  makes an answer that does not match REGEX a failure). Then the server's chain (subject,
  issuer, validity), protocol and cipher. The certificate is judged but never trusted: nothing is
  sent to a server that failed validation. --trust names the CAs to trust; without --trust,
  --db or --app-id nothing is trusted. --timeout (default 10000) limits each step.
  Exit code: 0 when every step passed, else the failed step's GSK return code modulo 256 (1 when
  that is 0, or when the answer did not match --expect), 2 for a usage error.
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  connect: { type: "string" },
  servername: { type: "string" },
  trust: { type: "string" },
  label: { type: "string" },
  "app-id": { type: "string" },
  send: { type: "string" },
  expect: { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
} as const;

function hostAndPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = m?.[3] !== undefined ? Number(m[3]) : NaN;
  if (m === null || !(port >= 1 && port <= 65_535)) throw new UsageError(`--connect must be HOST:PORT (IPv6: [ADDR]:PORT), not '${value}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function printDiagnosis(context: CliContext, d: Diagnosis): void {
  const width = Math.max(...d.steps.map((s) => s.step.length));
  for (const s of d.steps) {
    const verdict = s.ok ? "ok    " : "FAILED";
    const code = s.code !== undefined ? `${String(s.code)} ${s.codeName ?? ""}: ` : "";
    context.stdout.write(`${s.step.padEnd(width)}  ${verdict}  ${code}${s.message}\n`);
  }
  if (d.chain && d.chain.length > 0) {
    context.stdout.write("\nserver chain (leaf first):\n");
    d.chain.forEach((c, i) => {
      context.stdout.write(`  [${String(i)}] subject  ${c.subject}\n      issuer   ${c.issuer}\n      valid    ${c.validFrom} to ${c.validTo}\n`);
      if (c.subjectAltName !== undefined) context.stdout.write(`      names    ${c.subjectAltName}\n`);
    });
  }
  if (d.protocol !== undefined) {
    context.stdout.write("\n");
    printFields(context.stdout, [
      ["PROTOCOL", d.protocol],
      ["CIPHER", d.cipher ?? ""],
    ]);
  }
}

export async function run(context: CliContext): Promise<number> {
  try {
    const { values } = parseOptions(context.argv, OPTIONS);
    if (values.help === true) {
      context.stdout.write(USAGE);
      return EXIT_OK;
    }
    const { host, port } = hostAndPort(need(values, "connect"));
    if (values.trust !== undefined && values["app-id"] !== undefined) throw new UsageError("give either --trust or --app-id: an application ID brings its own trust list");
    if (values.expect !== undefined && values.send === undefined) throw new UsageError("--expect checks the answer to --send: give --send too");
    let expectReply: RegExp | undefined;
    try {
      expectReply = values.expect !== undefined ? new RegExp(values.expect) : undefined;
    } catch (error) {
      throw new UsageError(`--expect is not a valid regular expression: ${(error as Error).message}`);
    }
    const identity = identityOptions(context, values);
    const diagnosis = await diagnoseConnection({
      host,
      port,
      ...(values.servername !== undefined ? { servername: values.servername } : {}),
      ...(identity.keystore ? { keystore: identity.keystore } : {}),
      ...(identity.applicationId !== undefined ? { applicationId: identity.applicationId } : {}),
      ...(identity.systemDirectory !== undefined ? { systemDirectory: identity.systemDirectory } : {}),
      ...(values.trust !== undefined ? { trustFile: values.trust } : {}),
      ...(values.send !== undefined ? { credentials: values.send.endsWith("\n") ? values.send : `${values.send}\n` } : {}),
      ...(expectReply ? { expectReply } : {}),
      timeoutMs: integer(values.timeout, "timeout", 1, 3_600_000) ?? 10_000,
    });
    if (values.json === true) printJson(context.stdout, diagnosis);
    else printDiagnosis(context, diagnosis);
    const failure = diagnosis.steps.find((s) => !s.ok);
    if (!failure) return EXIT_OK;
    // One line: the network steps' own sentence (it names the address or name), the TLS steps'
    // code text (their full explanation is in the table above).
    const short = failure.step === "handshake" || failure.step === "validate" || failure.code === undefined ? undefined : failure.message.split(/\.? Fix: /)[0];
    const why = failure.code !== undefined ? `${short ?? returnCodeText(failure.code).replace(/\.$/, "")} (${failure.codeName ?? ""} ${String(failure.code)})` : failure.message;
    context.stderr.write(`gskit: connect: the ${failure.step} step failed: ${why}\n`);
    return failure.code !== undefined ? exitCodeFor(failure.code) : EXIT_FAILURE;
  } catch (error) {
    const code = reportError(context, "connect", error);
    return code === EXIT_USAGE || !(error instanceof GskError) ? code : exitCodeFor(error.code);
  }
}
