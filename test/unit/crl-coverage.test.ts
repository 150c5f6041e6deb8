import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { createCrl, generateKey, issueCertificate, type KeyPair } from "../../src/pki/index.js";
import {
  certificateNamesFromDer,
  missingCrlMessage,
  missingCrls,
  parseCrl,
  parseCrlIssuer,
  parseCrls,
} from "../../src/trust/crl-coverage.js";

interface Ca {
  certificate: X509Certificate;
  privateKey: KeyPair["privateKey"];
}
let root: Ca;
let intermediate: Ca;
let leaf: X509Certificate;
let leafKey: KeyPair;
let rootCrl: { der: Buffer; pem: string };
let intCrl: { der: Buffer; pem: string };

beforeAll(async () => {
  const [rk, ik, lk] = await Promise.all([generateKey("ec-p256"), generateKey("ec-p256"), generateKey("ec-p256")]);
  leafKey = lk;
  const rootCert = await issueCertificate({ subject: "CN=CRL Root,O=Example", publicKey: rk.publicKey, signingKey: rk.privateKey, isCA: true });
  root = { certificate: rootCert, privateKey: rk.privateKey };
  const intCert = await issueCertificate({ subject: "CN=CRL Intermediate,O=Example", publicKey: ik.publicKey, issuer: root, isCA: true });
  intermediate = { certificate: intCert, privateKey: ik.privateKey };
  leaf = await issueCertificate({ subject: "CN=localhost", publicKey: lk.publicKey, issuer: intermediate, subjectAltNames: { dns: ["localhost"] } });
  rootCrl = await createCrl({ issuer: root, revoked: [] });
  intCrl = await createCrl({ issuer: intermediate, revoked: [{ serialNumber: "0A1B2C" }] });
});

describe("parseCrlIssuer / parseCrl", () => {
  it("gives the issuer in X509Certificate.subject form, from DER and from PEM", () => {
    expect(parseCrlIssuer(intCrl.der)).toBe(intermediate.certificate.subject);
    expect(parseCrlIssuer(intCrl.pem)).toBe(intermediate.certificate.subject);
    expect(parseCrlIssuer(Buffer.from(rootCrl.pem))).toBe(root.certificate.subject);
    expect(intermediate.certificate.subject).toBe("O=Example\nCN=CRL Intermediate");
  });

  it("reads the `BEGIN CRL` label some tools write, and several CRLs in one PEM", () => {
    const relabelled = intCrl.pem.replace(/X509 CRL/g, "CRL");
    expect(parseCrlIssuer(relabelled)).toBe(intermediate.certificate.subject);
    const both = parseCrls(intCrl.pem + rootCrl.pem);
    expect(both.map((c) => c.issuer)).toEqual([intermediate.certificate.subject, root.certificate.subject]);
  });

  it("gives dates and revoked serials", () => {
    const info = parseCrl(intCrl.der);
    expect(info.thisUpdate).toBeInstanceOf(Date);
    expect(info.nextUpdate!.getTime()).toBeGreaterThan(info.thisUpdate.getTime());
    expect(info.revokedSerials).toEqual(["0A1B2C"]);
    expect(info.der.equals(intCrl.der)).toBe(true);
  });

  it.each([
    ["a certificate", () => leaf.raw],
    ["garbage DER", () => Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])],
    ["text without a CRL block", () => "hello"],
    ["a certificate PEM", () => leaf.toString()],
  ])("refuses %s with GSK_IBMI_ERROR_CRL_INVALID", (_name, input) => {
    let err: unknown;
    try {
      parseCrlIssuer(input());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GskError);
    expect((err as GskError).code).toBe(RC.GSK_IBMI_ERROR_CRL_INVALID);
  });
});

describe("missingCrls", () => {
  const issuerOf = (pem: string) => ({ issuer: parseCrlIssuer(pem) });

  it("lists every CA on the path, root included, when no CRL is given", () => {
    expect(missingCrls([leaf, intermediate.certificate], [root.certificate], [])).toEqual([intermediate.certificate, root.certificate]);
  });

  it("lists the root when only the intermediate has a CRL, and the intermediate when only the root has", () => {
    expect(missingCrls([leaf, intermediate.certificate], [root.certificate], [issuerOf(intCrl.pem)])).toEqual([root.certificate]);
    expect(missingCrls([leaf, intermediate.certificate], [root.certificate], [issuerOf(rootCrl.pem)])).toEqual([intermediate.certificate]);
  });

  it("lists nothing when every CA has one", () => {
    expect(missingCrls([leaf, intermediate.certificate], [root.certificate], [issuerOf(intCrl.pem), issuerOf(rootCrl.pem)])).toEqual([]);
  });

  it("finds the intermediate among the anchors when the peer did not send it", () => {
    expect(missingCrls([leaf], [root.certificate, intermediate.certificate], [issuerOf(rootCrl.pem)])).toEqual([intermediate.certificate]);
  });

  it("stops where the path breaks off", () => {
    expect(missingCrls([leaf], [root.certificate], [])).toEqual([]);
  });

  it("compares names as OpenSSL does, ignoring case", () => {
    const upper = { issuer: intermediate.certificate.subject.toUpperCase() };
    expect(missingCrls([leaf, intermediate.certificate], [root.certificate], [upper, issuerOf(rootCrl.pem)])).toEqual([]);
  });

  it("says which issuer lacks a CRL and how to fix it", () => {
    const message = missingCrlMessage([root.certificate]);
    expect(message).toContain("no CRL in force for issuer 'CN=CRL Root,O=Example'");
    expect(message).toContain("GSKX_CRL_FILE");
    expect(missingCrlMessage([])).toBe("");
  });

  // The rule above is node:tls's, measured: a handshake fails UNABLE_TO_GET_CRL exactly when
  // missingCrls is not empty.
  it.each([
    ["no CRL", [] as ("int" | "root")[]],
    ["intermediate only", ["int"] as ("int" | "root")[]],
    ["root only", ["root"] as ("int" | "root")[]],
    ["both", ["int", "root"] as ("int" | "root")[]],
  ])("agrees with a node:tls handshake: %s", async (_name, which) => {
    const crls = which.map((w) => (w === "int" ? intCrl : rootCrl));
    const predicted = missingCrls([leaf, intermediate.certificate], [root.certificate], crls.map((c) => issuerOf(c.pem)));
    const server = tls.createServer({ key: leafKey.privateKey.export({ format: "pem", type: "pkcs8" }), cert: leaf.toString() + intermediate.certificate.toString() });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const verdict = await new Promise<string | null>((resolve, reject) => {
        const socket = tls.connect(
          { port, host: "127.0.0.1", servername: "localhost", ca: root.certificate.toString(), rejectUnauthorized: false, ...(crls.length ? { crl: crls.map((c) => c.pem) } : {}) },
          () => {
            const error = socket.authorizationError as unknown;
            resolve(error === null || error === undefined ? null : String(error));
            socket.destroy();
          },
        );
        socket.on("error", reject);
      });
      if (crls.length === 0) expect(verdict).toBeNull();
      else expect(verdict === "UNABLE_TO_GET_CRL").toBe(predicted.length > 0);
    } finally {
      server.close();
    }
  });
});

describe("names formatted from DER match Node's X509Certificate.subject", () => {
  let dir: string;
  const certs: X509Certificate[] = [];
  // Each: -subj argument, extra req arguments, string_mask.
  const SUBJECTS: [string, string[], string][] = [
    ["/C=US/O=Example/CN=plain", [], "utf8only"],
    ["/CN=comma, inc/O=quote\"d/OU=less<more>semi;colon", [], "utf8only"],
    ["/CN=\\#hash first/O=  spaces around  /OU=trailing\\ ", [], "utf8only"],
    ["/CN=back\\\\slash/O=plus\\+sign/OU=equals=sign", [], "utf8only"],
    ["/CN=multi+OU=valued/O=Example", ["-multivalue-rdn"], "utf8only"],
    ["/CN=bücher ünïcödé/O=日本語/L=Ελλάδα", ["-utf8"], "utf8only"],
    ["/CN=bücher latin1/O=日本語 bmp", ["-utf8"], "default"],
    ["/DC=com/DC=example/UID=jdoe/emailAddress=j@example.com/serialNumber=1234/street=Main St/postalCode=12345", [], "utf8only"],
    ["/title=Dr/GN=Jane/SN=Doe/initials=JD/pseudonym=jd/dnQualifier=q/organizationIdentifier=VATDE-123", [], "utf8only"],
    ["/jurisdictionC=US/jurisdictionST=Delaware/businessCategory=Private Organization/CN=ev.example", [], "utf8only"],
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "gsk-crl-names-"));
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "k.pem")], { stdio: "ignore" });
    SUBJECTS.forEach(([subj, extra, mask], i) => {
      const cnf = join(dir, `${String(i)}.cnf`);
      writeFileSync(cnf, `[req]\ndistinguished_name=dn\nstring_mask=${mask}\n[dn]\n`);
      const out = join(dir, `${String(i)}.pem`);
      execFileSync("openssl", ["req", "-x509", "-key", join(dir, "k.pem"), "-out", out, "-subj", subj, "-days", "1", "-config", cnf, ...extra], { stdio: "ignore" });
      certs.push(new X509Certificate(readFileSync(out)));
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(SUBJECTS.map(([subj], i) => [subj, i] as const))("%s", (_subj, i) => {
    const cert = certs[i]!;
    const names = certificateNamesFromDer(cert);
    expect(names.subject).toBe(cert.subject);
    expect(names.issuer).toBe(cert.issuer);
  });

  it("covers the certificates of the toolkit too", () => {
    for (const cert of [root.certificate, intermediate.certificate, leaf]) {
      expect(certificateNamesFromDer(cert)).toEqual({ subject: cert.subject, issuer: cert.issuer });
    }
  });
});
