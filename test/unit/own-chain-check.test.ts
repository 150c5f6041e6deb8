import type { KeyObject, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { generateKey, issueCertificate, type CertificateOptions, type KeyPair } from "../../src/pki/index.js";
import { checkOwnIdentity, type Finding } from "../../src/trust/own-chain-check.js";

const DAY = 86_400_000;
const NOW = new Date();

interface Ca {
  certificate: X509Certificate;
  privateKey: KeyObject;
}
let rootKey: KeyPair;
let intKey: KeyPair;
let leafKey: KeyPair;
let otherEc: KeyPair;
let rsaKey: KeyPair;
let root: Ca;
let intermediate: Ca;

async function leaf(options: CertificateOptions & { subject?: string; key?: KeyPair; issuer?: Ca } = {}): Promise<X509Certificate> {
  const { subject = "CN=app.example", key = leafKey, issuer = intermediate, ...rest } = options;
  return issueCertificate({ subject, publicKey: key.publicKey, issuer, subjectAltNames: { dns: ["app.example"] }, ...rest });
}

function codes(findings: Finding[]): number[] {
  return findings.map((f) => f.code);
}

beforeAll(async () => {
  [rootKey, intKey, leafKey, otherEc, rsaKey] = await Promise.all([
    generateKey("ec-p256"),
    generateKey("ec-p256"),
    generateKey("ec-p256"),
    generateKey("ec-p256"),
    generateKey("rsa"),
  ]);
  const rootCert = await issueCertificate({ subject: "CN=Own Root,O=Example", publicKey: rootKey.publicKey, signingKey: rootKey.privateKey, isCA: true });
  root = { certificate: rootCert, privateKey: rootKey.privateKey };
  const intCert = await issueCertificate({ subject: "CN=Own Intermediate,O=Example", publicKey: intKey.publicKey, issuer: root, isCA: true });
  intermediate = { certificate: intCert, privateKey: intKey.privateKey };
});

describe("checkOwnIdentity", () => {
  it("finds nothing wrong with a good identity", async () => {
    const cert = await leaf({ extendedKeyUsage: ["serverAuth"] });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert, intermediate.certificate], anchors: [root.certificate], sessionType: "server", now: NOW });
    expect(r).toEqual({ errors: [], warnings: [] });
  });

  it("accepts a leaf without EKU for either session type, and a chain completed by the anchors", async () => {
    const cert = await leaf();
    for (const sessionType of ["client", "server"] as const) {
      const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert], anchors: [root.certificate, intermediate.certificate], sessionType });
      expect(r).toEqual({ errors: [], warnings: [] });
    }
  });

  it("errors when the key does not match the certificate (another EC key)", async () => {
    const cert = await leaf();
    const r = checkOwnIdentity({ key: otherEc.privateKey, chain: [cert, intermediate.certificate], anchors: [root.certificate], sessionType: "server" });
    expect(codes(r.errors)).toEqual([RC.GSK_ERROR_BAD_CERTIFICATE]);
    expect(r.errors[0]!.message).toContain("private key does not match certificate 'CN=app.example'");
  });

  it("errors when an EC key is paired with an RSA certificate (which createSecureContext accepts)", async () => {
    const rsaCert = await leaf({ key: rsaKey });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [rsaCert, intermediate.certificate], anchors: [root.certificate], sessionType: "server" });
    expect(codes(r.errors)).toEqual([RC.GSK_ERROR_BAD_CERTIFICATE]);
    expect(r.errors[0]!.message).toContain("the key is EC prime256v1");
    expect(r.errors[0]!.message).toContain("RSA 2048");
  });

  it("errors with 428 when given a public key", async () => {
    const cert = await leaf();
    const r = checkOwnIdentity({ key: leafKey.publicKey, chain: [cert, intermediate.certificate], anchors: [root.certificate], sessionType: "client" });
    expect(codes(r.errors)).toEqual([RC.GSK_ERROR_NO_PRIVATE_KEY]);
  });

  it("errors with 403 for an empty chain", () => {
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [], anchors: [], sessionType: "server" });
    expect(codes(r.errors)).toEqual([RC.GSK_ERROR_NO_CERTIFICATE]);
  });

  it("errors when our certificate has expired or is not yet valid", async () => {
    const expired = await leaf({ notBefore: new Date(NOW.getTime() - 400 * DAY), notAfter: new Date(NOW.getTime() - DAY) });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [expired, intermediate.certificate], anchors: [root.certificate], sessionType: "server", now: NOW });
    expect(codes(r.errors)).toEqual([RC.GSK_KEYFILE_CERT_EXPIRED]);
    expect(r.errors[0]!.message).toMatch(/our certificate 'CN=app.example' expired on \d{4}-/);

    const future = await leaf({ notBefore: new Date(NOW.getTime() + 10 * DAY), notAfter: new Date(NOW.getTime() + 400 * DAY) });
    const f = checkOwnIdentity({ key: leafKey.privateKey, chain: [future, intermediate.certificate], anchors: [root.certificate], sessionType: "server", now: NOW });
    expect(codes(f.errors)).toEqual([RC.GSK_KEYFILE_CERT_EXPIRED]);
    expect(f.errors[0]!.message).toContain("is not valid until");
  });

  it("honours `now`", async () => {
    const cert = await leaf({ validityDays: 10 });
    const later = new Date(NOW.getTime() + 20 * DAY);
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert, intermediate.certificate], anchors: [root.certificate], sessionType: "server", now: later });
    expect(codes(r.errors)).toEqual([RC.GSK_KEYFILE_CERT_EXPIRED]);
  });

  it("errors when a CA certificate in the chain has expired", async () => {
    const oldInt = await issueCertificate({
      subject: "CN=Old Intermediate",
      publicKey: intKey.publicKey,
      issuer: root,
      isCA: true,
      notBefore: new Date(NOW.getTime() - 400 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    const cert = await leaf({ issuer: { certificate: oldInt, privateKey: intKey.privateKey } });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert, oldInt], anchors: [root.certificate], sessionType: "client", now: NOW });
    expect(codes(r.errors)).toEqual([RC.GSK_KEYFILE_CERT_EXPIRED]);
    expect(r.errors[0]!.message).toContain("the CA certificate 'CN=Old Intermediate' expired");
  });

  it("warns when our certificate expires within the window (default 30 days), and honours the window", async () => {
    const soon = await leaf({ validityDays: 10 });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [soon, intermediate.certificate], anchors: [root.certificate], sessionType: "server", now: NOW });
    expect(r.errors).toEqual([]);
    expect(codes(r.warnings)).toEqual([RC.GSK_KEYFILE_CERT_EXPIRED]);
    expect(r.warnings[0]!.message).toMatch(/expires in (9|10) days/);
    const narrow = checkOwnIdentity({ key: leafKey.privateKey, chain: [soon, intermediate.certificate], anchors: [root.certificate], sessionType: "server", now: NOW, expiryWarningDays: 5 });
    expect(narrow.warnings).toEqual([]);
  });

  it("warns when the chain is missing an intermediate, naming its DN", async () => {
    const cert = await leaf();
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert], anchors: [root.certificate], sessionType: "server" });
    expect(r.errors).toEqual([]);
    expect(codes(r.warnings)).toEqual([RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT]);
    expect(r.warnings[0]!.message).toContain("the issuer 'CN=Own Intermediate,O=Example' of 'CN=app.example' is not among the certificates available");
    expect(r.warnings[0]!.message).toContain("add the certificate of 'CN=Own Intermediate,O=Example' to the store");
  });

  it("says so when a CA certificate of the right name but another key is present", async () => {
    const rekeyed = await issueCertificate({ subject: "CN=Own Intermediate,O=Example", publicKey: otherEc.publicKey, issuer: root, isCA: true });
    const cert = await leaf();
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert, rekeyed], anchors: [root.certificate], sessionType: "server" });
    const all = [...r.errors, ...r.warnings].map((f) => f.message).join("\n");
    expect(all).toMatch(/different key|does not verify/);
  });

  it("is content with a complete chain to a self-signed root that is not an anchor, and with a self-signed leaf", async () => {
    const cert = await leaf();
    expect(checkOwnIdentity({ key: leafKey.privateKey, chain: [cert, intermediate.certificate, root.certificate], anchors: [], sessionType: "server" }).warnings).toEqual([]);
    const self = await issueCertificate({ subject: "CN=self", publicKey: leafKey.publicKey, signingKey: leafKey.privateKey });
    expect(checkOwnIdentity({ key: leafKey.privateKey, chain: [self], anchors: [], sessionType: "client" })).toEqual({ errors: [], warnings: [] });
  });

  it("warns about an EKU that does not fit the session type", async () => {
    const clientOnly = await leaf({ extendedKeyUsage: ["clientAuth"] });
    const asServer = checkOwnIdentity({ key: leafKey.privateKey, chain: [clientOnly, intermediate.certificate], anchors: [root.certificate], sessionType: "server" });
    expect(codes(asServer.warnings)).toEqual([RC.GSK_ERROR_BAD_CERTIFICATE]);
    expect(asServer.warnings[0]!.message).toContain("extended key usage clientAuth without serverAuth");
    const asClient = checkOwnIdentity({ key: leafKey.privateKey, chain: [clientOnly, intermediate.certificate], anchors: [root.certificate], sessionType: "client" });
    expect(asClient.warnings).toEqual([]);

    const serverOnly = await leaf({ extendedKeyUsage: ["serverAuth"] });
    const sAsClient = checkOwnIdentity({ key: leafKey.privateKey, chain: [serverOnly, intermediate.certificate], anchors: [root.certificate], sessionType: "client" });
    expect(sAsClient.warnings[0]!.message).toContain("without clientAuth");

    const both = await leaf({ extendedKeyUsage: ["serverAuth", "clientAuth"] });
    for (const sessionType of ["client", "server"] as const) {
      expect(checkOwnIdentity({ key: leafKey.privateKey, chain: [both, intermediate.certificate], anchors: [root.certificate], sessionType }).warnings).toEqual([]);
    }
    const codeSigning = await leaf({ extendedKeyUsage: ["codeSigning"] });
    expect(
      checkOwnIdentity({ key: leafKey.privateKey, chain: [codeSigning, intermediate.certificate], anchors: [root.certificate], sessionType: "server" }).warnings[0]!.message,
    ).toContain("codeSigning");
  });

  it("warns about a key usage without digitalSignature", async () => {
    const cert = await leaf({ keyUsage: ["keyAgreement"] });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [cert, intermediate.certificate], anchors: [root.certificate], sessionType: "server" });
    expect(codes(r.warnings)).toEqual([RC.GSK_ERROR_BAD_CERTIFICATE]);
    expect(r.warnings[0]!.message).toContain("digitalSignature");
  });

  it("warns about a CA certificate used as leaf", async () => {
    const caLeaf = await leaf({ isCA: true });
    const r = checkOwnIdentity({ key: leafKey.privateKey, chain: [caLeaf, intermediate.certificate], anchors: [root.certificate], sessionType: "server" });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.message).join("\n")).toContain("is a CA certificate");
    // The toolkit gives a CA keyCertSign + cRLSign only: that warning comes too.
    expect(r.warnings.every((w) => w.code === RC.GSK_ERROR_BAD_CERTIFICATE)).toBe(true);
  });

  it("warns about an RSA key under 2048 bits", async () => {
    const small = await generateKey("rsa", { rsaBits: 1024 });
    const cert = await leaf({ key: small });
    const r = checkOwnIdentity({ key: small.privateKey, chain: [cert, intermediate.certificate], anchors: [root.certificate], sessionType: "server" });
    expect(codes(r.warnings)).toEqual([RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE]);
    expect(r.warnings[0]!.message).toContain("1024 bits");
  });
});
