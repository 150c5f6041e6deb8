/**
 * CRL coverage. node:tls's `crl` option turns on OpenSSL's CRL_CHECK_ALL: every certificate in
 * the verified chain, the root included, is checked against a CRL from its issuer, so **every CA
 * in the chain needs a CRL** — one missing CRL and every connection fails with UNABLE_TO_GET_CRL,
 * good certificates too, with no word on which CA lacks one. This module finds that CA before a
 * handshake does, so the library can say "no CRL in force for issuer 'CN=Intermediate'" (6018).
 *
 * CRL issuers are compared with certificate subjects as strings in the form
 * `X509Certificate.subject` prints (one `type=value` RDN per line, OpenSSL escaping);
 * `parseCrlIssuer` produces that form from a CRL, byte for byte as Node would print the same name.
 */
import type { X509Certificate } from "node:crypto";
import { RC } from "../codes.js";
import { parseCrl as splitCrl } from "../pki/crl.js";
import { GskError } from "../errors.js";
import { DN_ATTRIBUTE_NAMES, formatDnRfc4514 } from "./describe.js";

/** What the library needs to know of a CRL in force. */
export interface CrlInfo {
  /** Issuer DN in `X509Certificate.subject` form. */
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Serial numbers revoked, upper-case hex as `X509Certificate.serialNumber` prints them. */
  revokedSerials: string[];
  /** The CRL as DER. */
  der: Buffer;
}

/**
 * The CAs in the chain that have no CRL among `crls`: the issuer of each certificate on the path
 * from the leaf (`chain[0]`) to a self-signed anchor, the root itself included (it is checked
 * against its own CRL). The path is built from `chain` and `anchors` with `checkIssued` and a
 * signature check; where it breaks off (an issuer not available), the CAs beyond are unknown and
 * not listed — the chain fails validation for that reason first.
 */
export function missingCrls(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  crls: readonly { issuer: string }[],
): X509Certificate[] {
  const have = new Set(crls.map((c) => nameKey(c.issuer)));
  const missing: X509Certificate[] = [];
  for (const issuer of issuersOnPath(chain, anchors)) {
    if (!have.has(nameKey(issuer.subject)) && !missing.includes(issuer)) missing.push(issuer);
  }
  return missing;
}

/** The message for `missingCrls`' result, naming each issuer; empty string when none is missing. */
export function missingCrlMessage(missing: readonly X509Certificate[]): string {
  if (missing.length === 0) return "";
  const names = missing.map((c) => `'${formatDnRfc4514(c.subject)}'`).join(", ");
  return (
    `no CRL in force for issuer ${names}: with CRLs on, every CA in the chain needs one (OpenSSL CRL_CHECK_ALL), ` +
    `or every connection fails. Fix: add a current CRL from ${missing.length === 1 ? "that CA" : "each of those CAs"} to GSKX_CRL_FILE`
  );
}

/** Each issuer along the path leaf → root, in order (a self-signed root is its own issuer). */
function issuersOnPath(chain: readonly X509Certificate[], anchors: readonly X509Certificate[]): X509Certificate[] {
  const pool = [...chain.slice(1), ...anchors];
  const out: X509Certificate[] = [];
  let cur = chain[0];
  const seen = new Set<X509Certificate>();
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    if (isSelfSigned(cur)) {
      out.push(cur);
      break;
    }
    const issuer = pool.find((c) => c !== cur && cur!.checkIssued(c) && cur!.verify(c.publicKey));
    if (!issuer) break;
    out.push(issuer);
    cur = issuer;
  }
  return out;
}

/** By name and signature: `checkIssued(self)` also wants keyCertSign, which a self-signed leaf lacks. */
function isSelfSigned(c: X509Certificate): boolean {
  return c.subject === c.issuer && c.verify(c.publicKey);
}

/** Comparison key approximating OpenSSL's canonical name encoding: case and runs of spaces do not matter. */
function nameKey(dn: string): string {
  return dn
    .split("\n")
    .map((line) => line.trim().replace(/\s+/g, " ").toLowerCase())
    .join("\n");
}

/** The issuer DN of a CRL (DER, or PEM `X509 CRL` / `CRL`) in `X509Certificate.subject` form. */
export function parseCrlIssuer(crl: Buffer | Uint8Array | string): string {
  return parseCrl(crl).issuer;
}

/** Parses one CRL (the first, if a PEM text holds several). Throws `GskError(GSK_IBMI_ERROR_CRL_INVALID)`. */
export function parseCrl(crl: Buffer | Uint8Array | string): CrlInfo {
  const all = parseCrls(crl);
  return all[0]!;
}

/** Parses every CRL of a DER buffer (one) or PEM text (one or more `X509 CRL` / `CRL` blocks). */
export function parseCrls(crl: Buffer | Uint8Array | string): CrlInfo[] {
  const ders = crlDers(crl);
  if (ders.length === 0) throw new GskError(RC.GSK_IBMI_ERROR_CRL_INVALID, "not a CRL: no '-----BEGIN X509 CRL-----' block and not DER");
  return ders.map(parseCrlDer);
}

function crlDers(input: Buffer | Uint8Array | string): Buffer[] {
  const buf = typeof input === "string" ? Buffer.from(input, "utf8") : Buffer.from(input);
  // DER starts with a SEQUENCE tag; PEM is text.
  if (buf[0] === 0x30) return [buf];
  const text = buf.toString("utf8");
  const out: Buffer[] = [];
  const re = /-----BEGIN (X509 CRL|CRL)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(Buffer.from(m[2]!.replace(/\s+/g, ""), "base64"));
  return out;
}

function parseCrlDer(der: Buffer): CrlInfo {
  let parsed: ReturnType<typeof splitCrl>;
  try {
    parsed = splitCrl(der);
  } catch (e) {
    throw new GskError(RC.GSK_IBMI_ERROR_CRL_INVALID, `not a CRL: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const info: CrlInfo = {
    issuer: formatNameDer(parsed.issuerDer),
    thisUpdate: parsed.info.thisUpdate,
    revokedSerials: parsed.info.revokedSerials,
    der,
  };
  if (parsed.info.nextUpdate) info.nextUpdate = parsed.info.nextUpdate;
  return info;
}

// ---------------------------------------------------------------------------------------------
// A DER Name printed exactly as OpenSSL's X509_NAME_print_ex with Node's flags
// (ASN1_STRFLGS_ESC_2253 | ESC_CTRL | UTF8_CONVERT | XN_FLAG_SEP_MULTILINE | XN_FLAG_FN_SN).

interface Tlv {
  tag: number;
  content: Uint8Array;
  end: number;
}

function readTlv(buf: Uint8Array, pos: number): Tlv {
  if (pos + 2 > buf.length) throw new Error("truncated DER");
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new Error("high tag numbers are not expected in a Name");
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) throw new Error("truncated DER");
  return { tag, content: buf.subarray(p, p + len), end: p + len };
}

function children(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < content.length; ) {
    const t = readTlv(content, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

function oidText(content: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const b of content) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join(".");
}

/** Code points of a string value, by its ASN.1 type, as OpenSSL reads them before converting to UTF-8. */
function valueCodePoints(tag: number, content: Uint8Array): number[] {
  switch (tag) {
    case 0x0c: // UTF8String: OpenSSL copies the bytes; Node decodes them as UTF-8.
      return Array.from(new TextDecoder().decode(content), (c) => c.codePointAt(0)!);
    case 0x1e: // BMPString: UTF-16BE
      if (content.length % 2 !== 0) return Array.from(content);
      return Array.from(Buffer.from(content).swap16().toString("utf16le"), (c) => c.codePointAt(0)!);
    case 0x1c: {
      // UniversalString: UTF-32BE
      const out: number[] = [];
      for (let i = 0; i + 3 < content.length; i += 4) out.push(((content[i]! << 24) | (content[i + 1]! << 16) | (content[i + 2]! << 8) | content[i + 3]!) >>> 0);
      return out;
    }
    default: // PrintableString, IA5String, T61String … and anything else: one byte per character.
      return Array.from(content);
  }
}

function escapeLikeOpenSsl(points: number[]): string {
  let out = "";
  points.forEach((c, i) => {
    const ch = String.fromCodePoint(c);
    if (c > 0x7f) out += ch;
    else if (`,+"\\<>;`.includes(ch)) out += "\\" + ch;
    else if (i === 0 && (ch === "#" || ch === " ")) out += "\\" + ch;
    else if (i === points.length - 1 && ch === " ") out += "\\ ";
    else if (c < 0x20 || c === 0x7f) out += "\\" + c.toString(16).toUpperCase().padStart(2, "0");
    else out += ch;
  });
  return out;
}

/**
 * A DER-encoded Name in `X509Certificate.subject` form: RDNs in DER order, one per line;
 * attributes of a multi-valued RDN joined by ` + `; OpenSSL short names, dotted OIDs otherwise.
 */
export function formatNameDer(der: Uint8Array): string {
  const name = readTlv(der, 0);
  if (name.tag !== 0x30) throw new Error("a Name is a SEQUENCE");
  return children(name.content)
    .map((set) =>
      children(set.content)
        .map((ava) => {
          const [type, value] = children(ava.content);
          if (!type || !value || type.tag !== 0x06) throw new Error("bad AttributeTypeAndValue");
          const oid = oidText(type.content);
          return `${DN_ATTRIBUTE_NAMES[oid] ?? oid}=${escapeLikeOpenSsl(valueCodePoints(value.tag, value.content))}`;
        })
        .join(" + "),
    )
    .join("\n");
}

/**
 * A certificate's issuer and subject formatted from its DER by `formatNameDer`: the same strings
 * as `cert.issuer` / `cert.subject`, which is what the tests hold this formatter to.
 */
export function certificateNamesFromDer(cert: X509Certificate): { issuer: string; subject: string } {
  const tbs = children(readTlv(new Uint8Array(cert.raw), 0).content)[0]!;
  const fields = children(tbs.content);
  // tbsCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject, …
  const at = fields[0]!.tag === 0xa0 ? 1 : 0;
  return { issuer: formatNameDer(reencode(fields[at + 2]!)), subject: formatNameDer(reencode(fields[at + 4]!)) };
}

function reencode(t: Tlv): Uint8Array {
  const len = t.content.length;
  const lenBytes: number[] = [];
  if (len < 0x80) lenBytes.push(len);
  else {
    for (let l = len; l > 0; l = Math.floor(l / 256)) lenBytes.unshift(l & 0xff);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  return new Uint8Array([t.tag, ...lenBytes, ...t.content]);
}
