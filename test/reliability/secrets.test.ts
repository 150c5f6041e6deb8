/**
 * Secrets and defaults.
 *
 * - Passwords (right and wrong ones), private keys and session-ticket keys never appear in error
 *   messages, in `util.inspect` of our objects (Environment, Session, TlsServer, GskError with its
 *   causes, KeyStore, the core objects a callback receives), in what gskx_last_error and the
 *   `gskit-tls:error` diagnostics channel give, or in process warnings: every text the library
 *   produced in these scenarios is searched for the password and for the key's PEM and DER bytes.
 * - Stash files and key stores are created with mode 0600, whatever the umask.
 * - NODE_TLS_REJECT_UNAUTHORIZED=0 gives one process warning (GSKIT_TLS_REJECT_UNAUTHORIZED) and
 *   changes nothing: validation still refuses an untrusted server (in a child process, so the
 *   variable and the once-per-process warning stay out of this one).
 *
 * Budget: ~5 s.
 */
import { execFile } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  Environment,
  GskError,
  gsk_attribute_set_buffer,
  gsk_attribute_set_callback,
  gsk_attribute_set_enum,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gskx_last_error,
  ref,
  type Session,
  type gsk_handle,
  GSK_ENVIRONMENT_CLOSE_CALLBACK,
  GSK_KEYRING_FILE,
  GSK_KEYRING_LABEL,
  GSK_KEYRING_PW,
  GSK_KEYRING_STASH_FILE,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
} from "../../src/index.js";
import { saveCmsKeyDb, changeCmsKeyDbPassword } from "../../src/keystore/cms-kdb.js";
import { openKeyStore } from "../../src/keystore/open.js";
import { writeStashFile } from "../../src/keystore/stash.js";
import type { KeyStoreEntry } from "../../src/keystore/types.js";
import { writeKeyStoreFile } from "../../src/keystore/write.js";
import { pki } from "../fixtures/pki-manifest.js";

const PASSWORD = "Pa55-w0rd-only-this-test-knows";
const WRONG = "Wr0ng-pa55word-also-secret";
const TICKET_KEYS = Buffer.alloc(48, 0x5c);

const repoRoot = resolve(import.meta.dirname, "../..");
let dir: string;
let entries: KeyStoreEntry[];
let clientEntries: KeyStoreEntry[];
/** Secrets that must appear in no output. */
let needles: { what: string; text: string }[];

function certs(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gskit-secrets-"));
  const server = pki("ecdsa", "server");
  const key = createPrivateKey(server.key);
  entries = [
    { label: "server", certificates: certs(server.chain), privateKey: key, trusted: false },
    { label: "root", certificates: certs(pki("ecdsa", "root").cert), trusted: true },
  ];
  const clientPki = pki("ecdsa", "client");
  const clientKey = createPrivateKey(clientPki.key);
  clientEntries = [
    { label: "client", certificates: certs(clientPki.chain), privateKey: clientKey, trusted: false },
    { label: "root", certificates: certs(pki("ecdsa", "root").cert), trusted: true },
  ];
  needles = [
    { what: "the password", text: PASSWORD },
    { what: "the wrong password", text: WRONG },
    { what: "the ticket keys (hex)", text: TICKET_KEYS.toString("hex").slice(0, 32) },
  ];
  for (const [name, pem, k] of [["server", server.key, key], ["client", clientPki.key, clientKey]] as const) {
    const body = pem.split("\n").filter((l) => l.length > 0 && !l.startsWith("-----"));
    const der = k.export({ format: "der", type: "pkcs8" });
    needles.push(
      ...body.map((line, i) => ({ what: `line ${String(i + 1)} of the ${name} key's PEM`, text: line })),
      { what: `the ${name} key's DER (hex)`, text: der.subarray(der.length - 40).toString("hex") },
      { what: `the ${name} key's private scalar (base64url)`, text: k.export({ format: "jwk" }).d! },
    );
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every text the library produced, with where it came from. */
const outputs: { where: string; text: string }[] = [];
function record(where: string, value: unknown): void {
  outputs.push({ where, text: typeof value === "string" ? value : inspect(value, { depth: Infinity, showHidden: true, getters: true }) });
}

function expectNoSecrets(): void {
  const leaks: string[] = [];
  for (const o of outputs) for (const n of needles) if (o.text.includes(n.text)) leaks.push(`${n.what} in ${o.where}`);
  expect(leaks).toEqual([]);
}

async function failure(where: string, action: () => Promise<unknown>): Promise<GskError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    record(`${where}: message`, (error as Error).message);
    record(`${where}: inspect`, error);
    record(`${where}: JSON`, JSON.stringify(error));
    return error as GskError;
  }
  throw new Error(`${where}: did not fail`);
}

describe("passwords and keys never appear in messages, inspect output, diagnostics or warnings", () => {
  it("across key-store failures, handshakes, the gsk_* layer and the objects' inspect output", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    const published: unknown[] = [];
    const onPublish = (message: unknown): void => void published.push(message);
    diagnostics.subscribe("gskit-tls:error", onPublish);
    try {
      const p12 = join(dir, "store.p12");
      const legacy = join(dir, "legacy.p12");
      const pem = join(dir, "store.pem");
      const clientPem = join(dir, "client.pem");
      const kdb = join(dir, "store.kdb");
      const sth = join(dir, "store.sth");
      const wrongSth = join(dir, "wrong.sth");
      await writeKeyStoreFile(p12, entries, { format: "pkcs12", password: PASSWORD, iterations: 1 });
      await writeKeyStoreFile(legacy, entries, { format: "pkcs12", password: PASSWORD, iterations: 1, legacy: true });
      await writeKeyStoreFile(pem, entries, { format: "pem", password: PASSWORD });
      await writeKeyStoreFile(clientPem, clientEntries, { format: "pem", password: PASSWORD });
      await saveCmsKeyDb(kdb, [{ ...entries[0]!, certificates: entries[0]!.certificates.slice(0, 1) }, ...certs(pki("ecdsa", "intermediate").cert).map((c) => ({ label: "int", certificates: [c], trusted: true })), entries[1]!], PASSWORD, { iterations: 1 });
      await writeStashFile(sth, PASSWORD);
      await writeStashFile(wrongSth, WRONG);

      // Key stores: wrong passwords, a stash with the wrong one, a missing label.
      for (const file of [p12, legacy, pem, kdb]) {
        await failure(`openKeyStore(${file}, wrong password)`, () => openKeyStore(file, { password: WRONG }));
        await failure(`Environment.open(${file}, wrong password)`, () => Environment.open({ keystore: { file, password: WRONG } }));
        await failure(`Environment.open(${file}, missing label)`, () => Environment.open({ role: "server", keystore: { file, password: PASSWORD, label: "no-such-label" } }));
        record(`openKeyStore(${file})`, await openKeyStore(file, { password: PASSWORD }));
      }
      await failure("openKeyStore(kdb, wrong stash)", () => openKeyStore(kdb, { stashFile: wrongSth }));
      record("openKeyStore(kdb, stash)", await openKeyStore(kdb, { stashFile: sth }));
      // A damaged store (a flipped byte near the end) with the right password.
      const damaged = join(dir, "damaged.p12");
      const bytes = await readFile(p12);
      bytes[bytes.length - 30] ^= 0xff;
      await writeFile(damaged, bytes);
      await failure("openKeyStore(damaged)", () => openKeyStore(damaged, { password: PASSWORD }));

      // The gsk_* layer: a failed init, then one that works, with a close callback that is handed
      // the environment.
      const env = ref<gsk_handle>();
      expect(gsk_environment_open(env)).toBe(GSK_OK);
      gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, kdb, 0);
      gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, WRONG, 0);
      gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, GSK_SERVER_SESSION);
      expect(await gsk_environment_init(env.value)).not.toBe(GSK_OK);
      record("gskx_last_error after a wrong password", gskx_last_error());
      const env2 = ref<gsk_handle>();
      expect(gsk_environment_open(env2)).toBe(GSK_OK);
      gsk_attribute_set_buffer(env2.value, GSK_KEYRING_FILE, kdb, 0);
      gsk_attribute_set_buffer(env2.value, GSK_KEYRING_STASH_FILE, sth, 0);
      gsk_attribute_set_buffer(env2.value, GSK_KEYRING_PW, PASSWORD, 0);
      gsk_attribute_set_buffer(env2.value, GSK_KEYRING_LABEL, "server", 0);
      gsk_attribute_set_enum(env2.value, GSK_SESSION_TYPE, GSK_SERVER_SESSION);
      let closed: unknown;
      gsk_attribute_set_callback(env2.value, GSK_ENVIRONMENT_CLOSE_CALLBACK, (e: unknown) => void (closed = e));
      expect(await gsk_environment_init(env2.value)).toBe(GSK_OK);
      record("the gsk handle box", env2);
      expect(gsk_environment_close(env2)).toBe(GSK_OK);
      expect(closed).toBeDefined();
      record("what GSK_ENVIRONMENT_CLOSE_CALLBACK is given", closed);
      gsk_environment_close(env);

      // The idiomatic layer: a working mutual-TLS session, both ends inspected.
      const server = await Environment.open({ role: "server", keystore: { file: p12, password: PASSWORD }, clientAuth: "optional", ticketKeys: TICKET_KEYS });
      const client = await Environment.open({ keystore: { file: clientPem, password: PASSWORD } });
      let serverSession: Session | undefined;
      const tls = server.createServer((s) => void (serverSession = s));
      const { port } = await tls.listen();
      const session = await client.connect({ host: "127.0.0.1", port, servername: "localhost" });
      await session.write("hello");
      for (let i = 0; i < 50 && !serverSession; i++) await new Promise((r) => setTimeout(r, 10));
      expect(serverSession?.peerCertificate?.subject).toMatch(/CN=client/);
      record("inspect(server Environment)", server);
      record("inspect(client Environment)", client);
      record("inspect(client Session)", session);
      record("inspect(server Session)", serverSession);
      record("inspect(TlsServer)", tls);
      record("inspect(Duplex view)", session.duplex());
      // A handshake that fails: a client that trusts another CA.
      const other = join(dir, "other.pem");
      await writeKeyStoreFile(other, [{ label: "rsa-root", certificates: certs(pki("rsa", "root").cert), trusted: true }], { format: "pem" });
      const distrustful = await Environment.open({ keystore: { file: other } });
      await failure("a refused handshake", () => distrustful.connect({ host: "127.0.0.1", port, servername: "localhost" }));
      await session.close();
      await serverSession?.close();
      await tls.close();
      await server.close();
      await client.close();
      await distrustful.close();
    } finally {
      process.off("warning", onWarning);
      diagnostics.unsubscribe("gskit-tls:error", onPublish);
    }
    for (const w of warnings) record(`warning ${String((w as { code?: string }).code)}`, `${w.message} ${inspect(w)}`);
    for (const p of published) record("gskit-tls:error diagnostics", p);

    expect(outputs.length).toBeGreaterThan(40);
    console.log(`secrets: ${String(outputs.length)} texts (${String(outputs.reduce((n, o) => n + o.text.length, 0))} characters) searched for ${String(needles.length)} secrets`);
    expectNoSecrets();
    // The password attribute is shown, redacted, so nobody goes looking for it elsewhere.
    expect(outputs.find((o) => o.where === "inspect(server Environment)")!.text).toContain("GSK_KEYRING_PW: '[redacted]'");
  });
});

describe("files holding keys or passwords are created with mode 0600, whatever the umask", () => {
  it("writeStashFile, writeKeyStoreFile (PKCS#12 and PEM, new and replacing a 0644 file), saveCmsKeyDb, changeCmsKeyDbPassword's stash", async () => {
    const previous = process.umask(0);
    try {
      const files = {
        stash: join(dir, "mode.sth"),
        p12: join(dir, "mode.p12"),
        pem: join(dir, "mode.pem"),
        kdb: join(dir, "mode.kdb"),
        replaced: join(dir, "replaced.p12"),
      };
      await writeStashFile(files.stash, PASSWORD);
      await writeKeyStoreFile(files.p12, entries, { format: "pkcs12", password: PASSWORD, iterations: 1 });
      await writeKeyStoreFile(files.pem, entries, { format: "pem" });
      await saveCmsKeyDb(files.kdb, [{ ...entries[0]!, certificates: entries[0]!.certificates.slice(0, 1) }, entries[1]!], PASSWORD, { iterations: 1 });
      await writeFile(files.replaced, "old content", { mode: 0o644 });
      await writeKeyStoreFile(files.replaced, entries, { format: "pkcs12", password: PASSWORD, iterations: 1 });
      const modes = Object.fromEntries(await Promise.all(Object.entries(files).map(async ([k, f]) => [k, ((await stat(f)).mode & 0o777).toString(8)])));
      expect(modes).toEqual({ stash: "600", p12: "600", pem: "600", kdb: "600", replaced: "600" });

      // Changing a key database's password rewrites its stash: still 0600.
      await changeCmsKeyDbPassword(files.kdb, PASSWORD, WRONG, { stash: true, iterations: 1 });
      const sth = files.kdb.replace(/\.kdb$/, ".sth");
      expect(((await stat(sth)).mode & 0o777).toString(8)).toBe("600");
      expect(((await stat(files.kdb)).mode & 0o777).toString(8)).toBe("600");
    } finally {
      process.umask(previous);
    }
  });
});

describe("NODE_TLS_REJECT_UNAUTHORIZED=0", () => {
  /** Runs a child that opens two environments and tries an untrusted server; returns what it saw. */
  async function child(rejectUnauthorized: string | undefined): Promise<{ warnings: string[]; code: number | null }> {
    const script = join(dir, `child-${String(rejectUnauthorized)}.mts`);
    const src = (p: string): string => JSON.stringify(resolve(repoRoot, p));
    await writeFile(
      script,
      `import { Environment, isGskError } from ${src("src/index.ts")};
       import { makeStore } from ${src("test/helpers/stores.ts")};
       const warnings = [];
       process.on("warning", (w) => warnings.push(w.code ?? w.name));
       const serverStore = await makeStore({ tree: "ecdsa", personal: ["server"] });
       const otherTrust = await makeStore({ tree: "rsa" });
       const server = await Environment.open({ role: "server", keystore: { file: serverStore, password: "secret" } });
       const client = await Environment.open({ keystore: { file: otherTrust, password: "secret" } });
       const tls = server.createServer(() => undefined);
       const { port } = await tls.listen();
       let code = null;
       try { await client.connect({ host: "127.0.0.1", port, servername: "localhost" }); code = 0; }
       catch (e) { code = isGskError(e) ? e.code : -1; }
       await tls.close(); await server.close(); await client.close();
       await new Promise((r) => setImmediate(r));
       console.log(JSON.stringify({ warnings, code }));`,
    );
    const env = { ...process.env };
    if (rejectUnauthorized === undefined) delete env["NODE_TLS_REJECT_UNAUTHORIZED"];
    else env["NODE_TLS_REJECT_UNAUTHORIZED"] = rejectUnauthorized;
    const stdout = await new Promise<string>((resolveOut, reject) => {
      execFile(process.execPath, ["--import", "tsx", script], { cwd: repoRoot, env, timeout: 30_000 }, (error, out, err) => {
        if (error) reject(new Error(`${error.message}\n${err}`));
        else resolveOut(out);
      });
    });
    return JSON.parse(stdout.trim().split("\n").pop()!) as { warnings: string[]; code: number | null };
  }

  it("gives one GSKIT_TLS_REJECT_UNAUTHORIZED warning for two environments, and an untrusted server is still refused (6000)", async () => {
    const set = await child("0");
    expect(set.warnings.filter((w) => w === "GSKIT_TLS_REJECT_UNAUTHORIZED")).toHaveLength(1);
    expect(set.code).toBe(6000);
    const unset = await child(undefined);
    expect(unset.warnings).not.toContain("GSKIT_TLS_REJECT_UNAUTHORIZED");
    expect(unset.code).toBe(6000);
  }, 60_000);
});
