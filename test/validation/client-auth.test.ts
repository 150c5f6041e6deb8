/**
 * Client authentication: every session type and client-auth type a server can combine, against
 * a client that sends no certificate, a good one, one issued by a CA the server does not trust,
 * an expired one, one with the wrong extended key usage and a revoked one. The server validates:
 * it gets the precise code from gsk_secure_soc_init, or connects and reads it from
 * GSK_CERTIFICATE_VALIDATION_CODE; a client the server refused learns it from its init or, at
 * the latest, its first read.
 *
 * An expired client certificate cannot be presented by our library (its own expired certificate
 * fails gsk_environment_init with 107), so a node:tls client presents that one.
 */
import { describe, expect, it } from "vitest";

import {
  GSK_CLIENT_AUTH_FULL,
  GSK_CLIENT_AUTH_PASSTHRU,
  GSK_ERROR_BAD_CERTIFICATE,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_IBMI_CLIENT_AUTH_REQUIRED,
  GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSK_SERVER_SESSION_WITH_CL_AUTH,
  GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL,
  GSKX_ERROR_PEER_NAME_MISMATCH,
  GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
} from "../../src/index.js";
import {
  TREES,
  caEntry,
  customStore,
  expectAccepted,
  expectForeignRefused,
  expectPeerRefused,
  expectRejected,
  foreignClientAgainst,
  openEnv,
  runPair,
  untrustedClientEntry,
  type EnvSpec,
  type Tree,
} from "./helpers.js";

type Presented = "none" | "good" | "untrusted" | "expired" | "wrong-eku" | "revoked";

/** The code validating each presentation gives (0: valid). */
const VERDICT: Record<Presented, number> = {
  none: GSK_ERROR_NO_CERTIFICATE,
  good: GSK_OK,
  untrusted: GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  expired: GSK_KEYFILE_CERT_EXPIRED,
  "wrong-eku": GSK_ERROR_BAD_CERTIFICATE,
  revoked: GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
};

interface Mode {
  readonly name: string;
  readonly sessionType: number;
  readonly clientAuth: number;
  /** Presentations whose handshake the server fails; the others connect with VERDICT as validation code. */
  readonly fails: readonly Presented[];
}

/** The spec's "Session types and validation", one row per combination. */
const MODES: readonly Mode[] = [
  {
    name: "GSK_SERVER_SESSION_WITH_CL_AUTH + GSK_CLIENT_AUTH_FULL",
    sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH,
    clientAuth: GSK_CLIENT_AUTH_FULL,
    fails: ["untrusted", "expired", "wrong-eku", "revoked"],
  },
  { name: "GSK_SERVER_SESSION_WITH_CL_AUTH + GSK_CLIENT_AUTH_PASSTHRU", sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, clientAuth: GSK_CLIENT_AUTH_PASSTHRU, fails: [] },
  {
    name: "GSK_SERVER_SESSION + GSK_IBMI_CLIENT_AUTH_REQUIRED",
    sessionType: GSK_SERVER_SESSION,
    clientAuth: GSK_IBMI_CLIENT_AUTH_REQUIRED,
    fails: ["none", "untrusted", "expired", "wrong-eku", "revoked"],
  },
  {
    name: "GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL + GSK_CLIENT_AUTH_FULL",
    sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL,
    clientAuth: GSK_CLIENT_AUTH_FULL,
    fails: ["none", "untrusted", "expired", "wrong-eku", "revoked"],
  },
  {
    name: "GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL + GSK_CLIENT_AUTH_PASSTHRU",
    sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL,
    clientAuth: GSK_CLIENT_AUTH_PASSTHRU,
    fails: ["none"],
  },
];

const PRESENTED: readonly Presented[] = ["none", "good", "untrusted", "expired", "wrong-eku", "revoked"];

async function clientSpec(tree: Tree, presented: Presented, tls13: boolean): Promise<EnvSpec> {
  switch (presented) {
    case "none":
      return { tree, tls13 };
    case "good":
      return { tree, tls13, personal: ["client"] };
    case "untrusted":
      return { tree, tls13, store: await customStore([await untrustedClientEntry(tree), caEntry(tree, "root")]) };
    case "wrong-eku":
      return { tree, tls13, personal: ["client-eku-server-only"] };
    case "revoked":
      return { tree, tls13, personal: ["client-revoked"] };
    case "expired":
      throw new Error("an expired client is a node:tls client");
  }
}

describe.each(TREES.flatMap((tree) => [true, false].map((tls13) => [tree, tls13] as const)))("client authentication, %s tree, TLS 1.3 %s", (tree, tls13) => {
  describe.each(MODES.map((m) => [m.name, m] as const))("%s", (_name, mode) => {
    it.each(PRESENTED.map((p) => [p] as const))("client certificate: %s", async (presented) => {
      const fails = mode.fails.includes(presented);
      const verdict = VERDICT[presented];
      const server = await openEnv({
        tree,
        tls13,
        personal: ["server"],
        sessionType: mode.sessionType,
        clientAuth: mode.clientAuth,
        // The revoked case needs CRLs in force; every CA on the path has one.
        ...(presented === "revoked" ? { crls: ["intermediate", "root"] } : {}),
      });
      try {
        if (presented === "expired") {
          const r = await foreignClientAgainst(server, { tree, leaf: "client-expired", tls13 });
          if (fails) {
            expectRejected(r.server, verdict);
            expectForeignRefused(r.foreign);
          } else {
            expectAccepted(r.server, verdict);
            expect(r.foreign.received).toBe("ping");
          }
          return;
        }
        const client = await openEnv(await clientSpec(tree, presented, tls13));
        try {
          const r = await runPair(server, client, { sni: "localhost" });
          if (fails) {
            expectRejected(r.server, verdict);
            expectPeerRefused(r.client);
          } else {
            expectAccepted(r.server, verdict);
            expectAccepted(r.client);
            expect(r.exchanged).toBe(true);
          }
        } finally {
          client.close();
        }
      } finally {
        server.close();
      }
    });
  });

  it("a plain GSK_SERVER_SESSION (FULL) asks for no certificate: a client that has one connects, validation code 0 on both ends", async () => {
    const server = await openEnv({ tree, tls13, personal: ["server"], sessionType: GSK_SERVER_SESSION });
    const client = await openEnv({ tree, tls13, personal: ["client"] });
    try {
      const r = await runPair(server, client, { sni: "localhost" });
      expectAccepted(r.server, 0);
      expectAccepted(r.client, 0);
      expect(r.exchanged).toBe(true);
    } finally {
      client.close();
      server.close();
    }
  });
});

describe.each(TREES)("allowed peer names (GSKX_ALLOWED_PEER_NAMES), %s tree", (tree) => {
  it.each([
    ["dns:client.example.test", GSK_OK],
    ["dns:*.example.test", GSK_OK],
    ["dns:other.example.test", GSKX_ERROR_PEER_NAME_MISMATCH],
    ["dn:CN=someone else,O=gskit-tls tests", GSKX_ERROR_PEER_NAME_MISMATCH],
  ] as const)("%s: %s", async (allowed, code) => {
    const server = await openEnv({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, allowedPeerNames: allowed });
    const client = await openEnv({ tree, personal: ["client"] });
    try {
      const r = await runPair(server, client, { sni: "localhost" });
      if (code === GSK_OK) {
        expectAccepted(r.server);
        expect(r.exchanged).toBe(true);
      } else {
        expectRejected(r.server, code);
        expect(r.server.message).toMatch(/allowed peer names/);
        expectPeerRefused(r.client, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
      }
    } finally {
      client.close();
      server.close();
    }
  });
});

describe.each(TREES)("a TLS 1.3 client whose certificate the server refuses, %s tree", (tree) => {
  it("learns it from gsk_secure_soc_init itself (9002), not from a later read after data was lost", async () => {
    const server = await openEnv({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, clientAuth: GSK_CLIENT_AUTH_FULL });
    const client = await openEnv({ tree, store: await customStore([await untrustedClientEntry(tree), caEntry(tree, "root")]) });
    try {
      const r = await runPair(server, client, { sni: "localhost" });
      expectRejected(r.server, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
      expect(r.client.init).toBe(GSKX_ERROR_PEER_REFUSED_CERTIFICATE);
      expect(r.client.message).toMatch(/after we presented our certificate \(subject 'CN=client\.example\.test/);
      expect(r.client.message).toMatch(/most likely refused it/);
    } finally {
      client.close();
      server.close();
    }
  });
});
