/**
 * The element list behind `gsk_attribute_get_cert_info`: one `gsk_cert_data_elem` per
 * certificate-data ID (IBM's 600–682) that a certificate actually has.
 *
 * IBM documents the IDs but not the text each one carries, so the forms below are this
 * library's choices. They aim to be what a C program on IBM i can use unchanged: plain ASCII /
 * UTF-8 text, no line breaks, DER where the name says DER. `CERT_BODY_DER` always comes first,
 * because curl takes the DER length from element 0's `cert_data_l`.
 *
 * | ID  | Name                                               | `cert_data_p`                                                        |
 * |-----|----------------------------------------------------|----------------------------------------------------------------------|
 * | 600 | CERT_BODY_DER                                      | Buffer: the certificate's DER exactly (`X509Certificate.raw`)        |
 * | 601 | CERT_BODY_BASE64                                   | base64 of the DER, one line, no PEM armour                           |
 * | 602 | CERT_SERIAL_NUMBER                                 | uppercase hex, no separators (`X509Certificate.serialNumber`)        |
 * | 610 | CERT_COMMON_NAME                                   | subject CN (first CN in certificate order)                           |
 * | 611 | CERT_LOCALITY                                      | subject L                                                            |
 * | 612 | CERT_STATE_OR_PROVINCE                             | subject ST                                                           |
 * | 613 | CERT_COUNTRY                                       | subject C                                                            |
 * | 614 | CERT_ORG                                           | subject O                                                            |
 * | 615 | CERT_ORG_UNIT                                      | subject OU                                                           |
 * | 616 | CERT_DN_PRINTABLE                                  | RFC 4514 string, most specific first: `CN=a,OU=b,O=c\, Inc.,C=US`    |
 * | 617 | CERT_DN_DER                                        | Buffer: the subject `Name` bytes exactly as in the certificate       |
 * | 618 | CERT_POSTAL_CODE                                   | subject postalCode                                                   |
 * | 619 | CERT_EMAIL                                         | subject emailAddress (PKCS #9)                                       |
 * | 650–659 | CERT_ISSUER_…                                  | the same ten elements for the issuer                                 |
 * | 660 | CERT_VERSION                                       | X.509 version, 1-based decimal: `"3"`                                |
 * | 661 | CERT_SIGNATURE_ALGORITHM                           | OpenSSL-style name: `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `Ed25519`; the dotted OID when unknown |
 * | 662 | CERT_VALID_FROM                                    | UTC GeneralizedTime text, whole seconds: `20261123100000Z`           |
 * | 663 | CERT_VALID_TO                                      | likewise                                                             |
 * | 664 | CERT_PUBLIC_KEY_ALGORITHM                          | `RSA`, `RSASSA-PSS`, `EC`, `Ed25519`, `Ed448`, `X25519`, `X448`, `DSA`, `DH`; the dotted OID when unknown |
 * | 665 | CERT_PUBLIC_KEY                                    | Buffer: the SubjectPublicKeyInfo bytes exactly as in the certificate |
 * | 666 | CERT_PUBLIC_KEY_SIZE                               | decimal bits: RSA/DSA modulus bits; EC field size (256, 384, 521 …); EdDSA/XDH raw key bits (Ed25519 256, Ed448 456, X25519 256, X448 448); absent for unknown curves |
 * | 667 | CERT_FINGERPRINT_ALGORITHM                         | `SHA256`                                                             |
 * | 668 | CERT_FINGERPRINT                                   | uppercase hex with colons (`X509Certificate.fingerprint256`)         |
 * | 669 | CERT_ISSUER_UNIQUEID                               | uppercase hex of the ID's bytes, no separators                       |
 * | 670 | CERT_SUBJECT_UNIQUEID                              | likewise                                                             |
 * | 671 | CERT_KEY_USAGE                                     | RFC 5280 bit names, comma-separated, bit order: `digitalSignature,keyEncipherment` |
 * | 672 | CERT_SUBJECT_ALTERNATIVE_NAME_RFC822NAME           | one element per rfc822Name                                           |
 * | 673 | CERT_SUBJECT_ALTERNATIVE_NAME_DNSNAME              | one element per dNSName, as written (A-labels, wildcards kept)       |
 * | 674 | CERT_SUBJECT_ALTERNATIVE_NAME_DIRECTORYNAME        | one element per directoryName, RFC 4514 string as for 616            |
 * | 675 | CERT_SUBJECT_ALTERNATIVE_NAME_URI                  | one element per uniformResourceIdentifier                            |
 * | 676 | CERT_SUBJECT_ALTERNATIVE_NAME_IPADDRESS            | one element per iPAddress: dotted IPv4, RFC 5952 IPv6 (`2001:db8::1`) |
 * | 677 | CERT_CERTIFICATE_POLICY_POLICYIDENTIFIER           | one element per policy, dotted OID (`2.5.29.32.0` for anyPolicy)     |
 * | 678 | CERT_BASIC_CONSTRAINTS_CA                          | `TRUE` / `FALSE`, whenever the extension is present                  |
 * | 679 | CERT_BASIC_CONSTRAINTS_PATH_LENGTH_CONSTRAINT      | decimal, only when the extension carries one                         |
 * | 680 | CERT_CRL_DISTRIBUTION_POINTS_DISTRIBUTIONPOINTNAME | one element per URI in a distribution point's fullName               |
 * | 681 | CERT_VALID_FROM_EX                                 | ISO 8601 UTC with milliseconds: `2026-11-23T10:00:00.000Z`           |
 * | 682 | CERT_VALID_TO_EX                                   | likewise                                                             |
 *
 * Rules common to all elements:
 * - Elements come in ascending ID order; several values of one ID keep certificate order.
 * - An ID is omitted when the certificate has nothing for it (no emailAddress → no 619, no SAN →
 *   no 672–676, an empty subject → no 616 but still 617, whose DER is then `30 00`).
 * - Single-valued name elements (610–615, 618, 619 and the issuer's) take the first attribute of
 *   that type in certificate (DER) order, read from the parsed `Name`, never by splitting a
 *   string, since values may contain commas.
 * - Printable DNs use RFC 4514's short names (CN, L, ST, O, OU, C, STREET, DC, UID) plus the
 *   OpenSSL names people expect for a few others (emailAddress, postalCode, serialNumber …);
 *   any other type is written as its dotted OID with a `#hex` BER value, as RFC 4514 §2.4 says.
 *   Values escape `, + " \ < > ;`, a leading `#` or space, a trailing space (all with `\`), and
 *   control characters as `\XX`.
 * - `cert_data_l` is the byte length of `cert_data_p`: the Buffer's length, or the UTF-8 byte
 *   length of a string (text elements are ASCII/UTF-8, never EBCDIC).
 * - Distribution points named only relative to the CRL issuer, or by a non-URI general name,
 *   produce no 680 element; that element carries locations a client can fetch.
 */
import * as asn1js from "asn1js";
import type { X509Certificate } from "node:crypto";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { parseCertificate, type ParsedCertificate } from "../pki/certificate.js";
import { V } from "../values.js";

/** One `gsk_cert_data_elem`. */
export interface CertDataElement {
  cert_data_id: number;
  cert_data_p: Buffer | string;
  cert_data_l: number;
}

/** The name attributes that have their own element, with the subject's and the issuer's ID. */
const NAME_ELEMENTS: readonly { oid: string; subject: number; issuer: number }[] = [
  { oid: "2.5.4.3", subject: V.CERT_COMMON_NAME, issuer: V.CERT_ISSUER_COMMON_NAME },
  { oid: "2.5.4.7", subject: V.CERT_LOCALITY, issuer: V.CERT_ISSUER_LOCALITY },
  { oid: "2.5.4.8", subject: V.CERT_STATE_OR_PROVINCE, issuer: V.CERT_ISSUER_STATE_OR_PROVINCE },
  { oid: "2.5.4.6", subject: V.CERT_COUNTRY, issuer: V.CERT_ISSUER_COUNTRY },
  { oid: "2.5.4.10", subject: V.CERT_ORG, issuer: V.CERT_ISSUER_ORG },
  { oid: "2.5.4.11", subject: V.CERT_ORG_UNIT, issuer: V.CERT_ISSUER_ORG_UNIT },
  { oid: "2.5.4.17", subject: V.CERT_POSTAL_CODE, issuer: V.CERT_ISSUER_POSTAL_CODE },
  { oid: "1.2.840.113549.1.9.1", subject: V.CERT_EMAIL, issuer: V.CERT_ISSUER_EMAIL },
];

/** Attribute type names for printable DNs: RFC 4514's table first, then OpenSSL's common ones. */
const DN_TYPE_NAMES: ReadonlyMap<string, string> = new Map([
  ["2.5.4.3", "CN"],
  ["2.5.4.7", "L"],
  ["2.5.4.8", "ST"],
  ["2.5.4.10", "O"],
  ["2.5.4.11", "OU"],
  ["2.5.4.6", "C"],
  ["2.5.4.9", "STREET"],
  ["0.9.2342.19200300.100.1.25", "DC"],
  ["0.9.2342.19200300.100.1.1", "UID"],
  ["1.2.840.113549.1.9.1", "emailAddress"],
  ["2.5.4.17", "postalCode"],
  ["2.5.4.5", "serialNumber"],
  ["2.5.4.4", "SN"],
  ["2.5.4.42", "GN"],
  ["2.5.4.43", "initials"],
  ["2.5.4.44", "generationQualifier"],
  ["2.5.4.12", "title"],
  ["2.5.4.46", "dnQualifier"],
  ["2.5.4.65", "pseudonym"],
  ["2.5.4.15", "businessCategory"],
  ["2.5.4.97", "organizationIdentifier"],
  ["1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"],
  ["1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"],
  ["1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"],
]);

/** Signature algorithm names as OpenSSL prints them, so logs match `openssl x509 -text`. */
const SIGNATURE_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ["1.2.840.113549.1.1.2", "md2WithRSAEncryption"],
  ["1.2.840.113549.1.1.4", "md5WithRSAEncryption"],
  ["1.2.840.113549.1.1.5", "sha1WithRSAEncryption"],
  ["1.2.840.113549.1.1.10", "rsassaPss"],
  ["1.2.840.113549.1.1.11", "sha256WithRSAEncryption"],
  ["1.2.840.113549.1.1.12", "sha384WithRSAEncryption"],
  ["1.2.840.113549.1.1.13", "sha512WithRSAEncryption"],
  ["1.2.840.113549.1.1.14", "sha224WithRSAEncryption"],
  ["2.16.840.1.101.3.4.3.13", "RSA-SHA3-224"],
  ["2.16.840.1.101.3.4.3.14", "RSA-SHA3-256"],
  ["2.16.840.1.101.3.4.3.15", "RSA-SHA3-384"],
  ["2.16.840.1.101.3.4.3.16", "RSA-SHA3-512"],
  ["1.2.840.10045.4.1", "ecdsa-with-SHA1"],
  ["1.2.840.10045.4.3.1", "ecdsa-with-SHA224"],
  ["1.2.840.10045.4.3.2", "ecdsa-with-SHA256"],
  ["1.2.840.10045.4.3.3", "ecdsa-with-SHA384"],
  ["1.2.840.10045.4.3.4", "ecdsa-with-SHA512"],
  ["2.16.840.1.101.3.4.3.9", "id-ecdsa-with-sha3-224"],
  ["2.16.840.1.101.3.4.3.10", "id-ecdsa-with-sha3-256"],
  ["2.16.840.1.101.3.4.3.11", "id-ecdsa-with-sha3-384"],
  ["2.16.840.1.101.3.4.3.12", "id-ecdsa-with-sha3-512"],
  ["1.2.840.10040.4.3", "dsaWithSHA1"],
  ["2.16.840.1.101.3.4.3.1", "dsa_with_SHA224"],
  ["2.16.840.1.101.3.4.3.2", "dsa_with_SHA256"],
  ["1.3.101.112", "Ed25519"],
  ["1.3.101.113", "Ed448"],
]);

const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const RSASSA_PSS = "1.2.840.113549.1.1.10";
const EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const DSA = "1.2.840.10040.4.1";

const PUBLIC_KEY_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  [RSA_ENCRYPTION, "RSA"],
  [RSASSA_PSS, "RSASSA-PSS"],
  [EC_PUBLIC_KEY, "EC"],
  ["1.3.101.112", "Ed25519"],
  ["1.3.101.113", "Ed448"],
  ["1.3.101.110", "X25519"],
  ["1.3.101.111", "X448"],
  [DSA, "DSA"],
  ["1.2.840.10046.2.1", "DH"],
]);

/** Raw-key algorithms whose size is the length of the key itself (RFC 8410 keys). */
const RAW_KEY_ALGORITHMS = new Set(["1.3.101.110", "1.3.101.111", "1.3.101.112", "1.3.101.113"]);

/** Field sizes of the named curves; an unknown curve gets no size rather than a guessed one. */
const CURVE_BITS: ReadonlyMap<string, number> = new Map([
  ["1.2.840.10045.3.1.1", 192],
  ["1.3.132.0.33", 224],
  ["1.2.840.10045.3.1.7", 256],
  ["1.3.132.0.10", 256],
  ["1.3.132.0.34", 384],
  ["1.3.132.0.35", 521],
  ["1.3.36.3.3.2.8.1.1.7", 256],
  ["1.3.36.3.3.2.8.1.1.11", 384],
  ["1.3.36.3.3.2.8.1.1.13", 512],
  ["1.2.156.10197.1.301", 256],
]);

/** keyUsage bit names in bit order (RFC 5280 §4.2.1.3). */
const KEY_USAGE_BITS = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;

const EXT_KEY_USAGE = "2.5.29.15";
const EXT_SUBJECT_ALT_NAME = "2.5.29.17";
const EXT_BASIC_CONSTRAINTS = "2.5.29.19";
const EXT_CRL_DISTRIBUTION_POINTS = "2.5.29.31";
const EXT_CERTIFICATE_POLICIES = "2.5.29.32";

/** GeneralName CHOICE tags (RFC 5280 §4.2.1.6). */
const GN_RFC822 = 1;
const GN_DNS = 2;
const GN_DIRECTORY = 4;
const GN_URI = 6;
const GN_IP = 7;

const CONTEXT_CLASS = 3;

/**
 * The certificate-data elements of `cert`, `CERT_BODY_DER` first, then every other ID the
 * certificate has in ascending order (formats: see the table at the top of this file).
 * Throws `GSK_ERROR_ASN` when the certificate's DER cannot be parsed.
 */
export function certificateInfo(cert: X509Certificate): CertDataElement[] {
  const der = Buffer.from(cert.raw);
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(der);
  } catch (cause) {
    throw new GskError(RC.GSK_ERROR_ASN, `certificate cannot be decoded: ${(cause as Error).message}`, { cause });
  }

  const out: CertDataElement[] = [];
  const add = (id: number, data: Buffer | string | undefined): void => {
    if (data === undefined) return;
    out.push({ cert_data_id: id, cert_data_p: data, cert_data_l: typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length });
  };

  add(V.CERT_BODY_DER, der);
  add(V.CERT_BODY_BASE64, der.toString("base64"));
  add(V.CERT_SERIAL_NUMBER, cert.serialNumber.toUpperCase());

  const tbs = parsed.slices;
  const subject = decodeName(tbs.subject);
  const issuer = decodeName(tbs.issuer);
  addNameElements(add, subject, tbs.subject, "subject");
  addNameElements(add, issuer, tbs.issuer, "issuer");

  add(V.CERT_VERSION, String(parsed.version + 1));
  const signatureOid = parsed.signatureAlgorithmOid;
  add(V.CERT_SIGNATURE_ALGORITHM, SIGNATURE_ALGORITHMS.get(signatureOid) ?? signatureOid);
  add(V.CERT_VALID_FROM, generalizedTime(parsed.notBefore));
  add(V.CERT_VALID_TO, generalizedTime(parsed.notAfter));

  const keyOid = parsed.publicKeyAlgorithmOid;
  add(V.CERT_PUBLIC_KEY_ALGORITHM, PUBLIC_KEY_ALGORITHMS.get(keyOid) ?? keyOid);
  add(V.CERT_PUBLIC_KEY, Buffer.from(tbs.spki));
  const keyBits = publicKeyBits(tbs.spki);
  add(V.CERT_PUBLIC_KEY_SIZE, keyBits === undefined ? undefined : String(keyBits));

  add(V.CERT_FINGERPRINT_ALGORITHM, "SHA256");
  add(V.CERT_FINGERPRINT, cert.fingerprint256);

  add(V.CERT_ISSUER_UNIQUEID, uniqueIdHex(parsed.issuerUniqueId));
  add(V.CERT_SUBJECT_UNIQUEID, uniqueIdHex(parsed.subjectUniqueId));

  // A repeated extension is invalid (RFC 5280 §4.2); parseCertificate keeps the first.
  const extensions = new Map<string, Uint8Array>();
  for (const [oid, extension] of parsed.extensions) extensions.set(oid, extension.value);
  // A malformed extension loses its own elements, not the whole list: the handshake already
  // accepted this certificate, and the other elements are still right.
  const fromExtension = <T>(oid: string, read: (value: asn1js.AsnType) => T): T | undefined => {
    const bytes = extensions.get(oid);
    if (bytes === undefined) return undefined;
    try {
      return read(decode(bytes));
    } catch {
      return undefined;
    }
  };

  add(V.CERT_KEY_USAGE, fromExtension(EXT_KEY_USAGE, keyUsageNames));

  const sans = fromExtension(EXT_SUBJECT_ALT_NAME, (value) => children(value)) ?? [];
  const sanTexts = (tag: number, text: (name: asn1js.AsnType) => string | undefined): void => {
    const id = SAN_ELEMENT[tag]!;
    for (const name of sans) {
      if (name.idBlock.tagClass !== CONTEXT_CLASS || name.idBlock.tagNumber !== tag) continue;
      try {
        add(id, text(name));
      } catch {
        // One undecodable name is skipped; the rest of the SAN is still reported.
      }
    }
  };
  sanTexts(GN_RFC822, (name) => ia5Text(name));
  sanTexts(GN_DNS, (name) => ia5Text(name));
  sanTexts(GN_DIRECTORY, (name) => {
    const inner = children(name)[0];
    return inner === undefined ? undefined : formatRdns(decodeName(inner.valueBeforeDecodeView));
  });
  sanTexts(GN_URI, (name) => ia5Text(name));
  sanTexts(GN_IP, (name) => ipText(primitiveBytes(name)));

  for (const policy of fromExtension(EXT_CERTIFICATE_POLICIES, policyIdentifiers) ?? []) {
    add(V.CERT_CERTIFICATE_POLICY_POLICYIDENTIFIER, policy);
  }

  const constraints = fromExtension(EXT_BASIC_CONSTRAINTS, basicConstraints);
  if (constraints) {
    add(V.CERT_BASIC_CONSTRAINTS_CA, constraints.ca ? "TRUE" : "FALSE");
    add(V.CERT_BASIC_CONSTRAINTS_PATH_LENGTH_CONSTRAINT, constraints.pathLength);
  }

  for (const uri of fromExtension(EXT_CRL_DISTRIBUTION_POINTS, crlDistributionUris) ?? []) {
    add(V.CERT_CRL_DISTRIBUTION_POINTS_DISTRIBUTIONPOINTNAME, uri);
  }

  add(V.CERT_VALID_FROM_EX, parsed.notBefore.toISOString());
  add(V.CERT_VALID_TO_EX, parsed.notAfter.toISOString());
  // Ascending ID order (so CERT_BODY_DER, the lowest, is first); the sort is stable, which keeps
  // several values of one ID in certificate order.
  return out.sort((a, b) => a.cert_data_id - b.cert_data_id);
}

/** The first element with `id`, for callers that want one value (`CERT_COMMON_NAME`). */
export function certificateInfoById(elements: readonly CertDataElement[], id: number): CertDataElement | undefined {
  return elements.find((element) => element.cert_data_id === id);
}

const SAN_ELEMENT: Readonly<Record<number, number>> = {
  [GN_RFC822]: V.CERT_SUBJECT_ALTERNATIVE_NAME_RFC822NAME,
  [GN_DNS]: V.CERT_SUBJECT_ALTERNATIVE_NAME_DNSNAME,
  [GN_DIRECTORY]: V.CERT_SUBJECT_ALTERNATIVE_NAME_DIRECTORYNAME,
  [GN_URI]: V.CERT_SUBJECT_ALTERNATIVE_NAME_URI,
  [GN_IP]: V.CERT_SUBJECT_ALTERNATIVE_NAME_IPADDRESS,
};

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */

interface NameAttribute {
  oid: string;
  /** The value as text, or undefined when it is not a character string. */
  text: string | undefined;
  /** The value's BER bytes, for RFC 4514's `#hex` form. */
  ber: Uint8Array;
}

/** The RDNs of a DER `Name`, in certificate (DER) order. */
function decodeName(der: Uint8Array): NameAttribute[][] {
  return children(decode(der)).map((set) =>
    children(set).map((atv) => {
      const [type, value] = children(atv);
      if (!(type instanceof asn1js.ObjectIdentifier) || value === undefined) throw new Error("RDN attribute is not a type and value");
      return { oid: type.valueBlock.toString(), text: stringValue(value), ber: value.valueBeforeDecodeView };
    }),
  );
}

function addNameElements(
  add: (id: number, data: Buffer | string | undefined) => void,
  rdns: NameAttribute[][],
  der: Uint8Array,
  which: "subject" | "issuer",
): void {
  const attributes = rdns.flat();
  for (const element of NAME_ELEMENTS) {
    const attribute = attributes.find((a) => a.oid === element.oid);
    if (attribute) add(element[which], attribute.text ?? `#${hex(attribute.ber)}`);
  }
  const printable = formatRdns(rdns);
  add(which === "subject" ? V.CERT_DN_PRINTABLE : V.CERT_ISSUER_DN_PRINTABLE, printable === "" ? undefined : printable);
  add(which === "subject" ? V.CERT_DN_DER : V.CERT_ISSUER_DN_DER, Buffer.from(der));
}

/** RFC 4514 string: RDNs most specific first (reverse of DER), multi-valued RDNs joined by `+`. */
function formatRdns(rdns: NameAttribute[][]): string {
  return [...rdns]
    .reverse()
    .map((rdn) =>
      rdn
        .map((a) => {
          const name = DN_TYPE_NAMES.get(a.oid);
          // RFC 4514 §2.4: a type without a short name, or a value that is not a string, is `#hex`.
          if (name === undefined || a.text === undefined) return `${name ?? a.oid}=#${hex(a.ber).toLowerCase()}`;
          return `${name}=${escapeValue(a.text)}`;
        })
        .join("+"),
    )
    .join(",");
}

/** RFC 4514 §2.4 escaping. */
function escapeValue(value: string): string {
  const chars = Array.from(value);
  return chars
    .map((c, index) => {
      if (`,+"\\<>;`.includes(c)) return `\\${c}`;
      if (index === 0 && (c === "#" || c === " ")) return `\\${c}`;
      if (index === chars.length - 1 && c === " ") return "\\ ";
      const code = c.codePointAt(0)!;
      if (code < 0x20 || code === 0x7f) return `\\${code.toString(16).toUpperCase().padStart(2, "0")}`;
      return c;
    })
    .join("");
}

function stringValue(value: asn1js.AsnType): string | undefined {
  if (
    value instanceof asn1js.Utf8String ||
    value instanceof asn1js.PrintableString ||
    value instanceof asn1js.IA5String ||
    value instanceof asn1js.TeletexString ||
    value instanceof asn1js.BmpString ||
    value instanceof asn1js.UniversalString ||
    value instanceof asn1js.VisibleString ||
    value instanceof asn1js.NumericString
  ) {
    return value.valueBlock.value;
  }
  return undefined;
}

/* ---------------------------------------------------------------------------------------------
 * Public key
 * ------------------------------------------------------------------------------------------- */

function publicKeyBits(spkiDer: Uint8Array): number | undefined {
  const [algorithm, key] = children(decode(spkiDer));
  if (!(key instanceof asn1js.BitString) || algorithm === undefined) return undefined;
  const [oidBlock, parameters] = children(algorithm);
  if (!(oidBlock instanceof asn1js.ObjectIdentifier)) return undefined;
  const oid = oidBlock.valueBlock.toString();
  const keyBytes = key.valueBlock.valueHexView;
  if (oid === RSA_ENCRYPTION || oid === RSASSA_PSS) {
    const modulus = children(decode(keyBytes))[0];
    return modulus instanceof asn1js.Integer ? integerBits(modulus.valueBlock.valueHexView) : undefined;
  }
  if (oid === EC_PUBLIC_KEY) {
    return parameters instanceof asn1js.ObjectIdentifier ? CURVE_BITS.get(parameters.valueBlock.toString()) : undefined;
  }
  if (oid === DSA) {
    const p = parameters === undefined ? undefined : children(parameters)[0];
    return p instanceof asn1js.Integer ? integerBits(p.valueBlock.valueHexView) : undefined;
  }
  if (RAW_KEY_ALGORITHMS.has(oid)) return keyBytes.length * 8;
  return undefined;
}

/** Bit length of a non-negative big-endian integer (a leading sign byte is not counted). */
function integerBits(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

/* ---------------------------------------------------------------------------------------------
 * Extensions
 * ------------------------------------------------------------------------------------------- */

function keyUsageNames(value: asn1js.AsnType): string | undefined {
  if (!(value instanceof asn1js.BitString)) throw new Error("keyUsage is not a BIT STRING");
  const bytes = value.valueBlock.valueHexView;
  const bitCount = bytes.length * 8 - value.valueBlock.unusedBits;
  const names = KEY_USAGE_BITS.filter((_, bit) => bit < bitCount && (bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0);
  return names.length === 0 ? undefined : names.join(",");
}

function policyIdentifiers(value: asn1js.AsnType): string[] {
  return children(value).map((information) => {
    const id = children(information)[0];
    if (!(id instanceof asn1js.ObjectIdentifier)) throw new Error("policy without an identifier");
    return id.valueBlock.toString();
  });
}

function basicConstraints(value: asn1js.AsnType): { ca: boolean; pathLength: string | undefined } {
  let ca = false;
  let pathLength: string | undefined;
  for (const field of children(value)) {
    if (field instanceof asn1js.Boolean) ca = field.valueBlock.value;
    else if (field instanceof asn1js.Integer) pathLength = field.toBigInt().toString();
  }
  return { ca, pathLength };
}

function crlDistributionUris(value: asn1js.AsnType): string[] {
  const uris: string[] = [];
  for (const point of children(value)) {
    // distributionPoint [0] holds the DistributionPointName CHOICE; fullName is its [0].
    const name = children(point).find((f) => f.idBlock.tagClass === CONTEXT_CLASS && f.idBlock.tagNumber === 0);
    const fullName = name === undefined ? undefined : children(name).find((f) => f.idBlock.tagClass === CONTEXT_CLASS && f.idBlock.tagNumber === 0);
    for (const general of fullName === undefined ? [] : children(fullName)) {
      if (general.idBlock.tagClass === CONTEXT_CLASS && general.idBlock.tagNumber === GN_URI) uris.push(ia5Text(general));
    }
  }
  return uris;
}

/** Text of an IMPLICIT IA5String GeneralName; decoded as UTF-8 so stray non-ASCII survives readably. */
function ia5Text(name: asn1js.AsnType): string {
  return new TextDecoder("utf-8").decode(primitiveBytes(name));
}

/** IPv4 dotted quad, IPv6 in RFC 5952 form; other lengths (not valid in a SAN) as hex. */
function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) return hex(bytes);
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses keep their dotted-quad tail.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${Array.from(bytes.subarray(12)).join(".")}`;
  // RFC 5952 §4.2: compress the longest run (the first on a tie) of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (part: number[]): string => part.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return text(groups);
  return `${text(groups.slice(0, bestStart))}::${text(groups.slice(bestStart + bestLength))}`;
}

function uniqueIdHex(bytes: Uint8Array | undefined): string | undefined {
  // The BIT STRING contents: the first byte counts the unused bits.
  return bytes === undefined || bytes.length <= 1 ? undefined : hex(bytes.subarray(1));
}

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

function decode(bytes: Uint8Array): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1) throw new Error(parsed.result.error);
  return parsed.result;
}

function children(value: asn1js.AsnType): asn1js.AsnType[] {
  const inner = (value.valueBlock as { value?: unknown }).value;
  return Array.isArray(inner) ? (inner as asn1js.AsnType[]) : [];
}

function primitiveBytes(value: asn1js.AsnType): Uint8Array {
  const view = (value.valueBlock as { valueHexView?: Uint8Array }).valueHexView;
  if (!(view instanceof Uint8Array)) throw new Error("expected a primitive value");
  return view;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex").toUpperCase();
}

/** `YYYYMMDDHHMMSSZ` in UTC: the GeneralizedTime text form, which GSKit-era C code can sort and scan. */
function generalizedTime(date: Date): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    "Z"
  );
}
