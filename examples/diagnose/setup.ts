/**
 * The PKI of the device-sync example, made with `gskit` commands, except one step:
 *
 * - the sync service's CA (sync-ca.p12) and sync-root.pem, which every device carries;
 * - the sync server's system directory: the certificate sync.example.org and the application ID
 *   SYNC_SERVER;
 * - an impostor: a certificate for the same name from a CA no device trusts (application ID
 *   SYNC_IMPOSTOR in the same directory, for the demo);
 * - an expired certificate for sync.example.org as PEM (expired-cert.pem, expired-key.pem), served
 *   by `openssl s_server`. The CLI only issues certificates valid from now on (and the library
 *   refuses to serve an expired one), so this step uses `issueCertificate` from gskit-tls/tools
 *   with dates in the past.
 *
 * The commands run in this process through the CLI's own command functions: one Node start-up
 * instead of one per command. Each is printed as the shell line that does the same.
 * Run: npx tsx examples/diagnose/setup.ts [DIR]   (default examples/.pki/diagnose)
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { generateKey, issueCertificate, openKeyStore, selectPersonalEntry, stashPathFor, toPem } from "gskit-tls/tools";
import { gskit } from "../gskit-command.js";


export const DEFAULT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".pki", "diagnose");

export function layout(dir: string) {
  return {
    dir,
    /** What each device trusts. */
    rootPem: join(dir, "sync-root.pem"),
    system: join(dir, "server"),
    expiredCertPem: join(dir, "expired-cert.pem"),
    expiredKeyPem: join(dir, "expired-key.pem"),
  };
}
export type Layout = ReturnType<typeof layout>;

/** Makes everything once; a directory already set up is reused. */
export async function setup(dir = DEFAULT_DIR, log: (line: string) => void = console.log): Promise<Layout> {
  const l = layout(resolve(dir));
  const done = join(l.dir, "setup.done");
  if (existsSync(done)) return l;
  if (existsSync(l.dir) && readdirSync(l.dir).length > 0) throw new Error(`${l.dir} is not empty and not a finished setup: remove it first`);
  mkdirSync(l.dir, { recursive: true });
  const g = (...argv: string[]): Promise<void> => gskit(log, ...argv);
  const syncCa = join(l.dir, "sync-ca.p12");
  const impostorCa = join(l.dir, "impostor-ca.p12");

  await g("keydb", "create", "--db", syncCa, "--stash");
  await g("cert", "create-ca", "--db", syncCa, "--stash", "--label", "sync-root", "--dn", "CN=Sync Root CA,O=Example Devices", "--key", "ec-p256");
  await g("cert", "extract", "--db", syncCa, "--stash", "--label", "sync-root", "--target", l.rootPem);
  await g("system", "init", "--dir", l.system);
  await g("cert", "issue", "--db", syncCa, "--stash", "--ca-label", "sync-root", "--label", "sync", "--dn", "CN=sync.example.org,O=Example Devices",
    "--san", "dns:sync.example.org", "--eku", "serverAuth", "--key", "ec-p256", "--target", "*SYSTEM", "--dir", l.system);
  await g("app", "register", "--id", "SYNC_SERVER", "--type", "server", "--label", "sync", "--description", "sync.example.org", "--dir", l.system);

  await g("keydb", "create", "--db", impostorCa, "--stash");
  await g("cert", "create-ca", "--db", impostorCa, "--stash", "--label", "impostor-root", "--dn", "CN=Impostor CA,O=Nobody", "--key", "ec-p256");
  await g("cert", "issue", "--db", impostorCa, "--stash", "--ca-label", "impostor-root", "--label", "impostor", "--dn", "CN=sync.example.org,O=Nobody",
    "--san", "dns:sync.example.org", "--eku", "serverAuth", "--key", "ec-p256", "--target", "*SYSTEM", "--dir", l.system);
  await g("app", "register", "--id", "SYNC_IMPOSTOR", "--type", "server", "--label", "impostor", "--description", "a server pretending to be sync.example.org", "--dir", l.system);

  // The expired certificate: same CA, same name, validity over a year ago.
  log("(tools) issueCertificate: sync.example.org, valid 400 to 30 days ago, from sync-root");
  const ca = selectPersonalEntry(await openKeyStore(syncCa, { stashFile: stashPathFor(syncCa) }), "sync-root");
  const key = await generateKey("ec-p256");
  const day = 86_400_000;
  const expired = await issueCertificate({
    subject: "CN=sync.example.org,O=Example Devices",
    publicKey: key.publicKey,
    issuer: { certificate: ca.certificates[0]!, privateKey: ca.privateKey! },
    subjectAltNames: { dns: ["sync.example.org"] },
    extendedKeyUsage: ["serverAuth"],
    notBefore: new Date(Date.now() - 400 * day),
    notAfter: new Date(Date.now() - 30 * day),
  });
  writeFileSync(l.expiredCertPem, toPem(expired));
  writeFileSync(l.expiredKeyPem, key.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });

  writeFileSync(done, `${new Date().toISOString()}\n`);
  return l;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const l = await setup(process.argv[2] ?? DEFAULT_DIR);
  console.log(`device-sync PKI ready in ${l.dir}`);
}
