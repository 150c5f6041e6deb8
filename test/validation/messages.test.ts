/**
 * What a failed validation says: the certificate by subject, issuer and serial, the expected name
 * and the SANs presented, the CA that lacks a CRL, and a fix — on the validating end; and on the
 * other end, that the peer most likely refused what we presented.
 */
import { describe, expect, it } from "vitest";

import { GSK_IBMI_CLIENT_AUTH_REQUIRED, GSK_SERVER_SESSION, GSK_SERVER_SESSION_WITH_CL_AUTH } from "../../src/index.js";
import { formatDnRfc4514, isoDate } from "../../src/trust/describe.js";
import { againstForeignServer, caCert, caEntry, customStore, expectPeerRefused, leafCert, leafOnlyEntry, openEnv, runCase, type Tree } from "./helpers.js";

const tree: Tree = "rsa";

/** The three things that identify a certificate in every message. */
function expectNames(message: string | undefined, leafName: string): void {
  const cert = leafCert(tree, leafName);
  expect(message).toContain(`subject '${formatDnRfc4514(cert.subject)}'`);
  expect(message).toContain(`issuer '${formatDnRfc4514(cert.issuer)}'`);
  expect(message).toContain(`serial ${cert.serialNumber}`);
}

const serving = (leaf: string) => ({ tree, personal: [leaf], sessionType: GSK_SERVER_SESSION });

describe("messages on the validating end", () => {
  it("unknown root: names the certificate and its untrusted issuer, and says to fix the trust list", async () => {
    const r = await runCase(serving("server-untrusted"), { tree }, { sni: "localhost" });
    expectNames(r.client.message, "server-untrusted");
    expect(r.client.message).toContain("GSKit Test Other CA");
    expect(r.client.message).toMatch(/does not chain to a trusted CA/);
    expect(r.client.message).toMatch(/Fix: .*trust list/);
  });

  it("missing intermediate: says no intermediate was presented and that one is needed", async () => {
    const store = await customStore([leafOnlyEntry(tree, "server"), caEntry(tree, "root")]);
    const r = await runCase({ tree, store, sessionType: GSK_SERVER_SESSION }, { tree }, { sni: "localhost" });
    expectNames(r.client.message, "server");
    expect(r.client.message).toMatch(/no intermediate certificates presented/);
    expect(r.client.message).toMatch(/Fix: .*intermediate/);
  });

  it("wrong host: the expected name, the SANs presented and the fix", async () => {
    const r = await runCase(serving("server-wrong-host"), { tree }, { sni: "localhost" });
    expectNames(r.client.message, "server-wrong-host");
    expect(r.client.message).toContain("expected peer name 'localhost'");
    expect(r.client.message).toContain("DNS:other.example.test");
    expect(r.client.message).toMatch(/reissue it with a SAN for DNS:localhost/);
  });

  it("an IP address against DNS SANs: says IP addresses match IP SANs only", async () => {
    const r = await runCase(serving("server-wrong-host"), { tree }, { peerName: "127.0.0.1" });
    expect(r.client.message).toContain("'127.0.0.1'");
    expect(r.client.message).toMatch(/matched only against IP SANs/);
    expect(r.client.message).toMatch(/SAN for IP:127\.0\.0\.1/);
  });

  it("CN-only certificate: says the common name is not used", async () => {
    const r = await runCase(serving("server-cn-only"), { tree }, { sni: "localhost" });
    expect(r.client.message).toMatch(/no subjectAltName/);
    expect(r.client.message).toMatch(/common name is not used/);
  });

  it("wildcard over two labels: says a wildcard matches exactly one label", async () => {
    const r = await runCase(serving("wildcard"), { tree }, { peerName: "a.b.example.test" });
    expect(r.client.message).toContain("DNS:*.example.test");
    expect(r.client.message).toMatch(/exactly one label/);
  });

  it("CRL missing for one issuer: names the CA without a CRL", async () => {
    const r = await runCase(serving("server"), { tree, crls: ["intermediate"] }, { sni: "localhost" });
    expect(r.client.message).toContain(`no CRL in force for issuer '${formatDnRfc4514(caCert(tree, "root").subject)}'`);
    expect(r.client.message).not.toContain(`issuer '${formatDnRfc4514(caCert(tree, "intermediate").subject)}':`);
    expect(r.client.message).toMatch(/GSKX_CRL_FILE/);
  });

  it("revoked: names the revoked certificate by serial", async () => {
    const r = await runCase(serving("server-revoked"), { tree, crls: ["intermediate", "root"] }, { sni: "localhost" });
    expectNames(r.client.message, "server-revoked");
    expect(r.client.message).toMatch(/revoked by a CRL in force/);
  });

  it("CA certificate as a leaf: says so and how to fix it", async () => {
    const r = await runCase(serving("ca-as-leaf"), { tree }, { sni: "localhost" });
    expectNames(r.client.message, "ca-as-leaf");
    expect(r.client.message).toMatch(/CA certificate \(basicConstraints CA:TRUE\)/);
    expect(r.client.message).toMatch(/end-entity certificate/);
  });

  it("wrong EKU: says which extended key usage is needed", async () => {
    const r = await runCase(serving("server-eku-client-only"), { tree }, { sni: "localhost" });
    expect(r.client.message).toMatch(/extended key usage serverAuth/);
  });

  it("expired leaf: the date it expired", async () => {
    const env = await openEnv({ tree });
    try {
      const r = await againstForeignServer(env, { tree, leaf: "server-expired" });
      expectNames(r.client.message, "server-expired");
      expect(r.client.message).toContain(`has expired (on ${isoDate(leafCert(tree, "server-expired").validTo)})`);
      expect(r.client.message).toMatch(/Fix: renew/);
    } finally {
      env.close();
    }
  });

  it("expired intermediate: names the CA certificate that expired, not only the leaf", async () => {
    const env = await openEnv({ tree });
    try {
      const r = await againstForeignServer(env, { tree, leaf: "server-under-expired-int" });
      const ca = caCert(tree, "intermediate-expired");
      expect(r.client.message).toContain(`the CA certificate '${formatDnRfc4514(ca.subject)}' (serial ${ca.serialNumber}) in its chain expired on ${isoDate(ca.validTo)}`);
    } finally {
      env.close();
    }
  });

  it("a server requiring a client certificate that got none: says so and how to fix it", async () => {
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION, clientAuth: GSK_IBMI_CLIENT_AUTH_REQUIRED }, { tree }, { sni: "localhost" });
    expect(r.server.message).toMatch(/the client sent no certificate/);
    expect(r.server.message).toMatch(/configure a certificate on the client/);
  });

  it("a client certificate with the wrong EKU: names it and asks for clientAuth", async () => {
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH }, { tree, personal: ["client-eku-server-only"] }, { sni: "localhost" });
    expectNames(r.server.message, "client-eku-server-only");
    expect(r.server.message).toMatch(/not usable for a TLS client/);
    expect(r.server.message).toMatch(/clientAuth/);
  });
});

describe("messages on the end that was refused", () => {
  it("a server whose certificate the client refused: the client most likely refused it; check its trust list and expected name", async () => {
    const r = await runCase(serving("server-untrusted"), { tree }, { sni: "localhost" });
    const { message } = expectPeerRefused(r.server);
    expect(message).toMatch(/the client (closed|reset) the connection/);
    expect(message).toMatch(/most likely refused it/);
    expect(message).toMatch(/trust list and expected name/);
  });

  it("a client whose certificate the server refused: names the certificate it presented", async () => {
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH }, { tree, personal: ["client-eku-server-only"] }, { sni: "localhost" });
    const { message } = expectPeerRefused(r.client);
    expectNames(message, "client-eku-server-only");
    expect(message).toMatch(/most likely refused it/);
  });

  it("a client without a certificate that a server requiring one hung up on: says it most likely needs one", async () => {
    for (const tls13 of [true, false]) {
      const r = await runCase(
        { tree, tls13, personal: ["server"], sessionType: GSK_SERVER_SESSION, clientAuth: GSK_IBMI_CLIENT_AUTH_REQUIRED },
        { tree, tls13 },
        { sni: "localhost" },
      );
      const { message } = expectPeerRefused(r.client);
      expect(message).toMatch(/we presented no certificate/);
      expect(message).toMatch(/requires client authentication/);
    }
  });
});
