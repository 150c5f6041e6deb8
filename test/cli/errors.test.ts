/**
 * Every command's failures: exactly one line on stderr, `gskit: <command>: <why> (<NAME> <n>)`,
 * nothing on stdout, exit code 1 (2 for a command line that does not fit, the GSK code modulo
 * 256 for s_client).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ERROR_LINE, gskit, scratch, type Result } from "./helpers.js";

const tmp = scratch("errors");
afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  tmp.cleanup();
});

const p12 = tmp.path("store.p12");
const pem = tmp.path("clear.pem");
const sys = tmp.path("system");
const noSys = tmp.path("no-system");
const P = ["--db", p12, "--pw", "pw"];
let closedPort = 0;
/** Accepts TCP and says nothing: for failures that come before any TLS byte. */
let silent: Server | undefined;
const silentSockets = new Set<Socket>();
let silentPort = 0;

async function ok(argv: string[]): Promise<Result> {
  const result = await gskit(argv);
  expect(result.stderr, `gskit ${argv.join(" ")}`).toBe("");
  expect(result.code).toBe(0);
  return result;
}

beforeAll(async () => {
  await ok(["keydb", "create", ...P]);
  await ok(["cert", "create-ca", ...P, "--label", "ca", "--dn", "CN=Errors CA", "--key", "ec-p256"]);
  await ok(["cert", "issue", ...P, "--ca-label", "ca", "--label", "leaf", "--dn", "CN=leaf", "--key", "ec-p256"]);
  await ok(["cert", "extract", ...P, "--label", "ca", "--target", tmp.path("ca.arm")]);
  await ok(["keydb", "create", "--db", pem, "--type", "pem"]);
  await ok(["system", "init", "--dir", sys]);
  await ok(["cert", "add", "--db", "*SYSTEM", "--dir", sys, "--label", "sys-ca", "--file", tmp.path("ca.arm")]);
  await ok(["app", "register", "--id", "SRV", "--type", "server", "--dir", sys]);
  await ok(["app", "register", "--id", "CLI", "--type", "client", "--dir", sys]);
  writeFileSync(tmp.path("garbage.txt"), "not a certificate\n");
  mkdirSync(tmp.path("broken-registry"));
  writeFileSync(tmp.path("broken-registry/applications.json"), "{ not json");
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  closedPort = (listener.address() as { port: number }).port;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.once("close", () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent?.listen(0, "127.0.0.1", resolve));
  silentPort = (silent.address() as { port: number }).port;
});

const F = (name: string): string => tmp.path(name);
const S = ["--dir", sys];

/** [argv, exit code, GSK code name] */
const CASES: [() => string[], number, string][] = [
  // keydb
  [() => ["keydb"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "frobnicate"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "create"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "create", "--db", F("x.p12"), "--pw", "x", "--colour", "red"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "create", "--db", F("x.p12"), "--pw", "x", "stray"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "create", "--db", F("x.p12"), "--pw", "x", "--type", "jks"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "create", "--db", p12, "--pw", "x"], 1, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "create", "--db", F("nopw.p12")], 1, "GSK_NO_KEYFILE_PASSWORD"],
  [() => ["keydb", "list", "--db", F("missing.p12")], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["keydb", "list", "--db", F("garbage.txt"), "--pw", "x"], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["keydb", "list", "--db", p12], 1, "GSK_NO_KEYFILE_PASSWORD"],
  [() => ["keydb", "changepw", ...P], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "changepw", "--db", p12, "--pw", "wrong", "--new_pw", "n"], 1, "GSK_ERROR_BAD_KEYFILE_PASSWORD"],
  [() => ["keydb", "stashpw", "--db", p12, "--pw", "wrong"], 1, "GSK_ERROR_BAD_KEYFILE_PASSWORD"],
  [() => ["keydb", "convert", ...P, "--target", F("c.kdb")], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "convert", ...P, "--target", F("c.kdb"), "--target_type", "zip"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["keydb", "convert", "--db", F("missing.p12"), "--pw", "x", "--target", F("c.kdb"), "--target_type", "cms"], 1, "GSK_KEYRING_OPEN_ERROR"],
  // cert
  [() => ["cert", "create-ca", ...P, "--label", "ca", "--dn", "CN=again"], 1, "GSK_KEYFILE_DUPLICATE_LABEL"],
  [() => ["cert", "create-ca", ...P, "--label", "new", "--dn", "CN=x", "--key", "dsa"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "create-ca", ...P, "--label", "new", "--dn", "CN=x", "--expire", "soon"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "create-ca", ...P, "--label", "new", "--dn", "no equals sign"], 1, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "issue", ...P, "--ca-label", "nope", "--label", "x", "--dn", "CN=x"], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["cert", "issue", ...P, "--ca-label", "leaf", "--label", "x", "--dn", "CN=x"], 1, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "issue", "--db", "*SYSTEM", ...S, "--ca-label", "sys-ca", "--label", "x", "--dn", "CN=x"], 1, "GSK_ERROR_NO_PRIVATE_KEY"],
  [() => ["cert", "issue", ...P, "--ca-label", "ca", "--label", "x", "--dn", "CN=x", "--san", "ip:not-an-ip"], 1, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "issue", ...P, "--ca-label", "ca", "--label", "x", "--dn", "CN=x", "--eku", "everything"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "issue", ...P, "--ca-label", "ca", "--label", "x", "--dn", "CN=x", "--key", "ec-p256", "--size", "4096"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "issue", ...P, "--ca-label", "ca", "--label", "x", "--dn", "CN=x", "--target", F("missing.p12"), "--target_pw", "x"], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["cert", "sign", ...P, "--ca-label", "ca", "--file", F("missing.csr"), "--target", F("out.pem")], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["cert", "sign", ...P, "--ca-label", "ca", "--file", F("garbage.txt"), "--target", F("out.pem")], 1, "GSK_ERROR_ASN"],
  [() => ["cert", "receive", ...P, "--file", F("ca.arm")], 1, "GSK_ERROR_NO_PRIVATE_KEY"],
  [() => ["cert", "receive", ...P, "--file", F("garbage.txt")], 1, "GSK_ERROR_BAD_CERT"],
  [() => ["cert", "add", ...P, "--label", "x", "--file", F("garbage.txt")], 1, "GSK_ERROR_BAD_CERT"],
  [() => ["cert", "add", ...P, "--label", "x"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "enable", ...P, "--label", "nope"], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["cert", "disable", ...P, "--label", "leaf"], 1, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "list", "--db", F("garbage.txt"), "--pw", "x"], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["cert", "list", "--db", p12, "--pw", "wrong"], 1, "GSK_ERROR_BAD_KEYFILE_PASSWORD"],
  [() => ["cert", "details", ...P, "--label", "Leaf"], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["cert", "details", ...P], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "delete", ...P, "--label", "nope"], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["cert", "extract", ...P, "--label", "ca", "--target", F("x.arm"), "--format", "hex"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "extract", ...P, "--label", "ca", "--target", F("no/such/dir/x.arm")], 1, "GSK_KEYFILE_IO_ERROR"],
  [() => ["cert", "import", ...P, "--file", F("missing.p12"), "--file_pw", "x"], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["cert", "import", ...P, "--file", p12, "--file_pw", "pw", "--new_label", "x"], 1, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "export", ...P, "--label", "leaf", "--target", F("out.p12")], 2, "GSK_INVALID_PARAMETER"],
  [() => ["cert", "export", ...P, "--label", "leaf", "--target", p12, "--target_pw", "pw"], 1, "GSK_KEYFILE_DUPLICATE_LABEL"],
  // certreq
  [() => ["certreq", "create", ...P, "--label", "leaf", "--dn", "CN=x", "--file", F("r.csr")], 1, "GSK_KEYFILE_DUPLICATE_LABEL"],
  [() => ["certreq", "create", "--db", pem, "--label", "r", "--dn", "CN=x", "--file", F("r.csr")], 1, "GSK_NO_KEYFILE_PASSWORD"],
  [() => ["certreq", "create", ...P, "--label", "r", "--dn", "CN=x"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["certreq", "list", "--db", F("missing.p12")], 1, "GSK_KEYRING_OPEN_ERROR"],
  // app
  [() => ["app", "register", "--id", "1bad", "--type", "server", ...S], 1, "GSK_INVALID_PARAMETER"],
  [() => ["app", "register", "--id", "SRV", "--type", "server", ...S], 1, "GSK_INVALID_PARAMETER"],
  [() => ["app", "register", "--id", "X", "--type", "daemon", ...S], 2, "GSK_INVALID_PARAMETER"],
  [() => ["app", "register", "--id", "X", "--type", "client", "--client-auth", "required", ...S], 1, "GSK_INVALID_PARAMETER"],
  [() => ["app", "assign", "--id", "NOPE", "--label", "x", ...S], 1, "GSK_IBMI_ERROR_NOT_REGISTERED"],
  [() => ["app", "assign", "--id", "SRV", "--label", "not-there", ...S], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["app", "assign", "--id", "SRV", "--label", "sys-ca", ...S], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["app", "assign", "--id", "SRV", "--label", "a", "--dir", noSys], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["app", "trust", "--id", "SRV", "--ca", "sys-ca", "--all", ...S], 2, "GSK_INVALID_PARAMETER"],
  [() => ["app", "trust", "--id", "SRV", "--ca", "nope", ...S], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["app", "show", "--id", "srv", ...S], 1, "GSK_IBMI_ERROR_NOT_REGISTERED"],
  [() => ["app", "remove", "--id", "NOPE", ...S], 1, "GSK_IBMI_ERROR_NOT_REGISTERED"],
  [() => ["app", "set", "--id", "SRV", ...S], 2, "GSK_INVALID_PARAMETER"],
  [() => ["app", "set", "--id", "SRV", "--session-lifetime", "100000", ...S], 2, "GSK_INVALID_PARAMETER"],
  [() => ["app", "set", "--id", "SRV", "--protocols", "SSLv3", ...S], 1, "GSK_INVALID_PARAMETER"],
  [() => ["app", "list", "--dir", F("broken-registry")], 1, "GSK_KEYRING_OPEN_ERROR"],
  // system
  [() => ["system", "init", ...S], 1, "GSK_INVALID_PARAMETER"],
  [() => ["system", "init", "--dir", F("garbage.txt")], 1, "GSK_KEYFILE_IO_ERROR"],
  [() => ["system", "show", "--dir", F("broken-registry")], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["system", "reset"], 2, "GSK_INVALID_PARAMETER"],
  // strerror
  [() => ["strerror"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["strerror", "GSK_NO_SUCH_THING"], 2, "GSK_INVALID_PARAMETER"],
  // s_server
  [() => ["s_server"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["s_server", "--db", p12, "--app-id", "SRV", ...S], 2, "GSK_INVALID_PARAMETER"],
  [() => ["s_server", "--app-id", "NOPE", ...S], 1, "GSK_IBMI_ERROR_NOT_REGISTERED"],
  [() => ["s_server", "--db", F("missing.p12"), "--pw", "x"], 1, "GSK_KEYRING_OPEN_ERROR"],
  [() => ["s_server", ...P, "--label", "nope"], 1, "GSK_ERROR_BAD_KEYFILE_LABEL"],
  [() => ["s_server", ...P, "--port", "70000"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["s_server", ...P, "--client-auth", "maybe"], 2, "GSK_INVALID_PARAMETER"],
  // s_client: the GSK code modulo 256
  [() => ["s_client"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["s_client", "--connect", "localhost"], 2, "GSK_INVALID_PARAMETER"],
  [() => ["s_client", "--connect", `127.0.0.1:${String(closedPort)}`, ...P, "--label", "leaf", "--message", "x"], 406 % 256, "GSK_ERROR_IO"],
  [() => ["s_client", "--connect", `127.0.0.1:${String(silentPort)}`, "--app-id", "SRV", ...S], 438 % 256, "GSK_ERROR_INCORRECT_SESSION_TYPE"],
  [() => ["s_client", "--connect", `127.0.0.1:${String(closedPort)}`, "--db", p12, "--pw", "wrong"], 408 % 256, "GSK_ERROR_BAD_KEYFILE_PASSWORD"],
];

describe("every command's error path: one line, the right exit code", () => {
  const titled = CASES.map(([argv, exit, name]) => ({ argv, exit, name, title: argv().join(" ").replaceAll(tmp.dir + "/", "").replaceAll(String(closedPort), "PORT") }));
  it.each(titled)("gskit $title → exit $exit, $name", async ({ argv, exit, name }) => {
    const args = argv();
    const result = await gskit(args);
    expect(result.stdout, args.join(" ")).toBe("");
    expect(result.stderr, args.join(" ")).toMatch(ERROR_LINE);
    const line = ERROR_LINE.exec(result.stderr);
    expect(line?.[1], result.stderr).toBe(name);
    const group = args[0] as string;
    const action = ["strerror", "s_server", "s_client"].includes(group) || args.length < 2 || args[1]?.startsWith("-") ? group : `${group} ${String(args[1])}`;
    const prefix = exit === 2 && (args.length === 1 || args[1] === "frobnicate" || args[1] === "reset") ? `gskit: ${group}: ` : `gskit: ${action}: `;
    expect(result.stderr.startsWith(prefix), result.stderr).toBe(true);
    expect(result.code, result.stderr).toBe(exit);
  });
});
