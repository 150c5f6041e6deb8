/**
 * gskit-tls/tools: key stores, certificates and application IDs as a library — what the `gskit`
 * CLI is built on, for programs and scripts that set up their own PKI.
 *
 * The public API, named explicitly (a test pins this list).
 */

// --- key stores (PKCS#12, PEM bundles, GSKit CMS key databases, stash files) ---
export { openKeyStore, selectPersonalEntry, trustAnchors, chainFor } from "./keystore/open.js";
export { writeKeyStoreFile, type WriteKeyStoreOptions } from "./keystore/write.js";
export {
  readCmsKeyDb,
  readCmsKeyDbFile,
  writeCmsKeyDb,
  saveCmsKeyDb,
  changeCmsKeyDbPassword,
  readArmFile,
  writeArmFile,
  type CmsKeyDbVersion,
  type CmsKeyDbWriteOptions,
} from "./keystore/cms-kdb.js";
export { readStashFile, writeStashFile, stashPathFor, type StashVersion } from "./keystore/stash.js";
export type { KeyStore, KeyStoreEntry, KeyStoreFormat, KeyStoreCredentials } from "./keystore/types.js";

// --- certificates, requests, CRLs ---
export {
  generateKey,
  issueCertificate,
  describeCertificate,
  createCsr,
  readCsr,
  signCsr,
  createCrl,
  readCrl,
  toPem,
  type KeyType,
  type KeyPair,
  type CertificateSpec,
  type CsrSpec,
  type CrlSpec,
} from "./pki/index.js";

// --- application IDs ---
export { ApplicationRegistry, lookupApplication } from "./registry/registry.js";
export { systemStoreLocation, type SystemStoreLocation } from "./registry/locations.js";
export type { ApplicationDefinition, ApplicationType, ClientAuthPolicy } from "./registry/application.js";

// --- diagnosing a connection step by step (what `gskit connect` prints) ---
export { diagnoseConnection, type DiagnoseOptions, type Diagnosis, type DiagnoseStep, type DiagnoseStepName, type DiagnosedCertificate } from "./diagnose.js";
