/**
 * X.509 v2 certificate revocation lists. The PEM label is `X509 CRL`: Node (`tls` `crl` option)
 * and OpenSSL read that label, not the `CRL` some generators write.
 */
import * as asn1js from "asn1js";
import type { X509Certificate } from "node:crypto";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { assembleSigned, authorityKeyIdExtension, parseCertificate, type CertificateIssuer } from "./certificate.js";
import { decodeDer, encodeDer, encodeTime, OID, serialBytes, serialHex, toArrayBuffer } from "./der.js";
import { algorithmIdentifier, sameKey, signatureAlgorithmByOid, signatureAlgorithmFor, signBytes, verifyBytes } from "./keys.js";
import { formatDn } from "./names.js";
import { derFrom, derToPem } from "./pem.js";

/** RFC 5280 5.3.1 CRLReason codes (7 is unused). */
export const CRL_REASON = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export interface RevokedEntry {
  /** Hex, as `X509Certificate.serialNumber` gives it (colons and case do not matter). */
  serialNumber: string;
  /** Default: the CRL's thisUpdate. */
  revocationDate?: Date;
  /** A `CRL_REASON` value; no reasonCode entry extension when absent. */
  reason?: number;
}

export interface CrlSpec {
  issuer: CertificateIssuer;
  revoked: RevokedEntry[];
  /** Default: one minute ago, so a peer whose clock is slightly behind does not see a future CRL. */
  thisUpdate?: Date;
  /** Default: thisUpdate + 30 days. */
  nextUpdate?: Date;
  /** Default 1. */
  crlNumber?: number;
}

export interface CrlInfo {
  issuer: string;
  /** Upper-case hex, comparable with `X509Certificate.serialNumber`. */
  revokedSerials: string[];
  revoked: { serialNumber: string; revocationDate: Date; reason?: number }[];
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: number;
  signatureAlgorithm: string;
}

function extension(oid: string, value: asn1js.AsnType): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: oid }), new asn1js.OctetString({ valueHex: toArrayBuffer(encodeDer(value)) })],
  });
}

/** Builds and signs a CRL for `spec.issuer`. */
export async function createCrl(spec: CrlSpec): Promise<{ der: Buffer; pem: string }> {
  const { certificate, privateKey } = spec.issuer;
  if (!sameKey(privateKey, certificate.publicKey)) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, "the issuer's private key does not belong to the issuer certificate");
  }
  const algorithm = signatureAlgorithmFor(privateKey);
  const thisUpdate = spec.thisUpdate ?? new Date(Date.now() - 60_000);
  const nextUpdate = spec.nextUpdate ?? new Date(thisUpdate.getTime() + 30 * 86_400_000);
  const issuer = parseCertificate(certificate.raw);

  const fields: asn1js.AsnType[] = [
    new asn1js.Integer({ value: 1 }),
    algorithmIdentifier(algorithm),
    decodeDer(issuer.subjectDer, "issuer name"),
    encodeTime(thisUpdate),
    encodeTime(nextUpdate),
  ];
  // An empty revokedCertificates must be left out rather than written as an empty SEQUENCE.
  if (spec.revoked.length > 0) {
    fields.push(
      new asn1js.Sequence({
        value: spec.revoked.map((entry) => {
          const parts: asn1js.AsnType[] = [
            new asn1js.Integer({ valueHex: toArrayBuffer(serialBytes(entry.serialNumber)) }),
            encodeTime(entry.revocationDate ?? thisUpdate),
          ];
          if (entry.reason !== undefined) {
            parts.push(new asn1js.Sequence({ value: [extension(OID.crlReason, new asn1js.Enumerated({ value: entry.reason }))] }));
          }
          return new asn1js.Sequence({ value: parts });
        }),
      }),
    );
  }
  const crlNumber = spec.crlNumber ?? 1;
  fields.push(
    new asn1js.Constructed({
      idBlock: { tagClass: 3, tagNumber: 0 },
      value: [
        new asn1js.Sequence({
          value: [authorityKeyIdExtension(certificate), extension(OID.crlNumber, new asn1js.Integer({ value: crlNumber }))],
        }),
      ],
    }),
  );
  const tbs = encodeDer(new asn1js.Sequence({ value: fields }));
  const signature = await signBytes(privateKey, algorithm, tbs);
  const der = assembleSigned(tbs, [algorithmIdentifier(algorithm)], signature);
  return { der, pem: derToPem(der, "X509 CRL") };
}

/** A CRL's parts: what signature checks need, and what it says. */
export interface ParsedCrl {
  tbsBytes: Buffer;
  issuerDer: Buffer;
  algorithmOid: string;
  signature: Uint8Array;
  info: CrlInfo;
}

function toDate(value: asn1js.AsnType | undefined): Date | undefined {
  return value instanceof asn1js.UTCTime ? value.toDate() : undefined;
}

/** Splits a CRL (PEM `X509 CRL`/`CRL`, or DER) into its parts. Malformed input throws. */
export function parseCrl(data: string | Buffer): ParsedCrl {
  const der = derFrom(data, ["X509 CRL", "CRL"], "CRL");
  const root = decodeDer(der, "CRL");
  const [tbs, algorithm, signature] = root instanceof asn1js.Sequence ? root.valueBlock.value : [];
  if (!(tbs instanceof asn1js.Sequence) || !(algorithm instanceof asn1js.Sequence) || !(signature instanceof asn1js.BitString)) {
    throw new GskError(RC.GSK_ERROR_ASN, "CRL is not a signed TBSCertList");
  }
  const fields = [...tbs.valueBlock.value];
  // The version is optional (v1 CRLs leave it out); drop it so the rest have fixed positions.
  if (fields[0] instanceof asn1js.Integer) fields.shift();
  const [, issuerName, thisUpdateField, ...rest] = fields;
  const thisUpdate = toDate(thisUpdateField);
  if (!issuerName || !thisUpdate) throw new GskError(RC.GSK_ERROR_ASN, "CRL has no issuer or thisUpdate");
  let nextUpdate: Date | undefined;
  if (rest[0] instanceof asn1js.UTCTime) nextUpdate = toDate(rest.shift());
  const revoked: CrlInfo["revoked"] = [];
  if (rest[0] instanceof asn1js.Sequence) {
    for (const entry of (rest.shift() as asn1js.Sequence).valueBlock.value) {
      const [serial, date, extensions] = (entry as asn1js.Sequence).valueBlock.value;
      const item: CrlInfo["revoked"][number] = {
        serialNumber: serialHex((serial as asn1js.Integer).valueBlock.valueHexView),
        revocationDate: toDate(date) ?? new Date(NaN),
      };
      if (extensions instanceof asn1js.Sequence) {
        for (const ext of extensions.valueBlock.value) {
          const parts = (ext as asn1js.Sequence).valueBlock.value;
          if ((parts[0] as asn1js.ObjectIdentifier).valueBlock.toString() !== OID.crlReason) continue;
          const value = decodeDer((parts[parts.length - 1] as asn1js.OctetString).valueBlock.valueHexView, "CRL reason");
          if (value instanceof asn1js.Enumerated) item.reason = value.valueBlock.valueDec;
        }
      }
      revoked.push(item);
    }
  }
  let crlNumber: number | undefined;
  const extensionsField = rest.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0);
  if (extensionsField instanceof asn1js.Constructed) {
    const list = extensionsField.valueBlock.value[0];
    for (const ext of list instanceof asn1js.Sequence ? list.valueBlock.value : []) {
      const parts = (ext as asn1js.Sequence).valueBlock.value;
      if ((parts[0] as asn1js.ObjectIdentifier).valueBlock.toString() !== OID.crlNumber) continue;
      const value = decodeDer((parts[parts.length - 1] as asn1js.OctetString).valueBlock.valueHexView, "CRL number");
      if (value instanceof asn1js.Integer) crlNumber = value.valueBlock.valueDec;
    }
  }
  const algorithmOid = (algorithm.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  const issuerDer = encodeDer(issuerName);
  const info: CrlInfo = {
    issuer: formatDn(issuerDer),
    revokedSerials: revoked.map((r) => r.serialNumber),
    revoked,
    thisUpdate,
    signatureAlgorithm: signatureAlgorithmByOid(algorithmOid)?.name ?? algorithmOid,
  };
  if (nextUpdate) info.nextUpdate = nextUpdate;
  if (crlNumber !== undefined) info.crlNumber = crlNumber;
  return {
    tbsBytes: Buffer.from(tbs.valueBeforeDecodeView),
    issuerDer,
    algorithmOid,
    signature: signature.valueBlock.valueHexView,
    info,
  };
}

/** Reads a CRL (PEM `X509 CRL`/`CRL`, or DER). Malformed input throws GSK_ERROR_ASN. */
export function readCrl(data: string | Buffer): CrlInfo {
  return parseCrl(data).info;
}

/** True when `issuer` issued the CRL: same name, and the signature verifies with its key. */
export function verifyCrl(data: string | Buffer, issuer: X509Certificate): boolean {
  const crl = parseCrl(data);
  if (!crl.issuerDer.equals(parseCertificate(issuer.raw).subjectDer)) return false;
  const algorithm = signatureAlgorithmByOid(crl.algorithmOid);
  return algorithm ? verifyBytes(issuer.publicKey, algorithm, crl.tbsBytes, crl.signature) : false;
}
