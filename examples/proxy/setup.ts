/**
 * The PKI and application IDs of the certificate-authenticating reverse proxy, made with `gskit`
 * commands only:
 *
 * - the organisation's CA (example-ca.p12) and root.pem, which users' browsers and curl trust;
 * - the proxy host (its own system directory): the certificate portal.example.org, used both to
 *   serve HTTPS (PORTAL_HTTPS, client certificates asked for) and to call the backend
 *   (PORTAL_UPSTREAM);
 * - the backend host (its own system directory): BACKEND_API, which requires a client
 *   certificate and accepts only portal.example.org's (allowed peer names): nobody reaches it
 *   around the proxy;
 * - users' certificates as PEM files (certificate, chain and encrypted key), as curl takes them:
 *   alice (on the proxy's allowed list), bob (a good certificate, not on the list) and mallory
 *   (issued by a CA nobody here trusts).
 *
 * The commands run in this process through the CLI's own command functions: one Node start-up
 * instead of one per command. Each is printed as the shell line that does the same.
 * Run: npx tsx examples/proxy/setup.ts [DIR]   (default examples/.pki/proxy)
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gskit } from "../gskit-command.js";


export const DEFAULT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".pki", "proxy");
/** Protects the users' exported keys (curl --pass). */
export const USER_KEY_PASSWORD = "user-key-password";

export function layout(dir: string) {
  return {
    dir,
    rootPem: join(dir, "root.pem"),
    users: { alice: join(dir, "alice.pem"), bob: join(dir, "bob.pem"), mallory: join(dir, "mallory.pem") },
    system: { proxy: join(dir, "proxy"), backend: join(dir, "backend") },
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
  const exampleCa = join(l.dir, "example-ca.p12");
  const rogueCa = join(l.dir, "rogue-ca.p12");

  await g("keydb", "create", "--db", exampleCa, "--stash");
  await g("cert", "create-ca", "--db", exampleCa, "--stash", "--label", "example-root", "--dn", "CN=Example Org Root CA,O=Example Org", "--key", "ec-p256");
  await g("cert", "extract", "--db", exampleCa, "--stash", "--label", "example-root", "--target", l.rootPem);

  // The proxy host.
  const px = l.system.proxy;
  await g("system", "init", "--dir", px);
  await g("cert", "issue", "--db", exampleCa, "--stash", "--ca-label", "example-root", "--label", "portal", "--dn", "CN=portal.example.org,O=Example Org",
    "--san", "dns:portal.example.org", "--eku", "serverAuth,clientAuth", "--key", "ec-p256", "--target", "*SYSTEM", "--dir", px);
  await g("app", "register", "--id", "PORTAL_HTTPS", "--type", "server", "--label", "portal", "--ca", "example-root", "--client-auth", "optional",
    "--description", "https://portal.example.org: users authenticated by certificate", "--dir", px);
  await g("app", "register", "--id", "PORTAL_UPSTREAM", "--type", "client", "--label", "portal", "--ca", "example-root", "--description", "portal.example.org calling the backend", "--dir", px);

  // The backend host: the proxy's certificate, and nobody else's, gets in.
  const be = l.system.backend;
  await g("system", "init", "--dir", be);
  await g("cert", "issue", "--db", exampleCa, "--stash", "--ca-label", "example-root", "--label", "backend", "--dn", "CN=backend.example.org,O=Example Org",
    "--san", "dns:backend.example.org", "--eku", "serverAuth", "--key", "ec-p256", "--target", "*SYSTEM", "--dir", be);
  await g("app", "register", "--id", "BACKEND_API", "--type", "server", "--label", "backend", "--ca", "example-root", "--client-auth", "required",
    "--allowed-peer-names", "dns:portal.example.org", "--dir", be);

  // Users: certificates issued in the CA's store, handed out as PEM with an encrypted key.
  const user = async (ca: string, caLabel: string, label: string, cn: string, email: string, file: string): Promise<void> => {
    await g("cert", "issue", "--db", ca, "--stash", "--ca-label", caLabel, "--label", label, "--dn", `CN=${cn},O=Example Org`, "--san", `email:${email}`, "--eku", "clientAuth", "--key", "ec-p256");
    await g("cert", "export", "--db", ca, "--stash", "--label", label, "--target", file, "--target_type", "pem", "--target_pw", USER_KEY_PASSWORD);
  };
  await user(exampleCa, "example-root", "alice", "Alice Example", "alice@example.org", l.users.alice);
  await user(exampleCa, "example-root", "bob", "Bob Example", "bob@example.org", l.users.bob);
  await g("keydb", "create", "--db", rogueCa, "--stash");
  await g("cert", "create-ca", "--db", rogueCa, "--stash", "--label", "rogue-root", "--dn", "CN=Rogue CA,O=Nobody", "--key", "ec-p256");
  await user(rogueCa, "rogue-root", "mallory", "Mallory", "mallory@example.org", l.users.mallory);

  writeFileSync(done, `${new Date().toISOString()}\n`);
  return l;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const l = await setup(process.argv[2] ?? DEFAULT_DIR);
  console.log(`proxy PKI ready in ${l.dir}`);
}
