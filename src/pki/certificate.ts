/**
 * Issuing X.509 v3 certificates. The TBSCertificate is built with asn1js and signed with
 * node:crypto (see keys.ts for why), so every key type Node can sign with works, Ed25519 included.
 * Results are Node `X509Certificate`s; nothing from asn1js leaks into the API.
 */
import * as asn1js from "asn1js";
import { createHash, randomBytes, X509Certificate, type KeyObject } from "node:crypto";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import {
  bytesToIp,
  contextConstructed,
  contextPrimitive,
  decodeDer,
  encodeDer,
  encodeTime,
  ipToBytes,
  OID,
  serialBytes,
  toArrayBuffer,
} from "./der.js";
import { algorithmIdentifier, sameKey, signatureAlgorithmByOid, signatureAlgorithmFor, signBytes, spkiDer } from "./keys.js";
import { encodeDn, formatDn } from "./names.js";

export type KeyUsageName =
  | "digitalSignature"
  | "nonRepudiation"
  | "contentCommitment"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

/** A named purpose, or any dotted OID. */
export type ExtendedKeyUsageName =
  | "serverAuth"
  | "clientAuth"
  | "codeSigning"
  | "emailProtection"
  | "timeStamping"
  | "ocspSigning"
  | "anyExtendedKeyUsage"
  | (string & {});

export interface SubjectAltNames {
  dns?: string[];
  ip?: string[];
  email?: string[];
  uri?: string[];
}

/** The CA that signs: its certificate (for the issuer name and key identifier) and its key. */
export interface CertificateIssuer {
  certificate: X509Certificate;
  privateKey: KeyObject;
}

/** Everything about a certificate except who it is for and who signs it. */
export interface CertificateOptions {
  /** Hex string or bytes; default 16 random bytes, positive. */
  serialNumber?: Buffer | string;
  /** Default: five minutes ago, so a peer whose clock is slightly behind still accepts it. */
  notBefore?: Date;
  /** Default: `notBefore` + `validityDays`. */
  notAfter?: Date;
  /** Default 365. Ignored when `notAfter` is given. */
  validityDays?: number;
  isCA?: boolean;
  /** BasicConstraints pathLenConstraint; CA certificates only. */
  pathLength?: number;
  /**
   * Default: `keyCertSign, cRLSign` for a CA, `digitalSignature` (+ `keyEncipherment` for RSA)
   * otherwise. An empty list leaves the extension out.
   */
  keyUsage?: KeyUsageName[];
  /** Default: no extension (any purpose). */
  extendedKeyUsage?: ExtendedKeyUsageName[];
  subjectAltNames?: SubjectAltNames;
  /** URIs for the CRL distribution points extension. */
  crlDistributionPoints?: string[];
  /** Leave out SubjectKeyIdentifier (present by default). */
  omitSubjectKeyId?: boolean;
  /** Leave out AuthorityKeyIdentifier (present by default). */
  omitAuthorityKeyId?: boolean;
  /** Leave out BasicConstraints on a non-CA certificate (present, CA:FALSE, by default). */
  omitBasicConstraints?: boolean;
}

export interface CertificateSpec extends CertificateOptions {
  /** DN string, most specific first: `"CN=localhost,O=Example,C=US"`. */
  subject: string;
  /** Absent: self-signed, signed by `signingKey`. */
  issuer?: CertificateIssuer;
  /** The key the certificate certifies. */
  publicKey: KeyObject;
  /** Private key of a self-signed certificate (must match `publicKey`). */
  signingKey?: KeyObject;
}

const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  contentCommitment: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

const EKU_OIDS: Record<string, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  ocspSigning: "1.3.6.1.5.5.7.3.9",
  anyExtendedKeyUsage: "2.5.29.37.0",
};
const EKU_NAMES = new Map(Object.entries(EKU_OIDS).map(([name, oid]) => [oid, name]));

function extension(oid: string, critical: boolean, value: asn1js.AsnType): asn1js.Sequence {
  const parts: asn1js.AsnType[] = [new asn1js.ObjectIdentifier({ value: oid })];
  if (critical) parts.push(new asn1js.Boolean({ value: true }));
  parts.push(new asn1js.OctetString({ valueHex: toArrayBuffer(encodeDer(value)) }));
  return new asn1js.Sequence({ value: parts });
}

/** KeyUsage BIT STRING in DER form: named bits with trailing zero bits dropped (X.690 11.2.2). */
function keyUsageBits(usages: KeyUsageName[]): asn1js.BitString {
  let mask = 0;
  for (const usage of usages) {
    const bit = KEY_USAGE_BITS[usage];
    if (bit === undefined) throw new GskError(RC.GSK_INVALID_PARAMETER, `unknown key usage ${JSON.stringify(usage)}`);
    mask |= 1 << bit;
  }
  const highest = 31 - Math.clz32(mask);
  const length = highest >= 8 ? 2 : 1;
  const bytes = new Uint8Array(length);
  for (let bit = 0; bit <= highest; bit++) if (mask & (1 << bit)) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return new asn1js.BitString({ valueHex: toArrayBuffer(bytes), unusedBits: length * 8 - (highest + 1) });
}

/** GeneralNames for a SAN set (also used by the CSR builder). */
export function generalNames(names: SubjectAltNames): asn1js.Sequence {
  const value: asn1js.AsnType[] = [];
  for (const email of names.email ?? []) value.push(contextPrimitive(1, Buffer.from(email, "ascii")));
  for (const dns of names.dns ?? []) value.push(contextPrimitive(2, Buffer.from(dns, "ascii")));
  for (const uri of names.uri ?? []) value.push(contextPrimitive(6, Buffer.from(uri, "ascii")));
  for (const ip of names.ip ?? []) value.push(contextPrimitive(7, ipToBytes(ip)));
  return new asn1js.Sequence({ value });
}

/** The SAN set a GeneralNames SEQUENCE holds (other name forms are skipped). */
export function readGeneralNames(sequence: asn1js.AsnType): Required<SubjectAltNames> {
  const out: Required<SubjectAltNames> = { dns: [], ip: [], email: [], uri: [] };
  if (!(sequence instanceof asn1js.Sequence)) return out;
  for (const name of sequence.valueBlock.value) {
    if (name.idBlock.tagClass !== 3) continue;
    const bytes = Buffer.from((name as asn1js.Primitive).valueBlock.valueHexView ?? new Uint8Array());
    switch (name.idBlock.tagNumber) {
      case 1:
        out.email.push(bytes.toString("ascii"));
        break;
      case 2:
        out.dns.push(bytes.toString("ascii"));
        break;
      case 6:
        out.uri.push(bytes.toString("ascii"));
        break;
      case 7:
        out.ip.push(bytesToIp(bytes));
        break;
    }
  }
  return out;
}

function hasNames(names: SubjectAltNames | undefined): names is SubjectAltNames {
  return !!names && [names.dns, names.ip, names.email, names.uri].some((list) => (list?.length ?? 0) > 0);
}

/** SubjectKeyIdentifier method 1 of RFC 5280 4.2.1.2: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(key: KeyObject): Buffer {
  const spki = decodeDer(spkiDer(key), "public key");
  const bits = (spki as asn1js.Sequence).valueBlock.value[1] as asn1js.BitString;
  return createHash("sha1").update(bits.valueBlock.valueHexView).digest();
}

/** The fields of a parsed certificate that issuing, CRL building and certificate data need. */
export interface ParsedCertificate {
  tbs: asn1js.Sequence;
  /** 0 for v1, 2 for v3. */
  version: number;
  subjectDer: Buffer;
  issuerDer: Buffer;
  /** The certificate's own bytes of its issuer, subject and SubjectPublicKeyInfo. */
  slices: { issuer: Uint8Array; subject: Uint8Array; spki: Uint8Array };
  signatureAlgorithmOid: string;
  publicKeyAlgorithmOid: string;
  notBefore: Date;
  notAfter: Date;
  /** BIT STRING contents (the unused-bits count first) of [1] issuerUniqueID / [2] subjectUniqueID. */
  issuerUniqueId: Uint8Array | undefined;
  subjectUniqueId: Uint8Array | undefined;
  /** By OID; a repeated extension (invalid, RFC 5280 §4.2) keeps its first occurrence. */
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

/** Splits a certificate's DER into the parts the toolkit reads. Malformed input throws GSK_ERROR_ASN. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cert = decodeDer(der, "certificate");
  const [tbs, algorithm] = cert instanceof asn1js.Sequence ? cert.valueBlock.value : [];
  if (!(tbs instanceof asn1js.Sequence) || !(algorithm instanceof asn1js.Sequence)) {
    throw new GskError(RC.GSK_ERROR_ASN, "certificate is not a SEQUENCE of TBSCertificate and algorithm");
  }
  const fields = tbs.valueBlock.value;
  // The version is an explicit [0]; v1 certificates leave it out, shifting every later field.
  const versioned = isContext(fields[0], 0);
  const base = versioned ? 1 : 0;
  const versionValue = versioned ? (fields[0] as asn1js.Constructed).valueBlock.value[0] : undefined;
  const issuer = fields[base + 2];
  const validity = fields[base + 3];
  const subject = fields[base + 4];
  const spki = fields[base + 5];
  const times = validity instanceof asn1js.Sequence ? validity.valueBlock.value : [];
  const [notBefore, notAfter] = times.map((t) => (t instanceof asn1js.UTCTime ? t.toDate() : new Date(NaN)));
  if (!issuer || !subject || !notBefore || !notAfter) throw new GskError(RC.GSK_ERROR_ASN, "certificate has no issuer or subject");
  if (!(spki instanceof asn1js.Sequence)) throw new GskError(RC.GSK_ERROR_ASN, "certificate has no subjectPublicKeyInfo");
  let issuerUniqueId: Uint8Array | undefined;
  let subjectUniqueId: Uint8Array | undefined;
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  for (const field of fields.slice(base + 6)) {
    if (isContext(field, 1)) issuerUniqueId = primitiveContent(field);
    else if (isContext(field, 2)) subjectUniqueId = primitiveContent(field);
    if (!isContext(field, 3)) continue;
    const list = (field as asn1js.Constructed).valueBlock.value[0];
    if (!(list instanceof asn1js.Sequence)) continue;
    for (const ext of list.valueBlock.value) {
      const parts = (ext as asn1js.Sequence).valueBlock.value;
      const id = parts[0];
      const value = parts[parts.length - 1];
      if (!(id instanceof asn1js.ObjectIdentifier) || !(value instanceof asn1js.OctetString)) {
        throw new GskError(RC.GSK_ERROR_ASN, "certificate has an extension that is not an OID and an OCTET STRING");
      }
      const oid = id.valueBlock.toString();
      const critical = parts[1] instanceof asn1js.Boolean ? parts[1].valueBlock.value : false;
      if (!extensions.has(oid)) extensions.set(oid, { critical, value: Buffer.from(value.valueBlock.valueHexView) });
    }
  }
  return {
    tbs,
    version: versionValue instanceof asn1js.Integer ? versionValue.valueBlock.valueDec : 0,
    subjectDer: encodeDer(subject),
    issuerDer: encodeDer(issuer),
    slices: { issuer: issuer.valueBeforeDecodeView, subject: subject.valueBeforeDecodeView, spki: spki.valueBeforeDecodeView },
    signatureAlgorithmOid: algorithmOid(algorithm),
    publicKeyAlgorithmOid: algorithmOid(spki.valueBlock.value[0]),
    notBefore,
    notAfter,
    issuerUniqueId,
    subjectUniqueId,
    extensions,
  };
}

function isContext(value: asn1js.AsnType | undefined, tag: number): boolean {
  return value !== undefined && value.idBlock.tagClass === 3 && value.idBlock.tagNumber === tag;
}

function primitiveContent(value: asn1js.AsnType): Uint8Array | undefined {
  const view = (value.valueBlock as { valueHexView?: Uint8Array }).valueHexView;
  return view instanceof Uint8Array ? view : undefined;
}

function algorithmOid(value: asn1js.AsnType | undefined): string {
  const id = value instanceof asn1js.Sequence ? value.valueBlock.value[0] : undefined;
  if (!(id instanceof asn1js.ObjectIdentifier)) throw new GskError(RC.GSK_ERROR_ASN, "certificate has an AlgorithmIdentifier without an OID");
  return id.valueBlock.toString();
}

/** The SubjectKeyIdentifier of a certificate, or the RFC 5280 method-1 value of its key. */
function subjectKeyIdOf(cert: X509Certificate, parsed = parseCertificate(cert.raw)): Buffer {
  const ski = parsed.extensions.get(OID.subjectKeyIdentifier);
  if (ski) return Buffer.from((decodeDer(ski.value, "subject key identifier") as asn1js.OctetString).valueBlock.valueHexView);
  return keyIdentifier(cert.publicKey);
}

/** AuthorityKeyIdentifier value naming the issuer's key (keyIdentifier [0] only). */
export function authorityKeyIdExtension(issuer: X509Certificate): asn1js.Sequence {
  return extension(OID.authorityKeyIdentifier, false, new asn1js.Sequence({ value: [contextPrimitive(0, subjectKeyIdOf(issuer))] }));
}

function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  // Positive and exactly 16 bytes in DER: top bit clear, next bit set so no leading zero is trimmed.
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes;
}

/** Issue (sign) a certificate. */
export async function issueCertificate(spec: CertificateSpec): Promise<X509Certificate> {
  const signingKey = spec.issuer ? spec.issuer.privateKey : spec.signingKey;
  if (!signingKey) throw new GskError(RC.GSK_INVALID_PARAMETER, "a self-signed certificate needs signingKey");
  if (spec.issuer && !sameKey(spec.issuer.privateKey, spec.issuer.certificate.publicKey)) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, "the issuer's private key does not belong to the issuer certificate");
  }
  if (!spec.issuer && !sameKey(signingKey, spec.publicKey)) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, "a self-signed certificate's signingKey must match its publicKey");
  }
  if (spec.pathLength !== undefined && !spec.isCA) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, "pathLength applies to CA certificates only");
  }
  const algorithm = signatureAlgorithmFor(signingKey);
  const subjectDer = encodeDn(spec.subject);
  const issuerParsed = spec.issuer ? parseCertificate(spec.issuer.certificate.raw) : undefined;
  // The issuer name is copied byte for byte from the issuer's subject so chain building matches it.
  const issuerDer = issuerParsed ? issuerParsed.subjectDer : subjectDer;

  const notBefore = spec.notBefore ?? new Date(Date.now() - 5 * 60_000);
  const notAfter = spec.notAfter ?? new Date(notBefore.getTime() + (spec.validityDays ?? 365) * 86_400_000);
  if (notAfter.getTime() < notBefore.getTime()) throw new GskError(RC.GSK_INVALID_PARAMETER, "notAfter is before notBefore");

  const extensions: asn1js.Sequence[] = [];
  if (spec.isCA || !spec.omitBasicConstraints) {
    const bc: asn1js.AsnType[] = [];
    if (spec.isCA) bc.push(new asn1js.Boolean({ value: true }));
    if (spec.isCA && spec.pathLength !== undefined) bc.push(new asn1js.Integer({ value: spec.pathLength }));
    extensions.push(extension(OID.basicConstraints, true, new asn1js.Sequence({ value: bc })));
  }
  const keyUsage =
    spec.keyUsage ??
    (spec.isCA
      ? (["keyCertSign", "cRLSign"] as KeyUsageName[])
      : spec.publicKey.asymmetricKeyType === "rsa"
        ? (["digitalSignature", "keyEncipherment"] as KeyUsageName[])
        : (["digitalSignature"] as KeyUsageName[]));
  if (keyUsage.length > 0) extensions.push(extension(OID.keyUsage, true, keyUsageBits(keyUsage)));
  if (spec.extendedKeyUsage && spec.extendedKeyUsage.length > 0) {
    const oids = spec.extendedKeyUsage.map((eku) => {
      const oid = EKU_OIDS[eku] ?? eku;
      if (!/^\d+(\.\d+)+$/.test(oid)) throw new GskError(RC.GSK_INVALID_PARAMETER, `unknown extended key usage ${JSON.stringify(eku)}`);
      return new asn1js.ObjectIdentifier({ value: oid });
    });
    extensions.push(extension(OID.extKeyUsage, false, new asn1js.Sequence({ value: oids })));
  }
  if (hasNames(spec.subjectAltNames)) {
    // RFC 5280 4.2.1.6: the SAN must be critical when the subject name is empty.
    extensions.push(extension(OID.subjectAltName, spec.subject.trim() === "", generalNames(spec.subjectAltNames)));
  }
  if (spec.crlDistributionPoints && spec.crlDistributionPoints.length > 0) {
    const points = spec.crlDistributionPoints.map(
      (uri) =>
        new asn1js.Sequence({
          value: [contextConstructed(0, [contextConstructed(0, [contextPrimitive(6, Buffer.from(uri, "ascii"))])])],
        }),
    );
    extensions.push(extension(OID.crlDistributionPoints, false, new asn1js.Sequence({ value: points })));
  }
  if (!spec.omitSubjectKeyId) {
    extensions.push(
      extension(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: toArrayBuffer(keyIdentifier(spec.publicKey)) })),
    );
  }
  if (!spec.omitAuthorityKeyId) {
    const aki = spec.issuer ? subjectKeyIdOf(spec.issuer.certificate, issuerParsed) : keyIdentifier(spec.publicKey);
    extensions.push(extension(OID.authorityKeyIdentifier, false, new asn1js.Sequence({ value: [contextPrimitive(0, aki)] })));
  }

  const serial = spec.serialNumber === undefined ? randomSerial() : serialBytes(spec.serialNumber);
  const tbsFields: asn1js.AsnType[] = [
    contextConstructed(0, [new asn1js.Integer({ value: 2 })]),
    new asn1js.Integer({ valueHex: toArrayBuffer(serial) }),
    algorithmIdentifier(algorithm),
    decodeDer(issuerDer, "issuer name"),
    new asn1js.Sequence({ value: [encodeTime(notBefore), encodeTime(notAfter)] }),
    decodeDer(subjectDer, "subject name"),
    decodeDer(spkiDer(spec.publicKey), "public key"),
  ];
  if (extensions.length > 0) tbsFields.push(contextConstructed(3, [new asn1js.Sequence({ value: extensions })]));
  const tbs = encodeDer(new asn1js.Sequence({ value: tbsFields }));
  const signature = await signBytes(signingKey, algorithm, tbs);
  return new X509Certificate(assembleSigned(tbs, [algorithmIdentifier(algorithm)], signature));
}

/** `SEQUENCE { tbs, algorithm, BIT STRING signature }`, the shape of certificates, CSRs and CRLs. */
export function assembleSigned(tbs: Buffer, algorithm: asn1js.AsnType[], signature: Uint8Array): Buffer {
  return encodeDer(
    new asn1js.Sequence({
      value: [decodeDer(tbs, "to-be-signed data"), ...algorithm, new asn1js.BitString({ valueHex: toArrayBuffer(signature) })],
    }),
  );
}

/** Subject of a certificate as a DN string, most specific first. */
export function certificateSubject(cert: X509Certificate): string {
  return formatDn(parseCertificate(cert.raw).subjectDer);
}

/** Issuer of a certificate as a DN string, most specific first. */
export function certificateIssuer(cert: X509Certificate): string {
  return formatDn(parseCertificate(cert.raw).issuerDer);
}

/** One line for logs and CLI output: `subject CN=…, issuer CN=…, serial …`. */
export function describeCertificate(cert: X509Certificate): string {
  const parsed = parseCertificate(cert.raw);
  return `subject ${formatDn(parsed.subjectDer) || "(empty)"}, issuer ${formatDn(parsed.issuerDer) || "(empty)"}, serial ${cert.serialNumber}`;
}

/** What a certificate says, including the extensions Node's X509Certificate does not expose. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Upper-case hex, as `X509Certificate.serialNumber`. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
  isCA: boolean;
  pathLength?: number;
  keyUsage: KeyUsageName[];
  /** Names for the well-known purposes, dotted OIDs for the rest. */
  extendedKeyUsage: string[];
  subjectAltNames: Required<SubjectAltNames>;
  crlDistributionPoints: string[];
  /** Lower-case hex. */
  subjectKeyId?: string;
  authorityKeyId?: string;
  /** `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `Ed25519` …, or the OID when unknown. */
  signatureAlgorithm: string;
  /** SHA-256 fingerprint, colon-separated, as `X509Certificate.fingerprint256`. */
  fingerprint256: string;
}

const KEY_USAGE_ORDER: KeyUsageName[] = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

/** Reads a certificate's names, validity and extensions into a plain object. */
export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const parsed = parseCertificate(cert.raw);
  const ext = (oid: string): asn1js.AsnType | undefined => {
    const found = parsed.extensions.get(oid);
    return found ? decodeDer(found.value, `extension ${oid}`) : undefined;
  };
  let isCA = false;
  let pathLength: number | undefined;
  const bc = ext(OID.basicConstraints);
  if (bc instanceof asn1js.Sequence) {
    for (const part of bc.valueBlock.value) {
      if (part instanceof asn1js.Boolean) isCA = part.valueBlock.value;
      if (part instanceof asn1js.Integer) pathLength = part.valueBlock.valueDec;
    }
  }
  const keyUsage: KeyUsageName[] = [];
  const ku = ext(OID.keyUsage);
  if (ku instanceof asn1js.BitString) {
    const bytes = ku.valueBlock.valueHexView;
    KEY_USAGE_ORDER.forEach((name, bit) => {
      if ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) keyUsage.push(name);
    });
  }
  const eku = ext(OID.extKeyUsage);
  const extendedKeyUsage =
    eku instanceof asn1js.Sequence
      ? eku.valueBlock.value.map((o) => {
          const oid = (o as asn1js.ObjectIdentifier).valueBlock.toString();
          return EKU_NAMES.get(oid) ?? oid;
        })
      : [];
  const san = ext(OID.subjectAltName);
  const subjectAltNames = san ? readGeneralNames(san) : { dns: [], ip: [], email: [], uri: [] };
  const crlDistributionPoints: string[] = [];
  const cdp = ext(OID.crlDistributionPoints);
  if (cdp instanceof asn1js.Sequence) {
    for (const point of cdp.valueBlock.value) {
      const name = (point as asn1js.Sequence).valueBlock.value[0];
      const full = name instanceof asn1js.Constructed ? name.valueBlock.value[0] : undefined;
      if (full && full.idBlock.tagNumber === 0 && full instanceof asn1js.Constructed) {
        crlDistributionPoints.push(...readGeneralNames(new asn1js.Sequence({ value: full.valueBlock.value })).uri);
      }
    }
  }
  const ski = ext(OID.subjectKeyIdentifier);
  const aki = ext(OID.authorityKeyIdentifier);
  const akiId =
    aki instanceof asn1js.Sequence
      ? aki.valueBlock.value.find((p) => p.idBlock.tagClass === 3 && p.idBlock.tagNumber === 0)
      : undefined;
  const info: CertificateInfo = {
    subject: formatDn(parsed.subjectDer),
    issuer: formatDn(parsed.issuerDer),
    serialNumber: cert.serialNumber.toUpperCase(),
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    selfSigned: parsed.subjectDer.equals(parsed.issuerDer) && cert.verify(cert.publicKey),
    isCA,
    keyUsage,
    extendedKeyUsage,
    subjectAltNames,
    crlDistributionPoints,
    signatureAlgorithm: signatureAlgorithmByOid(parsed.signatureAlgorithmOid)?.name ?? parsed.signatureAlgorithmOid,
    fingerprint256: cert.fingerprint256,
  };
  if (pathLength !== undefined) info.pathLength = pathLength;
  if (ski instanceof asn1js.OctetString) info.subjectKeyId = Buffer.from(ski.valueBlock.valueHexView).toString("hex");
  if (akiId) info.authorityKeyId = Buffer.from((akiId as asn1js.Primitive).valueBlock.valueHexView).toString("hex");
  return info;
}
