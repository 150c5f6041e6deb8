import {
  X509Certificate,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  hash as oneShotHash,
  pbkdf2 as pbkdf2Callback,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { promisify } from "node:util";
import type forge from "node-forge";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { LabelAllocator, certificateMatchesKey, commonNameOf, findIssuer, isSelfSigned } from "./pem.js";
import type { KeyStore, KeyStoreEntry } from "./types.js";

/*
 * PKCS#12 (RFC 7292) read and write.
 *
 * Everything that costs time runs off the event loop or in short slices: a store with 100,000
 * iterations must not freeze a server that opens it. PBKDF2 and the ciphers are native and async
 * (node:crypto); the PKCS#12 KDF (RFC 7292 appendix B, used by the MAC and by the legacy PBE
 * algorithms) has no native binding, so it is an iterated hash that yields between slices.
 * node-forge is used only for RC2, which the OpenSSL 3 build inside Node does not load.
 */

const pbkdf2 = promisify(pbkdf2Callback);

// ---------------------------------------------------------------------------------------------
// DER / BER reading

class DerError extends Error {}
/** The password does not decrypt something (bad padding or garbage plaintext). */
class DecryptError extends Error {}
/** Valid structure, but an algorithm this library does not implement. */
class UnsupportedError extends Error {}

interface Asn1 {
  readonly tag: number;
  readonly constructed: boolean;
  /** The whole element, header included. */
  readonly raw: Buffer;
  /** The content octets (for an indefinite length: up to the end-of-contents marker). */
  readonly content: Buffer;
  readonly children: readonly Asn1[];
}

const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
} as const;

// Real stores come from Windows, Java and old Netscape code that write BER: indefinite lengths and
// constructed OCTET STRINGs are accepted on read.
function readElement(buf: Buffer, pos: number, end: number, depth: number): { node: Asn1; next: number } {
  if (depth > 40) throw new DerError("ASN.1 nested too deeply");
  if (pos + 2 > end) throw new DerError("the data ends in the middle of an ASN.1 element (truncated file?)");
  const tag = buf[pos] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError("unexpected high-numbered ASN.1 tag");
  const constructed = (tag & 0x20) !== 0;
  let p = pos + 1;
  const first = buf[p++] ?? 0;
  if (first === 0x80) {
    if (!constructed) throw new DerError("indefinite length on a primitive ASN.1 element");
    const children: Asn1[] = [];
    const start = p;
    for (;;) {
      if (p + 2 > end) throw new DerError("the data ends before an end-of-contents marker (truncated file?)");
      if (buf[p] === 0 && buf[p + 1] === 0) break;
      const r = readElement(buf, p, end, depth + 1);
      children.push(r.node);
      p = r.next;
    }
    return { node: { tag, constructed, raw: buf.subarray(pos, p + 2), content: buf.subarray(start, p), children }, next: p + 2 };
  }
  let len = first;
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 4) throw new DerError("ASN.1 length field too long");
    if (p + n > end) throw new DerError("the data ends in an ASN.1 length (truncated file?)");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p++] ?? 0);
  }
  const stop = p + len;
  if (stop > end) throw new DerError("an ASN.1 element is longer than the data (truncated file?)");
  const children: Asn1[] = [];
  if (constructed) {
    for (let q = p; q < stop; ) {
      const r = readElement(buf, q, stop, depth + 1);
      children.push(r.node);
      q = r.next;
    }
  }
  return { node: { tag, constructed, raw: buf.subarray(pos, stop), content: buf.subarray(p, stop), children }, next: stop };
}

function parseAsn1(buf: Buffer): Asn1 {
  return readElement(buf, 0, buf.length, 0).node;
}

function expect(node: Asn1 | undefined, tag: number, what: string): Asn1 {
  if (node === undefined) throw new DerError(`${what} is missing`);
  if (node.tag !== tag && !(tag === TAG.OCTET_STRING && node.tag === 0x24)) {
    throw new DerError(`${what}: expected ASN.1 tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  }
  return node;
}

/** Content of a (possibly constructed) string element. */
function octets(node: Asn1): Buffer {
  return node.constructed ? Buffer.concat(node.children.map(octets)) : node.content;
}

function oidOf(node: Asn1 | undefined, what: string): string {
  const c = expect(node, TAG.OID, what).content;
  if (c.length === 0) throw new DerError(`${what}: empty OID`);
  const first = c[0] ?? 0;
  const arcs: number[] = [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40))];
  let value = 0;
  for (let i = 1; i < c.length; i++) {
    const b = c[i] ?? 0;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}

function intOf(node: Asn1 | undefined, what: string): number {
  const c = expect(node, TAG.INTEGER, what).content;
  if (c.length === 0 || c.length > 6 || ((c[0] ?? 0) & 0x80) !== 0) throw new DerError(`${what}: integer out of range`);
  let v = 0;
  for (const b of c) v = v * 256 + b;
  return v;
}

// ---------------------------------------------------------------------------------------------
// DER writing

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(TAG.SEQUENCE, ...parts);
// DER orders SET OF members by their encodings.
const setOf = (...parts: Buffer[]): Buffer => tlv(TAG.SET, ...[...parts].sort(Buffer.compare));
const octetString = (b: Buffer): Buffer => tlv(TAG.OCTET_STRING, b);
const explicit0 = (...parts: Buffer[]): Buffer => tlv(TAG.CONTEXT_0, ...parts);
const DER_NULL = Buffer.from([TAG.NULL, 0]);

function derOid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

function derInteger(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || ((bytes[0] ?? 0) & 0x80) !== 0) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

function utf16be(s: string): Buffer {
  return Buffer.from(s, "utf16le").swap16();
}

// ---------------------------------------------------------------------------------------------
// Object identifiers

const OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  envelopedData: "1.2.840.113549.1.7.3",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  safeContentsBag: "1.2.840.113549.1.12.10.1.6",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbeSha1Rc4_128: "1.2.840.113549.1.12.1.1",
  pbeSha1Rc4_40: "1.2.840.113549.1.12.1.2",
  pbeSha1TripleDes: "1.2.840.113549.1.12.1.3",
  pbeSha1TwoKeyDes: "1.2.840.113549.1.12.1.4",
  pbeSha1Rc2_128: "1.2.840.113549.1.12.1.5",
  pbeSha1Rc2_40: "1.2.840.113549.1.12.1.6",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  pbmac1: "1.2.840.113549.1.5.14",
  hmacWithSha256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

interface HashInfo {
  readonly name: string;
  /** Output size u and block size v of RFC 7292 appendix B. */
  readonly size: number;
  readonly block: number;
}

const DIGESTS = new Map<string, HashInfo>([
  ["1.2.840.113549.2.5", { name: "md5", size: 16, block: 64 }],
  [OID.sha1, { name: "sha1", size: 20, block: 64 }],
  ["2.16.840.1.101.3.4.2.4", { name: "sha224", size: 28, block: 64 }],
  [OID.sha256, { name: "sha256", size: 32, block: 64 }],
  ["2.16.840.1.101.3.4.2.2", { name: "sha384", size: 48, block: 128 }],
  ["2.16.840.1.101.3.4.2.3", { name: "sha512", size: 64, block: 128 }],
  ["2.16.840.1.101.3.4.2.5", { name: "sha512-224", size: 28, block: 128 }],
  ["2.16.840.1.101.3.4.2.6", { name: "sha512-256", size: 32, block: 128 }],
]);
const SHA1 = DIGESTS.get(OID.sha1) as HashInfo;
const SHA256 = DIGESTS.get(OID.sha256) as HashInfo;

const PBKDF2_PRFS = new Map<string, string>([
  ["1.2.840.113549.2.7", "sha1"],
  ["1.2.840.113549.2.8", "sha224"],
  [OID.hmacWithSha256, "sha256"],
  ["1.2.840.113549.2.10", "sha384"],
  ["1.2.840.113549.2.11", "sha512"],
  ["1.2.840.113549.2.12", "sha512-224"],
  ["1.2.840.113549.2.13", "sha512-256"],
]);

const PBES2_CIPHERS = new Map<string, { name: string; keyLength: number; ivLength: number }>([
  ["2.16.840.1.101.3.4.1.2", { name: "aes-128-cbc", keyLength: 16, ivLength: 16 }],
  ["2.16.840.1.101.3.4.1.22", { name: "aes-192-cbc", keyLength: 24, ivLength: 16 }],
  [OID.aes256Cbc, { name: "aes-256-cbc", keyLength: 32, ivLength: 16 }],
  ["1.2.840.113549.3.7", { name: "des-ede3-cbc", keyLength: 24, ivLength: 8 }],
]);

const PKCS12_PBE = new Map<string, { cipher: "des-ede3-cbc" | "des-ede-cbc" | "rc2"; keyLength: number; rc2Bits?: number }>([
  [OID.pbeSha1TripleDes, { cipher: "des-ede3-cbc", keyLength: 24 }],
  [OID.pbeSha1TwoKeyDes, { cipher: "des-ede-cbc", keyLength: 16 }],
  [OID.pbeSha1Rc2_128, { cipher: "rc2", keyLength: 16, rc2Bits: 128 }],
  [OID.pbeSha1Rc2_40, { cipher: "rc2", keyLength: 5, rc2Bits: 40 }],
]);

const ALGORITHM_NAMES = new Map<string, string>([
  [OID.pbeSha1Rc4_128, "pbeWithSHAAnd128BitRC4"],
  [OID.pbeSha1Rc4_40, "pbeWithSHAAnd40BitRC4"],
  [OID.pbmac1, "PBMAC1"],
  ["1.3.14.3.2.7", "DES-CBC"],
  ["1.2.840.113549.3.2", "RC2-CBC"],
]);

function algorithmName(oid: string): string {
  return ALGORITHM_NAMES.get(oid) ?? `OID ${oid}`;
}

/** Beyond this a file costs minutes to open; treat it as hostile or broken rather than hang. */
const MAX_ITERATIONS = 10_000_000;

function checkIterations(n: number, what: string): number {
  if (n < 1 || n > MAX_ITERATIONS) throw new DerError(`${what}: iteration count ${String(n)} is out of range`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// The PKCS#12 key derivation function (RFC 7292 appendix B.2)

/** How long the KDF may hold the event loop before it lets other callbacks run. */
const SLICE_MS = 8;

const digest: (algorithm: string, data: Buffer) => Buffer =
  typeof oneShotHash === "function"
    ? (algorithm, data) => oneShotHash(algorithm, data, "buffer")
    : (algorithm, data) => createHash(algorithm).update(data).digest();

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function iteratedHash(algorithm: string, input: Buffer, count: number): Promise<Buffer> {
  let a = digest(algorithm, input);
  let sliceStart = performance.now();
  for (let i = 1; i < count; i++) {
    a = digest(algorithm, a);
    if ((i & 0x1ff) === 0 && performance.now() - sliceStart > SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
  return a;
}

function repeatToBlocks(src: Buffer, v: number): Buffer {
  if (src.length === 0) return Buffer.alloc(0);
  const out = Buffer.alloc(v * Math.ceil(src.length / v));
  for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
  return out;
}

/** id 1 = cipher key, 2 = IV, 3 = MAC key. `password` is the BMPString form (with its terminator). */
async function pkcs12Kdf(md: HashInfo, password: Buffer, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number): Promise<Buffer> {
  const v = md.block;
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([repeatToBlocks(salt, v), repeatToBlocks(password, v)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < length; produced += md.size) {
    const a = await iteratedHash(md.name, Buffer.concat([d, i]), iterations);
    out.push(a);
    if (produced + md.size >= length) break;
    const b = repeatToBlocks(a, v);
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (i[j + k] ?? 0) + (b[k] ?? 0) + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

/** The PKCS#12 KDF takes the password as a NUL-terminated BMPString; PBKDF2 takes UTF-8. */
interface PasswordForms {
  readonly utf8: Buffer;
  readonly bmp: Buffer;
}

function passwordForms(password: string, bmp?: Buffer): PasswordForms {
  return { utf8: Buffer.from(password, "utf8"), bmp: bmp ?? Buffer.concat([utf16be(password), Buffer.alloc(2)]) };
}

// ---------------------------------------------------------------------------------------------
// Decryption

function stripPkcs7(data: Buffer, blockSize: number): Buffer {
  const pad = data[data.length - 1] ?? 0;
  if (data.length === 0 || data.length % blockSize !== 0 || pad < 1 || pad > blockSize) throw new DecryptError("bad padding");
  for (let i = data.length - pad; i < data.length; i++) if (data[i] !== pad) throw new DecryptError("bad padding");
  return data.subarray(0, data.length - pad);
}

function nativeDecrypt(cipher: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch (error) {
    throw new DecryptError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * node-forge is loaded on first use: only stores from old tools need RC2, and keeping ~2 MB of
 * code out of every process's heap keeps a server's old generation small (a small heap leaves V8
 * more room for in-flight TLS record buffers before it runs a full collection).
 */
let forgeModule: Promise<typeof forge> | undefined;
function loadForge(): Promise<typeof forge> {
  return (forgeModule ??= import("node-forge").then((m) => m.default));
}

async function rc2Decrypt(key: Buffer, iv: Buffer, bits: number, data: Buffer): Promise<Buffer> {
  const f = await loadForge();
  const toForgeBuffer = (b: Buffer): forge.util.ByteStringBuffer => f.util.createBuffer(b.toString("binary"));
  const cipher = f.rc2.createDecryptionCipher(toForgeBuffer(key), bits);
  cipher.start(toForgeBuffer(iv));
  cipher.update(toForgeBuffer(data));
  // forge's own unpadding accepts bad padding; keep the raw output and check it here.
  if (!cipher.finish(() => true)) throw new DecryptError("RC2 data is not a whole number of blocks");
  return stripPkcs7(Buffer.from(cipher.output.getBytes(), "binary"), 8);
}

async function pbeDecrypt(algorithm: Asn1, data: Buffer, pw: PasswordForms): Promise<Buffer> {
  const oid = oidOf(expect(algorithm, TAG.SEQUENCE, "encryption algorithm").children[0], "encryption algorithm");
  const params = algorithm.children[1];
  if (oid === OID.pbes2) {
    const p = expect(params, TAG.SEQUENCE, "PBES2 parameters");
    const kdf = expect(p.children[0], TAG.SEQUENCE, "PBES2 key derivation");
    const kdfOid = oidOf(kdf.children[0], "PBES2 key derivation");
    if (kdfOid !== OID.pbkdf2) throw new UnsupportedError(`PBES2 with key derivation ${algorithmName(kdfOid)}`);
    const kp = expect(kdf.children[1], TAG.SEQUENCE, "PBKDF2 parameters").children;
    const salt = octets(expect(kp[0], TAG.OCTET_STRING, "PBKDF2 salt"));
    const iterations = checkIterations(intOf(kp[1], "PBKDF2 iteration count"), "PBKDF2");
    let next = 2;
    let keyLength: number | undefined;
    if (kp[next]?.tag === TAG.INTEGER) keyLength = intOf(kp[next++], "PBKDF2 key length");
    let prf = "sha1";
    if (kp[next] !== undefined) {
      const prfOid = oidOf(expect(kp[next], TAG.SEQUENCE, "PBKDF2 PRF").children[0], "PBKDF2 PRF");
      const name = PBKDF2_PRFS.get(prfOid);
      if (name === undefined) throw new UnsupportedError(`PBKDF2 with PRF ${algorithmName(prfOid)}`);
      prf = name;
    }
    const enc = expect(p.children[1], TAG.SEQUENCE, "PBES2 encryption scheme");
    const encOid = oidOf(enc.children[0], "PBES2 encryption scheme");
    const cipher = PBES2_CIPHERS.get(encOid);
    if (cipher === undefined) throw new UnsupportedError(`PBES2 with cipher ${algorithmName(encOid)}`);
    const iv = octets(expect(enc.children[1], TAG.OCTET_STRING, "PBES2 IV"));
    if (iv.length !== cipher.ivLength) throw new DerError(`PBES2 IV has ${String(iv.length)} bytes, ${cipher.name} needs ${String(cipher.ivLength)}`);
    if (keyLength !== undefined && keyLength !== cipher.keyLength) throw new DerError(`PBKDF2 key length ${String(keyLength)} does not fit ${cipher.name}`);
    const key = await pbkdf2(pw.utf8, salt, iterations, cipher.keyLength, prf);
    return nativeDecrypt(cipher.name, key, iv, data);
  }
  const pbe = PKCS12_PBE.get(oid);
  if (pbe === undefined) throw new UnsupportedError(algorithmName(oid));
  const p = expect(params, TAG.SEQUENCE, "PKCS#12 PBE parameters").children;
  const salt = octets(expect(p[0], TAG.OCTET_STRING, "PKCS#12 PBE salt"));
  const iterations = checkIterations(intOf(p[1], "PKCS#12 PBE iteration count"), "PKCS#12 PBE");
  const key = await pkcs12Kdf(SHA1, pw.bmp, salt, 1, iterations, pbe.keyLength);
  const iv = await pkcs12Kdf(SHA1, pw.bmp, salt, 2, iterations, 8);
  return pbe.cipher === "rc2" ? rc2Decrypt(key, iv, pbe.rc2Bits ?? 128, data) : nativeDecrypt(pbe.cipher, key, iv, data);
}

// ---------------------------------------------------------------------------------------------
// Reading

interface Pfx {
  readonly authSafe: Buffer;
  readonly mac: { readonly digestOid: string; readonly digest: Buffer; readonly salt: Buffer; readonly iterations: number } | undefined;
}

function parsePfx(buf: Buffer): Pfx {
  const pfx = expect(parseAsn1(buf), TAG.SEQUENCE, "PFX");
  const version = intOf(pfx.children[0], "PFX version");
  if (version !== 3) throw new DerError(`PFX version ${String(version)} (only version 3 exists)`);
  const authSafe = expect(pfx.children[1], TAG.SEQUENCE, "PFX authSafe");
  const type = oidOf(authSafe.children[0], "PFX content type");
  if (type === OID.signedData) throw new UnsupportedError("public-key integrity mode (a signed PFX)");
  if (type !== OID.data) throw new DerError(`PFX content type ${type}`);
  const content = octets(expect(expect(authSafe.children[1], TAG.CONTEXT_0, "PFX content").children[0], TAG.OCTET_STRING, "PFX content"));
  const macData = pfx.children[2];
  if (macData === undefined) return { authSafe: content, mac: undefined };
  const m = expect(macData, TAG.SEQUENCE, "MAC data").children;
  const digestInfo = expect(m[0], TAG.SEQUENCE, "MAC digest").children;
  const digestOid = oidOf(expect(digestInfo[0], TAG.SEQUENCE, "MAC algorithm").children[0], "MAC algorithm");
  const digestValue = octets(expect(digestInfo[1], TAG.OCTET_STRING, "MAC value"));
  const salt = octets(expect(m[1], TAG.OCTET_STRING, "MAC salt"));
  const iterations = m[2] === undefined ? 1 : checkIterations(intOf(m[2], "MAC iteration count"), "MAC");
  return { authSafe: content, mac: { digestOid, digest: digestValue, salt, iterations } };
}

/**
 * Verifies the MAC and returns the password form that matched. An empty password is ambiguous in
 * PKCS#12: some writers use the empty BMPString (two zero bytes), others no bytes at all, so
 * OpenSSL tries both and so does this.
 */
async function verifyMac(pfx: Pfx, password: string): Promise<PasswordForms | undefined> {
  const mac = pfx.mac;
  if (mac === undefined) return passwordForms(password);
  const md = DIGESTS.get(mac.digestOid);
  if (md === undefined) throw new UnsupportedError(`MAC algorithm ${algorithmName(mac.digestOid)}`);
  const candidates = [passwordForms(password)];
  if (password === "") candidates.push(passwordForms(password, Buffer.alloc(0)));
  for (const pw of candidates) {
    const key = await pkcs12Kdf(md, pw.bmp, mac.salt, 3, mac.iterations, md.size);
    const computed = createHmac(md.name, key).update(pfx.authSafe).digest();
    if (computed.length === mac.digest.length && timingSafeEqual(computed, mac.digest)) return pw;
  }
  return undefined;
}

interface Bag {
  readonly type: string;
  readonly value: Asn1;
  readonly friendlyName: string | undefined;
  readonly localKeyId: string | undefined;
}

function bagAttributes(set: Asn1 | undefined): { friendlyName: string | undefined; localKeyId: string | undefined } {
  let friendlyName: string | undefined;
  let localKeyId: string | undefined;
  for (const attr of set?.children ?? []) {
    const type = oidOf(expect(attr, TAG.SEQUENCE, "bag attribute").children[0], "bag attribute");
    const value = attr.children[1]?.children[0];
    if (value === undefined) continue;
    if (type === OID.friendlyName) {
      const raw = octets(value);
      if (value.tag === TAG.BMP_STRING) friendlyName = Buffer.from(raw).swap16().toString("utf16le");
      else if (value.tag === TAG.UTF8_STRING) friendlyName = raw.toString("utf8");
    } else if (type === OID.localKeyId) {
      localKeyId = octets(value).toString("hex");
    }
  }
  return { friendlyName, localKeyId };
}

function collectBags(safeContents: Asn1, into: Bag[], depth = 0): void {
  if (depth > 8) throw new DerError("safe contents nested too deeply");
  for (const bag of expect(safeContents, TAG.SEQUENCE, "SafeContents").children) {
    const parts = expect(bag, TAG.SEQUENCE, "SafeBag").children;
    const type = oidOf(parts[0], "SafeBag type");
    const value = expect(parts[1], TAG.CONTEXT_0, "SafeBag value").children[0];
    if (value === undefined) throw new DerError("SafeBag value is empty");
    if (type === OID.safeContentsBag) {
      collectBags(value, into, depth + 1);
      continue;
    }
    into.push({ type, value, ...bagAttributes(parts[2]) });
  }
}

type Stage = "structure" | "certificates" | "key";

class StageError extends Error {
  constructor(
    readonly stage: Stage,
    readonly what: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

async function decodeAuthenticatedSafe(authSafe: Buffer, pw: PasswordForms): Promise<Bag[]> {
  const bags: Bag[] = [];
  const contents = expect(parseAsn1(authSafe), TAG.SEQUENCE, "AuthenticatedSafe").children;
  for (const [n, info] of contents.entries()) {
    const type = oidOf(expect(info, TAG.SEQUENCE, "ContentInfo").children[0], "ContentInfo type");
    const wrapped = expect(info.children[1], TAG.CONTEXT_0, "ContentInfo content").children[0];
    if (type === OID.data) {
      collectBags(parseAsn1(octets(expect(wrapped, TAG.OCTET_STRING, "data content"))), bags);
    } else if (type === OID.encryptedData) {
      const ed = expect(wrapped, TAG.SEQUENCE, "EncryptedData").children;
      const eci = expect(ed[1], TAG.SEQUENCE, "EncryptedContentInfo").children;
      const algorithm = expect(eci[1], TAG.SEQUENCE, "content encryption algorithm");
      const encrypted = eci[2];
      if (encrypted === undefined) continue;
      if ((encrypted.tag & 0xdf) !== 0x80) throw new DerError("EncryptedContent has the wrong tag");
      let plain: Buffer;
      try {
        plain = await pbeDecrypt(algorithm, octets(encrypted), pw);
      } catch (error) {
        throw new StageError("certificates", `the encrypted safe #${String(n + 1)} (usually the certificates)`, error);
      }
      try {
        collectBags(parseAsn1(plain), bags);
      } catch (error) {
        // Garbage that happened to end in valid padding: only a wrong password does that.
        if (error instanceof DerError) throw new StageError("certificates", `the encrypted safe #${String(n + 1)} (usually the certificates)`, new DecryptError(error.message));
        throw error;
      }
    } else if (type === OID.envelopedData) {
      throw new UnsupportedError("public-key privacy mode (an enveloped safe)");
    } else {
      throw new DerError(`unknown ContentInfo type ${type}`);
    }
  }
  return bags;
}

async function loadKey(bag: Bag, pw: PasswordForms, name: string): Promise<KeyObject> {
  if (bag.type === OID.keyBag) {
    try {
      return createPrivateKey({ key: bag.value.raw, format: "der", type: "pkcs8" });
    } catch (error) {
      throw new StageError("structure", `private key ${name}`, new DerError(error instanceof Error ? error.message : String(error)));
    }
  }
  const epki = expect(bag.value, TAG.SEQUENCE, "EncryptedPrivateKeyInfo").children;
  const algorithm = expect(epki[0], TAG.SEQUENCE, "key encryption algorithm");
  const encrypted = octets(expect(epki[1], TAG.OCTET_STRING, "encrypted key"));
  try {
    const plain = await pbeDecrypt(algorithm, encrypted, pw);
    try {
      return createPrivateKey({ key: plain, format: "der", type: "pkcs8" });
    } catch (error) {
      throw new DecryptError(error instanceof Error ? error.message : String(error));
    }
  } catch (error) {
    throw new StageError("key", `private key ${name}`, error);
  }
}

function describeNonPkcs12(buf: Buffer): string | undefined {
  if (buf.length === 0) return "empty file";
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0xfeedfeed) {
    return "a Java KeyStore (JKS), not a PKCS#12 store: convert it with keytool -importkeystore -deststoretype pkcs12";
  }
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0xcececece) {
    return "a Java JCEKS key store, not a PKCS#12 store: convert it with keytool -importkeystore -deststoretype pkcs12";
  }
  try {
    new X509Certificate(buf);
    return "a DER certificate, not a PKCS#12 store: a certificate alone has no private key (bundle key and certificate with openssl pkcs12 -export)";
  } catch {
    // not a certificate
  }
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      createPrivateKey({ key: buf, format: "der", type });
      return "a DER private key without its certificate, not a PKCS#12 store (bundle key and certificate with openssl pkcs12 -export)";
    } catch {
      // not this key encoding
    }
  }
  if (buf.includes("-----BEGIN ")) return "a PEM text file, not a DER PKCS#12 store (open it as a PEM bundle)";
  const sample = buf.subarray(0, 512);
  if (sample.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128)) {
    return "a text file without PEM blocks, not a key store";
  }
  return undefined;
}

function storeError(code: number, file: string, message: string, cause?: unknown): GskError {
  return new GskError(code, `PKCS#12 key store ${file}: ${message}`, { cause });
}

/**
 * Reads a PKCS#12 file: every bag encryption real tools write (PBES2 with AES or 3DES and any
 * HMAC PRF, the PKCS#12 PBE algorithms with 3DES, 2-key 3DES, RC2-128 and RC2-40) and every MAC
 * digest. Entries: each private key with the certificate whose public key matches it (plus the
 * issuer chain the file carries), labelled by friendlyName, else the certificate's subject CN,
 * else `entry-N`; each certificate without a key is a trusted CA entry.
 */
export async function readPkcs12(der: Uint8Array, password: string, file: string): Promise<KeyStore> {
  const buf = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  let pfx: Pfx;
  try {
    pfx = parsePfx(buf);
  } catch (error) {
    if (error instanceof UnsupportedError) {
      throw storeError(RC.GSK_KEYRING_OPEN_ERROR, file, `uses ${error.message}, which this library cannot read; re-export it with password-based protection`, error);
    }
    const what = describeNonPkcs12(buf);
    const detail = error instanceof Error ? error.message : String(error);
    throw storeError(RC.GSK_KEYRING_OPEN_ERROR, file, what ?? `not a PKCS#12 store, or a damaged one (${detail})`, error);
  }

  let pw: PasswordForms | undefined;
  try {
    pw = await verifyMac(pfx, password);
  } catch (error) {
    throw storeError(RC.GSK_KEYRING_OPEN_ERROR, file, `uses ${error instanceof Error ? error.message : String(error)}, which this library cannot verify`, error);
  }
  if (pw === undefined) {
    throw storeError(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD, file, "wrong password, or the file is damaged: the MAC check cannot tell which");
  }

  let bags: Bag[];
  const keys: { key: KeyObject; bag: Bag }[] = [];
  try {
    bags = await decodeAuthenticatedSafe(pfx.authSafe, pw);
    let keyNumber = 0;
    for (const bag of bags) {
      if (bag.type !== OID.keyBag && bag.type !== OID.pkcs8ShroudedKeyBag) continue;
      keyNumber++;
      const name = bag.friendlyName !== undefined ? `"${bag.friendlyName}"` : `#${String(keyNumber)}`;
      keys.push({ key: await loadKey(bag, pw, name), bag });
    }
  } catch (error) {
    throw readFailure(error, file, pfx.mac !== undefined);
  }

  const certs: { cert: X509Certificate; bag: Bag }[] = [];
  let certNumber = 0;
  for (const bag of bags) {
    if (bag.type !== OID.certBag) continue;
    certNumber++;
    try {
      const parts = expect(bag.value, TAG.SEQUENCE, "CertBag").children;
      if (oidOf(parts[0], "CertBag type") !== OID.x509Certificate) continue;
      const raw = octets(expect(expect(parts[1], TAG.CONTEXT_0, "CertBag value").children[0], TAG.OCTET_STRING, "CertBag value"));
      const cert = new X509Certificate(raw);
      if (!certs.some((c) => c.cert.raw.equals(cert.raw))) certs.push({ cert, bag });
    } catch (error) {
      const name = bag.friendlyName !== undefined ? `"${bag.friendlyName}"` : `#${String(certNumber)}`;
      throw storeError(RC.GSK_KEYRING_OPEN_ERROR, file, `certificate ${name} is not a valid X.509 certificate (${error instanceof Error ? error.message : String(error)})`, error);
    }
  }

  return assembleStore(file, keys, certs);
}

function readFailure(error: unknown, file: string, hadMac: boolean): GskError {
  if (error instanceof GskError) return error;
  const stage = error instanceof StageError ? error : undefined;
  const inner = stage?.cause ?? error;
  const what = stage?.what ?? "the store";
  if (inner instanceof UnsupportedError) {
    return storeError(RC.GSK_KEYRING_OPEN_ERROR, file, `${what} is encrypted with ${inner.message}, which this library cannot decrypt; re-export the store with AES (openssl pkcs12 -export) or 3DES`, inner);
  }
  if (inner instanceof DecryptError) {
    return hadMac
      ? storeError(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD, file, `the MAC matches this password but ${what} does not decrypt with it: the store was written with a separate encryption password (openssl -twopass), or it is damaged`, inner)
      : storeError(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD, file, `wrong password, or the file is damaged: ${what} does not decrypt, and the store has no MAC to tell which`, inner);
  }
  const detail = inner instanceof Error ? inner.message : String(inner);
  return storeError(RC.GSK_KEYRING_OPEN_ERROR, file, `the PKCS#12 structure is damaged: ${what === "the store" ? "" : `${what}: `}${detail}`, inner);
}

function assembleStore(file: string, keys: { key: KeyObject; bag: Bag }[], certs: { cert: X509Certificate; bag: Bag }[]): KeyStore {
  const leaves: X509Certificate[] = [];
  const leafSet = new Set<X509Certificate>();
  keys.forEach(({ key, bag }, n) => {
    const free = certs.filter((c) => !leafSet.has(c.cert) && certificateMatchesKey(c.cert, key));
    const leaf = (free.find((c) => bag.localKeyId !== undefined && c.bag.localKeyId === bag.localKeyId) ?? free[0])?.cert;
    if (leaf === undefined) {
      const name = bag.friendlyName !== undefined ? `"${bag.friendlyName}"` : `#${String(n + 1)}`;
      throw storeError(RC.GSK_KEYRING_OPEN_ERROR, file, `private key ${name} has no certificate with its public key in the store; the store is incomplete (re-export it with the certificate)`);
    }
    leaves.push(leaf);
    leafSet.add(leaf);
  });

  const others = certs.filter((c) => !leafSet.has(c.cert));
  const labels = new LabelAllocator();
  const entries: KeyStoreEntry[] = [];
  keys.forEach(({ key, bag }, n) => {
    const leaf = leaves[n] as X509Certificate;
    const leafBag = certs.find((c) => c.cert === leaf)?.bag;
    // The chain the entry carries: certificates tied to its key by localKeyId, then the issuer path.
    const chain: X509Certificate[] = [leaf];
    for (const c of others) if (bag.localKeyId !== undefined && c.bag.localKeyId === bag.localKeyId) chain.push(c.cert);
    for (let current = chain[chain.length - 1] as X509Certificate; chain.length < 16 && !isSelfSigned(current); ) {
      const issuer = findIssuer(
        current,
        others.map((c) => c.cert).filter((c) => !chain.includes(c)),
      );
      if (issuer === undefined) break;
      chain.push(issuer);
      current = issuer;
    }
    const label = labels.take(bag.friendlyName ?? leafBag?.friendlyName ?? commonNameOf(leaf), entries.length + 1);
    entries.push({ label, certificates: chain, privateKey: key, trusted: false });
  });
  for (const c of others) {
    if (c.bag.localKeyId !== undefined && keys.some((k) => k.bag.localKeyId === c.bag.localKeyId)) continue;
    entries.push({ label: labels.take(c.bag.friendlyName ?? commonNameOf(c.cert), entries.length + 1), certificates: [c.cert], trusted: true });
  }
  return { file, format: "pkcs12", entries, defaultLabel: keys.length > 0 ? entries[0]?.label : undefined };
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface Pkcs12WriteOptions {
  /**
   * pbeWithSHAAnd3-KeyTripleDES-CBC for keys and certificates and a SHA-1 MAC, for importers that
   * predate PBES2 (IBM i DCM, Windows before 2019, Java before 8u301). Default: PBES2 with
   * AES-256-CBC and PBKDF2-HMAC-SHA256, SHA-256 MAC, as OpenSSL 3 writes.
   */
  readonly legacy?: boolean | undefined;
  /** PBKDF2 / PKCS#12 KDF iterations for encryption and MAC (default 2048, OpenSSL's). */
  readonly iterations?: number | undefined;
}

const DEFAULT_ITERATIONS = 2048;

async function pbeEncrypt(plain: Buffer, pw: PasswordForms, legacy: boolean, iterations: number): Promise<{ algorithm: Buffer; data: Buffer }> {
  if (legacy) {
    const salt = randomBytes(8);
    const key = await pkcs12Kdf(SHA1, pw.bmp, salt, 1, iterations, 24);
    const iv = await pkcs12Kdf(SHA1, pw.bmp, salt, 2, iterations, 8);
    const cipher = createCipheriv("des-ede3-cbc", key, iv);
    return {
      algorithm: seq(derOid(OID.pbeSha1TripleDes), seq(octetString(salt), derInteger(iterations))),
      data: Buffer.concat([cipher.update(plain), cipher.final()]),
    };
  }
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await pbkdf2(pw.utf8, salt, iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  return {
    algorithm: seq(
      derOid(OID.pbes2),
      seq(
        seq(derOid(OID.pbkdf2), seq(octetString(salt), derInteger(iterations), seq(derOid(OID.hmacWithSha256), DER_NULL))),
        seq(derOid(OID.aes256Cbc), octetString(iv)),
      ),
    ),
    data: Buffer.concat([cipher.update(plain), cipher.final()]),
  };
}

function attributes(label: string | undefined, localKeyId: Buffer | undefined): Buffer[] {
  const attrs: Buffer[] = [];
  if (label !== undefined) attrs.push(seq(derOid(OID.friendlyName), setOf(tlv(TAG.BMP_STRING, utf16be(label)))));
  if (localKeyId !== undefined) attrs.push(seq(derOid(OID.localKeyId), setOf(octetString(localKeyId))));
  return attrs;
}

function safeBag(type: string, value: Buffer, attrs: Buffer[]): Buffer {
  return seq(derOid(type), explicit0(value), ...(attrs.length > 0 ? [setOf(...attrs)] : []));
}

function certBag(cert: X509Certificate, attrs: Buffer[]): Buffer {
  return safeBag(OID.certBag, seq(derOid(OID.x509Certificate), explicit0(octetString(cert.raw))), attrs);
}

/**
 * Writes entries as a PKCS#12 file. Each bag's friendlyName is its entry's label; a personal
 * entry's key and certificate share a localKeyId (the SHA-1 of the certificate, as OpenSSL does);
 * CA entries are certificate bags without a key. Chain certificates that are not CA entries of
 * their own are written without a label (PKCS#12 cannot mark them as "chain only"), and a
 * disabled CA entry is written like an enabled one: the format has no trust flag, so a reader
 * will see every certificate without a key as a CA entry.
 */
export async function writePkcs12(entries: readonly KeyStoreEntry[], password: string, options: Pkcs12WriteOptions = {}): Promise<Buffer> {
  const legacy = options.legacy === true;
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, `PKCS#12 iteration count ${String(iterations)} is out of range (1 to ${String(MAX_ITERATIONS)})`);
  }
  const pw = passwordForms(password);

  const written = new Set<string>();
  const leafBags: Buffer[] = [];
  const caBags: Buffer[] = [];
  const chainBags: Buffer[] = [];
  const keyBags: Buffer[] = [];
  const chainCerts: X509Certificate[] = [];

  for (const entry of entries) {
    if (entry.privateKey === undefined) continue;
    const leaf = entry.certificates[0];
    if (leaf === undefined) {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `entry "${entry.label}" has a private key but no certificate; PKCS#12 needs both`);
    }
    if (entry.privateKey.type !== "private") {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `entry "${entry.label}": privateKey is a ${entry.privateKey.type} key, not a private key`);
    }
    const localKeyId = createHash("sha1").update(leaf.raw).digest();
    const pkcs8 = entry.privateKey.export({ type: "pkcs8", format: "der" });
    const { algorithm, data } = await pbeEncrypt(pkcs8, pw, legacy, iterations);
    keyBags.push(safeBag(OID.pkcs8ShroudedKeyBag, seq(algorithm, octetString(data)), attributes(entry.label, localKeyId)));
    if (!written.has(leaf.fingerprint256)) {
      written.add(leaf.fingerprint256);
      leafBags.push(certBag(leaf, attributes(entry.label, localKeyId)));
    }
    chainCerts.push(...entry.certificates.slice(1));
  }
  for (const entry of entries) {
    if (entry.privateKey !== undefined) continue;
    for (const cert of entry.certificates) {
      if (written.has(cert.fingerprint256)) continue;
      written.add(cert.fingerprint256);
      caBags.push(certBag(cert, attributes(entry.label, undefined)));
    }
  }
  for (const cert of chainCerts) {
    if (written.has(cert.fingerprint256)) continue;
    written.add(cert.fingerprint256);
    chainBags.push(certBag(cert, []));
  }

  const contentInfos: Buffer[] = [];
  const certSafe = [...leafBags, ...caBags, ...chainBags];
  if (certSafe.length > 0) {
    const { algorithm, data } = await pbeEncrypt(seq(...certSafe), pw, legacy, iterations);
    contentInfos.push(seq(derOid(OID.encryptedData), explicit0(seq(derInteger(0), seq(derOid(OID.data), algorithm, tlv(0x80, data))))));
  }
  if (keyBags.length > 0) contentInfos.push(seq(derOid(OID.data), explicit0(octetString(seq(...keyBags)))));
  const authSafe = seq(...contentInfos);

  const md = legacy ? SHA1 : SHA256;
  const macSalt = randomBytes(legacy ? 8 : 16);
  const macKey = await pkcs12Kdf(md, pw.bmp, macSalt, 3, iterations, md.size);
  const mac = createHmac(md.name, macKey).update(authSafe).digest();
  const digestOid = legacy ? OID.sha1 : OID.sha256;
  return seq(
    derInteger(3),
    seq(derOid(OID.data), explicit0(octetString(authSafe))),
    seq(seq(seq(derOid(digestOid), DER_NULL), octetString(mac)), octetString(macSalt), derInteger(iterations)),
  );
}
