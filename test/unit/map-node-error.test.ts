import { execFileSync } from "node:child_process";
import type { X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { RC, returnCodeRow } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { generateKey, issueCertificate, type KeyPair } from "../../src/pki/index.js";
import { describeCertificate, validationMessage } from "../../src/trust/describe.js";
import { alertFromError, mapNodeError, mapVerifyCode, NODE_ERROR_TABLE, nodeErrorRow } from "../../src/trust/map-node-error.js";

/** The mappings the spec and the measured Node matrix fix, written out independently of the table. */
const EXPECTED: [nodeCode: string, gsk: number][] = [
  ["UNABLE_TO_GET_ISSUER_CERT", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT],
  ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT],
  ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT],
  ["SELF_SIGNED_CERT_IN_CHAIN", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT],
  ["DEPTH_ZERO_SELF_SIGNED_CERT", RC.GSK_ERROR_SELF_SIGNED],
  ["CERT_HAS_EXPIRED", RC.GSK_KEYFILE_CERT_EXPIRED],
  ["CERT_NOT_YET_VALID", RC.GSK_KEYFILE_CERT_EXPIRED],
  ["CRL_HAS_EXPIRED", RC.GSK_IBMI_ERROR_CRL_INVALID],
  ["UNABLE_TO_GET_CRL", RC.GSK_IBMI_ERROR_CRL_INVALID],
  ["CERT_REVOKED", RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED],
  ["CERT_SIGNATURE_FAILURE", RC.GSK_ERROR_BAD_CERT_SIG],
  ["INVALID_PURPOSE", RC.GSK_ERROR_BAD_CERTIFICATE],
  ["INVALID_CA", RC.GSK_ERROR_BAD_CERTIFICATE],
  ["PATH_LENGTH_EXCEEDED", RC.GSK_ERROR_BAD_CERTIFICATE],
  ["HOSTNAME_MISMATCH", RC.GSKX_ERROR_PEER_NAME_MISMATCH],
  ["ERR_TLS_CERT_ALTNAME_INVALID", RC.GSKX_ERROR_PEER_NAME_MISMATCH],
  ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", RC.GSK_ERROR_BAD_CERTIFICATE],
  ["ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED", RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED],
  ["ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED", RC.GSK_KEYFILE_CERT_EXPIRED],
  ["ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT],
  ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", RC.GSK_ERROR_NO_CERTIFICATE],
  ["ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", RC.GSK_ERROR_NO_CIPHERS],
  ["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", RC.GSK_ERROR_NO_CIPHERS],
  ["ERR_SSL_NO_SHARED_CIPHER", RC.GSK_ERROR_NO_CIPHERS],
  ["ERR_SSL_UNSUPPORTED_PROTOCOL", RC.GSK_ERROR_NO_CIPHERS],
  ["ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", RC.GSK_ERROR_NO_CERTIFICATE],
  ["ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM", RC.GSK_ERROR_NO_CIPHERS],
  ["ERR_SSL_WRONG_VERSION_NUMBER", RC.GSK_ERROR_BAD_MESSAGE],
  ["ERR_SSL_HTTP_REQUEST", RC.GSK_ERROR_BAD_MESSAGE],
  ["ERR_SSL_PACKET_LENGTH_TOO_LONG", RC.GSK_ERROR_BAD_MESSAGE],
  ["ERR_SSL_TLSV1_ALERT_RECORD_OVERFLOW", RC.GSK_ERROR_BAD_MESSAGE],
  ["ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC", RC.GSK_ERROR_BAD_MAC],
  ["ERR_TLS_HANDSHAKE_TIMEOUT", RC.GSK_IBMI_ERROR_TIMED_OUT],
  ["ECONNRESET", RC.GSK_ERROR_IO],
  ["EPIPE", RC.GSK_ERROR_IO],
  ["ETIMEDOUT", RC.GSK_ERROR_IO],
  ["ERR_STREAM_DESTROYED", RC.GSK_ERROR_SOCKET_CLOSED],
  ["ERR_SOCKET_CLOSED", RC.GSK_ERROR_SOCKET_CLOSED],
];

describe("NODE_ERROR_TABLE", () => {
  it("has one row per Node code, each with a known GSK code, a why and a hint", () => {
    const codes = NODE_ERROR_TABLE.map((r) => r.nodeCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const row of NODE_ERROR_TABLE) {
      expect(returnCodeRow(row.gsk), row.nodeCode).toBeDefined();
      expect(row.why.length, row.nodeCode).toBeGreaterThan(10);
      expect(row.hint.length, row.nodeCode).toBeGreaterThan(5);
      expect(row.source === "alert").toBe(row.alert !== undefined);
    }
  });

  it.each(EXPECTED)("%s → %i", (nodeCode, gsk) => {
    expect(nodeErrorRow(nodeCode)?.gsk).toBe(gsk);
    expect(mapNodeError(Object.assign(new Error("x"), { code: nodeCode })).code).toBe(gsk);
  });

  // Every row, through the functions the core calls: verify codes through mapVerifyCode (a string,
  // as authorizationError is), everything through mapNodeError (an Error with that code).
  it.each(NODE_ERROR_TABLE.map((r) => [r.nodeCode, r] as const))("row %s", (nodeCode, row) => {
    if (row.source === "verify") expect(mapVerifyCode(nodeCode)).toEqual({ code: row.gsk, hint: row.hint });
    const mapped = mapNodeError(Object.assign(new Error("boom"), { code: nodeCode }));
    expect(mapped).toMatchObject({ code: row.gsk, hint: row.hint, why: row.why, nodeCode });
    if (row.alert !== undefined) expect(mapped.alert).toBe(row.alert);
  });

  it("names alert rows exactly as OpenSSL's reason strings make Node name them", () => {
    const alerts = NODE_ERROR_TABLE.filter((r) => r.source === "alert");
    // OpenSSL reason code = SSL_AD_REASON_OFFSET (1000) + alert; ERR_PACK(ERR_LIB_SSL = 20, 0, reason).
    const packed = alerts.map((r) => ((20 << 23) | (1000 + r.alert!)).toString(16).toUpperCase().padStart(8, "0"));
    const out = execFileSync("openssl", ["errstr", ...packed], { encoding: "utf8" }).trim().split("\n");
    out.forEach((line, i) => {
      const reason = line.split("::")[1]!;
      expect(`ERR_SSL_${reason.toUpperCase().replace(/ /g, "_")}`).toBe(alerts[i]!.nodeCode);
    });
  });

  it("gives the hint the spec asks for a leaf sent without its intermediate", () => {
    expect(mapVerifyCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE").hint).toBe("the peer sent no intermediate; add it to the peer's chain or to the trust list");
  });
});

describe("fallbacks", () => {
  it("an unknown verify code is GSK_ERROR_BAD_CERTIFICATE, naming the code", () => {
    const r = mapVerifyCode("SOME_FUTURE_CHECK");
    expect(r.code).toBe(RC.GSK_ERROR_BAD_CERTIFICATE);
    expect(r.hint).toContain("SOME_FUTURE_CHECK");
  });

  it("an unknown alert is GSK_ERROR_BAD_PEER, with the alert number from the message", () => {
    const err = Object.assign(new Error("…:SSL routines::tlsv1 alert something new:…:SSL alert number 200"), { code: "ERR_SSL_TLSV1_ALERT_SOMETHING_NEW" });
    expect(mapNodeError(err)).toMatchObject({ code: RC.GSK_ERROR_BAD_PEER, alert: 200, nodeCode: "ERR_SSL_TLSV1_ALERT_SOMETHING_NEW" });
  });

  it("a known alert under a code the table lacks is mapped by its number", () => {
    const err = Object.assign(new Error("…:SSL alert number 48"), { code: "EPROTO" });
    expect(mapNodeError(err)).toMatchObject({ code: RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, alert: 48, nodeCode: "EPROTO" });
  });

  it("an EPROTO error is mapped by OpenSSL's reason", () => {
    const err = Object.assign(new Error("write EPROTO …wrong version number…"), { code: "EPROTO", reason: "wrong version number" });
    expect(mapNodeError(err).code).toBe(RC.GSK_ERROR_BAD_MESSAGE);
  });

  it("an unknown errno or an error with a syscall is GSK_ERROR_IO", () => {
    expect(mapNodeError(Object.assign(new Error("x"), { code: "ENOBUFS" })).code).toBe(RC.GSK_ERROR_IO);
    expect(mapNodeError(Object.assign(new Error("x"), { syscall: "read" })).code).toBe(RC.GSK_ERROR_IO);
    expect(mapNodeError(Object.assign(new Error("x"), { code: "ERR_SOCKET_BAD_PORT" })).code).toBe(RC.GSK_ERROR_IO);
  });

  it("anything else is GSK_INTERNAL_ERROR, keeping the Node code", () => {
    expect(mapNodeError(new Error("plain"))).toMatchObject({ code: RC.GSK_INTERNAL_ERROR });
    expect(mapNodeError(Object.assign(new Error("x"), { code: "ERR_OSSL_SOMETHING" }))).toMatchObject({ code: RC.GSK_INTERNAL_ERROR, nodeCode: "ERR_OSSL_SOMETHING" });
    expect(mapNodeError(undefined).code).toBe(RC.GSK_INTERNAL_ERROR);
    expect(mapNodeError(42).code).toBe(RC.GSK_INTERNAL_ERROR);
  });

  it("a string is read as a code (authorizationError)", () => {
    expect(mapNodeError("CERT_HAS_EXPIRED")).toMatchObject({ code: RC.GSK_KEYFILE_CERT_EXPIRED, nodeCode: "CERT_HAS_EXPIRED" });
  });

  it("a GskError passes through", () => {
    const err = new GskError(RC.GSK_ERROR_NO_CERTIFICATE, "none", { nodeCode: "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" });
    expect(mapNodeError(err)).toMatchObject({ code: RC.GSK_ERROR_NO_CERTIFICATE, nodeCode: "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" });
  });
});

describe("alertFromError", () => {
  it.each([
    ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", 42],
    ["ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", 40],
    ["ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", 48],
    ["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", 70],
    ["ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR", 51],
    ["ERR_SSL_TLSV1_ALERT_ACCESS_DENIED", 49],
    ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", 116],
    ["ERR_SSL_TLSV13_ALERT_MISSING_EXTENSION", 109],
    ["ERR_SSL_TLSV1_UNRECOGNIZED_NAME", 112],
    ["ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL", 120],
  ])("%s → %i", (code, alert) => {
    expect(alertFromError({ code })).toBe(alert);
    expect(alertFromError(code)).toBe(alert);
  });

  it("is undefined for errors that are not alerts", () => {
    expect(alertFromError({ code: "ECONNRESET" })).toBeUndefined();
    expect(alertFromError(new Error("nothing"))).toBeUndefined();
    expect(alertFromError(null)).toBeUndefined();
  });
});

describe("real node:tls errors", () => {
  let server: { key: KeyPair; cert: X509Certificate };
  beforeAll(async () => {
    const key = await generateKey("ec-p256");
    const cert = await issueCertificate({ subject: "CN=localhost", publicKey: key.publicKey, signingKey: key.privateKey, subjectAltNames: { dns: ["localhost"] } });
    server = { key, cert };
  });

  /** One handshake; resolves with the client's and the server's errors (or null). */
  async function handshake(serverOptions: tls.TlsOptions, clientOptions: tls.ConnectionOptions): Promise<{ client: unknown; server: unknown }> {
    let serverError: unknown = null;
    const srv = tls.createServer({ key: server.key.privateKey.export({ format: "pem", type: "pkcs8" }), cert: server.cert.toString(), ...serverOptions });
    srv.on("tlsClientError", (e, s) => {
      serverError = e;
      s.destroy();
    });
    srv.on("secureConnection", (s) => s.on("error", (e) => (serverError = e)));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const { port } = srv.address() as AddressInfo;
    const client = await new Promise<unknown>((resolve) => {
      const c = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: server.cert.toString(), ...clientOptions });
      c.on("error", resolve);
      c.on("data", () => undefined);
      c.on("end", () => resolve(null));
      c.on("secureConnect", () => setTimeout(() => resolve(null), 300));
    });
    await new Promise((r) => setTimeout(r, 50));
    srv.close();
    return { client, server: serverError };
  }

  it("protocol version mismatch → 402 on both ends, alert 70 on the client", async () => {
    const r = await handshake({ minVersion: "TLSv1.3" }, { maxVersion: "TLSv1.2" });
    expect(mapNodeError(r.client)).toMatchObject({ code: RC.GSK_ERROR_NO_CIPHERS, alert: 70, nodeCode: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" });
    expect(mapNodeError(r.server)).toMatchObject({ code: RC.GSK_ERROR_NO_CIPHERS, nodeCode: "ERR_SSL_UNSUPPORTED_PROTOCOL" });
  });

  it("TLS 1.3 client without the required certificate → 403 on both ends, alert 116 on the client", async () => {
    const r = await handshake({ requestCert: true, rejectUnauthorized: true }, {});
    expect(mapNodeError(r.client)).toMatchObject({ code: RC.GSK_ERROR_NO_CERTIFICATE, alert: 116 });
    expect(mapNodeError(r.server)).toMatchObject({ code: RC.GSK_ERROR_NO_CERTIFICATE, nodeCode: "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" });
  });

  it("an untrusted server certificate → 417 for a self-signed one", async () => {
    const r = await handshake({}, { ca: [] as string[] });
    expect(mapNodeError(r.client)).toMatchObject({ code: RC.GSK_ERROR_SELF_SIGNED, nodeCode: "DEPTH_ZERO_SELF_SIGNED_CERT" });
  });
});

describe("validationMessage", () => {
  let leaf: X509Certificate;
  let ca: X509Certificate;
  beforeAll(async () => {
    const caKey = await generateKey("ec-p256");
    const leafKey = await generateKey("ec-p256");
    ca = await issueCertificate({ subject: "CN=Issuing CA,O=Example", publicKey: caKey.publicKey, signingKey: caKey.privateKey, isCA: true });
    leaf = await issueCertificate({
      subject: "CN=server.example,O=Example",
      publicKey: leafKey.publicKey,
      issuer: { certificate: ca, privateKey: caKey.privateKey },
      serialNumber: "0A1B2C3D",
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2021-01-01T00:00:00Z"),
    });
  });

  it("describes a certificate by subject, issuer, serial and validity", () => {
    expect(describeCertificate(leaf)).toBe(
      "subject 'CN=server.example,O=Example', issuer 'CN=Issuing CA,O=Example', serial 0A1B2C3D, valid 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z",
    );
  });

  it("names the peer's certificate, what failed and the fix", () => {
    const m = validationMessage(RC.GSK_KEYFILE_CERT_EXPIRED, [leaf, ca], { side: "client" });
    expect(m).toContain("the server's certificate (subject 'CN=server.example,O=Example', issuer 'CN=Issuing CA,O=Example', serial 0A1B2C3D");
    expect(m).toContain("has expired (on 2021-01-01T00:00:00Z)");
    expect(m).toContain("GSK_KEYFILE_CERT_EXPIRED 107");
    expect(m).toContain("chain presented: 'CN=server.example,O=Example' <- 'CN=Issuing CA,O=Example'");
    expect(m).toContain("Fix: renew");
  });

  it("uses the hint given, and names the expected peer name for 9001", () => {
    const hint = mapVerifyCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE").hint;
    const m = validationMessage(RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, [leaf], { side: "server", hint });
    expect(m).toContain("the client's certificate");
    expect(m).toContain("does not chain to a trusted CA");
    expect(m).toContain("no intermediate certificates presented");
    expect(m).toContain(`Fix: ${hint}`);
    const n = validationMessage(RC.GSKX_ERROR_PEER_NAME_MISMATCH, [leaf], { side: "client", expectedName: "other.example" });
    expect(n).toContain("does not match the expected peer name 'other.example'");
    expect(n).toContain("GSKX_ERROR_PEER_NAME_MISMATCH 9001");
  });

  it("says when the peer sent no certificate", () => {
    expect(validationMessage(RC.GSK_ERROR_NO_CERTIFICATE, [], { side: "server" })).toContain("the client sent no certificate (GSK_ERROR_NO_CERTIFICATE 403)");
  });

  it.each([
    RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
    RC.GSK_ERROR_SELF_SIGNED,
    RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
    RC.GSK_IBMI_ERROR_CRL_INVALID,
    RC.GSK_ERROR_BAD_CERT_SIG,
    RC.GSK_ERROR_BAD_CERTIFICATE,
    RC.GSK_ERROR_CERT_VALIDATION,
    RC.GSK_ERROR_BAD_DATE,
  ])("has a text and a fix for code %i", (code) => {
    const m = validationMessage(code, [leaf], { side: "client" });
    expect(m).toMatch(/^the server's certificate \(subject .*\) .+ \([A-Z_]+ \d+\).*\. Fix: .+/);
  });
});
