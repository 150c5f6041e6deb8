/**
 * Peer names: the client checks the server's certificate against the expected name
 * (GSKX_PEER_NAME, else the SNI name) by RFC 6125 — SAN only, no common-name fallback, a wildcard
 * only as the whole left-most label, IP addresses only against IP SANs — on every handshake,
 * resumed ones included. Every connection goes to 127.0.0.1; only the expected name changes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { GSK_OK, GSK_SERVER_AUTH_PASSTHRU, GSK_SERVER_SESSION, GSK_SID_IS_FIRST, GSK_SID_NOT_FIRST, GSKX_ERROR_PEER_NAME_MISMATCH, GSKX_ERROR_PEER_REFUSED_CERTIFICATE } from "../../src/index.js";
import { TREES, Listener, expectAccepted, expectPeerRefused, expectRejected, openEnv, runCase, runPair, type OpenedEnv, type SessionSpec } from "./helpers.js";

interface NameCase {
  readonly name: string;
  /** The leaf the server presents. */
  readonly leaf: string;
  readonly session: SessionSpec;
  readonly code: number;
}

const NAME_CASES: readonly NameCase[] = [
  { name: "wrong host: localhost against a certificate for other.example.test", leaf: "server-wrong-host", session: { sni: "localhost" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "IP 127.0.0.1 against a certificate with only a DNS SAN", leaf: "server-wrong-host", session: { peerName: "127.0.0.1" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "IP 127.0.0.1 against a certificate with only an IP SAN 127.0.0.1", leaf: "server-ip-only", session: { peerName: "127.0.0.1" }, code: GSK_OK },
  { name: "the IP SAN's certificate does not match a DNS name", leaf: "server-ip-only", session: { peerName: "ip-only.example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "CN-only certificate: no common-name fallback", leaf: "server-cn-only", session: { sni: "localhost" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "*.example.test matches a.example.test", leaf: "wildcard", session: { peerName: "a.example.test" }, code: GSK_OK },
  { name: "*.example.test matches A.Example.Test (case-insensitive)", leaf: "wildcard", session: { peerName: "A.Example.Test" }, code: GSK_OK },
  { name: "*.example.test does not match example.test", leaf: "wildcard", session: { peerName: "example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "*.example.test does not match a.b.example.test", leaf: "wildcard", session: { peerName: "a.b.example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "partial-label f*.example.test never matches (foo.example.test)", leaf: "wildcard-partial", session: { peerName: "foo.example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "wildcard over a TLD *.test never matches (example.test)", leaf: "wildcard-tld", session: { peerName: "example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "two wildcard labels *.*.example.test never match (a.b.example.test)", leaf: "wildcard-multi", session: { peerName: "a.b.example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
  { name: "GSKX_PEER_NAME wins over the SNI name", leaf: "server", session: { sni: "localhost", peerName: "other.example.test" }, code: GSKX_ERROR_PEER_NAME_MISMATCH },
];

describe.each(TREES)("peer names, %s tree", (tree) => {
  it.each(NAME_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const r = await runCase({ tree, personal: [c.leaf], sessionType: GSK_SERVER_SESSION }, { tree }, c.session);
    if (c.code === GSK_OK) {
      expectAccepted(r.client);
      expectAccepted(r.server);
      expect(r.exchanged).toBe(true);
      return;
    }
    expectRejected(r.client, c.code);
    expectPeerRefused(r.server, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
  });

  it("an IP address as the SNI name is checked against IP SANs and never sent as SNI", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => void warnings.push(`${w.code ?? ""} ${w.message}`);
    process.on("warning", onWarning);
    try {
      const r = await runCase({ tree, personal: ["server-ip-only"], sessionType: GSK_SERVER_SESSION }, { tree }, { sni: "127.0.0.1" });
      expectAccepted(r.client);
      expectAccepted(r.server);
      expect(r.server.servername).toBe("");
      expect(r.exchanged).toBe(true);
      // node:tls warns (DEP0123) when an IP address is given to it as servername.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes("DEP0123"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a DNS SNI name is sent and seen by the server", async () => {
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, { tree }, { sni: "localhost" });
    expectAccepted(r.client);
    expect(r.server.servername).toBe("localhost");
  });
});

describe.each(TREES.flatMap((tree) => [true, false].map((tls13) => [tree, tls13] as const)))("a resumed session is held to the name check, %s tree, TLS 1.3 %s", (tree, tls13) => {
  let listener: Listener;
  let server: OpenedEnv;
  let client: OpenedEnv;

  beforeEach(async () => {
    listener = await Listener.open();
    server = await openEnv({ tree, tls13, personal: ["server"], sessionType: GSK_SERVER_SESSION });
    client = await openEnv({ tree, tls13 });
  });

  afterEach(async () => {
    client.close();
    server.close();
    await listener.close();
  });

  it("same SNI, same address: resumes (517) under the same expected name and fails 9001 under another", async () => {
    const first = await runPair(server, client, { sni: "localhost", peerName: "localhost" }, listener);
    expectAccepted(first.client);
    expect(first.client.sidFirst).toBe(GSK_SID_IS_FIRST);
    expect(first.exchanged).toBe(true);

    const again = await runPair(server, client, { sni: "localhost", peerName: "localhost" }, listener);
    expectAccepted(again.client);
    expect(again.client.sidFirst).toBe(GSK_SID_NOT_FIRST);
    expect(again.server.sidFirst).toBe(GSK_SID_NOT_FIRST);

    // Same cache entry (address, port and SNI name), another expected name: refused.
    const other = await runPair(server, client, { sni: "localhost", peerName: "other.example.test" }, listener);
    expectRejected(other.client, GSKX_ERROR_PEER_NAME_MISMATCH);
    expect(other.client.message).toContain("other.example.test");
    expectPeerRefused(other.server, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);

    // The same under PASSTHRU, which connects and so shows the handshake was a resumed one.
    const seen = await runPair(server, client, { sni: "localhost", peerName: "other.example.test", serverAuth: GSK_SERVER_AUTH_PASSTHRU }, listener);
    expectAccepted(seen.client, GSKX_ERROR_PEER_NAME_MISMATCH);
    expect(seen.client.sidFirst).toBe(GSK_SID_NOT_FIRST);
  });
});
