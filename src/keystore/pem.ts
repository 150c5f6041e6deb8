import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { KeyStore, KeyStoreEntry } from "./types.js";

/**
 * The subject common name of a certificate, or undefined when it has none. Node prints the
 * subject one attribute per line; the last CN is the most specific one.
 */
export function commonNameOf(cert: X509Certificate): string | undefined {
  let cn: string | undefined;
  for (const line of cert.subject.split("\n")) {
    if (line.startsWith("CN=")) cn = line.slice(3);
  }
  return cn === undefined || cn.trim() === "" ? undefined : cn;
}

/**
 * Hands out unique labels in entry order. Labels must be unique because they are how a caller
 * picks an entry; a clash gets `-2`, `-3` … so the first holder keeps the plain name.
 */
export class LabelAllocator {
  private readonly taken = new Set<string>();

  take(preferred: string | undefined, entryNumber: number): string {
    const base = preferred !== undefined && preferred.trim() !== "" ? preferred : `entry-${String(entryNumber)}`;
    let label = base;
    for (let n = 2; this.taken.has(label); n++) label = `${base}-${String(n)}`;
    this.taken.add(label);
    return label;
  }
}

/** True when `cert` names itself as issuer and its own key verifies its signature. */
export function isSelfSigned(cert: X509Certificate): boolean {
  if (cert.subject !== cert.issuer) return false;
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/**
 * The candidate that issued `cert`: the name match is a cheap filter, `checkIssued` adds the
 * key-identifier and key-usage checks, and only the signature proves it (cross-signed CAs share
 * names).
 */
export function findIssuer(cert: X509Certificate, candidates: Iterable<X509Certificate>): X509Certificate | undefined {
  for (const candidate of candidates) {
    if (candidate.subject !== cert.issuer || candidate.raw.equals(cert.raw)) continue;
    try {
      if (cert.checkIssued(candidate) && cert.verify(candidate.publicKey)) return candidate;
    } catch {
      // a key type the signature algorithm cannot use: not the issuer
    }
  }
  return undefined;
}

/** `checkPrivateKey` throws for some mismatched key types instead of answering false. */
export function certificateMatchesKey(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

interface PemBlock {
  readonly type: string;
  readonly text: string;
  readonly body: string;
  readonly line: number;
  readonly encrypted: boolean;
}

const KEY_TYPES = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]);
const CERT_TYPES = new Set(["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]);

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  let line = 1;
  let scanned = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    for (let i = scanned; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
    scanned = m.index;
    const type = m[1] ?? "";
    const inner = m[2] ?? "";
    // RFC 1421 headers (Proc-Type, DEK-Info) end at the first blank line.
    const headerEnd = /^[A-Za-z-]+:/.test(inner) ? inner.search(/\r?\n\r?\n/) : -1;
    const headers = headerEnd >= 0 ? inner.slice(0, headerEnd) : "";
    const body = headerEnd >= 0 ? inner.slice(headerEnd).trim() : inner;
    blocks.push({
      type,
      text: m[0],
      body,
      line,
      encrypted: type === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,\s*ENCRYPTED/i.test(headers),
    });
  }
  return blocks;
}

function decodeBase64(body: string): Buffer | undefined {
  const compact = body.replace(/\s+/g, "");
  if (compact === "" || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, "base64");
}

/** An OpenSSL "TRUSTED CERTIFICATE" is the certificate followed by trust settings: keep the first element. */
function firstDerElement(der: Buffer): Buffer {
  if (der.length < 2 || der[0] !== 0x30) return der;
  const first = der[1] ?? 0;
  if (first < 0x80) return der.subarray(0, 2 + first);
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] ?? 0);
  return der.subarray(0, Math.min(der.length, 2 + n + len));
}

function isPasswordError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const text = `${String(e.code ?? "")} ${String(e.message ?? "")}`;
  return /BAD_DECRYPT|bad decrypt|passphrase|MISSING_PASSPHRASE|INTERRUPTED_OR_CANCELLED/i.test(text);
}

/**
 * Reads a PEM bundle. Each private key becomes a personal entry with the certificate whose public
 * key matches, labelled by that certificate's subject CN; every other certificate is a CA entry,
 * trusted, as a GSKit store's CA certificates are. A password is needed only when a key is
 * encrypted.
 */
export function readPemBundle(text: string, password: string | undefined, file: string): KeyStore {
  const blocks = pemBlocks(text);
  if (blocks.length === 0) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key store ${file} is not a PEM bundle: it has no -----BEGIN ...----- block`);
  }

  const keys: { key: KeyObject; line: number }[] = [];
  const certs: { cert: X509Certificate; line: number }[] = [];
  const ignored = new Set<string>();

  for (const block of blocks) {
    if (CERT_TYPES.has(block.type)) {
      const der = decodeBase64(block.body);
      let cert: X509Certificate | undefined;
      try {
        if (der !== undefined) cert = new X509Certificate(block.type === "TRUSTED CERTIFICATE" ? firstDerElement(der) : der);
      } catch (error) {
        throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `PEM key store ${file}: the ${block.type} block at line ${String(block.line)} is not a valid X.509 certificate (damaged or cut short?)`, { cause: error });
      }
      if (cert === undefined) {
        throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `PEM key store ${file}: the ${block.type} block at line ${String(block.line)} is not valid base64`);
      }
      if (!certs.some((c) => c.cert.raw.equals(cert.raw))) certs.push({ cert, line: block.line });
    } else if (KEY_TYPES.has(block.type)) {
      if (block.encrypted && password === undefined) {
        throw new GskError(RC.GSK_NO_KEYFILE_PASSWORD, `PEM key store ${file}: the private key at line ${String(block.line)} is encrypted, and neither a password nor a stash file was given`);
      }
      let key: KeyObject;
      try {
        key = block.encrypted ? createPrivateKey({ key: block.text, format: "pem", passphrase: password ?? "" }) : createPrivateKey({ key: block.text, format: "pem" });
      } catch (error) {
        if (block.encrypted) {
          const why = isPasswordError(error) ? "wrong password, or the key block is damaged" : "the key block is damaged or uses a cipher this Node.js cannot decrypt";
          throw new GskError(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD, `PEM key store ${file}: the encrypted private key at line ${String(block.line)} cannot be decrypted: ${why}`, { cause: error });
        }
        throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `PEM key store ${file}: the ${block.type} block at line ${String(block.line)} is not a valid private key (damaged or cut short?)`, { cause: error });
      }
      keys.push({ key, line: block.line });
    } else if (block.type === "OPENSSH PRIVATE KEY") {
      throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `PEM key store ${file}: the key at line ${String(block.line)} is in OpenSSH format; convert it to PKCS#8 (ssh-keygen -p -m PKCS8 -f KEY)`);
    } else {
      ignored.add(block.type);
    }
  }

  if (keys.length === 0 && certs.length === 0) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key store ${file} holds no certificate or private key (its PEM blocks are: ${[...ignored].join(", ")})`);
  }

  const leafOf = new Map<number, X509Certificate>();
  const usedAsLeaf = new Set<X509Certificate>();
  keys.forEach((k, i) => {
    const match = certs.find((c) => !usedAsLeaf.has(c.cert) && certificateMatchesKey(c.cert, k.key));
    if (match !== undefined) {
      leafOf.set(i, match.cert);
      usedAsLeaf.add(match.cert);
      return;
    }
    // The same key twice in a bundle is redundant, not an error.
    if (certs.some((c) => certificateMatchesKey(c.cert, k.key))) return;
    const present = certs.map((c) => commonNameOf(c.cert) ?? c.cert.subject.replace(/\n/g, ", "));
    throw new GskError(
      RC.GSK_KEYRING_OPEN_ERROR,
      `PEM key store ${file}: the private key at line ${String(k.line)} has no certificate with its public key in the file` +
        (present.length > 0 ? ` (the certificates there, ${present.join("; ")}, belong to other keys: is this the key of a different certificate?)` : "; add its certificate to the bundle"),
    );
  });

  const labels = new LabelAllocator();
  const entries: KeyStoreEntry[] = [];
  keys.forEach((k, i) => {
    const leaf = leafOf.get(i);
    if (leaf === undefined) return;
    entries.push({ label: labels.take(commonNameOf(leaf), entries.length + 1), certificates: [leaf], privateKey: k.key, trusted: false });
  });
  const personalCount = entries.length;
  for (const c of certs) {
    if (usedAsLeaf.has(c.cert)) continue;
    entries.push({ label: labels.take(commonNameOf(c.cert), entries.length + 1), certificates: [c.cert], trusted: true });
  }

  return { file, format: "pem", entries, defaultLabel: personalCount > 0 ? entries[0]?.label : undefined };
}

/**
 * Writes entries as one PEM bundle: each personal entry's key followed by its certificates, then
 * the CA certificates. With a non-empty password keys are written as encrypted PKCS#8
 * (PBES2, AES-256-CBC); without one they are in the clear. A certificate is written once even if
 * several entries carry it.
 */
export function writePemBundle(entries: readonly KeyStoreEntry[], password?: string): string {
  const parts: string[] = [];
  const written = new Set<string>();
  const addCert = (cert: X509Certificate): void => {
    const id = cert.fingerprint256;
    if (written.has(id)) return;
    written.add(id);
    parts.push(cert.toString().trimEnd() + "\n");
  };
  for (const entry of entries) {
    if (entry.privateKey === undefined) continue;
    const leaf = entry.certificates[0];
    if (leaf === undefined) {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `entry "${entry.label}" has a private key but no certificate; a PEM bundle pairs keys with certificates by public key`);
    }
    const pem =
      password !== undefined && password !== ""
        ? entry.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: password })
        : entry.privateKey.export({ type: "pkcs8", format: "pem" });
    parts.push(String(pem).trimEnd() + "\n");
    for (const cert of entry.certificates) addCert(cert);
  }
  for (const entry of entries) {
    if (entry.privateKey !== undefined) continue;
    for (const cert of entry.certificates) addCert(cert);
  }
  return parts.join("");
}
