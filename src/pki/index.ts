/**
 * Certificate toolkit used by the CLI and the tests: keys, certificates, CSRs, CRLs and DN strings.
 * The API speaks Node types only (KeyObject, X509Certificate, Buffer, PEM strings).
 */
export { generateKey, signatureAlgorithmFor, type GenerateKeyOptions, type KeyPair, type KeyType, type SignatureAlgorithm } from "./keys.js";
export { dnAttribute, encodeDn, formatDn, parseDn, type DnAttribute, type Rdn } from "./names.js";
export {
  certificateInfo,
  certificateIssuer,
  certificateSubject,
  describeCertificate,
  issueCertificate,
  keyIdentifier,
  type CertificateInfo,
  type CertificateIssuer,
  type CertificateOptions,
  type CertificateSpec,
  type ExtendedKeyUsageName,
  type KeyUsageName,
  type SubjectAltNames,
} from "./certificate.js";
export { createCsr, readCsr, signCsr, type CsrInfo, type CsrSpec, type SignCsrOptions } from "./csr.js";
export { createCrl, CRL_REASON, readCrl, verifyCrl, type CrlInfo, type CrlSpec, type RevokedEntry } from "./crl.js";
export { derToPem, pemBlocks, toPem, type PemBlock } from "./pem.js";
