import { execFileSync, spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import {
  certificateInfo,
  certificateSubject,
  createCrl,
  createCsr,
  CRL_REASON,
  describeCertificate,
  formatDn,
  generateKey,
  issueCertificate,
  parseDn,
  pemBlocks,
  readCrl,
  readCsr,
  signCsr,
  toPem,
  verifyCrl,
  type KeyPair,
  type KeyType,
} from "../../src/pki/index.js";
import { generatePki } from "../fixtures/generate.js";
import {
  ensurePki,
  LEAF_NAMES,
  pki,
  pkiDir,
  pkiCrls,
  pkiFile,
  pkiPath,
  PKI_TREES,
  readManifest,
  type FullTree,
  type LeafName,
} from "../fixtures/pki-manifest.js";

beforeAll(async () => {
  await ensurePki();
});

function expectGskError(fn: () => unknown, code: number): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    expect((error as GskError).code).toBe(code);
    return;
  }
  throw new Error("expected a GskError");
}

async function expectGskRejection(promise: Promise<unknown>, code: number): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GskError);
  expect((error as GskError).code).toBe(code);
}

describe("issueCertificate", () => {
  const expectedAlgorithm: Record<KeyType, string> = {
    rsa: "sha256WithRSAEncryption",
    "ec-p256": "ecdsa-with-SHA256",
    "ec-p384": "ecdsa-with-SHA384",
    ed25519: "Ed25519",
  };

  for (const type of Object.keys(expectedAlgorithm) as KeyType[]) {
    it(`issues a verifiable root, intermediate and leaf with ${type} keys`, async () => {
      const [rootKey, intKey, leafKey] = await Promise.all([generateKey(type), generateKey(type), generateKey(type)]);
      const root = await issueCertificate({
        subject: `CN=Unit Root ${type},O=Unit,C=US`,
        publicKey: rootKey.publicKey,
        signingKey: rootKey.privateKey,
        isCA: true,
        validityDays: 30,
      });
      const intermediate = await issueCertificate({
        subject: `CN=Unit Intermediate ${type},O=Unit,C=US`,
        publicKey: intKey.publicKey,
        issuer: { certificate: root, privateKey: rootKey.privateKey },
        isCA: true,
        pathLength: 0,
      });
      const leaf = await issueCertificate({
        subject: "CN=localhost,O=Unit,C=US",
        publicKey: leafKey.publicKey,
        issuer: { certificate: intermediate, privateKey: intKey.privateKey },
        extendedKeyUsage: ["serverAuth", "clientAuth"],
        subjectAltNames: { dns: ["localhost"], ip: ["127.0.0.1", "::1"], email: ["a@example.test"], uri: ["spiffe://example.test/a"] },
        crlDistributionPoints: ["http://127.0.0.1/intermediate.crl"],
        serialNumber: "0a:bc",
      });

      expect(root.verify(rootKey.publicKey)).toBe(true);
      expect(intermediate.verify(rootKey.publicKey)).toBe(true);
      expect(leaf.verify(intKey.publicKey)).toBe(true);
      expect(leaf.verify(rootKey.publicKey)).toBe(false);
      expect(intermediate.checkIssued(root)).toBe(true);
      expect(leaf.checkIssued(intermediate)).toBe(true);
      expect(leaf.checkIssued(root)).toBe(false);
      expect(leaf.checkHost("localhost", { subject: "never" })).toBe("localhost");
      expect(leaf.checkHost("example.com", { subject: "never" })).toBeUndefined();
      expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
      expect(leaf.checkIP("::1")).toBe("::1");
      expect(leaf.checkIP("10.0.0.1")).toBeUndefined();
      expect(leaf.checkEmail("a@example.test")).toBe("a@example.test");
      expect(leaf.serialNumber.toUpperCase()).toBe("0ABC");
      expect(root.ca).toBe(true);
      expect(leaf.ca).toBe(false);

      const info = certificateInfo(leaf);
      expect(info.signatureAlgorithm).toBe(expectedAlgorithm[type]);
      expect(info.subject).toBe("CN=localhost,O=Unit,C=US");
      expect(info.issuer).toBe(`CN=Unit Intermediate ${type},O=Unit,C=US`);
      expect(info.extendedKeyUsage).toEqual(["serverAuth", "clientAuth"]);
      expect(info.keyUsage).toEqual(type === "rsa" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"]);
      expect(info.subjectAltNames).toEqual({
        dns: ["localhost"],
        ip: ["127.0.0.1", "::1"],
        email: ["a@example.test"],
        uri: ["spiffe://example.test/a"],
      });
      expect(info.crlDistributionPoints).toEqual(["http://127.0.0.1/intermediate.crl"]);
      expect(info.authorityKeyId).toBe(certificateInfo(intermediate).subjectKeyId);
      expect(info.isCA).toBe(false);
      const intInfo = certificateInfo(intermediate);
      expect(intInfo).toMatchObject({ isCA: true, pathLength: 0, keyUsage: ["keyCertSign", "cRLSign"], selfSigned: false });
      expect(certificateInfo(root).selfSigned).toBe(true);

      expect(describeCertificate(leaf)).toBe(`subject CN=localhost,O=Unit,C=US, issuer CN=Unit Intermediate ${type},O=Unit,C=US, serial 0ABC`);
      expect(() =>
        tls.createSecureContext({ key: toPem(leafKey.privateKey), cert: toPem(leaf) + toPem(intermediate), ca: toPem(root) }),
      ).not.toThrow();
    });
  }

  it("honours explicit validity, omits key usage on request and writes GeneralizedTime after 2049", async () => {
    const key = await generateKey("ec-p256");
    const notBefore = new Date("2030-01-02T03:04:05.678Z");
    const notAfter = new Date("2051-06-07T08:09:10Z");
    const cert = await issueCertificate({
      subject: "CN=dates",
      publicKey: key.publicKey,
      signingKey: key.privateKey,
      notBefore,
      notAfter,
      keyUsage: [],
      omitSubjectKeyId: true,
      omitAuthorityKeyId: true,
    });
    const info = certificateInfo(cert);
    expect(info.notBefore.toISOString()).toBe("2030-01-02T03:04:05.000Z");
    expect(info.notAfter.toISOString()).toBe("2051-06-07T08:09:10.000Z");
    expect(info.keyUsage).toEqual([]);
    expect(info.subjectKeyId).toBeUndefined();
    expect(info.authorityKeyId).toBeUndefined();
    expect(cert.keyUsage).toBeUndefined();
  });

  it("defaults to a positive 16-byte random serial", async () => {
    const key = await generateKey("ed25519");
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const cert = await issueCertificate({ subject: "CN=s", publicKey: key.publicKey, signingKey: key.privateKey });
      expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
      serials.add(cert.serialNumber);
    }
    expect(serials.size).toBe(5);
  });

  it("refuses inconsistent specs with GSK_INVALID_PARAMETER", async () => {
    const [a, b] = await Promise.all([generateKey("ec-p256"), generateKey("ec-p256")]);
    const root = await issueCertificate({ subject: "CN=r", publicKey: a.publicKey, signingKey: a.privateKey, isCA: true });
    await expectGskRejection(issueCertificate({ subject: "CN=x", publicKey: b.publicKey }), RC.GSK_INVALID_PARAMETER);
    await expectGskRejection(
      issueCertificate({ subject: "CN=x", publicKey: b.publicKey, signingKey: a.privateKey }),
      RC.GSK_INVALID_PARAMETER,
    );
    await expectGskRejection(
      issueCertificate({ subject: "CN=x", publicKey: b.publicKey, issuer: { certificate: root, privateKey: b.privateKey } }),
      RC.GSK_INVALID_PARAMETER,
    );
    await expectGskRejection(
      issueCertificate({ subject: "CN=x", publicKey: b.publicKey, signingKey: b.privateKey, pathLength: 1 }),
      RC.GSK_INVALID_PARAMETER,
    );
    await expectGskRejection(
      issueCertificate({ subject: "CN=x", publicKey: b.publicKey, signingKey: b.privateKey, subjectAltNames: { ip: ["999.1.1.1"] } }),
      RC.GSK_INVALID_PARAMETER,
    );
    await expectGskRejection(generateKey("dsa" as KeyType), RC.GSK_INVALID_PARAMETER);
  });
});

describe("distinguished names", () => {
  it("round-trips GSKit DN strings, most specific first", () => {
    for (const dn of ["CN=x,O=y,C=z", "CN=a\\,b,OU=u1+OU=u2,O=Org \\\"q\\\",L=Town,ST=State,C=US", "CN=über,DC=example,DC=test", "E=a@b.c,CN=n"]) {
      expect(formatDn(parseDn(dn))).toBe(dn);
    }
    expect(parseDn('CN="quoted, value", O = spaced ')).toEqual([
      [{ type: "CN", oid: "2.5.4.3", value: "quoted, value" }],
      [{ type: "O", oid: "2.5.4.10", value: "spaced" }],
    ]);
    expect(parseDn("2.5.4.3=byoid")[0]![0]!.type).toBe("CN");
    expect(parseDn("")).toEqual([]);
  });

  it("encodes in DER order (C first) so OpenSSL and Node print the usual order", async () => {
    const key = await generateKey("ec-p256");
    const cert = await issueCertificate({ subject: "CN=x,O=y,C=US", publicKey: key.publicKey, signingKey: key.privateKey });
    expect(cert.subject).toBe("C=US\nO=y\nCN=x");
    expect(certificateSubject(cert)).toBe("CN=x,O=y,C=US");
  });

  it("rejects malformed DNs with GSK_INVALID_PARAMETER", () => {
    expectGskError(() => parseDn("CN"), RC.GSK_INVALID_PARAMETER);
    expectGskError(() => parseDn("XX=1"), RC.GSK_INVALID_PARAMETER);
    expectGskError(() => parseDn('CN="open'), RC.GSK_INVALID_PARAMETER);
  });
});

describe("CSRs", () => {
  let ca: { certificate: X509Certificate; privateKey: KeyPair["privateKey"] };
  beforeAll(async () => {
    const key = await generateKey("ec-p384");
    const certificate = await issueCertificate({ subject: "CN=CSR CA", publicKey: key.publicKey, signingKey: key.privateKey, isCA: true });
    ca = { certificate, privateKey: key.privateKey };
  });

  for (const type of ["rsa", "ec-p256", "ed25519"] as KeyType[]) {
    it(`round-trips a ${type} request and signs it`, async () => {
      const key = await generateKey(type);
      const pem = await createCsr({
        subject: "CN=requester,O=Unit,C=US",
        privateKey: key.privateKey,
        subjectAltNames: { dns: ["req.example.test"], ip: ["192.0.2.7"] },
      });
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
      const info = readCsr(pem);
      expect(info.verified).toBe(true);
      expect(info.subject).toBe("CN=requester,O=Unit,C=US");
      expect(info.subjectAltNames).toEqual({ dns: ["req.example.test"], ip: ["192.0.2.7"], email: [], uri: [] });
      expect(info.publicKey.equals(key.publicKey)).toBe(true);

      const cert = await signCsr(pem, ca, { extendedKeyUsage: ["clientAuth"], validityDays: 10 });
      expect(cert.verify(ca.certificate.publicKey)).toBe(true);
      expect(cert.publicKey.equals(key.publicKey)).toBe(true);
      expect(certificateSubject(cert)).toBe("CN=requester,O=Unit,C=US");
      expect(cert.checkHost("req.example.test")).toBe("req.example.test");
      expect(certificateInfo(cert).extendedKeyUsage).toEqual(["clientAuth"]);

      const renamed = await signCsr(pem, ca, { subject: "CN=override", subjectAltNames: { dns: ["o.example.test"] } });
      expect(certificateSubject(renamed)).toBe("CN=override");
      expect(renamed.subjectAltName).toBe("DNS:o.example.test");
    });
  }

  it("refuses a request whose signature does not verify (GSK_ERROR_BAD_CERT_SIG)", async () => {
    const key = await generateKey("ec-p256");
    const pem = await createCsr({ subject: "CN=tampered", privateKey: key.privateKey });
    const der = pemBlocks(pem)[0]!.der;
    der[der.length - 1]! ^= 0x01;
    expect(readCsr(der).verified).toBe(false);
    await expectGskRejection(signCsr(der, ca), RC.GSK_ERROR_BAD_CERT_SIG);
    expectGskError(() => readCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), RC.GSK_ERROR_ASN);
    expectGskError(() => readCsr("not a csr"), RC.GSK_ERROR_ASN);
  });
});

describe("CRLs", () => {
  it("creates a CRL that reads back, verifies, and uses the X509 CRL label", async () => {
    const key = await generateKey("rsa");
    const certificate = await issueCertificate({ subject: "CN=CRL CA,C=US", publicKey: key.publicKey, signingKey: key.privateKey, isCA: true });
    const thisUpdate = new Date("2026-01-01T00:00:00Z");
    const nextUpdate = new Date("2026-02-01T00:00:00Z");
    const { der, pem } = await createCrl({
      issuer: { certificate, privateKey: key.privateKey },
      revoked: [
        { serialNumber: "0a:bc", reason: CRL_REASON.keyCompromise, revocationDate: new Date("2025-12-31T00:00:00Z") },
        { serialNumber: "80FF" },
      ],
      thisUpdate,
      nextUpdate,
      crlNumber: 7,
    });
    expect(pem.startsWith("-----BEGIN X509 CRL-----\n")).toBe(true);
    expect(pem.trimEnd().endsWith("-----END X509 CRL-----")).toBe(true);
    for (const data of [der, pem]) {
      const info = readCrl(data);
      expect(info.issuer).toBe("CN=CRL CA,C=US");
      expect(info.revokedSerials).toEqual(["0ABC", "80FF"]);
      expect(info.revoked[0]).toEqual({ serialNumber: "0ABC", revocationDate: new Date("2025-12-31T00:00:00Z"), reason: 1 });
      expect(info.revoked[1]!.reason).toBeUndefined();
      expect(info.revoked[1]!.revocationDate).toEqual(thisUpdate);
      expect(info.thisUpdate).toEqual(thisUpdate);
      expect(info.nextUpdate).toEqual(nextUpdate);
      expect(info.crlNumber).toBe(7);
      expect(info.signatureAlgorithm).toBe("sha256WithRSAEncryption");
      expect(verifyCrl(data, certificate)).toBe(true);
    }
    const other = await generateKey("rsa");
    const otherCa = await issueCertificate({ subject: "CN=CRL CA,C=US", publicKey: other.publicKey, signingKey: other.privateKey, isCA: true });
    expect(verifyCrl(der, otherCa)).toBe(false);
    // Node accepts the PEM label in a secure context.
    expect(() => tls.createSecureContext({ ca: toPem(certificate), crl: pem })).not.toThrow();
  });

  it("writes an empty CRL without a revokedCertificates list", async () => {
    const key = await generateKey("ed25519");
    const certificate = await issueCertificate({ subject: "CN=Empty CRL CA", publicKey: key.publicKey, signingKey: key.privateKey, isCA: true });
    const { pem } = await createCrl({ issuer: { certificate, privateKey: key.privateKey }, revoked: [] });
    const info = readCrl(pem);
    expect(info.revokedSerials).toEqual([]);
    expect(info.crlNumber).toBe(1);
    expect(info.signatureAlgorithm).toBe("Ed25519");
    expect(verifyCrl(pem, certificate)).toBe(true);
  });
});

describe("generated fixture PKI", () => {
  it("matches the manifest in both trees", () => {
    const manifest = readManifest();
    for (const tree of PKI_TREES) {
      const ca = new X509Certificate(pkiFile(tree, "ca.pem"));
      const intermediate = new X509Certificate(pkiFile(tree, "intermediate.pem"));
      expect(intermediate.checkIssued(ca)).toBe(true);
      expect(pemBlocks(pkiFile(tree, "ca-bundle.pem")).map((b) => b.label)).toEqual(["CERTIFICATE", "CERTIFICATE"]);
      for (const name of LEAF_NAMES) {
        const entry = manifest.trees[tree].entries[name]!;
        const files = pki(tree, name);
        const cert = new X509Certificate(files.cert);
        const key = createPrivateKey(files.key);
        expect(files.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        expect(cert.checkPrivateKey(key)).toBe(true);
        expect(cert.serialNumber.toUpperCase()).toBe(entry.serial);
        expect(key.asymmetricKeyType).toBe(tree === "rsa" ? "rsa" : "ec");
        const chain = pemBlocks(files.chain);
        expect(chain[0]!.der.equals(cert.raw)).toBe(true);
        if (entry.issuerName === "intermediate") {
          expect(chain).toHaveLength(2);
          expect(chain[1]!.der.equals(intermediate.raw)).toBe(true);
        }
      }
      const crl = readCrl(readFileSync(pkiPath(tree, "intermediate.crl.der")));
      expect(crl.revokedSerials.sort()).toEqual(
        [manifest.trees[tree].entries["server-revoked"]!.serial, manifest.trees[tree].entries["client-revoked"]!.serial].sort(),
      );
      expect(readCrl(pkiFile(tree, "root.crl.pem")).revokedSerials).toEqual([manifest.trees[tree].entries["intermediate-revoked"]!.serial]);
      expect(verifyCrl(pkiFile(tree, "intermediate.crl.pem"), intermediate)).toBe(true);
      expect(pemBlocks(pkiFile(tree, "crls.pem")).every((b) => b.label === "X509 CRL")).toBe(true);
    }
    for (const file of manifest.files) expect(existsSync(join(pkiDir, file)), file).toBe(true);
  });

  it("has the scenario properties the names promise", () => {
    const at = (tree: FullTree, name: LeafName): X509Certificate => new X509Certificate(pki(tree, name).cert);
    for (const tree of PKI_TREES) {
      const intermediate = new X509Certificate(pkiFile(tree, "intermediate.pem"));
      const now = Date.now();
      expect(at(tree, "server").checkHost("localhost", { subject: "never" })).toBe("localhost");
      expect(at(tree, "server").checkIP("::1")).toBe("::1");
      expect(at(tree, "client").checkEmail("client@example.test")).toBe("client@example.test");
      expect(Date.parse(at(tree, "server-expired").validTo)).toBeLessThan(now);
      expect(Date.parse(at(tree, "server-notyetvalid").validFrom)).toBeGreaterThan(now);
      expect(at(tree, "server-bad-sig").verify(intermediate.publicKey)).toBe(false);
      expect(at(tree, "server").verify(intermediate.publicKey)).toBe(true);
      expect(at(tree, "server-selfsigned").verify(at(tree, "server-selfsigned").publicKey)).toBe(true);
      expect(at(tree, "server-untrusted").checkIssued(new X509Certificate(pkiFile(tree, "other-ca.pem")))).toBe(true);
      expect(at(tree, "ca-as-leaf").ca).toBe(true);
      expect(at(tree, "server-cn-only").subjectAltName).toBeUndefined();
      expect(at(tree, "server-cn-only").checkHost("localhost", { subject: "never" })).toBeUndefined();
      expect(at(tree, "server-wrong-host").checkHost("localhost")).toBeUndefined();
      expect(at(tree, "server-ip-only").subjectAltName).toBe("IP Address:127.0.0.1");
      // checkHost returns the certificate name that matched, here the wildcard itself.
      expect(at(tree, "wildcard").checkHost("a.example.test")).toBe("*.example.test");
      expect(at(tree, "wildcard-partial").subjectAltName).toBe("DNS:f*.example.test");
      expect(at(tree, "wildcard-tld").subjectAltName).toBe("DNS:*.test");
      expect(at(tree, "wildcard-multi").subjectAltName).toBe("DNS:*.*.example.test");
      expect(certificateInfo(at(tree, "server-eku-client-only")).extendedKeyUsage).toEqual(["clientAuth"]);
      expect(certificateInfo(at(tree, "client-eku-server-only")).extendedKeyUsage).toEqual(["serverAuth"]);
      expect(certificateInfo(new X509Certificate(pki(tree, "intermediate").cert)).pathLength).toBe(0);
    }
    const rsa = new X509Certificate(pki("mixed", "server-rsa").cert);
    const ec = new X509Certificate(pki("mixed", "server-ec").cert);
    expect(rsa.publicKey.asymmetricKeyType).toBe("rsa");
    expect(ec.publicKey.asymmetricKeyType).toBe("ec");
    expect(rsa.subjectAltName).toBe(ec.subjectAltName);
    expect(rsa.checkIssued(new X509Certificate(pkiFile("mixed", "intermediate.pem")))).toBe(true);
  });

  it("is idempotent and quick to generate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gskit-pki-"));
    try {
      const out = join(dir, "pki");
      const first = await generatePki(out);
      expect(first.generated).toBe(true);
      expect(first.ms).toBeLessThan(10_000);
      const manifestBefore = readFileSync(join(out, "manifest.json"), "utf8");
      const second = await generatePki(out);
      expect(second.generated).toBe(false);
      expect(second.ms).toBeLessThan(1_000);
      expect(readFileSync(join(out, "manifest.json"), "utf8")).toBe(manifestBefore);
      // A missing file makes the tree incomplete, so it is regenerated.
      rmSync(join(out, "rsa", "server.key.pem"));
      expect((await generatePki(out)).generated).toBe(true);
      expect(existsSync(join(out, "rsa", "server.key.pem"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
if (!hasOpenssl) console.log("pki.test: openssl not found on PATH; skipping the `openssl verify` checks");

describe.skipIf(!hasOpenssl)("openssl verify accepts and rejects the fixtures", () => {
  function verify(tree: FullTree, name: LeafName, extra: string[] = [], ca = "ca.pem"): { ok: boolean; output: string } {
    const files = pki(tree, name);
    const result = spawnSync("openssl", ["verify", "-CAfile", pkiPath(tree, ca), "-untrusted", files.chainPath, ...extra, files.certPath], {
      encoding: "utf8",
    });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  }
  const crl = (tree: FullTree): string[] => ["-crl_check_all", "-CRLfile", pkiPath(tree, "crls.pem")];

  for (const tree of PKI_TREES) {
    it(`${tree}: good leaves pass, with and without CRL checks`, () => {
      for (const name of ["server", "client", "ca-as-leaf", "wildcard", "server-cn-only"] as LeafName[]) {
        expect(verify(tree, name).ok, name).toBe(true);
        expect(verify(tree, name, crl(tree)).ok, name).toBe(true);
      }
      expect(verify(tree, "server", ["-purpose", "sslserver", "-verify_hostname", "localhost"]).ok).toBe(true);
      expect(verify(tree, "client", ["-purpose", "sslclient", "-verify_email", "client@example.test"]).ok).toBe(true);
    });

    it(`${tree}: expired, untrusted, bad-signature and wrong-purpose leaves fail`, () => {
      expect(verify(tree, "server-expired").output).toMatch(/certificate has expired/);
      expect(verify(tree, "client-expired").output).toMatch(/certificate has expired/);
      expect(verify(tree, "server-notyetvalid").output).toMatch(/not yet valid/);
      expect(verify(tree, "server-under-expired-int").output).toMatch(/certificate has expired/);
      expect(verify(tree, "server-under-expired-root", [], "root-expired.cert.pem").output).toMatch(/certificate has expired/);
      expect(verify(tree, "server-untrusted").ok).toBe(false);
      expect(verify(tree, "server-selfsigned").output).toMatch(/self-signed/);
      expect(verify(tree, "server-bad-sig").ok).toBe(false);
      expect(verify(tree, "server-eku-client-only", ["-purpose", "sslserver"]).output).toMatch(/unsuitable certificate purpose/);
      expect(verify(tree, "client-eku-server-only", ["-purpose", "sslclient"]).output).toMatch(/unsuitable certificate purpose/);
      expect(verify(tree, "server-wrong-host", ["-verify_hostname", "localhost"]).output).toMatch(/hostname mismatch/);
    });

    it(`${tree}: revoked leaves and intermediates fail with the CRLs`, () => {
      for (const name of ["server-revoked", "client-revoked", "server-under-revoked-int"] as LeafName[]) {
        expect(verify(tree, name).ok, name).toBe(true);
        expect(verify(tree, name, crl(tree)).output, name).toMatch(/certificate revoked/);
      }
      // The DER CRLs carry the same content as the PEM ones.
      const text = execFileSync("openssl", ["crl", "-inform", "DER", "-in", pkiPath(tree, "intermediate.crl.der"), "-noout", "-text"], {
        encoding: "utf8",
      });
      expect(text).toContain(readManifest().trees[tree].entries["server-revoked"]!.serial);
    });
  }

  it("mixed: both servers verify under the ECDSA CA", () => {
    for (const name of ["server-rsa", "server-ec"] as const) {
      const files = pki("mixed", name);
      const result = spawnSync("openssl", ["verify", "-CAfile", pkiPath("mixed", "ca.pem"), "-untrusted", files.chainPath, files.certPath]);
      expect(result.status, name).toBe(0);
    }
  });
});

describe("TLS handshake with the fixtures", () => {
  const servers: tls.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function listen(options: tls.TlsOptions): Promise<number> {
    const server = tls.createServer(options, (socket) => {
      socket.end(`hello ${socket.authorized ? "authorized" : "unauthorized"} ${String(socket.getPeerCertificate().subject?.CN)}`);
    });
    server.on("tlsClientError", () => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  function connect(options: tls.ConnectionOptions): Promise<{ authorized: boolean; data: string; error?: Error }> {
    return new Promise((resolve) => {
      const socket = tls.connect(options);
      let data = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (data += chunk));
      socket.on("end", () => resolve({ authorized: socket.authorized, data }));
      socket.on("error", (error) => resolve({ authorized: false, data, error }));
    });
  }

  for (const tree of PKI_TREES) {
    it(`${tree}: mutual TLS with the server chain and the client certificate`, async () => {
      const server = pki(tree, "server");
      const client = pki(tree, "client");
      const port = await listen({
        key: server.key,
        cert: server.chain,
        ca: pkiFile(tree, "ca.pem"),
        crl: pkiCrls(tree),
        requestCert: true,
        rejectUnauthorized: true,
      });
      for (const servername of ["localhost", undefined]) {
        const result = await connect({
          host: "127.0.0.1",
          port,
          ...(servername ? { servername } : {}),
          ca: pkiFile(tree, "ca.pem"),
          key: client.key,
          cert: client.chain,
          checkServerIdentity: (_host, cert) => tls.checkServerIdentity(servername ?? "127.0.0.1", cert),
        });
        expect(result.error).toBeUndefined();
        expect(result.authorized).toBe(true);
        expect(result.data).toBe("hello authorized client.example.test");
      }
    });

    it(`${tree}: the client rejects expired and revoked servers`, async () => {
      const expired = pki(tree, "server-expired");
      const expiredPort = await listen({ key: expired.key, cert: expired.chain });
      const a = await connect({ host: "127.0.0.1", port: expiredPort, servername: "localhost", ca: pkiFile(tree, "ca.pem") });
      expect((a.error as NodeJS.ErrnoException | undefined)?.code).toBe("CERT_HAS_EXPIRED");

      const revoked = pki(tree, "server-revoked");
      const revokedPort = await listen({ key: revoked.key, cert: revoked.chain });
      const b = await connect({
        host: "127.0.0.1",
        port: revokedPort,
        servername: "localhost",
        ca: pkiFile(tree, "ca.pem"),
        crl: pkiCrls(tree),
      });
      expect((b.error as NodeJS.ErrnoException | undefined)?.code).toBe("CERT_REVOKED");
    });
  }

  it("mixed: one server holds an RSA and an EC certificate for the same name", async () => {
    const rsa = pki("mixed", "server-rsa");
    const ec = pki("mixed", "server-ec");
    const port = await listen({ key: [rsa.key, ec.key], cert: [rsa.chain, ec.chain] });
    for (const [sigalgs, type] of [
      ["rsa_pss_rsae_sha256:rsa_pkcs1_sha256", "rsa"],
      ["ecdsa_secp256r1_sha256", "ec"],
    ] as const) {
      const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: pkiFile("mixed", "ca.pem"), sigalgs });
      const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
        socket.on("secureConnect", () => resolve(socket.getPeerCertificate()));
        socket.on("error", reject);
      });
      socket.destroy();
      expect(new X509Certificate(cert.raw).publicKey.asymmetricKeyType).toBe(type);
    }
  });
});
