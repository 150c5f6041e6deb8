/**
 * GSKit CMS key databases (`.kdb`, versions 6 and 4) read and written over node:crypto, so that
 * stores made by IBM's tools (Db2, MQ, IBM HTTP Server, WebSphere) can be used without a native
 * GSKit install. The layout is described in `cms-keydb-format.md`; in short:
 *
 *   header: magic ‖ 0 ‖ "X509KEY\0" ‖ slot size ‖ record count ‖ 24-byte salt ‖
 *           HMAC(password, header so far) ‖ HMAC(password, header so far ‖ all slots)
 *   slots:  `count` fixed-size slots, one DER record each (a CA certificate, or a personal
 *           certificate with its PKCS#8-encrypted private key), zero-padded.
 *
 * Version 6 uses HMAC-SHA384 and PBES2/AES-256 keys; version 4 uses HMAC-SHA1 and the PKCS#12
 * 3DES PBE scheme, which is what older tools can open.
 */
import {
  X509Certificate,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { chmod, readFile, stat } from "node:fs/promises";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-file.js";
import { readStashFile, stashPathFor, writeStashFile } from "./stash.js";
import type { KeyStore, KeyStoreCredentials, KeyStoreEntry } from "./types.js";

/** The two CMS key-database versions: 6 (current) and 4 (older GSKit releases). */
export type CmsKeyDbVersion = 4 | 6;

export interface CmsKeyDbWriteOptions {
  /** 6 (default) for new files; keep 4 when rewriting a version-4 file so that old tools still open it. */
  readonly version?: CmsKeyDbVersion | undefined;
  /** Bytes per record slot (default 5000, as GSKit); grown automatically when a record does not fit. */
  readonly slotSize?: number | undefined;
  /** PBKDF2 / PKCS#12-KDF iteration count for the private keys (default 2048). */
  readonly iterations?: number | undefined;
}

// ---------------------------------------------------------------------------------------------
// Layout constants
// ---------------------------------------------------------------------------------------------

const MAGIC_PREFIX = [0x37, 0x48] as const;
const MAGIC_SUFFIX = 0x02;
const EYECATCHER = Buffer.from("X509KEY\0", "latin1");
const OFFSET_SLOT_SIZE = 0x10;
const OFFSET_COUNT = 0x14;
const OFFSET_SALT = 0x18;
const SALT_LENGTH = 24;
const OFFSET_PASSWORD_MAC = 0x30;
const DEFAULT_SLOT_SIZE = 5000;
/** Slot sizes grow in these steps, so a slightly larger record does not give an odd size. */
const SLOT_SIZE_STEP = 1000;
/** Slot-record type of every record in the native files; no other value has been seen. */
const RECORD_TYPE_CERTIFICATE = 1;
/** Number of SHA-1 values after the flags in a native slot (#1–#4 known, #5 not identified). */
const SLOT_HASH_COUNT = 5;
const SHA1_LENGTH = 20;

/** Iterations for newly encrypted keys. The native tool writes 5; the header's password MAC is a
 * single HMAC of the password, so key-encryption work cannot slow an offline guesser down — this
 * only has to be a value every PKCS#5 implementation accepts. */
const DEFAULT_ITERATIONS = 2048;
/** PBKDF2 salt length the native tool uses for version-6 keys. */
const KEY_SALT_LENGTH = 8;

interface VersionInfo {
  readonly version: CmsKeyDbVersion;
  readonly hmac: "sha384" | "sha1";
  readonly macLength: number;
  readonly headerSize: number;
}

const VERSIONS: Readonly<Record<CmsKeyDbVersion, VersionInfo>> = {
  6: { version: 6, hmac: "sha384", macLength: 48, headerSize: OFFSET_PASSWORD_MAC + 2 * 48 },
  4: { version: 4, hmac: "sha1", macLength: 20, headerSize: OFFSET_PASSWORD_MAC + 2 * 20 },
};

// Object identifiers of the key-encryption schemes.
const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA384: "1.2.840.113549.2.10",
  aes256cbc: "2.16.840.1.101.3.4.1.42",
  pbeSha1With3DES: "1.2.840.113549.1.12.1.3",
  pbeSha1With2DES: "1.2.840.113549.1.12.1.4",
  pbeSha1With128RC4: "1.2.840.113549.1.12.1.1",
  pbeSha1With40RC4: "1.2.840.113549.1.12.1.2",
  pbeSha1With128RC2: "1.2.840.113549.1.12.1.5",
  pbeSha1With40RC2: "1.2.840.113549.1.12.1.6",
} as const;

const OID_NAMES: Readonly<Record<string, string>> = {
  [OID.pbes2]: "PBES2",
  [OID.pbeSha1With3DES]: "pbeWithSHAAnd3-KeyTripleDES-CBC",
  [OID.pbeSha1With2DES]: "pbeWithSHAAnd2-KeyTripleDES-CBC",
  [OID.pbeSha1With128RC4]: "pbeWithSHAAnd128BitRC4",
  [OID.pbeSha1With40RC4]: "pbeWithSHAAnd40BitRC4",
  [OID.pbeSha1With128RC2]: "pbeWithSHAAnd128BitRC2-CBC",
  [OID.pbeSha1With40RC2]: "pbeWithSHAAnd40BitRC2-CBC",
};

/** PKCS#12 schemes whose ciphers OpenSSL 3 keeps in its legacy provider, which Node does not load. */
const LEGACY_SCHEMES: ReadonlySet<string> = new Set([OID.pbeSha1With128RC4, OID.pbeSha1With40RC4, OID.pbeSha1With128RC2, OID.pbeSha1With40RC2]);

// ---------------------------------------------------------------------------------------------
// Minimal DER: the record and the key-encryption parameters use a handful of universal types,
// and a reader written for them can bound-check every length against its enclosing element.
// ---------------------------------------------------------------------------------------------

const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  visibleString: 0x1a,
  sequence: 0x30,
  context1: 0xa1,
  context2: 0xa2,
} as const;

interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

function asnError(message: string): GskError {
  return new GskError(RC.GSK_ERROR_ASN, message);
}

/** Reads one element at `offset`, which must end at or before `limit`. */
function readTlv(buf: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw asnError(`DER element at ${String(offset)} runs past its container`);
  const tag = buf[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw asnError(`unexpected multi-byte DER tag at ${String(offset)}`);
  const first = buf[offset + 1] ?? 0;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw asnError(`unsupported DER length form at ${String(offset)}`);
    if (offset + 2 + n > limit) throw asnError(`DER length at ${String(offset)} runs past its container`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[offset + 2 + i] ?? 0);
    contentStart = offset + 2 + n;
  }
  const end = contentStart + length;
  if (end > limit) throw asnError(`DER element at ${String(offset)} (${String(length)} bytes) runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** The child elements of a constructed element. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readTlv(buf, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined) throw asnError(`${what} is missing`);
  if (tlv.tag !== tag) throw asnError(`${what}: expected DER tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`);
  return tlv;
}

function whole(buf: Buffer, tlv: Tlv): Buffer {
  return buf.subarray(tlv.start, tlv.end);
}

function content(buf: Buffer, tlv: Tlv): Buffer {
  return buf.subarray(tlv.contentStart, tlv.end);
}

function decodeOid(bytes: Buffer): string {
  if (bytes.length === 0) throw asnError("empty OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  return arcs.join(".");
}

function decodeUnsigned(bytes: Buffer): number {
  if (bytes.length === 0 || bytes.length > 6 || ((bytes[0] ?? 0) & 0x80) !== 0) throw asnError("INTEGER out of range");
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derUnsigned(value: number): Buffer {
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  if (bytes.length === 0 || (bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return der(TAG.integer, Buffer.from(bytes));
}

function derOid(oid: string): Buffer {
  const arcs = oid.split(".").map(Number);
  const values = [(arcs[0] ?? 0) * 40 + (arcs[1] ?? 0), ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const value of values) {
    const group: number[] = [value & 0x7f];
    for (let n = Math.floor(value / 128); n > 0; n = Math.floor(n / 128)) group.unshift(0x80 | (n & 0x7f));
    bytes.push(...group);
  }
  return der(TAG.oid, Buffer.from(bytes));
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function sha1(data: Uint8Array): Buffer {
  return createHash("sha1").update(data).digest();
}

function hmac(info: VersionInfo, password: string, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac(info.hmac, Buffer.from(password, "utf8"));
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function macEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

// ---------------------------------------------------------------------------------------------
// Version and header
// ---------------------------------------------------------------------------------------------

/** True when `data` starts with a CMS key database magic (version 4 or 6). */
export function isCmsKeyDb(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x37 && data[1] === 0x48 && (data[2] === 0x06 || data[2] === 0x04) && data[3] === 0x02;
}

/** The version of a CMS key database (4 or 6), from its magic. */
export function cmsKeyDbVersion(data: Uint8Array, file = "data"): CmsKeyDbVersion {
  if (!isCmsKeyDb(data)) {
    const magic = data.length === 0 ? "none: empty file" : hex(data.subarray(0, 4));
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `${file} is not a CMS key database (magic ${magic})`);
  }
  return data[2] === 0x04 ? 4 : 6;
}

interface Header {
  readonly info: VersionInfo;
  readonly slotSize: number;
  readonly count: number;
}

/** Structural checks that need no password: magic, eye-catcher, and length = header + count × slot. */
function readHeader(buf: Buffer, file: string): Header {
  const info = VERSIONS[cmsKeyDbVersion(buf, file)];
  if (buf.length < info.headerSize) {
    throw new GskError(
      RC.GSK_KEYRING_OPEN_ERROR,
      `key database ${file} is truncated (${String(buf.length)} bytes, shorter than the ${String(info.headerSize)}-byte header)`,
    );
  }
  if (!buf.subarray(8, 16).equals(EYECATCHER)) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `${file} is not a CMS key database (no X509KEY marker in its header)`);
  }
  const slotSize = buf.readUInt32BE(OFFSET_SLOT_SIZE);
  const count = buf.readUInt32BE(OFFSET_COUNT);
  const expected = info.headerSize + count * slotSize;
  if (buf.length < expected) {
    throw new GskError(
      RC.GSK_KEYRING_OPEN_ERROR,
      `key database ${file} is truncated (${String(buf.length)} bytes; its header announces ${String(count)} records of ${String(slotSize)} bytes, ${String(expected)} bytes in all)`,
    );
  }
  if (buf.length > expected) {
    throw new GskError(
      RC.GSK_KEYRING_OPEN_ERROR,
      `key database ${file} is damaged (${String(buf.length)} bytes; its header announces ${String(count)} records of ${String(slotSize)} bytes, ${String(expected)} bytes in all)`,
    );
  }
  return { info, slotSize, count };
}

/** Both header MACs: the first tells a wrong password, the second a modified file. */
function verifyMacs(buf: Buffer, header: Header, password: string, file: string): void {
  const { info } = header;
  const integrityOffset = OFFSET_PASSWORD_MAC + info.macLength;
  const passwordMac = hmac(info, password, buf.subarray(0, OFFSET_PASSWORD_MAC));
  if (!macEquals(passwordMac, buf.subarray(OFFSET_PASSWORD_MAC, integrityOffset))) {
    throw new GskError(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD, `wrong password for key database ${file}`);
  }
  const integrityMac = hmac(info, password, buf.subarray(0, integrityOffset), buf.subarray(info.headerSize));
  if (!macEquals(integrityMac, buf.subarray(integrityOffset, info.headerSize))) {
    throw new GskError(
      RC.GSK_KEYRING_OPEN_ERROR,
      `key database ${file} is damaged or was modified outside GSKit: its integrity check fails (the password is correct)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Reading records
// ---------------------------------------------------------------------------------------------

interface ParsedRecord {
  readonly label: string;
  readonly certificate: X509Certificate;
  /** Personal records: the EncryptedPrivateKeyInfo DER. */
  readonly encryptedKey: Buffer | undefined;
  /** CA records: enabled as a trust anchor (see `recordFlagsTrusted`). */
  readonly trusted: boolean;
}

/**
 * Bit 0 of the record's flags BIT STRING. Every native record (personal and CA) carries `07 80`,
 * only bit 0 set, and GSKit shows a per-certificate "trusted" setting, so bit 0 is taken as that
 * setting. This is an inference, not documented: it fails closed — a CA record whose bit is clear
 * is read as disabled, never as trusted.
 */
function recordFlagsTrusted(flags: Buffer): boolean {
  return flags.length >= 2 && ((flags[1] ?? 0) & 0x80) !== 0;
}

function parseSlot(slot: Buffer): ParsedRecord {
  if (slot.length < 12) throw asnError("slot too small for a record header");
  const type = slot.readUInt32BE(0);
  if (type !== RECORD_TYPE_CERTIFICATE) throw asnError(`unknown record type ${String(type)}`);
  const derLen = slot.readUInt32BE(8);
  if (12 + derLen + 4 > slot.length) throw asnError(`record length ${String(derLen)} runs past the slot`);
  const record = slot.subarray(12, 12 + derLen);
  let offset = 12 + derLen;
  const labelLen = slot.readUInt32BE(offset);
  offset += 4;
  if (offset + labelLen > slot.length) throw asnError(`label length ${String(labelLen)} runs past the slot`);
  // The slot label is the UTF-8 one; the DER copy is a VisibleString and cannot hold every label.
  const label = slot.subarray(offset, offset + labelLen).toString("utf8");
  // The flags and the SHA-1 values after the label are not needed to read the record (tools that
  // write fewer of them produce files the native tool opens), so they are not checked here.

  const top = readTlv(record, 0, record.length);
  expectTag(top, TAG.sequence, "record");
  if (top.end !== record.length) throw asnError("bytes after the record");
  const [version, body, derLabel, flags] = children(record, top);
  expectTag(version, TAG.integer, "record version");
  if (derLabel !== undefined) expectTag(derLabel, TAG.visibleString, "record label");
  const flagBits = expectTag(flags, TAG.bitString, "record flags");
  if (body === undefined) throw asnError("record body is missing");

  if (body.tag === TAG.context1) {
    const [cert] = children(record, body);
    const certTlv = expectTag(cert, TAG.sequence, "CA certificate");
    return {
      label,
      certificate: new X509Certificate(whole(record, certTlv)),
      encryptedKey: undefined,
      trusted: recordFlagsTrusted(content(record, flagBits)),
    };
  }
  if (body.tag === TAG.context2) {
    const [pair] = children(record, body);
    const pairTlv = expectTag(pair, TAG.sequence, "personal record");
    const [cert, key] = children(record, pairTlv);
    const certTlv = expectTag(cert, TAG.sequence, "personal certificate");
    const keyTlv = expectTag(key, TAG.sequence, "encrypted private key");
    return {
      label,
      certificate: new X509Certificate(whole(record, certTlv)),
      encryptedKey: whole(record, keyTlv),
      trusted: false,
    };
  }
  throw asnError(`unknown record kind (DER tag 0x${body.tag.toString(16)})`);
}

/**
 * Reads a CMS key database (version 6 or 4).
 *
 * With a password: the password MAC is checked (wrong → `GSK_ERROR_BAD_KEYFILE_PASSWORD` 408),
 * then the integrity MAC (damaged → `GSK_KEYRING_OPEN_ERROR` 202), and every private key is
 * decrypted. Without a password (`undefined`) both MACs, which are keyed by the password, are
 * skipped: certificates are stored in the clear, so the entries are listed, personal entries
 * without `privateKey`, and nothing vouches that the file is undamaged.
 *
 * The default label is the first personal entry: where GSKit records its "default certificate"
 * setting in the file is not documented.
 */
export function readCmsKeyDb(data: Uint8Array, password: string | undefined, file: string): KeyStore {
  const buf = asBuffer(data);
  const header = readHeader(buf, file);
  if (password !== undefined) verifyMacs(buf, header, password, file);

  const entries: KeyStoreEntry[] = [];
  let defaultLabel: string | undefined;
  for (let i = 0; i < header.count; i++) {
    const start = header.info.headerSize + i * header.slotSize;
    let record: ParsedRecord;
    try {
      record = parseSlot(buf.subarray(start, start + header.slotSize));
    } catch (error) {
      // The integrity MAC has passed when a password was given, so this is either an unreadable
      // (but intact) record or, without a password, damage nothing else could detect.
      throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key database ${file}: record ${String(i + 1)} is damaged or not understood`, {
        cause: error,
      });
    }
    if (record.encryptedKey === undefined) {
      entries.push({ label: record.label, certificates: [record.certificate], trusted: record.trusted });
    } else {
      const privateKey = password === undefined ? undefined : decryptPrivateKey(record.encryptedKey, password, file, record.label);
      entries.push({ label: record.label, certificates: [record.certificate], privateKey, trusted: false });
      // Told by the record kind, so the default is the same whether or not a password was given.
      defaultLabel ??= record.label;
    }
  }
  return { file, format: "cms", entries, defaultLabel };
}

/**
 * Labels of the personal records (those holding an encrypted private key), read without the
 * password. `readCmsKeyDb(data, undefined)` returns personal entries without `privateKey`, which
 * makes them look like disabled CA entries; listings of a locked database need this to tell them
 * apart.
 */
export function cmsKeyDbPersonalLabels(data: Uint8Array, file: string): string[] {
  const buf = asBuffer(data);
  const header = readHeader(buf, file);
  const labels: string[] = [];
  for (let i = 0; i < header.count; i++) {
    const start = header.info.headerSize + i * header.slotSize;
    try {
      const record = parseSlot(buf.subarray(start, start + header.slotSize));
      if (record.encryptedKey !== undefined) labels.push(record.label);
    } catch (error) {
      throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key database ${file}: record ${String(i + 1)} is damaged or not understood`, { cause: error });
    }
  }
  return labels;
}

/** Reads a CMS key database file; see `readCmsKeyDb` for what a missing password means. */
export async function readCmsKeyDbFile(path: string, password: string | undefined): Promise<KeyStore> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key database ${path} could not be read`, { cause: error });
  }
  return readCmsKeyDb(data, password, path);
}

/**
 * Opens a key database with a password or, when none is given, the password in a stash file. A
 * wrong stashed password says so, since the fix is then the stash, not the password typed. With
 * neither, the certificates are listed without private keys.
 */
export async function openCmsKeyDb(path: string, credentials: KeyStoreCredentials): Promise<KeyStore> {
  if (credentials.password !== undefined || credentials.stashFile === undefined) {
    return readCmsKeyDbFile(path, credentials.password);
  }
  const stashFile = credentials.stashFile;
  const password = await readStashFile(stashFile);
  try {
    return await readCmsKeyDbFile(path, password);
  } catch (error) {
    if (error instanceof GskError && error.code === RC.GSK_ERROR_BAD_KEYFILE_PASSWORD) {
      throw new GskError(
        RC.GSK_ERROR_BAD_KEYFILE_PASSWORD,
        `wrong password for key database ${path}: the password in stash file ${stashFile} is not this database's`,
        { cause: error },
      );
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Private keys
// ---------------------------------------------------------------------------------------------

/**
 * Decrypts an EncryptedPrivateKeyInfo with the database password: PBES2 (version-6 files) through
 * node:crypto; the PKCS#12 3DES schemes of older version-4 files here, with the RFC 7292 KDF, so
 * they open the same way whatever the OpenSSL build (FIPS providers refuse them).
 */
function decryptPrivateKey(epki: Buffer, password: string, file: string, label: string): KeyObject {
  let oid = "unknown";
  try {
    const parsed = parseEncryptedKey(epki);
    oid = parsed.oid;
    if (parsed.pkcs12 !== undefined) {
      return createPrivateKey({ key: pkcs12PbeDecrypt(parsed.pkcs12, parsed.data, password), format: "der", type: "pkcs8" });
    }
    return createPrivateKey({ key: epki, format: "der", type: "pkcs8", passphrase: Buffer.from(password, "utf8") });
  } catch (error) {
    const scheme = OID_NAMES[oid] ?? oid;
    if (LEGACY_SCHEMES.has(oid)) {
      throw new GskError(
        RC.GSK_ERROR_UNSUPPORTED,
        `key database ${file}: the private key of "${label}" is encrypted with ${scheme}, a legacy cipher this Node's OpenSSL does not provide`,
        { cause: error },
      );
    }
    // The password MAC has passed, so the password is right: the key itself is unreadable.
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key database ${file}: the private key of "${label}" (encrypted with ${scheme}) could not be decrypted`, {
      cause: error,
    });
  }
}

interface Pkcs12PbeParams {
  readonly cipher: "des-ede3-cbc" | "des-ede-cbc";
  readonly keyLength: number;
  readonly salt: Buffer;
  readonly iterations: number;
}

function parseEncryptedKey(epki: Buffer): { oid: string; data: Buffer; pkcs12: Pkcs12PbeParams | undefined } {
  const top = expectTag(readTlv(epki, 0, epki.length), TAG.sequence, "EncryptedPrivateKeyInfo");
  const [alg, data] = children(epki, top);
  const algTlv = expectTag(alg, TAG.sequence, "encryption algorithm");
  const dataTlv = expectTag(data, TAG.octetString, "encrypted key");
  const [oidTlv, params] = children(epki, algTlv);
  const oid = decodeOid(content(epki, expectTag(oidTlv, TAG.oid, "encryption algorithm OID")));
  let pkcs12: Pkcs12PbeParams | undefined;
  if (oid === OID.pbeSha1With3DES || oid === OID.pbeSha1With2DES) {
    const [salt, iterations] = children(epki, expectTag(params, TAG.sequence, "PBE parameters"));
    pkcs12 = {
      cipher: oid === OID.pbeSha1With3DES ? "des-ede3-cbc" : "des-ede-cbc",
      keyLength: oid === OID.pbeSha1With3DES ? 24 : 16,
      salt: content(epki, expectTag(salt, TAG.octetString, "PBE salt")),
      iterations: decodeUnsigned(content(epki, expectTag(iterations, TAG.integer, "PBE iterations"))),
    };
  }
  return { oid, data: content(epki, dataTlv), pkcs12 };
}

/** The PKCS#12 password format: BMPString (UTF-16BE) with a two-byte terminator (RFC 7292 B.1). */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** The PKCS#12 key-derivation function with SHA-1 (RFC 7292 appendix B.2). */
function pkcs12Kdf(password: string, salt: Buffer, iterations: number, id: 1 | 2, length: number): Buffer {
  const u = 20;
  const v = 64;
  const fill = (src: Buffer): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([fill(salt), fill(bmpPassword(password))]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let a = createHash("sha1").update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = createHash("sha1").update(a).digest();
    blocks.push(a);
    const b = Buffer.alloc(v);
    for (let k = 0; k < v; k++) b[k] = a[k % u] ?? 0;
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I.
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (i[j + k] ?? 0) + (b[k] ?? 0) + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function pkcs12PbeDecrypt(params: Pkcs12PbeParams, data: Buffer, password: string): Buffer {
  const key = pkcs12Kdf(password, params.salt, params.iterations, 1, params.keyLength);
  const iv = pkcs12Kdf(password, params.salt, params.iterations, 2, 8);
  const decipher = createDecipheriv(params.cipher, key, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** Version 6: PBES2 with PBKDF2-HMAC-SHA384 and AES-256-CBC, the parameters the native tool writes. */
function encryptKeyPbes2(key: KeyObject, password: string, iterations: number): Buffer {
  const plain = key.export({ type: "pkcs8", format: "der" });
  const salt = randomBytes(KEY_SALT_LENGTH);
  const iv = randomBytes(16);
  const aesKey = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha384");
  const cipher = createCipheriv("aes-256-cbc", aesKey, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = der(
    TAG.sequence,
    derOid(OID.pbes2),
    der(
      TAG.sequence,
      // The native files give the PRF as an AlgorithmIdentifier without NULL parameters.
      der(TAG.sequence, derOid(OID.pbkdf2), der(TAG.sequence, der(TAG.octetString, salt), derUnsigned(iterations), derUnsigned(32), der(TAG.sequence, derOid(OID.hmacWithSHA384)))),
      der(TAG.sequence, derOid(OID.aes256cbc), der(TAG.octetString, iv)),
    ),
  );
  return der(TAG.sequence, algorithm, der(TAG.octetString, encrypted));
}

/** Version 4: pbeWithSHAAnd3-KeyTripleDES-CBC, which tools of the version-4 era can decrypt. */
function encryptKeyPkcs12(key: KeyObject, password: string, iterations: number): Buffer {
  const plain = key.export({ type: "pkcs8", format: "der" });
  const salt = randomBytes(8);
  const desKey = pkcs12Kdf(password, salt, iterations, 1, 24);
  const iv = pkcs12Kdf(password, salt, iterations, 2, 8);
  const cipher = createCipheriv("des-ede3-cbc", desKey, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = der(TAG.sequence, derOid(OID.pbeSha1With3DES), der(TAG.sequence, der(TAG.octetString, salt), derUnsigned(iterations)));
  return der(TAG.sequence, algorithm, der(TAG.octetString, encrypted));
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** The certificate parts whose SHA-1 values follow the flags in a slot (hashes #1–#4). */
function certificateHashes(cert: X509Certificate): Buffer[] {
  const raw = cert.raw;
  const top = readTlv(raw, 0, raw.length);
  const [tbs, , signature] = children(raw, top);
  const tbsTlv = expectTag(tbs, TAG.sequence, "tbsCertificate");
  const sigTlv = expectTag(signature, TAG.bitString, "signatureValue");
  const fields = children(raw, tbsTlv);
  // tbsCertificate: [0] version (optional), serial, signature, issuer, validity, subject, spki …
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = expectTag(fields[base + 4], TAG.sequence, "subject");
  const spki = expectTag(fields[base + 5], TAG.sequence, "subjectPublicKeyInfo");
  return [sha1(whole(raw, sigTlv)), sha1(whole(raw, tbsTlv)), sha1(whole(raw, subject)), sha1(whole(raw, spki))];
}

const FLAGS_TRUSTED = Buffer.from([0x07, 0x80]);
const FLAGS_NOT_TRUSTED = Buffer.from([0x07, 0x00]);

function encodeRecord(entry: KeyStoreEntry, password: string, version: CmsKeyDbVersion, iterations: number): Buffer {
  const cert = entry.certificates[0];
  if (cert === undefined) throw new GskError(RC.GSK_INVALID_PARAMETER, `entry "${entry.label}" has no certificate`);
  let body: Buffer;
  let flags: Buffer;
  if (entry.privateKey !== undefined) {
    if (entry.privateKey.type !== "private") {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `entry "${entry.label}": privateKey is a ${entry.privateKey.type} key, not a private key`);
    }
    const epki = version === 6 ? encryptKeyPbes2(entry.privateKey, password, iterations) : encryptKeyPkcs12(entry.privateKey, password, iterations);
    body = der(TAG.context2, der(TAG.sequence, cert.raw, epki));
    // Native personal records carry the same flags as CA records.
    flags = FLAGS_TRUSTED;
  } else {
    body = der(TAG.context1, cert.raw);
    flags = entry.trusted ? FLAGS_TRUSTED : FLAGS_NOT_TRUSTED;
  }
  // VisibleString per the format; a non-ASCII label keeps its UTF-8 bytes (readers use the slot copy).
  return der(TAG.sequence, derUnsigned(1), body, der(TAG.visibleString, Buffer.from(entry.label, "utf8")), der(TAG.bitString, flags));
}

function encodeSlotContent(recordNumber: number, record: Buffer, entry: KeyStoreEntry): Buffer {
  const label = Buffer.from(entry.label, "utf8");
  const cert = entry.certificates[0] as X509Certificate;
  // #5 is not identified (no certificate or record part hashes to it); zeros keep the native
  // layout of five length-prefixed values without claiming a value we cannot compute.
  const hashes = [...certificateHashes(cert), Buffer.alloc(SHA1_LENGTH)];
  return Buffer.concat([
    u32(RECORD_TYPE_CERTIFICATE),
    u32(recordNumber),
    u32(record.length),
    record,
    u32(label.length),
    label,
    u32(0),
    ...hashes.slice(0, SLOT_HASH_COUNT).flatMap((h) => [u32(h.length), h]),
  ]);
}

function checkEntries(entries: readonly KeyStoreEntry[]): void {
  const labels = new Set<string>();
  const caCerts = new Set<string>();
  for (const entry of entries) {
    if (typeof entry.label !== "string" || entry.label.length === 0) {
      throw new GskError(RC.GSK_INVALID_PARAMETER, "every key-database entry needs a non-empty label");
    }
    if (labels.has(entry.label)) throw new GskError(RC.GSK_KEYFILE_DUPLICATE_LABEL, `two entries have the label "${entry.label}"`);
    labels.add(entry.label);
    if (entry.certificates.length === 0) throw new GskError(RC.GSK_INVALID_PARAMETER, `entry "${entry.label}" has no certificate`);
    if (entry.privateKey === undefined) {
      if (entry.certificates.length > 1) {
        throw new GskError(RC.GSK_INVALID_PARAMETER, `CA entry "${entry.label}" has ${String(entry.certificates.length)} certificates; a CA entry holds one`);
      }
      caCerts.add(entry.certificates[0]?.fingerprint256 ?? "");
    }
  }
  // A record holds one certificate. A personal entry's chain is kept only if each of its
  // certificates is also a CA entry; otherwise writing would silently drop it.
  for (const entry of entries) {
    if (entry.privateKey === undefined) continue;
    for (const chainCert of entry.certificates.slice(1)) {
      if (!caCerts.has(chainCert.fingerprint256)) {
        throw new GskError(
          RC.GSK_ERROR_UNSUPPORTED,
          `entry "${entry.label}": a CMS key database record holds one certificate; add its chain certificate ${chainCert.subject.replace(/\n/g, ", ")} as a CA entry of its own`,
        );
      }
    }
  }
}

/**
 * Builds a CMS key database: version 6 unless asked otherwise, one slot per entry in order, every
 * private key encrypted with `password`. A personal entry stores `certificates[0]`; further chain
 * certificates must also be CA entries (they are not repeated in the personal record).
 */
export function writeCmsKeyDb(entries: readonly KeyStoreEntry[], password: string, options: CmsKeyDbWriteOptions = {}): Buffer {
  const version = options.version ?? 6;
  const info = VERSIONS[version];
  if (info === undefined) throw new GskError(RC.GSK_INVALID_PARAMETER, `CMS key database version must be 4 or 6, not ${String(version)}`);
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, `iterations must be a positive integer, not ${String(iterations)}`);
  }
  let slotSize = options.slotSize ?? DEFAULT_SLOT_SIZE;
  if (!Number.isInteger(slotSize) || slotSize < 1 || slotSize > 0x7fffffff) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, `slotSize must be a positive integer, not ${String(slotSize)}`);
  }
  checkEntries(entries);

  const slots = entries.map((entry, i) => encodeSlotContent(i + 1, encodeRecord(entry, password, version, iterations), entry));
  const largest = Math.max(0, ...slots.map((s) => s.length));
  if (largest > slotSize) slotSize = Math.ceil(largest / SLOT_SIZE_STEP) * SLOT_SIZE_STEP;

  const header = Buffer.alloc(info.headerSize);
  header.set([MAGIC_PREFIX[0], MAGIC_PREFIX[1], version, MAGIC_SUFFIX], 0);
  EYECATCHER.copy(header, 8);
  header.writeUInt32BE(slotSize, OFFSET_SLOT_SIZE);
  header.writeUInt32BE(entries.length, OFFSET_COUNT);
  randomBytes(SALT_LENGTH).copy(header, OFFSET_SALT);
  const body = Buffer.alloc(slotSize * entries.length);
  slots.forEach((slot, i) => slot.copy(body, i * slotSize));

  const integrityOffset = OFFSET_PASSWORD_MAC + info.macLength;
  hmac(info, password, header.subarray(0, OFFSET_PASSWORD_MAC)).copy(header, OFFSET_PASSWORD_MAC);
  hmac(info, password, header.subarray(0, integrityOffset), body).copy(header, integrityOffset);
  return Buffer.concat([header, body]);
}

/**
 * Writes a key database atomically. When `path` already holds a CMS key database and `options`
 * name no version (or slot size), the file's own are kept: a version-4 store edited by read →
 * change entries → save stays version 4, so the older tools that need it still open it. A new file
 * gets mode 0600; an existing one keeps its permission bits, so a store shared with a service's
 * group stays readable by it.
 */
export async function saveCmsKeyDb(path: string, entries: readonly KeyStoreEntry[], password: string, options: CmsKeyDbWriteOptions = {}): Promise<void> {
  const existing = await existingKeyDb(path);
  const data = writeCmsKeyDb(entries, password, {
    version: options.version ?? existing?.version,
    slotSize: options.slotSize ?? existing?.slotSize,
    iterations: options.iterations,
  });
  try {
    await writeFileAtomic(path, data, existing?.mode ?? 0o600);
    // The umask may have narrowed the mode of the replacement; restore what the file had.
    if (existing !== undefined) await chmod(path, existing.mode);
  } catch (error) {
    throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `key database ${path} could not be written`, { cause: error });
  }
}

/** Mode, and version and slot size if it is a key database, of the file a save will replace. */
async function existingKeyDb(path: string): Promise<{ mode: number; version?: CmsKeyDbVersion; slotSize?: number } | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
  let head: Buffer;
  try {
    head = (await readFile(path)).subarray(0, OFFSET_COUNT);
  } catch {
    return { mode };
  }
  if (head.length < OFFSET_COUNT || !isCmsKeyDb(head)) return { mode };
  return { mode, version: cmsKeyDbVersion(head, path), slotSize: head.readUInt32BE(OFFSET_SLOT_SIZE) || undefined };
}

/**
 * Changes a key database's password: reads it with `oldPassword`, re-encrypts every private key
 * under `newPassword` and rewrites it in its own version and slot size. With `stash: true` the
 * paired `.sth` file is rewritten as well, as `gsk8capicmd -keydb -changepw -stash` does, so a
 * service that opens the store through its stash keeps working.
 */
export async function changeCmsKeyDbPassword(
  path: string,
  oldPassword: string,
  newPassword: string,
  options: { stash?: boolean; iterations?: number } = {},
): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key database ${path} could not be read`, { cause: error });
  }
  const store = readCmsKeyDb(data, oldPassword, path);
  const header = readHeader(data, path);
  await saveCmsKeyDb(path, store.entries, newPassword, {
    version: header.info.version,
    slotSize: header.slotSize,
    iterations: options.iterations,
  });
  if (options.stash === true) await writeStashFile(stashPathFor(path), newPassword);
}

// ---------------------------------------------------------------------------------------------
// .arm files: one certificate, Base64 between PEM armour lines (what GSKit tools extract/add)
// ---------------------------------------------------------------------------------------------

const PEM_CERTIFICATE = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([\s\S]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/;

/** Reads a `.arm` certificate file (the Base64 form; a binary DER certificate is accepted too). */
export async function readArmFile(path: string): Promise<X509Certificate> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `certificate file ${path} could not be read`, { cause: error });
  }
  const match = PEM_CERTIFICATE.exec(data.toString("latin1"));
  try {
    const derBytes = match ? Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64") : data;
    return new X509Certificate(derBytes);
  } catch (error) {
    throw new GskError(RC.GSK_ERROR_BAD_CERT, `${path} does not hold a certificate (expected -----BEGIN CERTIFICATE----- and Base64 DER)`, {
      cause: error,
    });
  }
}

/** Writes a certificate as a `.arm` file (PEM armour, 64-character lines). Certificates are public: mode 0644. */
export async function writeArmFile(path: string, cert: X509Certificate): Promise<void> {
  const base64 = cert.raw.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  try {
    await writeFileAtomic(path, `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`, 0o644);
  } catch (error) {
    throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `certificate file ${path} could not be written`, { cause: error });
  }
}
