/** PKCS#10 certificate requests: create, read (with signature check) and sign into a certificate. */
import * as asn1js from "asn1js";
import { createPublicKey, type KeyObject, type X509Certificate } from "node:crypto";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import {
  assembleSigned,
  generalNames,
  issueCertificate,
  readGeneralNames,
  type CertificateIssuer,
  type CertificateOptions,
  type SubjectAltNames,
} from "./certificate.js";
import { contextConstructed, decodeDer, encodeDer, OID, toArrayBuffer } from "./der.js";
import { algorithmIdentifier, publicKeyOf, sameKey, signatureAlgorithmByOid, signatureAlgorithmFor, signBytes, spkiDer, verifyBytes } from "./keys.js";
import { encodeDn, formatDn } from "./names.js";
import { derFrom, derToPem } from "./pem.js";

export interface CsrSpec {
  /** DN string, most specific first. */
  subject: string;
  privateKey: KeyObject;
  /** Default: derived from `privateKey`. */
  publicKey?: KeyObject;
  /** Asked for through an extensionRequest attribute. */
  subjectAltNames?: SubjectAltNames;
}

export interface CsrInfo {
  subject: string;
  publicKey: KeyObject;
  subjectAltNames: Required<SubjectAltNames>;
  /** The request's self-signature verifies with the key it carries (proof of possession). */
  verified: boolean;
  /** Name of the signature algorithm, or its OID when unknown. */
  signatureAlgorithm: string;
}

/** A PEM `CERTIFICATE REQUEST` signed with `privateKey`. */
export async function createCsr(spec: CsrSpec): Promise<string> {
  const publicKey = spec.publicKey ?? publicKeyOf(spec.privateKey);
  if (!sameKey(spec.privateKey, publicKey)) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, "the CSR's publicKey does not match its privateKey");
  }
  const algorithm = signatureAlgorithmFor(spec.privateKey);
  const attributes: asn1js.AsnType[] = [];
  const san = spec.subjectAltNames;
  if (san && [san.dns, san.ip, san.email, san.uri].some((l) => (l?.length ?? 0) > 0)) {
    const extension = new asn1js.Sequence({
      value: [
        new asn1js.ObjectIdentifier({ value: OID.subjectAltName }),
        new asn1js.OctetString({ valueHex: toArrayBuffer(encodeDer(generalNames(san))) }),
      ],
    });
    attributes.push(
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID.extensionRequest }),
          new asn1js.Set({ value: [new asn1js.Sequence({ value: [extension] })] }),
        ],
      }),
    );
  }
  const info = encodeDer(
    new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        decodeDer(encodeDn(spec.subject), "subject name"),
        decodeDer(spkiDer(publicKey), "public key"),
        // attributes [0] IMPLICIT SET OF Attribute: required even when empty (RFC 2986).
        contextConstructed(0, attributes),
      ],
    }),
  );
  const signature = await signBytes(spec.privateKey, algorithm, info);
  return derToPem(assembleSigned(info, [algorithmIdentifier(algorithm)], signature), "CERTIFICATE REQUEST");
}

/** Reads a CSR (PEM or DER) and checks its self-signature. Malformed input throws GSK_ERROR_ASN. */
export function readCsr(data: string | Buffer): CsrInfo {
  const der = derFrom(data, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], "certificate request");
  const root = decodeDer(der, "certificate request");
  const [info, algorithm, signature] = root instanceof asn1js.Sequence ? root.valueBlock.value : [];
  if (!(info instanceof asn1js.Sequence) || !(algorithm instanceof asn1js.Sequence) || !(signature instanceof asn1js.BitString)) {
    throw new GskError(RC.GSK_ERROR_ASN, "certificate request is not a signed CertificationRequestInfo");
  }
  const [, subject, spki, attributes] = info.valueBlock.value;
  if (!subject || !spki) throw new GskError(RC.GSK_ERROR_ASN, "certificate request has no subject or public key");
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: encodeDer(spki), format: "der", type: "spki" });
  } catch (error) {
    throw new GskError(RC.GSK_ERROR_ASN, "certificate request public key cannot be read", { cause: error });
  }
  let subjectAltNames: Required<SubjectAltNames> = { dns: [], ip: [], email: [], uri: [] };
  if (attributes instanceof asn1js.Constructed) {
    for (const attribute of attributes.valueBlock.value) {
      const [type, values] = (attribute as asn1js.Sequence).valueBlock.value;
      if (!(type instanceof asn1js.ObjectIdentifier) || type.valueBlock.toString() !== OID.extensionRequest) continue;
      const extensions = (values as asn1js.Set).valueBlock.value[0];
      if (!(extensions instanceof asn1js.Sequence)) continue;
      for (const ext of extensions.valueBlock.value) {
        const parts = (ext as asn1js.Sequence).valueBlock.value;
        if ((parts[0] as asn1js.ObjectIdentifier).valueBlock.toString() !== OID.subjectAltName) continue;
        const value = parts[parts.length - 1] as asn1js.OctetString;
        subjectAltNames = readGeneralNames(decodeDer(value.valueBlock.valueHexView, "subjectAltName"));
      }
    }
  }
  const oid = (algorithm.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  const known = signatureAlgorithmByOid(oid);
  // The signature covers the CertificationRequestInfo exactly as received, not a re-encoding.
  const infoBytes = Buffer.from(info.valueBeforeDecodeView);
  const verified = known ? verifyBytes(publicKey, known, infoBytes, signature.valueBlock.valueHexView) : false;
  return {
    subject: formatDn(encodeDer(subject)),
    publicKey,
    subjectAltNames,
    verified,
    signatureAlgorithm: known?.name ?? oid,
  };
}

/** What `signCsr` takes beyond the request: the certificate options, and an optional subject override. */
export interface SignCsrOptions extends CertificateOptions {
  /** Default: the subject the CSR asks for. */
  subject?: string;
}

/**
 * Issues a certificate for a CSR. The request's signature must verify (it proves the requester
 * holds the key), else GSK_ERROR_BAD_CERT_SIG. The CSR's SANs are used unless `options` gives some.
 */
export async function signCsr(csr: string | Buffer, issuer: CertificateIssuer, options: SignCsrOptions = {}): Promise<X509Certificate> {
  const request = readCsr(csr);
  if (!request.verified) {
    throw new GskError(RC.GSK_ERROR_BAD_CERT_SIG, `the certificate request for ${JSON.stringify(request.subject)} has a signature that does not verify`);
  }
  const { subject, ...rest } = options;
  return issueCertificate({
    ...rest,
    subject: subject ?? request.subject,
    subjectAltNames: options.subjectAltNames ?? request.subjectAltNames,
    publicKey: request.publicKey,
    issuer,
  });
}
