/**
 * The PKI and application IDs of the federated network, made with `gskit` commands only:
 *
 * - the organisation's CA (org-ca.p12, kept apart from every server);
 * - three servers, edge, app and db, each with its own system directory (its own *SYSTEM store
 *   and application registry, as each would have on its own machine), a certificate from the
 *   organisation CA, a server application ID and (edge, app) a client application ID for calling
 *   the next server in;
 * - a partner organisation with its own CA and a gateway client in its own system directory;
 * - the federation: the partner's root is added to the edge's store and trusted by the edge's
 *   server application ID only. app and db trust the organisation CA alone.
 *
 * The commands run in this process through the CLI's own command functions: one Node start-up
 * instead of one per command. Each is printed as the shell line that does the same.
 * Run: npx tsx examples/federation/setup.ts [DIR]   (default examples/.pki/federation)
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gskit } from "../gskit-command.js";


export const DEFAULT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".pki", "federation");
/** Protects the partner gateway's exported PEM key, for openssl s_client. */
export const EXPORT_PASSWORD = "partner-export";

/** Where each piece lives under the example's directory. */
export function layout(dir: string) {
  return {
    dir,
    orgCa: join(dir, "org-ca.p12"),
    orgRootPem: join(dir, "org-root.pem"),
    partnerCa: join(dir, "partner-ca.p12"),
    partnerRootPem: join(dir, "partner-root.pem"),
    /** The partner gateway's certificate and encrypted key as PEM, for openssl s_client. */
    partnerGatewayPem: join(dir, "partner-gateway.pem"),
    system: { edge: join(dir, "edge"), app: join(dir, "app"), db: join(dir, "db"), partner: join(dir, "partner") },
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

  // The organisation's CA: a store of its own, its password only in the stash beside it.
  await g("keydb", "create", "--db", l.orgCa, "--stash");
  await g("cert", "create-ca", "--db", l.orgCa, "--stash", "--label", "org-root", "--dn", "CN=Example Org Root CA,O=Example Org", "--key", "ec-p256");
  await g("cert", "extract", "--db", l.orgCa, "--stash", "--label", "org-root", "--target", l.orgRootPem);

  for (const name of ["edge", "app", "db"] as const) {
    const sys = l.system[name];
    const id = name.toUpperCase();
    await g("system", "init", "--dir", sys);
    // One certificate for both directions: servers accept with it and call the next server with it.
    await g("cert", "issue", "--db", l.orgCa, "--stash", "--ca-label", "org-root", "--label", name, "--dn", `CN=${name}.example.org,O=Example Org`,
      "--san", `dns:${name}.example.org`, "--eku", "serverAuth,clientAuth", "--key", "ec-p256", "--target", "*SYSTEM", "--dir", sys);
    // The edge serves the public too: a client certificate is asked for but not required
    // (anonymous users and the partner's gateway both come in there). Interior servers require one.
    await g("app", "register", "--id", `ORG_${id}_SERVER`, "--type", "server", "--client-auth", name === "edge" ? "optional" : "required",
      "--label", name, "--ca", "org-root", "--description", `${name}.example.org, serving`, "--dir", sys);
    if (name !== "db") {
      // An explicit trust list: the edge's store will also hold the partner's root, which its
      // outgoing calls into the organisation must not trust.
      await g("app", "register", "--id", `ORG_${id}_CLIENT`, "--type", "client", "--label", name, "--ca", "org-root", "--description", `${name}.example.org, calling in`, "--dir", sys);
    }
  }

  // The partner organisation: its own CA, and a gateway that calls our edge.
  await g("keydb", "create", "--db", l.partnerCa, "--stash");
  await g("cert", "create-ca", "--db", l.partnerCa, "--stash", "--label", "partner-root", "--dn", "CN=Partner Root CA,O=Partner Org", "--key", "ec-p256");
  await g("cert", "extract", "--db", l.partnerCa, "--stash", "--label", "partner-root", "--target", l.partnerRootPem);
  await g("system", "init", "--dir", l.system.partner);
  await g("cert", "issue", "--db", l.partnerCa, "--stash", "--ca-label", "partner-root", "--label", "gateway", "--dn", "CN=gateway.partner.example,O=Partner Org",
    "--san", "dns:gateway.partner.example", "--eku", "clientAuth", "--key", "ec-p256", "--target", "*SYSTEM", "--dir", l.system.partner);
  // The partner verifies our edge against our root, which we sent them (org-root.pem).
  await g("cert", "add", "--db", "*SYSTEM", "--dir", l.system.partner, "--label", "example-org-root", "--file", l.orgRootPem);
  await g("app", "register", "--id", "PARTNER_GATEWAY", "--type", "client", "--label", "gateway", "--ca", "example-org-root", "--dir", l.system.partner);
  await g("cert", "export", "--db", "*SYSTEM", "--dir", l.system.partner, "--label", "gateway", "--target", l.partnerGatewayPem, "--target_type", "pem", "--target_pw", EXPORT_PASSWORD);

  // The federation itself: the partner's root on the edge, trusted by the edge's server ID only.
  await g("cert", "add", "--db", "*SYSTEM", "--dir", l.system.edge, "--label", "partner-root", "--file", l.partnerRootPem);
  await g("app", "trust", "--id", "ORG_EDGE_SERVER", "--ca", "org-root,partner-root", "--dir", l.system.edge);

  writeFileSync(done, `${new Date().toISOString()}\n`);
  return l;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const l = await setup(process.argv[2] ?? DEFAULT_DIR);
  console.log(`federation PKI ready in ${l.dir}`);
}
