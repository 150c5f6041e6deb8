/**
 * Store-level operations: what `gskit keydb`, `gskit cert` and `gskit certreq` do, as functions
 * that programs and tests call directly. Every edit is read → change → write atomically, so a
 * refused edit leaves the store as it was.
 *
 * Format notes that shape the operations:
 * - PKCS#12 and PEM have no trust flag: every certificate without a key reads back as an enabled
 *   CA entry. Disabling a CA is therefore refused for them (a key database keeps the flag); the
 *   refusal says how to get the effect instead.
 * - A PEM bundle labels entries by subject CN (the contract of `openKeyStore`); writing one warns
 *   about every label that will read back differently.
 * - A pending certificate request's private key is kept beside the store in `<store>.rdb`
 *   (GSKit's request-database name), encrypted with the store password, until `receive`.
 */
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from "node:crypto";
import { access, readFile, unlink } from "node:fs/promises";
import { isIP } from "node:net";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-file.js";
import { certificateInfo, certificateSubject, issueCertificate, type CertificateInfo, type ExtendedKeyUsageName, type KeyUsageName, type SubjectAltNames } from "../pki/certificate.js";
import { createCsr, readCsr, signCsr } from "../pki/csr.js";
import { generateKey, type KeyType } from "../pki/keys.js";
import { cmsKeyDbPersonalLabels, cmsKeyDbVersion, isCmsKeyDb, readCmsKeyDb, saveCmsKeyDb, type CmsKeyDbVersion } from "./cms-kdb.js";
import { chainFor, openKeyStore } from "./open.js";
import { certificateMatchesKey, commonNameOf, isSelfSigned, LabelAllocator, readPemBundle, writePemBundle } from "./pem.js";
import { readStashFile, stashPathFor, writeStashFile } from "./stash.js";
import type { KeyStoreEntry, KeyStoreFormat } from "./types.js";
import { writeKeyStoreFile } from "./write.js";

/** How a store is unlocked. Without either, the `.sth` beside the store is used when there is one. */
export interface StoreAccess {
  readonly password?: string | undefined;
  readonly stashFile?: string | undefined;
}

/** A store read for editing or listing. */
export interface OpenedStore {
  readonly file: string;
  readonly format: KeyStoreFormat;
  /** What it was unlocked with; undefined for a clear PEM bundle or a key database read without one. */
  readonly password: string | undefined;
  /** False for a key database read without its password: personal entries then have no key. */
  readonly keysRead: boolean;
  readonly entries: KeyStoreEntry[];
  readonly defaultLabel: string | undefined;
  /** Labels of the personal entries, known even when keys were not read. */
  readonly personalLabels: ReadonlySet<string>;
  /** Key database only. */
  readonly cmsVersion: CmsKeyDbVersion | undefined;
  /** PEM only: the keys in the file are encrypted (kept that way when saved). */
  readonly pemEncrypted: boolean;
}

/** One line of a listing. */
export interface EntrySummary {
  label: string;
  kind: "personal" | "ca";
  /** CA entries: enabled as a trust anchor. */
  trusted: boolean;
  /** The store's default personal certificate. */
  isDefault: boolean;
  subject: string;
  issuer: string;
  notAfter: string;
  keyType: string;
}

export interface PendingRequest {
  label: string;
  subject: string;
  created: string;
}

export interface StoreListing {
  file: string;
  format: KeyStoreFormat;
  /** Key database version (4 or 6). */
  version?: number;
  /** False when a key database was listed without its password (nothing vouches it is undamaged). */
  verified: boolean;
  defaultLabel: string | null;
  /** The stash file beside the store, if there is one. */
  stashFile: string | null;
  entries: EntrySummary[];
  pendingRequests: PendingRequest[];
}

/** Everything `cert details` shows. */
export interface CertificateDetails extends EntrySummary {
  serialNumber: string;
  notBefore: string;
  selfSigned: boolean;
  isCA: boolean;
  pathLength?: number;
  keyUsage: string[];
  extendedKeyUsage: string[];
  subjectAltNames: Required<SubjectAltNames>;
  signatureAlgorithm: string;
  fingerprintSha256: string;
  fingerprintSha1: string;
  /** Personal entries: the chain the store completes for it, leaf first, as subjects. */
  chain: string[];
}

/** Result of an edit: non-fatal findings (labels PEM cannot keep, flags PKCS#12 cannot keep …). */
export interface EditResult {
  warnings: string[];
}

const PEM_EMPTY_MARKER = "# gskit PEM key store";

function fail(code: number, message: string, cause?: unknown): GskError {
  return new GskError(code, message, cause === undefined ? {} : { cause });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The format a new store gets from its name: `.kdb` a key database, `.pem` a PEM bundle, else PKCS#12. */
export function storeFormatFor(file: string): KeyStoreFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith(".kdb")) return "cms";
  if (lower.endsWith(".pem")) return "pem";
  return "pkcs12";
}

/** GSKit keeps pending requests in `<store>.rdb`. */
export function requestDbPathFor(file: string): string {
  return file.replace(/\.[^./\\]*$/, "") + ".rdb";
}

async function resolvePassword(file: string, access: StoreAccess): Promise<string | undefined> {
  if (access.password !== undefined) return access.password;
  if (access.stashFile !== undefined) return readStashFile(access.stashFile);
  const beside = stashPathFor(file);
  return (await exists(beside)) ? readStashFile(beside) : undefined;
}

function isEmptyPemStore(data: Buffer): boolean {
  return data.toString("utf8").startsWith(PEM_EMPTY_MARKER) && !data.includes("-----BEGIN ");
}

/**
 * Opens a store for listing (`keys: "optional"`: a key database without its password lists its
 * certificates) or for editing (`keys: "required"`, the default).
 */
export async function openStore(file: string, access: StoreAccess = {}, options: { keys?: "required" | "optional" } = {}): Promise<OpenedStore> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist (create it with gskit keydb create, or check the path)" : `cannot be read (${code ?? String(error)})`;
    throw fail(RC.GSK_KEYRING_OPEN_ERROR, `key store ${file} ${why}`, error);
  }
  const password = await resolvePassword(file, access);
  const base = { file, password, cmsVersion: undefined, pemEncrypted: false };

  if (isEmptyPemStore(data)) {
    return { ...base, format: "pem", keysRead: true, entries: [], defaultLabel: undefined, personalLabels: new Set() };
  }
  if (isCmsKeyDb(data)) {
    const cmsVersion = cmsKeyDbVersion(data, file);
    if (password === undefined && options.keys !== "optional") {
      throw fail(
        RC.GSK_NO_KEYFILE_PASSWORD,
        `key database ${file} needs its password for this (give --pw, or --stash with ${stashPathFor(file)}); only listings work without it`,
      );
    }
    const store = readCmsKeyDb(data, password, file);
    const personalLabels = new Set(cmsKeyDbPersonalLabels(data, file));
    return { ...base, cmsVersion, format: "cms", keysRead: password !== undefined, entries: [...store.entries], defaultLabel: store.defaultLabel, personalLabels };
  }
  const store = await openKeyStore(file, { password });
  const text = store.format === "pem" ? data.toString("utf8") : "";
  return {
    ...base,
    format: store.format,
    keysRead: true,
    entries: [...store.entries],
    defaultLabel: store.defaultLabel,
    personalLabels: new Set(store.entries.filter((e) => e.privateKey !== undefined).map((e) => e.label)),
    pemEncrypted: /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/.test(text),
  };
}

export interface SaveOptions {
  /** Default: the store's own file. */
  readonly file?: string | undefined;
  /** Default: the store's own format. */
  readonly format?: KeyStoreFormat | undefined;
  /** Default: the store's own password. */
  readonly password?: string | undefined;
  /** PKCS#12: 3DES and a SHA-1 MAC, for IBM i DCM and old Java. */
  readonly legacy?: boolean | undefined;
}

/**
 * A key database record holds one certificate, so a personal entry's chain must be CA entries of
 * their own; chain certificates the store lacks become disabled CA entries (kept for building the
 * chain, never trusted because of the conversion).
 */
function entriesForCms(entries: readonly KeyStoreEntry[]): KeyStoreEntry[] {
  const out = entries.map((e) => (e.privateKey !== undefined ? { ...e, certificates: e.certificates.slice(0, 1) } : e));
  const present = new Set(out.map((e) => e.certificates[0]?.fingerprint256));
  const labels = new LabelAllocator();
  for (const e of out) labels.take(e.label, 0);
  for (const entry of entries) {
    if (entry.privateKey === undefined) continue;
    for (const cert of entry.certificates.slice(1)) {
      if (present.has(cert.fingerprint256)) continue;
      present.add(cert.fingerprint256);
      out.push({ label: labels.take(commonNameOf(cert), out.length + 1), certificates: [cert], trusted: false });
    }
  }
  return out;
}

/** Writes entries in a format; returns what the format could not keep. */
async function writeEntries(file: string, entries: readonly KeyStoreEntry[], format: KeyStoreFormat, password: string | undefined, options: { legacy?: boolean | undefined; encryptPem: boolean }): Promise<string[]> {
  const warnings: string[] = [];
  const disabled = entries.filter((e) => e.privateKey === undefined && !e.trusted).map((e) => `'${e.label}'`);
  if (format !== "cms" && disabled.length > 0) {
    warnings.push(`${format === "pem" ? "a PEM bundle" : "PKCS#12"} has no trust flag: the disabled CA ${disabled.join(", ")} will read back as enabled`);
  }
  switch (format) {
    case "cms":
      if (password === undefined) throw fail(RC.GSK_NO_KEYFILE_PASSWORD, `key database ${file} needs a password to be written`);
      await saveCmsKeyDb(file, entriesForCms(entries), password);
      break;
    case "pkcs12":
      if (password === undefined) throw fail(RC.GSK_NO_KEYFILE_PASSWORD, `PKCS#12 store ${file} needs a password to be written`);
      await writeKeyStoreFile(file, entries, { format: "pkcs12", password, legacy: options.legacy });
      break;
    case "pem": {
      const pemPassword = options.encryptPem ? password : undefined;
      if (entries.length === 0) {
        try {
          await writeFileAtomic(file, `${PEM_EMPTY_MARKER}: add certificates with gskit cert commands\n`, 0o600);
        } catch (error) {
          throw fail(RC.GSK_KEYFILE_IO_ERROR, `key store ${file} cannot be written: ${(error as Error).message}`, error);
        }
        break;
      }
      // The labels a reader will see are exactly those of the bundle read back.
      const readBack = readPemBundle(writePemBundle(entries, pemPassword), pemPassword, file);
      for (const entry of entries) {
        const cert = entry.certificates[0];
        const seen = readBack.entries.find((e) => e.certificates[0]?.raw.equals(cert?.raw ?? Buffer.alloc(0)));
        if (seen !== undefined && seen.label !== entry.label) {
          warnings.push(`a PEM bundle labels entries by subject CN: '${entry.label}' will read back as '${seen.label}'`);
        }
      }
      await writeKeyStoreFile(file, entries, { format: "pem", password: pemPassword });
      break;
    }
  }
  return warnings;
}

/** Writes a store (back to its file, or to another file and format). */
export async function saveStore(store: OpenedStore, options: SaveOptions = {}): Promise<EditResult> {
  if (!store.keysRead) {
    throw fail(RC.GSK_NO_KEYFILE_PASSWORD, `key database ${store.file} was read without its password, so its private keys cannot be written back`);
  }
  const format = options.format ?? store.format;
  const file = options.file ?? store.file;
  const password = options.password ?? store.password;
  const encryptPem = format === "pem" && (options.format === undefined ? store.pemEncrypted : options.password !== undefined);
  const warnings = await writeEntries(file, store.entries, format, password, { legacy: options.legacy, encryptPem });
  return { warnings };
}

function labelsOf(store: OpenedStore): string {
  const personal = store.entries.filter((e) => store.personalLabels.has(e.label)).map((e) => `'${e.label}'`);
  const ca = store.entries.filter((e) => !store.personalLabels.has(e.label)).map((e) => `'${e.label}'`);
  const parts = [];
  if (personal.length > 0) parts.push(`personal: ${personal.join(", ")}`);
  if (ca.length > 0) parts.push(`CA: ${ca.join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "none, the store is empty";
}

/** The entry with a label; 407 naming the store's labels (and a case slip) when there is none. */
export function findEntry(store: OpenedStore, label: string): KeyStoreEntry {
  const entry = store.entries.find((e) => e.label === label);
  if (entry !== undefined) return entry;
  const near = store.entries.find((e) => e.label.toLowerCase() === label.toLowerCase());
  const hint = near !== undefined ? ` (labels are case-sensitive: did you mean '${near.label}'?)` : "";
  throw fail(RC.GSK_ERROR_BAD_KEYFILE_LABEL, `label '${label}' is not in key store ${store.file}${hint}; its labels: ${labelsOf(store)}`);
}

function refuseTakenLabel(store: OpenedStore, label: string): void {
  if (label.trim() === "") throw fail(RC.GSK_INVALID_PARAMETER, "a label must not be empty");
  if (store.entries.some((e) => e.label === label)) {
    throw fail(RC.GSK_KEYFILE_DUPLICATE_LABEL, `label '${label}' is already in key store ${store.file}: choose another label, or delete the entry first (gskit cert delete)`);
  }
}

function refuseKnownCertificate(store: OpenedStore, cert: X509Certificate): void {
  const holder = store.entries.find((e) => e.certificates[0]?.raw.equals(cert.raw));
  if (holder !== undefined) {
    throw fail(RC.GSK_KEYFILE_DUPLICATE_KEY, `certificate ${certificateSubject(cert) || "(empty subject)"} is already in key store ${store.file} as '${holder.label}'`);
  }
}

// ---------------------------------------------------------------------------------------------
// Key databases as a whole
// ---------------------------------------------------------------------------------------------

export interface CreateStoreOptions {
  /** Default: from the file name (see `storeFormatFor`). */
  readonly format?: KeyStoreFormat | undefined;
  /** Without one, `stash` must be set: a random password is made and stashed. */
  readonly password?: string | undefined;
  /** Also write the password to the `.sth` beside the store. */
  readonly stash?: boolean | undefined;
}

/** Creates an empty store; refuses to replace an existing file. */
export async function createKeyStore(file: string, options: CreateStoreOptions = {}): Promise<{ file: string; format: KeyStoreFormat; stashFile: string | undefined }> {
  if (await exists(file)) {
    throw fail(RC.GSK_INVALID_PARAMETER, `key store ${file} already exists: delete it first, or choose another name`);
  }
  const format = options.format ?? storeFormatFor(file);
  let password = options.password;
  // A PEM bundle may keep its keys in the clear; every other format needs a password.
  if (password === undefined && (format !== "pem" || options.stash === true)) {
    if (options.stash !== true) throw fail(RC.GSK_NO_KEYFILE_PASSWORD, `a new key store ${file} needs a password (or a stash, for a random password kept in ${stashPathFor(file)})`);
    password = randomBytes(24).toString("base64url");
  }
  if (password === "" && format !== "pem") throw fail(RC.GSK_INVALID_PARAMETER, `the password of key store ${file} must not be empty`);
  await writeEntries(file, [], format, password, { encryptPem: true });
  let stashFile: string | undefined;
  if (options.stash === true && password !== undefined) {
    stashFile = stashPathFor(file);
    await writeStashFile(stashFile, password);
  }
  return { file, format, stashFile };
}

function keyDescription(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case "rsa":
      return `RSA ${String(details?.modulusLength ?? "?")}`;
    case "ec":
      return `EC ${details?.namedCurve === "prime256v1" ? "P-256" : details?.namedCurve === "secp384r1" ? "P-384" : details?.namedCurve === "secp521r1" ? "P-521" : String(details?.namedCurve)}`;
    case "ed25519":
      return "Ed25519";
    default:
      return String(key.asymmetricKeyType);
  }
}

function summarize(store: OpenedStore, entry: KeyStoreEntry): EntrySummary {
  const cert = entry.certificates[0] as X509Certificate;
  const info = certificateInfo(cert);
  const personal = store.personalLabels.has(entry.label);
  return {
    label: entry.label,
    kind: personal ? "personal" : "ca",
    trusted: !personal && entry.trusted,
    isDefault: personal && entry.label === store.defaultLabel,
    subject: info.subject,
    issuer: info.issuer,
    notAfter: info.notAfter.toISOString(),
    keyType: keyDescription(cert.publicKey),
  };
}

/** What a store holds: its format and entries (a key database lists without its password). */
export async function listStore(file: string, access: StoreAccess = {}): Promise<StoreListing> {
  const store = await openStore(file, access, { keys: "optional" });
  const stash = access.stashFile ?? stashPathFor(file);
  const listing: StoreListing = {
    file,
    format: store.format,
    verified: store.keysRead,
    defaultLabel: store.defaultLabel ?? null,
    stashFile: (await exists(stash)) ? stash : null,
    entries: store.entries.map((e) => summarize(store, e)),
    pendingRequests: (await readRequestDb(file)).map(({ label, subject, created }) => ({ label, subject, created })),
  };
  if (store.cmsVersion !== undefined) listing.version = store.cmsVersion;
  return listing;
}

/** The chain a side sends for an entry, and the root it ends in when the store has it. */
function fullChain(store: OpenedStore, entry: KeyStoreEntry): X509Certificate[] {
  const chain = chainFor(store, entry);
  const last = chain[chain.length - 1];
  if (last !== undefined && !isSelfSigned(last)) {
    const root = store.entries
      .map((e) => e.certificates[0])
      .find((c): c is X509Certificate => c !== undefined && isSelfSigned(c) && last.checkIssued(c) && last.verify(c.publicKey));
    if (root !== undefined) chain.push(root);
  }
  return chain;
}

/** Subject, issuer, serial, validity, SANs, usages, key type and fingerprints of one entry. */
export async function entryDetails(file: string, access: StoreAccess, label: string): Promise<CertificateDetails> {
  const store = await openStore(file, access, { keys: "optional" });
  const entry = findEntry(store, label);
  const cert = entry.certificates[0] as X509Certificate;
  const info: CertificateInfo = certificateInfo(cert);
  const details: CertificateDetails = {
    ...summarize(store, entry),
    serialNumber: info.serialNumber,
    notBefore: info.notBefore.toISOString(),
    selfSigned: info.selfSigned,
    isCA: info.isCA,
    keyUsage: info.keyUsage,
    extendedKeyUsage: info.extendedKeyUsage,
    subjectAltNames: info.subjectAltNames,
    signatureAlgorithm: info.signatureAlgorithm,
    fingerprintSha256: cert.fingerprint256,
    fingerprintSha1: cert.fingerprint,
    chain: store.personalLabels.has(entry.label) ? fullChain(store, entry).map((c) => certificateSubject(c)) : [],
  };
  if (info.pathLength !== undefined) details.pathLength = info.pathLength;
  return details;
}

/** Re-encrypts a store under a new password; a stash beside it is rewritten too, so services keep working. */
export async function changeStorePassword(file: string, oldPassword: string, newPassword: string, options: { stash?: boolean } = {}): Promise<{ stashFile: string | undefined }> {
  const store = await openStore(file, { password: oldPassword });
  if (newPassword === "" && store.format !== "pem") throw fail(RC.GSK_INVALID_PARAMETER, `the new password of key store ${file} must not be empty`);
  // A clear PEM bundle becomes an encrypted one: a new password is asked for to protect the keys.
  await writeEntries(file, store.entries, store.format, newPassword, { encryptPem: true });
  const stashFile = stashPathFor(file);
  if (options.stash === true || (await exists(stashFile))) {
    await writeStashFile(stashFile, newPassword);
    return { stashFile };
  }
  return { stashFile: undefined };
}

/** Writes the store password to the `.sth` beside it (mode 0600), after checking it opens the store. */
export async function stashStorePassword(file: string, password: string): Promise<string> {
  await openStore(file, { password });
  const stashFile = stashPathFor(file);
  await writeStashFile(stashFile, password);
  return stashFile;
}

export interface ConvertOptions {
  readonly format: KeyStoreFormat;
  /** Default: the source password (a PEM target is written in the clear without one). */
  readonly password?: string | undefined;
  readonly legacy?: boolean | undefined;
}

/** Writes a store's entries to a new file in another format; refuses to replace an existing file. */
export async function convertStore(file: string, access: StoreAccess, target: string, options: ConvertOptions): Promise<EditResult> {
  if (await exists(target)) throw fail(RC.GSK_INVALID_PARAMETER, `target ${target} already exists: delete it first, or choose another name`);
  const store = await openStore(file, access);
  const password = options.password ?? store.password;
  const encryptPem = options.format === "pem" && password !== undefined && (options.password !== undefined || store.format !== "pem" || store.pemEncrypted);
  const warnings = await writeEntries(target, store.entries, options.format, password, { legacy: options.legacy, encryptPem });
  return { warnings };
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

/** Adds a CA certificate as an enabled CA entry. */
export async function addCaCertificate(file: string, access: StoreAccess, label: string, cert: X509Certificate): Promise<EditResult> {
  const store = await openStore(file, access);
  refuseTakenLabel(store, label);
  refuseKnownCertificate(store, cert);
  const warnings: string[] = [];
  if (!certificateInfo(cert).isCA) {
    warnings.push(`'${label}' (${certificateSubject(cert)}) is not a CA certificate (no basicConstraints CA:TRUE): it can only be trusted as the exact peer certificate`);
  }
  store.entries.push({ label, certificates: [cert], trusted: true });
  warnings.push(...(await saveStore(store)).warnings);
  return { warnings };
}

/**
 * Enables or disables a CA entry as a trust anchor. Only a key database can record a disabled CA;
 * for PKCS#12 and PEM, disabling is refused (enabling is a no-op: their CA entries are all enabled).
 */
export async function setCaTrust(file: string, access: StoreAccess, label: string, enabled: boolean): Promise<{ changed: boolean }> {
  const store = await openStore(file, access);
  const entry = findEntry(store, label);
  if (store.personalLabels.has(label)) {
    throw fail(RC.GSK_INVALID_PARAMETER, `'${label}' in key store ${file} is a personal certificate; the trust flag applies to CA certificates only`);
  }
  if (entry.trusted === enabled) return { changed: false };
  if (store.format !== "cms") {
    throw fail(
      RC.GSK_ERROR_UNSUPPORTED,
      `${store.format === "pem" ? "a PEM bundle" : "PKCS#12"} store ${file} cannot record a disabled CA (the format has no trust flag): delete '${label}' (gskit cert delete), leave it out of an application's trust list (gskit app trust), or convert the store to a key database (gskit keydb convert --target_type cms)`,
    );
  }
  const index = store.entries.indexOf(entry);
  store.entries[index] = { ...entry, trusted: enabled };
  await saveStore(store);
  return { changed: true };
}

/** Removes an entry. */
export async function deleteEntry(file: string, access: StoreAccess, label: string): Promise<void> {
  const store = await openStore(file, access);
  const entry = findEntry(store, label);
  store.entries.splice(store.entries.indexOf(entry), 1);
  await saveStore(store);
}

/** Writes an entry's certificate to a file: Base64 (`.arm`, PEM armour) or binary DER. Needs no key. */
export async function extractCertificate(file: string, access: StoreAccess, label: string, target: string, options: { binary?: boolean } = {}): Promise<void> {
  const store = await openStore(file, access, { keys: "optional" });
  const cert = findEntry(store, label).certificates[0] as X509Certificate;
  const data = options.binary === true ? cert.raw : `-----BEGIN CERTIFICATE-----\n${cert.raw.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  try {
    await writeFileAtomic(target, data, 0o644);
  } catch (error) {
    throw fail(RC.GSK_KEYFILE_IO_ERROR, `certificate file ${target} cannot be written: ${(error as Error).message}`, error);
  }
}

/**
 * Copies entries from another store (PKCS#12, PEM or key database): all of them, or the one
 * labelled `label` (stored as `newLabel` when given). A label already in use is refused; a CA
 * certificate the store already has is skipped.
 */
export async function importEntries(
  file: string,
  access: StoreAccess,
  source: string,
  sourceAccess: StoreAccess,
  options: { label?: string | undefined; newLabel?: string | undefined } = {},
): Promise<{ imported: string[]; skipped: string[]; warnings: string[] }> {
  const store = await openStore(file, access);
  const from = await openStore(source, sourceAccess);
  if (options.newLabel !== undefined && options.label === undefined) {
    throw fail(RC.GSK_INVALID_PARAMETER, "a new label can only be given when one entry is imported (name it with its label)");
  }
  const chosen = options.label !== undefined ? [findEntry(from, options.label)] : from.entries;
  const imported: string[] = [];
  const skipped: string[] = [];
  for (const entry of chosen) {
    const label = options.newLabel ?? entry.label;
    const cert = entry.certificates[0] as X509Certificate;
    const holder = store.entries.find((e) => e.certificates[0]?.raw.equals(cert.raw));
    if (holder !== undefined && entry.privateKey === undefined) {
      skipped.push(entry.label);
      continue;
    }
    refuseTakenLabel(store, label);
    if (holder !== undefined) refuseKnownCertificate(store, cert);
    store.entries.push({ ...entry, label });
    imported.push(label);
  }
  const { warnings } = await saveStore(store);
  return { imported, skipped, warnings };
}

export interface ExportOptions {
  readonly password: string;
  /** Default: from the target's name. */
  readonly format?: KeyStoreFormat | undefined;
  readonly legacy?: boolean | undefined;
}

/**
 * Exports a personal entry (key, certificate and the chain the store completes for it, root
 * included when the store has it) to a new store, or adds it to an existing one.
 */
export async function exportEntry(file: string, access: StoreAccess, label: string, target: string, options: ExportOptions): Promise<EditResult> {
  const store = await openStore(file, access);
  const entry = findEntry(store, label);
  if (entry.privateKey === undefined) {
    throw fail(RC.GSK_ERROR_NO_PRIVATE_KEY, `'${label}' in key store ${file} is a CA certificate without a private key; export a personal certificate, or extract a CA certificate with gskit cert extract`);
  }
  const chain = fullChain(store, entry);
  const exported: KeyStoreEntry = { label, certificates: chain, privateKey: entry.privateKey, trusted: false };
  if (await exists(target)) {
    const into = await openStore(target, { password: options.password });
    refuseTakenLabel(into, label);
    into.entries.push(exported);
    return saveStore(into, { legacy: options.legacy });
  }
  const format = options.format ?? storeFormatFor(target);
  const warnings = await writeEntries(target, [exported], format, options.password, { legacy: options.legacy, encryptPem: true });
  return { warnings };
}

// ---------------------------------------------------------------------------------------------
// Issuing certificates
// ---------------------------------------------------------------------------------------------

/** `dns:a,ip:1.2.3.4,email:x@y,uri:https://…`; a bare name is a DNS name, or an IP address. */
export function parseSubjectAltNames(text: string): SubjectAltNames {
  const names: Required<SubjectAltNames> = { dns: [], ip: [], email: [], uri: [] };
  for (const raw of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const colon = raw.indexOf(":");
    const kind = colon > 0 ? raw.slice(0, colon).toLowerCase() : "";
    const value = colon > 0 ? raw.slice(colon + 1) : raw;
    switch (kind) {
      case "dns":
        names.dns.push(value);
        break;
      case "ip":
        if (isIP(value) === 0) throw fail(RC.GSK_INVALID_PARAMETER, `subject alternative name '${raw}': '${value}' is not an IPv4 or IPv6 address`);
        names.ip.push(value);
        break;
      case "email":
        names.email.push(value);
        break;
      case "uri":
        names.uri.push(value);
        break;
      case "":
        (isIP(raw) !== 0 ? names.ip : names.dns).push(raw);
        break;
      default:
        // An IPv6 address has colons but no known kind before them.
        if (isIP(raw) !== 0) names.ip.push(raw);
        else throw fail(RC.GSK_INVALID_PARAMETER, `subject alternative name '${raw}': the kind must be dns:, ip:, email: or uri:`);
    }
  }
  return names;
}

export interface KeySpec {
  readonly keyType?: KeyType | undefined;
  /** RSA modulus length (default 2048). */
  readonly rsaBits?: number | undefined;
}

export interface CreateCaOptions extends KeySpec {
  readonly label: string;
  readonly subject: string;
  /** Default 3650. */
  readonly validityDays?: number | undefined;
}

/** Creates a self-signed CA as a personal entry (its key signs what `issue` and `sign` make). */
export async function createCa(file: string, access: StoreAccess, options: CreateCaOptions): Promise<{ certificate: X509Certificate; warnings: string[] }> {
  const store = await openStore(file, access);
  refuseTakenLabel(store, options.label);
  const { privateKey, publicKey } = await generateKey(options.keyType ?? "rsa", { rsaBits: options.rsaBits });
  const cert = await issueCertificate({ subject: options.subject, publicKey, signingKey: privateKey, isCA: true, validityDays: options.validityDays ?? 3650 });
  store.entries.push({ label: options.label, certificates: [cert], privateKey, trusted: false });
  const { warnings } = await saveStore(store);
  return { certificate: cert, warnings };
}

interface Signer {
  store: OpenedStore;
  entry: KeyStoreEntry;
  /** The CA certificate and its own chain up to (not including) a self-signed root. */
  chain: X509Certificate[];
}

async function openSigner(file: string, access: StoreAccess, caLabel: string): Promise<Signer> {
  const store = await openStore(file, access);
  const entry = findEntry(store, caLabel);
  if (entry.privateKey === undefined) {
    throw fail(RC.GSK_ERROR_NO_PRIVATE_KEY, `'${caLabel}' in key store ${file} is a CA certificate without its private key, so it cannot sign; use the store that holds the CA's key`);
  }
  const cert = entry.certificates[0] as X509Certificate;
  if (!certificateInfo(cert).isCA) {
    throw fail(RC.GSK_INVALID_PARAMETER, `'${caLabel}' in key store ${file} is not a CA certificate (no basicConstraints CA:TRUE); create one with gskit cert create-ca`);
  }
  return { store, entry, chain: chainFor(store, entry) };
}

export interface IssueOptions extends KeySpec {
  readonly caLabel: string;
  readonly label: string;
  readonly subject: string;
  readonly subjectAltNames?: SubjectAltNames | undefined;
  readonly extendedKeyUsage?: ExtendedKeyUsageName[] | undefined;
  readonly keyUsage?: KeyUsageName[] | undefined;
  /** Default 365. */
  readonly validityDays?: number | undefined;
  /** Another store to put the new entry in (default: the CA's store); the CA certificate is added there as a CA entry. */
  readonly target?: string | undefined;
  readonly targetAccess?: StoreAccess | undefined;
}

/** Issues a certificate with a new key, signed by a CA of the store, into that store or another. */
export async function issueFromCa(file: string, access: StoreAccess, options: IssueOptions): Promise<{ certificate: X509Certificate; warnings: string[] }> {
  const signer = await openSigner(file, access, options.caLabel);
  const sameStore = options.target === undefined || options.target === file;
  const into = sameStore ? signer.store : await openStore(options.target as string, options.targetAccess ?? {});
  refuseTakenLabel(into, options.label);
  const { privateKey, publicKey } = await generateKey(options.keyType ?? "rsa", { rsaBits: options.rsaBits });
  const certificate = await issueCertificate({
    subject: options.subject,
    publicKey,
    issuer: { certificate: signer.chain[0] as X509Certificate, privateKey: signer.entry.privateKey as KeyObject },
    subjectAltNames: options.subjectAltNames,
    extendedKeyUsage: options.extendedKeyUsage,
    keyUsage: options.keyUsage,
    validityDays: options.validityDays ?? 365,
  });
  into.entries.push({ label: options.label, certificates: [certificate, ...signer.chain], privateKey, trusted: false });
  if (!sameStore) {
    // The target must know the issuer to complete the chain and to trust peers it signed.
    const labels = new LabelAllocator();
    for (const e of into.entries) labels.take(e.label, 0);
    signer.chain.forEach((ca, i) => {
      if (into.entries.some((e) => e.certificates[0]?.raw.equals(ca.raw))) return;
      const preferred = i === 0 && !into.entries.some((e) => e.label === options.caLabel) ? options.caLabel : commonNameOf(ca);
      into.entries.push({ label: labels.take(preferred, into.entries.length + 1), certificates: [ca], trusted: true });
    });
  }
  const { warnings } = await saveStore(into);
  return { certificate, warnings };
}

export interface SignRequestOptions {
  readonly caLabel: string;
  readonly extendedKeyUsage?: ExtendedKeyUsageName[] | undefined;
  readonly keyUsage?: KeyUsageName[] | undefined;
  /** Replaces the names the request asks for. */
  readonly subjectAltNames?: SubjectAltNames | undefined;
  readonly validityDays?: number | undefined;
}

/** Signs a PKCS#10 request (PEM or DER) with a CA of the store; the store is not changed. */
export async function signRequest(file: string, access: StoreAccess, csr: string | Buffer, options: SignRequestOptions): Promise<X509Certificate> {
  const signer = await openSigner(file, access, options.caLabel);
  return signCsr(csr, { certificate: signer.chain[0] as X509Certificate, privateKey: signer.entry.privateKey as KeyObject }, {
    extendedKeyUsage: options.extendedKeyUsage,
    keyUsage: options.keyUsage,
    subjectAltNames: options.subjectAltNames,
    validityDays: options.validityDays ?? 365,
  });
}

// ---------------------------------------------------------------------------------------------
// Certificate requests
// ---------------------------------------------------------------------------------------------

interface StoredRequest extends PendingRequest {
  /** The private key as encrypted PKCS#8 PEM (store password). */
  key: string;
}

async function readRequestDb(file: string): Promise<StoredRequest[]> {
  const path = requestDbPathFor(file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw fail(RC.GSK_KEYFILE_IO_ERROR, `request database ${path} cannot be read: ${(error as Error).message}`, error);
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; requests?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.requests)) throw new Error("not a version-1 request database");
    return parsed.requests as StoredRequest[];
  } catch (error) {
    throw fail(RC.GSK_KEYFILE_INVALID_FORMAT, `request database ${path} is damaged (${(error as Error).message}); move it away to start afresh`, error);
  }
}

async function writeRequestDb(file: string, requests: StoredRequest[]): Promise<void> {
  const path = requestDbPathFor(file);
  try {
    if (requests.length === 0) {
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
      return;
    }
    await writeFileAtomic(path, JSON.stringify({ version: 1, requests }, null, 2) + "\n", 0o600);
  } catch (error) {
    throw fail(RC.GSK_KEYFILE_IO_ERROR, `request database ${path} cannot be written: ${(error as Error).message}`, error);
  }
}

export interface RequestOptions extends KeySpec {
  readonly label: string;
  readonly subject: string;
  readonly subjectAltNames?: SubjectAltNames | undefined;
}

/**
 * Makes a key and a PKCS#10 request for it (returned as PEM). The key waits, encrypted with the
 * store password, in the request database beside the store until `receiveCertificate`.
 */
export async function createCertificateRequest(file: string, access: StoreAccess, options: RequestOptions): Promise<string> {
  const store = await openStore(file, access);
  if (store.password === undefined || store.password === "") {
    throw fail(RC.GSK_NO_KEYFILE_PASSWORD, `key store ${file} has no password, and a pending request's key is kept encrypted with it: give the store a password (gskit keydb changepw)`);
  }
  refuseTakenLabel(store, options.label);
  const requests = await readRequestDb(file);
  if (requests.some((r) => r.label === options.label)) {
    throw fail(RC.GSK_KEYFILE_DUPLICATE_LABEL, `a request labelled '${options.label}' is already pending in ${requestDbPathFor(file)}: receive its certificate first, or choose another label`);
  }
  const { privateKey } = await generateKey(options.keyType ?? "rsa", { rsaBits: options.rsaBits });
  const csr = await createCsr({ subject: options.subject, privateKey, subjectAltNames: options.subjectAltNames });
  const key = String(privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: store.password }));
  requests.push({ label: options.label, subject: readCsr(csr).subject, created: new Date().toISOString(), key });
  await writeRequestDb(file, requests);
  return csr;
}

/** Certificates of a PEM (any number of blocks) or DER file's content. */
export function certificatesIn(data: Buffer, source: string): X509Certificate[] {
  const blocks = data.toString("latin1").match(/-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----[\s\S]+?-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g);
  try {
    if (blocks === null) return [new X509Certificate(data)];
    return blocks.map((b) => new X509Certificate(b.replace(/(BEGIN|END) (X509|TRUSTED) /g, "$1 ")));
  } catch (error) {
    throw fail(RC.GSK_ERROR_BAD_CERT, `${source} does not hold a valid certificate (expected -----BEGIN CERTIFICATE----- and Base64 DER, or binary DER)`, error);
  }
}

/**
 * Attaches a signed certificate to the pending request whose key it matches: the request's key
 * and the certificate become a personal entry under the request's label. Other certificates in
 * `certs` (an issuer chain) are kept as the entry's chain.
 */
export async function receiveCertificate(file: string, access: StoreAccess, certs: readonly X509Certificate[]): Promise<{ label: string; warnings: string[] }> {
  const store = await openStore(file, access);
  const requests = await readRequestDb(file);
  if (requests.length === 0) {
    throw fail(RC.GSK_ERROR_NO_PRIVATE_KEY, `no certificate request is pending for key store ${file} (${requestDbPathFor(file)} is absent): create one with gskit certreq create`);
  }
  for (const request of requests) {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: request.key, format: "pem", passphrase: store.password ?? "" });
    } catch (error) {
      throw fail(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD, `the key of pending request '${request.label}' does not decrypt with the store password (was the password changed since the request?)`, error);
    }
    const leaf = certs.find((c) => certificateMatchesKey(c, key));
    if (leaf === undefined) continue;
    refuseTakenLabel(store, request.label);
    refuseKnownCertificate(store, leaf);
    const chain = [leaf, ...certs.filter((c) => c !== leaf)];
    store.entries.push({ label: request.label, certificates: chain, privateKey: key, trusted: false });
    const warnings: string[] = [];
    const issuerKnown = chain.length > 1 || store.entries.some((e) => e.privateKey === undefined && e.certificates[0] !== undefined && leaf.checkIssued(e.certificates[0]));
    if (!issuerKnown && !isSelfSigned(leaf)) {
      warnings.push(`the issuer of '${request.label}' (${certificateIssuerOf(leaf)}) is not in key store ${file}: add its CA certificate (gskit cert add) so the chain can be completed and trusted`);
    }
    warnings.push(...(await saveStore(store)).warnings);
    await writeRequestDb(file, requests.filter((r) => r !== request));
    return { label: request.label, warnings };
  }
  const pending = requests.map((r) => `'${r.label}' (${r.subject})`).join(", ");
  throw fail(RC.GSK_ERROR_NO_PRIVATE_KEY, `the certificate (${certificateSubject(certs[0] as X509Certificate)}) matches the key of no pending request of key store ${file}; pending: ${pending}`);
}

function certificateIssuerOf(cert: X509Certificate): string {
  return certificateInfo(cert).issuer;
}

