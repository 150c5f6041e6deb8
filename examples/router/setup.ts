/**
 * The PKI and application IDs of the message router, made with `gskit` commands only. Three
 * organisations, each with its own CA and its own system directory (one host each, with one
 * application ID per server it runs):
 *
 * - example.org: the well-known front msg.example.org (MSG_FRONT, serving users; MSG_FORWARDER,
 *   the same certificate calling other organisations) and the home servers home1 and home2
 *   (MSG_HOME1, MSG_HOME2). Users trust example-root.pem and check names.
 * - partner.example: one home server (PARTNER_HOME) that requires client certificates, trusts
 *   example.org's root, and accepts only msg.example.org (allowed peer names): example.org's
 *   front may deliver there, nobody else from example.org may.
 *   example.org's forwarder trusts partner.example's root: federation both ways, per ID.
 * - other.example: a home server whose CA nobody here trusts, so forwarding there fails (6000).
 *
 * The commands run in this process through the CLI's own command functions: one Node start-up
 * instead of one per command. Each is printed as the shell line that does the same.
 * Run: npx tsx examples/router/setup.ts [DIR]   (default examples/.pki/router)
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gskit } from "../gskit-command.js";


export const DEFAULT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".pki", "router");

export function layout(dir: string) {
  return {
    dir,
    /** What example.org's users are given to verify its servers. */
    exampleRootPem: join(dir, "example-root.pem"),
    partnerRootPem: join(dir, "partner-root.pem"),
    system: { example: join(dir, "example.org"), partner: join(dir, "partner.example"), other: join(dir, "other.example") },
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
  const ca = (name: string): string => join(l.dir, `${name}-ca.p12`);
  const issue = (caName: string, label: string, dn: string, san: string, eku: string, sys: string): Promise<void> =>
    g("cert", "issue", "--db", ca(caName), "--stash", "--ca-label", `${caName}-root`, "--label", label, "--dn", dn, "--san", san, "--eku", eku, "--key", "ec-p256", "--target", "*SYSTEM", "--dir", sys);

  // Each organisation's CA, kept apart from its servers.
  for (const [name, dn] of [["example", "CN=Example Org Root CA,O=Example Org"], ["partner", "CN=Partner Root CA,O=Partner Org"], ["other", "CN=Other Root CA,O=Other Org"]] as const) {
    await g("keydb", "create", "--db", ca(name), "--stash");
    await g("cert", "create-ca", "--db", ca(name), "--stash", "--label", `${name}-root`, "--dn", dn, "--key", "ec-p256");
  }
  await g("cert", "extract", "--db", ca("example"), "--stash", "--label", "example-root", "--target", l.exampleRootPem);
  await g("cert", "extract", "--db", ca("partner"), "--stash", "--label", "partner-root", "--target", l.partnerRootPem);

  // example.org: the front (one certificate, serving users and calling other organisations) and two home servers.
  const ex = l.system.example;
  await g("system", "init", "--dir", ex);
  await issue("example", "front", "CN=msg.example.org,O=Example Org", "dns:msg.example.org", "serverAuth,clientAuth", ex);
  await issue("example", "home1", "CN=home1.example.org,O=Example Org", "dns:home1.example.org", "serverAuth", ex);
  await issue("example", "home2", "CN=home2.example.org,O=Example Org", "dns:home2.example.org", "serverAuth", ex);
  await g("app", "register", "--id", "MSG_FRONT", "--type", "server", "--label", "front", "--description", "msg.example.org: where users send", "--dir", ex);
  await g("app", "register", "--id", "MSG_HOME1", "--type", "server", "--label", "home1", "--dir", ex);
  await g("app", "register", "--id", "MSG_HOME2", "--type", "server", "--label", "home2", "--dir", ex);
  // The forwarder verifies other organisations' home servers: their roots, and only those.
  await g("cert", "add", "--db", "*SYSTEM", "--dir", ex, "--label", "partner-root", "--file", l.partnerRootPem);
  await g("app", "register", "--id", "MSG_FORWARDER", "--type", "client", "--label", "front", "--ca", "partner-root", "--description", "msg.example.org delivering to other organisations", "--dir", ex);

  // partner.example: a home server that takes deliveries from example.org's front only.
  const pa = l.system.partner;
  await g("system", "init", "--dir", pa);
  await issue("partner", "home", "CN=home.partner.example,O=Partner Org", "dns:home.partner.example", "serverAuth", pa);
  await g("cert", "add", "--db", "*SYSTEM", "--dir", pa, "--label", "example-root", "--file", l.exampleRootPem);
  await g("app", "register", "--id", "PARTNER_HOME", "--type", "server", "--label", "home", "--client-auth", "required", "--ca", "example-root",
    "--allowed-peer-names", "dns:msg.example.org", "--dir", pa);

  // other.example: listed in the front's routes, but its CA is trusted by nobody here.
  const ot = l.system.other;
  await g("system", "init", "--dir", ot);
  await issue("other", "home", "CN=home.other.example,O=Other Org", "dns:home.other.example", "serverAuth", ot);
  await g("app", "register", "--id", "OTHER_HOME", "--type", "server", "--label", "home", "--dir", ot);

  writeFileSync(done, `${new Date().toISOString()}\n`);
  return l;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const l = await setup(process.argv[2] ?? DEFAULT_DIR);
  console.log(`router PKI ready in ${l.dir}`);
}
