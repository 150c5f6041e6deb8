import * as asn1js from "asn1js";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Certificate } from "pkijs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificateInfo, certificateInfoById, type CertDataElement } from "../../src/core/cert-info.js";
import { V } from "../../src/values.js";

// Certificates are made with the openssl CLI so that the parser is checked against an
// independent encoder rather than against our own PKI builders.
const haveOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
if (!haveOpenssl) console.warn("cert-info tests: the openssl command is not on PATH; skipping (they create their certificates with it)");

const DER_IDS = new Set<number>([V.CERT_BODY_DER, V.CERT_DN_DER, V.CERT_ISSUER_DN_DER, V.CERT_PUBLIC_KEY]);

const EXTENSIONS = `
[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only
x509_extensions = ext
[dn]
CN = replaced by -subj
[ext]
subjectAltName = DNS:a.example.com,DNS:b.example.com,IP:192.0.2.10,IP:2001:db8:0:0:1:0:0:1,email:admin@example.com,URI:https://example.com/id,dirName:directory
keyUsage = critical,digitalSignature,keyEncipherment,keyCertSign
basicConstraints = critical,CA:TRUE,pathlen:1
crlDistributionPoints = URI:http://crl.example.com/a.crl,URI:http://crl2.example.com/b.crl
certificatePolicies = 1.2.3.4,2.23.140.1.2.1
[directory]
O = Example
CN = Directory, Name
`;

const RSA_SUBJECT = "/C=US/ST=New York/L=Armonk/postalCode=10504/O=Example, Inc./OU=Security/CN=host.example.com/emailAddress=admin@example.com";
/** Multi-valued RDN, RFC 4514 specials and non-ASCII text: the cases string splitting gets wrong. */
const EC_SUBJECT = "/C=US/O=Example, Inc./OU=Sécurité+UID=u1/CN=#host;x<y>";

let dir = "";
let rsa: X509Certificate;
let ec: X509Certificate;
let minimal: X509Certificate;

async function makeCertificate(name: string, keyArgs: string[], subject: string, config: string, extra: string[] = []): Promise<X509Certificate> {
  const configPath = path.join(dir, `${name}.cnf`);
  await writeFile(configPath, config);
  const certPath = path.join(dir, `${name}.pem`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-nodes", ...keyArgs, "-keyout", path.join(dir, `${name}.key`), "-out", certPath, "-days", "30", "-config", configPath, "-utf8", "-subj", subject, ...extra],
    { stdio: "pipe" },
  );
  return new X509Certificate(await readFile(certPath));
}

function values(elements: CertDataElement[], id: number): (string | Buffer)[] {
  return elements.filter((e) => e.cert_data_id === id).map((e) => e.cert_data_p);
}

function text(elements: CertDataElement[], id: number): string | undefined {
  const p = certificateInfoById(elements, id)?.cert_data_p;
  if (p !== undefined && typeof p !== "string") throw new Error(`element ${id} is not text`);
  return p;
}

function buffer(elements: CertDataElement[], id: number): Buffer {
  const p = certificateInfoById(elements, id)?.cert_data_p;
  if (!Buffer.isBuffer(p)) throw new Error(`element ${id} is not a Buffer`);
  return p;
}

/** (OID, value) pairs of a DER Name, RDN by RDN, re-read with asn1js. */
function nameAttributes(der: Uint8Array): [string, string][][] {
  const parsed = asn1js.fromBER(der);
  expect(parsed.offset).toBe(der.length);
  return (parsed.result as asn1js.Sequence).valueBlock.value.map((set) =>
    (set as asn1js.Set).valueBlock.value.map((atv) => {
      const [type, value] = (atv as asn1js.Sequence).valueBlock.value;
      return [(type as asn1js.ObjectIdentifier).valueBlock.toString(), (value as asn1js.Utf8String).valueBlock.value];
    }),
  );
}

function commonChecks(cert: X509Certificate, elements: CertDataElement[]): void {
  expect(elements[0]!.cert_data_id).toBe(V.CERT_BODY_DER);
  expect(Buffer.isBuffer(elements[0]!.cert_data_p)).toBe(true);
  expect((elements[0]!.cert_data_p as Buffer).equals(cert.raw)).toBe(true);
  expect(elements[0]!.cert_data_l).toBe(cert.raw.length);

  for (const e of elements) {
    if (DER_IDS.has(e.cert_data_id)) {
      expect(Buffer.isBuffer(e.cert_data_p), `element ${e.cert_data_id} is a Buffer`).toBe(true);
      expect(e.cert_data_l).toBe((e.cert_data_p as Buffer).length);
    } else {
      expect(typeof e.cert_data_p, `element ${e.cert_data_id} is text`).toBe("string");
      expect(e.cert_data_l).toBe(Buffer.byteLength(e.cert_data_p as string, "utf8"));
    }
  }
  const ids = elements.map((e) => e.cert_data_id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));

  expect(text(elements, V.CERT_BODY_BASE64)).toBe(cert.raw.toString("base64"));
  expect(text(elements, V.CERT_SERIAL_NUMBER)).toBe(cert.serialNumber.toUpperCase());
  expect(text(elements, V.CERT_FINGERPRINT_ALGORITHM)).toBe("SHA256");
  expect(text(elements, V.CERT_FINGERPRINT)).toBe(cert.fingerprint256);

  for (const id of [V.CERT_DN_DER, V.CERT_ISSUER_DN_DER, V.CERT_PUBLIC_KEY]) {
    expect(cert.raw.indexOf(buffer(elements, id)), `element ${id} is a slice of the DER`).toBeGreaterThan(0);
  }
  expect(buffer(elements, V.CERT_PUBLIC_KEY).equals(cert.publicKey.export({ type: "spki", format: "der" }))).toBe(true);

  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  expect(text(elements, V.CERT_VALID_FROM_EX)).toBe(from.toISOString());
  expect(text(elements, V.CERT_VALID_TO_EX)).toBe(to.toISOString());
  const generalized = (d: Date): string => d.toISOString().replace(/[-:T]/g, "").replace(/\.\d{3}Z$/, "Z");
  expect(text(elements, V.CERT_VALID_FROM)).toBe(generalized(from));
  expect(text(elements, V.CERT_VALID_TO)).toBe(generalized(to));
  expect(text(elements, V.CERT_VALID_FROM)).toMatch(/^\d{14}Z$/);
}

describe.skipIf(!haveOpenssl)("certificateInfo", () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "gskit-cert-info-"));
    rsa = await makeCertificate("rsa", ["-newkey", "rsa:2048", "-sha256"], RSA_SUBJECT, EXTENSIONS);
    ec = await makeCertificate("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], EC_SUBJECT, EXTENSIONS, ["-multivalue-rdn"]);
    // No x509_extensions section: openssl then writes a version 1 certificate with no extensions.
    minimal = await makeCertificate("min", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "/CN=minimal", "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n");
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("describes an RSA certificate with a full subject and every extension", () => {
    const elements = certificateInfo(rsa);
    commonChecks(rsa, elements);

    expect(text(elements, V.CERT_COMMON_NAME)).toBe("host.example.com");
    expect(text(elements, V.CERT_LOCALITY)).toBe("Armonk");
    expect(text(elements, V.CERT_STATE_OR_PROVINCE)).toBe("New York");
    expect(text(elements, V.CERT_COUNTRY)).toBe("US");
    expect(text(elements, V.CERT_ORG)).toBe("Example, Inc.");
    expect(text(elements, V.CERT_ORG_UNIT)).toBe("Security");
    expect(text(elements, V.CERT_POSTAL_CODE)).toBe("10504");
    expect(text(elements, V.CERT_EMAIL)).toBe("admin@example.com");
    const printable = "emailAddress=admin@example.com,CN=host.example.com,OU=Security,O=Example\\, Inc.,postalCode=10504,L=Armonk,ST=New York,C=US";
    expect(text(elements, V.CERT_DN_PRINTABLE)).toBe(printable);
    // Self-signed: the issuer elements mirror the subject ones.
    expect(text(elements, V.CERT_ISSUER_DN_PRINTABLE)).toBe(printable);
    expect(text(elements, V.CERT_ISSUER_ORG)).toBe("Example, Inc.");
    expect(text(elements, V.CERT_ISSUER_EMAIL)).toBe("admin@example.com");

    const subjectDer = buffer(elements, V.CERT_DN_DER);
    expect(nameAttributes(subjectDer)).toEqual([
      [["2.5.4.6", "US"]],
      [["2.5.4.8", "New York"]],
      [["2.5.4.7", "Armonk"]],
      [["2.5.4.17", "10504"]],
      [["2.5.4.10", "Example, Inc."]],
      [["2.5.4.11", "Security"]],
      [["2.5.4.3", "host.example.com"]],
      [["1.2.840.113549.1.9.1", "admin@example.com"]],
    ]);
    // pkijs's own view of the subject must be these very bytes.
    const parsed = Certificate.fromBER(rsa.raw);
    expect(Buffer.from(parsed.subject.valueBeforeDecode).equals(subjectDer)).toBe(true);
    expect(buffer(elements, V.CERT_ISSUER_DN_DER).equals(subjectDer)).toBe(true);

    expect(text(elements, V.CERT_VERSION)).toBe("3");
    expect(text(elements, V.CERT_SIGNATURE_ALGORITHM)).toBe("sha256WithRSAEncryption");
    expect(text(elements, V.CERT_PUBLIC_KEY_ALGORITHM)).toBe("RSA");
    expect(text(elements, V.CERT_PUBLIC_KEY_SIZE)).toBe("2048");

    expect(text(elements, V.CERT_KEY_USAGE)).toBe("digitalSignature,keyEncipherment,keyCertSign");
    expect(values(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_DNSNAME)).toEqual(["a.example.com", "b.example.com"]);
    expect(values(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_IPADDRESS)).toEqual(["192.0.2.10", "2001:db8::1:0:0:1"]);
    expect(values(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_RFC822NAME)).toEqual(["admin@example.com"]);
    expect(values(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_URI)).toEqual(["https://example.com/id"]);
    expect(values(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_DIRECTORYNAME)).toEqual(["CN=Directory\\, Name,O=Example"]);
    expect(values(elements, V.CERT_CERTIFICATE_POLICY_POLICYIDENTIFIER)).toEqual(["1.2.3.4", "2.23.140.1.2.1"]);
    expect(text(elements, V.CERT_BASIC_CONSTRAINTS_CA)).toBe("TRUE");
    expect(text(elements, V.CERT_BASIC_CONSTRAINTS_PATH_LENGTH_CONSTRAINT)).toBe("1");
    expect(values(elements, V.CERT_CRL_DISTRIBUTION_POINTS_DISTRIBUTIONPOINTNAME)).toEqual([
      "http://crl.example.com/a.crl",
      "http://crl2.example.com/b.crl",
    ]);
    expect(certificateInfoById(elements, V.CERT_ISSUER_UNIQUEID)).toBeUndefined();
    expect(certificateInfoById(elements, V.CERT_SUBJECT_UNIQUEID)).toBeUndefined();
  });

  it("reads an EC certificate's names from the parsed Name, escaping per RFC 4514", () => {
    const elements = certificateInfo(ec);
    commonChecks(ec, elements);

    expect(text(elements, V.CERT_PUBLIC_KEY_ALGORITHM)).toBe("EC");
    expect(text(elements, V.CERT_PUBLIC_KEY_SIZE)).toBe("256");
    expect(text(elements, V.CERT_SIGNATURE_ALGORITHM)).toBe("ecdsa-with-SHA256");

    expect(text(elements, V.CERT_COMMON_NAME)).toBe("#host;x<y>");
    expect(text(elements, V.CERT_ORG)).toBe("Example, Inc.");
    expect(text(elements, V.CERT_ORG_UNIT)).toBe("Sécurité");
    // Non-ASCII text: cert_data_l counts UTF-8 bytes, not characters.
    expect(certificateInfoById(elements, V.CERT_ORG_UNIT)!.cert_data_l).toBe(10);
    // DER sorts the members of a SET, so openssl stores UID before OU in the multi-valued RDN.
    expect(text(elements, V.CERT_DN_PRINTABLE)).toBe("CN=\\#host\\;x\\<y\\>,UID=u1+OU=Sécurité,O=Example\\, Inc.,C=US");
    expect(nameAttributes(buffer(elements, V.CERT_DN_DER))).toEqual([
      [["2.5.4.6", "US"]],
      [["2.5.4.10", "Example, Inc."]],
      [
        ["0.9.2342.19200300.100.1.1", "u1"],
        ["2.5.4.11", "Sécurité"],
      ],
      [["2.5.4.3", "#host;x<y>"]],
    ]);
    for (const id of [V.CERT_EMAIL, V.CERT_LOCALITY, V.CERT_STATE_OR_PROVINCE, V.CERT_POSTAL_CODE, V.CERT_ISSUER_EMAIL]) {
      expect(certificateInfoById(elements, id), `element ${id}`).toBeUndefined();
    }
    expect(values(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_DNSNAME)).toEqual(["a.example.com", "b.example.com"]);
  });

  it("omits everything a minimal certificate does not have", () => {
    const elements = certificateInfo(minimal);
    commonChecks(minimal, elements);
    expect(elements.map((e) => e.cert_data_id)).toEqual([
      V.CERT_BODY_DER,
      V.CERT_BODY_BASE64,
      V.CERT_SERIAL_NUMBER,
      V.CERT_COMMON_NAME,
      V.CERT_DN_PRINTABLE,
      V.CERT_DN_DER,
      V.CERT_ISSUER_COMMON_NAME,
      V.CERT_ISSUER_DN_PRINTABLE,
      V.CERT_ISSUER_DN_DER,
      V.CERT_VERSION,
      V.CERT_SIGNATURE_ALGORITHM,
      V.CERT_VALID_FROM,
      V.CERT_VALID_TO,
      V.CERT_PUBLIC_KEY_ALGORITHM,
      V.CERT_PUBLIC_KEY,
      V.CERT_PUBLIC_KEY_SIZE,
      V.CERT_FINGERPRINT_ALGORITHM,
      V.CERT_FINGERPRINT,
      V.CERT_VALID_FROM_EX,
      V.CERT_VALID_TO_EX,
    ]);
    expect(text(elements, V.CERT_VERSION)).toBe("1");
    expect(text(elements, V.CERT_DN_PRINTABLE)).toBe("CN=minimal");
    expect(nameAttributes(buffer(elements, V.CERT_DN_DER))).toEqual([[["2.5.4.3", "minimal"]]]);
  });

  it("reports issuer and subject unique IDs when a certificate carries them", () => {
    // openssl cannot write unique IDs, so add them to a parsed certificate and re-encode the
    // TBS; Node parses without checking the (now stale) signature.
    const parsed = Certificate.fromBER(rsa.raw);
    parsed.issuerUniqueID = new Uint8Array([0x00, 0x0a, 0xbc]).buffer;
    parsed.subjectUniqueID = new Uint8Array([0x00, 0xde, 0xf0, 0x01]).buffer;
    const edited = new X509Certificate(Buffer.from(parsed.toSchema(true).toBER()));
    const elements = certificateInfo(edited);
    commonChecks(edited, elements);
    expect(text(elements, V.CERT_ISSUER_UNIQUEID)).toBe("0ABC");
    expect(text(elements, V.CERT_SUBJECT_UNIQUEID)).toBe("DEF001");
    expect(text(elements, V.CERT_DN_PRINTABLE)).toBe(text(certificateInfo(rsa), V.CERT_DN_PRINTABLE));
  });

  it("finds one element by ID", () => {
    const elements = certificateInfo(rsa);
    expect(certificateInfoById(elements, V.CERT_BODY_DER)).toBe(elements[0]);
    expect(certificateInfoById(elements, V.CERT_SUBJECT_ALTERNATIVE_NAME_DNSNAME)?.cert_data_p).toBe("a.example.com");
    expect(certificateInfoById(elements, V.CERT_ISSUER_UNIQUEID)).toBeUndefined();
  });
});
