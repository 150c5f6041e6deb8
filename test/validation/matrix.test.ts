/**
 * The server-certificate matrix: a client validates what the server presents, for both key trees
 * and both TLS 1.3 and 1.2. The client (the validating end) must get the precise code from
 * gsk_secure_soc_init; the server must learn of the refusal from its init or, at the latest, its
 * first read, and be told the client most likely refused its certificate.
 */
import { describe, expect, it } from "vitest";

import {
  GSK_ERROR_BAD_CERT_SIG,
  GSK_ERROR_BAD_CERTIFICATE,
  GSK_ERROR_SELF_SIGNED,
  GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
  GSK_IBMI_ERROR_CRL_INVALID,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSKX_ERROR_PEER_NAME_MISMATCH,
  GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
} from "../../src/index.js";
import {
  TREES,
  againstForeignServer,
  caEntry,
  customStore,
  expectAccepted,
  expectForeignRefused,
  expectPeerRefused,
  expectRejected,
  leafOnlyEntry,
  openEnv,
  runCase,
  type EnvSpec,
  type Tree,
} from "./helpers.js";

interface ServerCertCase {
  /** What the case is, as the docs table names it. */
  readonly name: string;
  /** The server's environment (leaf names of the tree). */
  readonly server?: (tree: Tree) => Promise<EnvSpec> | EnvSpec;
  /**
   * A leaf our library refuses to present (its own expired certificate fails
   * gsk_environment_init with 107): a node:tls server presents it instead.
   */
  readonly foreign?: string;
  /** Changes to the client's environment (default: trusts the tree's root). */
  readonly client?: Partial<EnvSpec>;
  /** The expected name (GSK_SSL_EXTN_SERVERNAME_REQUEST); default localhost. */
  readonly sni?: string;
  /** The client's code; 0 means it connects. */
  readonly code: number;
}

const serving = (leaf: string, trust: readonly string[] = ["root"]) => (tree: Tree): EnvSpec => ({ tree, personal: [leaf], trust, sessionType: GSK_SERVER_SESSION });

export const SERVER_CERT_CASES: readonly ServerCertCase[] = [
  { name: "good certificate", server: serving("server"), code: GSK_OK },
  { name: "expired leaf", foreign: "server-expired", code: GSK_KEYFILE_CERT_EXPIRED },
  { name: "not-yet-valid leaf", foreign: "server-notyetvalid", code: GSK_KEYFILE_CERT_EXPIRED },
  { name: "expired intermediate", foreign: "server-under-expired-int", code: GSK_KEYFILE_CERT_EXPIRED },
  { name: "expired root", foreign: "server-under-expired-root", client: { trust: ["root-expired"] }, code: GSK_KEYFILE_CERT_EXPIRED },
  { name: "unknown root (issued by a CA nobody trusts)", server: serving("server-untrusted"), code: GSK_IBMI_ERROR_NOT_TRUSTED_ROOT },
  {
    name: "missing intermediate (server presents its leaf only)",
    // The server's store holds the leaf without the intermediate, so it cannot send one.
    server: async (tree) => ({ tree, store: await customStore([leafOnlyEntry(tree, "server"), caEntry(tree, "root")]), sessionType: GSK_SERVER_SESSION }),
    code: GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  },
  { name: "self-signed leaf", server: serving("server-selfsigned"), code: GSK_ERROR_SELF_SIGNED },
  { name: "wrong EKU (clientAuth only, used as a server)", server: serving("server-eku-client-only"), code: GSK_ERROR_BAD_CERTIFICATE },
  { name: "CA certificate used as a leaf", server: serving("ca-as-leaf"), code: GSK_ERROR_BAD_CERTIFICATE },
  { name: "bad signature", foreign: "server-bad-sig", code: GSK_ERROR_BAD_CERT_SIG },
  { name: "revoked leaf", server: serving("server-revoked"), client: { crls: ["intermediate", "root"] }, code: GSK_IBMI_ERROR_CERTIFICATE_REVOKED },
  {
    name: "revoked intermediate",
    server: serving("server-under-revoked-int"),
    client: { crls: ["root", "intermediate-revoked"] },
    code: GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
  },
  { name: "good certificate with every CRL in force", server: serving("server"), client: { crls: ["intermediate", "root"] }, code: GSK_OK },
  { name: "CRL missing for one issuer (the root's)", server: serving("server"), client: { crls: ["intermediate"] }, code: GSK_IBMI_ERROR_CRL_INVALID },
  { name: "wrong host", server: serving("server-wrong-host"), code: GSKX_ERROR_PEER_NAME_MISMATCH },
];

describe.each(TREES.flatMap((tree) => [true, false].map((tls13) => [tree, tls13] as const)))("server certificates, %s tree, TLS 1.3 %s", (tree, tls13) => {
  it.each(SERVER_CERT_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const client: EnvSpec = { tree, tls13, ...c.client };
    if (c.foreign !== undefined) {
      const env = await openEnv(client);
      try {
        const r = await againstForeignServer(env, { tree, leaf: c.foreign, tls13 }, { sni: c.sni ?? "localhost" });
        expectRejected(r.client, c.code);
        expectForeignRefused(r.foreign);
      } finally {
        env.close();
      }
      return;
    }
    const server = { ...(await c.server!(tree)), tls13 };
    const r = await runCase(server, client, { sni: c.sni ?? "localhost" });
    if (c.code === GSK_OK) {
      expectAccepted(r.client);
      expectAccepted(r.server);
      expect(r.exchanged).toBe(true);
      return;
    }
    expectRejected(r.client, c.code);
    const refused = expectPeerRefused(r.server, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
    expect(refused.message).toMatch(/client .*(closed|reset).*our certificate|after we presented our certificate/);
  });
});
