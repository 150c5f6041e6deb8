import type { X509Certificate } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import { extname } from "node:path";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { isCmsKeyDb, readCmsKeyDb } from "./cms-kdb.js";
import { findIssuer, isSelfSigned, readPemBundle } from "./pem.js";
import { readPkcs12 } from "./pkcs12.js";
import { readStashFile } from "./stash.js";
import type { KeyStore, KeyStoreCredentials, KeyStoreEntry, KeyStoreFormat } from "./types.js";

function readError(file: string, error: unknown): GskError {
  const code = (error as { code?: unknown }).code;
  const why =
    code === "ENOENT"
      ? "does not exist (check the path and the working directory)"
      : code === "EACCES" || code === "EPERM"
        ? "cannot be read: permission denied (the process's user needs read access)"
        : code === "EISDIR"
          ? "is a directory, not a key store file"
          : `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  return new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key store file ${file} ${why}`, { cause: error });
}

/**
 * PEM is sniffed after DER because openssl's `pkcs12 -nodes` output and hand-made bundles carry
 * text ("Bag Attributes", comments) before the first block, so PEM cannot be told by its first
 * bytes; a DER store starts with a SEQUENCE tag and a long-form length instead.
 */
function sniffFormat(data: Buffer): KeyStoreFormat {
  if (isCmsKeyDb(data)) return "cms";
  const looksDer = data[0] === 0x30 && (data[1] ?? 0) >= 0x80 && (data[1] ?? 0) <= 0x84;
  if (!looksDer && data.includes("-----BEGIN ")) return "pem";
  return "pkcs12";
}

/** GSKit finds a key database's stash as the same path with the extension replaced by `.sth`. */
function stashBeside(file: string): string {
  const ext = extname(file);
  return (ext === "" ? file : file.slice(0, -ext.length)) + ".sth";
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a key store file (PKCS#12, PEM bundle or CMS key database, told apart by content, not by
 * name) with a password or a stash file, as GSKit does: a missing password where one is needed is
 * 201, a file that cannot be read or is not a key store 202, a wrong password 408.
 */
export async function openKeyStore(file: string, credentials: KeyStoreCredentials): Promise<KeyStore> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    throw readError(file, error);
  }
  if (data.length === 0) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key store file ${file} is an empty file (an interrupted copy or transfer?)`);
  }

  const format = sniffFormat(data);
  let password = credentials.password;
  let triedStash: string | undefined;
  if (password === undefined && credentials.stashFile !== undefined) {
    password = await readStashFile(credentials.stashFile);
  }
  if (password === undefined && format === "cms") {
    triedStash = stashBeside(file);
    if (await exists(triedStash)) password = await readStashFile(triedStash);
  }

  switch (format) {
    case "pem":
      return readPemBundle(data.toString("utf8"), password, file);
    case "cms":
      if (password === undefined) {
        throw new GskError(RC.GSK_NO_KEYFILE_PASSWORD, `key database ${file} needs its password: none was given, no stash file was named, and there is no ${String(triedStash)} beside it`);
      }
      return readCmsKeyDb(data, password, file);
    case "pkcs12":
      if (password === undefined) {
        throw new GskError(RC.GSK_NO_KEYFILE_PASSWORD, `PKCS#12 key store ${file} needs its password: give the password or a stash file that holds it`);
      }
      return readPkcs12(data, password, file);
  }
}

function describeLabels(store: KeyStore): string {
  const personal = store.entries.filter((e) => e.privateKey !== undefined).map((e) => `"${e.label}"`);
  const ca = store.entries.filter((e) => e.privateKey === undefined).map((e) => `"${e.label}"`);
  const parts: string[] = [];
  if (personal.length > 0) parts.push(`personal: ${personal.join(", ")}`);
  if (ca.length > 0) parts.push(`CA: ${ca.join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "none, the store is empty";
}

/**
 * The entry whose certificate a side presents: the one labelled `label`, or the store's default
 * when no label is given.
 */
export function selectPersonalEntry(store: KeyStore, label: string | undefined): KeyStoreEntry {
  if (label === undefined) {
    const entry =
      (store.defaultLabel !== undefined ? store.entries.find((e) => e.label === store.defaultLabel && e.privateKey !== undefined) : undefined) ??
      store.entries.find((e) => e.privateKey !== undefined);
    if (entry === undefined) {
      throw new GskError(
        RC.GSK_ERROR_NO_CERTIFICATE,
        `key store ${store.file} has no personal certificate (no entry with a private key) to use as default; its labels: ${describeLabels(store)}`,
      );
    }
    return entry;
  }
  const entry = store.entries.find((e) => e.label === label);
  if (entry === undefined) {
    const nearly = store.entries.find((e) => e.label.toLowerCase() === label.toLowerCase());
    const hint = nearly !== undefined ? ` (labels are case-sensitive: did you mean "${nearly.label}"?)` : "";
    throw new GskError(RC.GSK_ERROR_BAD_KEYFILE_LABEL, `label "${label}" is not in key store ${store.file}${hint}; its labels: ${describeLabels(store)}`);
  }
  if (entry.privateKey === undefined) {
    throw new GskError(
      RC.GSK_ERROR_NO_PRIVATE_KEY,
      `label "${label}" in key store ${store.file} is a CA certificate without a private key; a side can only present a personal certificate (${describeLabels(store)})`,
    );
  }
  return entry;
}

/** The store's trust anchors: the certificates of its enabled CA entries. */
export function trustAnchors(store: KeyStore): X509Certificate[] {
  const anchors: X509Certificate[] = [];
  for (const entry of store.entries) {
    const cert = entry.certificates[0];
    if (entry.privateKey !== undefined || !entry.trusted || cert === undefined) continue;
    if (!anchors.some((a) => a.raw.equals(cert.raw))) anchors.push(cert);
  }
  return anchors;
}

/**
 * The certificates a side sends: the entry's certificate and its intermediates, in issuer order.
 * Intermediates come from what the entry carries first, then from the store's CA entries, as
 * GSKit completes a chain from its key database. The self-signed root is left out: the peer must
 * already trust it, and sending it only costs bytes.
 */
export function chainFor(store: KeyStore, entry: KeyStoreEntry): X509Certificate[] {
  const leaf = entry.certificates[0];
  if (leaf === undefined) return [];
  const carried = entry.certificates.slice(1);
  const fromStore = store.entries.filter((e) => e.privateKey === undefined).flatMap((e) => e.certificates);
  const chain: X509Certificate[] = [leaf];
  let current = leaf;
  while (chain.length < 16 && !isSelfSigned(current)) {
    const unused = (certs: readonly X509Certificate[]): X509Certificate[] => certs.filter((c) => !chain.some((x) => x.raw.equals(c.raw)));
    const issuer = findIssuer(current, unused(carried)) ?? findIssuer(current, unused(fromStore));
    if (issuer === undefined || isSelfSigned(issuer)) break;
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}
