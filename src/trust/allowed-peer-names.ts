/**
 * `GSKX_ALLOWED_PEER_NAMES`: a server's restriction of which client certificates it accepts,
 * beyond the chain reaching a trusted CA.
 *
 * ## Forms
 *
 * The value is a comma-separated list of entries; a client certificate is accepted when it
 * matches **any** entry. Whitespace around entries is ignored; empty entries are skipped; an
 * empty value sets no restriction.
 *
 * | entry | matches |
 * |---|---|
 * | `dns:host.example.com` | a dNSName SAN for that host, by the peer-name rules of `peer-name.ts` (a SAN `*.example.com` covers it) |
 * | `dns:*.example.com` | any dNSName SAN exactly one label below `example.com` (or the SAN `*.example.com` itself); same wildcard rules: whole left-most label, at least two labels after it |
 * | `ip:10.0.0.1`, `ip:2001:db8::1` | an iPAddress SAN with that address (any textual form) |
 * | `email:user@example.com` | an rfc822Name SAN; the domain compares case-insensitively, the local part exactly (RFC 5280 §4.2.1.6) |
 * | `dn:CN=client1,O=Example` | the subject DN, exactly: every RDN, in RFC 4514 order (most specific first, as `openssl x509 -nameopt RFC2253`, GSKit and the library's messages write it), attribute types by short name, long name or OID, values case-insensitive; escape a comma inside a value as `\,` |
 * | `host.example.com` (no prefix) | the same as `dns:host.example.com` |
 * | `10.0.0.1` (no prefix, an IP address) | the same as `ip:10.0.0.1`, as an expected peer name that is an IP address is |
 *
 * A `dn:` entry takes the commas of the DN with it: after `dn:`, pieces of the form
 * `type=value` continue the DN until a piece without `=` or with a prefix starts a new entry
 * (`dn:CN=a,O=Example,dns:b.example.com` is two entries).
 *
 * **Not offered: `cn:`.** The common name is not matched (RFC 6125 dropped it, and a CN says
 * nothing about which kind of name it holds). Use `dns:` for the name the CN held, or `dn:CN=…`
 * with the rest of the subject. The subject's `emailAddress` attribute is not matched by `email:`
 * either; use `dn:` for it.
 *
 * A malformed entry (unknown prefix, a partial wildcard, `dns:` with an IP address, an empty DN …)
 * is refused when the value is parsed, with `GSK_INVALID_PARAMETER` and a message naming it.
 */
import { domainToASCII } from "node:url";
import type { X509Certificate } from "node:crypto";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { canonicalAttributeType, canonicalIp, formatDnRfc4514, parseNodeDn, sansOf, type DnAttribute, type Rdn } from "./describe.js";
import { checkPeerName, classifyPeerName, dnsPatternMatches, presented } from "./peer-name.js";

/** One parsed entry; `text` is its canonical spelling, used in messages and as `matched`. */
export type AllowedPeerName =
  | { kind: "dns"; text: string; /** lower-case A-labels; may start with `*.` */ pattern: string }
  | { kind: "ip"; text: string; /** canonical address */ address: string }
  | { kind: "email"; text: string; local: string; /** lower-case A-labels */ domain: string }
  | { kind: "dn"; text: string; /** in the DER order of a certificate's subject */ rdns: readonly Rdn[] };

export interface AllowedPeerNames {
  readonly entries: readonly AllowedPeerName[];
}

export type AllowedPeerNameResult =
  | { ok: true; matched: string }
  | { ok: false; code: number; message: string };

const PREFIX = /^([A-Za-z][A-Za-z0-9]*):/;

/** Parses a `GSKX_ALLOWED_PEER_NAMES` value; throws `GskError(GSK_INVALID_PARAMETER)` for a malformed entry. */
export function parseAllowedPeerNames(text: string): AllowedPeerNames {
  const pieces = splitUnescapedCommas(text);
  const entries: AllowedPeerName[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!.trim();
    if (piece === "") continue;
    const m = PREFIX.exec(piece);
    const prefix = m ? m[1]!.toLowerCase() : undefined;
    // A bare IPv6 address (`fe80::1`) looks like a prefix followed by a colon: test for an address first.
    if (prefix === undefined || (canonicalIp(piece) !== undefined && prefix !== "ip")) {
      entries.push(parseBare(piece));
      continue;
    }
    const body = piece.slice(m![0].length).trim();
    switch (prefix) {
      case "dns":
        entries.push(parseDns(body, piece));
        break;
      case "ip":
        entries.push(parseIp(body, piece));
        break;
      case "email":
        entries.push(parseEmail(body, piece));
        break;
      case "dn": {
        // Absorb the following `type=value` pieces: they are the rest of this DN.
        const parts = [body];
        while (i + 1 < pieces.length && isDnContinuation(pieces[i + 1]!)) parts.push(pieces[++i]!.trim());
        entries.push(parseDn(parts, `dn:${parts.join(",")}`));
        break;
      }
      case "cn":
        throw invalid(
          piece,
          "the cn: form is not offered: common names are not matched (RFC 6125); use dns:<name> for a host name, or dn:CN=…,O=… for the whole subject",
        );
      default:
        throw invalid(piece, `unknown prefix '${m![1]!}:'; the forms are dns:, ip:, email:, dn: (a bare entry means dns:)`);
    }
  }
  return { entries };
}

function invalid(entry: string, why: string): GskError {
  return new GskError(RC.GSK_INVALID_PARAMETER, `GSKX_ALLOWED_PEER_NAMES entry '${entry}' is not valid: ${why}`);
}

/** Splits on commas not escaped by a backslash (so `dn:` values can hold `\,`). */
function splitUnescapedCommas(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) {
      cur += c + text[i + 1]!;
      i++;
    } else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function isDnContinuation(piece: string): boolean {
  const p = piece.trim();
  if (PREFIX.test(p)) return false;
  return /^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)\s*=/.test(p);
}

function parseBare(piece: string): AllowedPeerName {
  const address = canonicalIp(piece);
  if (address !== undefined) return { kind: "ip", text: `ip:${address}`, address };
  if (piece.includes("=")) throw invalid(piece, `a distinguished name needs the dn: prefix (dn:${piece})`);
  return parseDns(piece, piece);
}

function parseDns(body: string, entry: string): AllowedPeerName {
  if (canonicalIp(body) !== undefined) {
    throw invalid(entry, `an IP address is matched only against IP SANs; write ip:${body}`);
  }
  if (body.includes("*")) {
    const labels = body.split(".");
    if (labels[0] !== "*" || labels.slice(1).some((l) => l.includes("*"))) {
      throw invalid(entry, "a wildcard must be the whole left-most label (*.example.com); partial and inner wildcards never match");
    }
    if (labels.length < 3 || labels.slice(1).some((l) => l === "")) {
      throw invalid(entry, "a wildcard needs at least two labels after it (*.example.com, not *.com)");
    }
    const rest = classifyPeerName(labels.slice(1).join("."));
    if (rest.kind !== "dns") throw invalid(entry, rest.kind === "invalid" ? rest.reason : "not a DNS name");
    return { kind: "dns", text: `dns:*.${rest.ascii}`, pattern: `*.${rest.ascii}` };
  }
  const name = classifyPeerName(body);
  if (name.kind !== "dns") throw invalid(entry, name.kind === "invalid" ? name.reason : "not a DNS name");
  return { kind: "dns", text: `dns:${name.ascii}`, pattern: name.ascii };
}

function parseIp(body: string, entry: string): AllowedPeerName {
  const address = canonicalIp(body);
  if (address === undefined) throw invalid(entry, "not an IPv4 or IPv6 address");
  return { kind: "ip", text: `ip:${address}`, address };
}

function parseEmail(body: string, entry: string): AllowedPeerName {
  const at = body.lastIndexOf("@");
  if (at <= 0 || at === body.length - 1 || /\s/.test(body)) throw invalid(entry, "not an e-mail address (local@domain)");
  const local = body.slice(0, at);
  const domain = domainToASCII(body.slice(at + 1).replace(/\.$/, "")).toLowerCase();
  if (domain === "") throw invalid(entry, "the domain of the address is not a valid DNS name");
  return { kind: "email", text: `email:${local}@${domain}`, local, domain };
}

/** Parses an RFC 4514 DN (most specific first) into RDNs in DER order, as a certificate holds them. */
function parseDn(parts: string[], entry: string): AllowedPeerName {
  const rdns: Rdn[] = [];
  for (const part of parts) {
    const rdn: DnAttribute[] = [];
    for (const ava of splitUnescaped(part, "+")) {
      const eq = ava.indexOf("=");
      if (eq <= 0) throw invalid(entry, `'${ava.trim()}' is not an attribute=value pair`);
      const type = canonicalAttributeType(ava.slice(0, eq));
      if (!/^([A-Za-z][A-Za-z0-9]*|[0-9]+(\.[0-9]+)+)$/.test(type)) throw invalid(entry, `'${ava.slice(0, eq).trim()}' is not an attribute type`);
      const value = unescapeRfc4514(ava.slice(eq + 1).trim());
      if (value === "") throw invalid(entry, `the value of ${type} is empty`);
      rdn.push({ type, value });
    }
    rdns.push(rdn);
  }
  if (rdns.length === 0) throw invalid(entry, "the DN is empty");
  rdns.reverse();
  return { kind: "dn", text: `dn:${formatDnRfc4514(rdns)}`, rdns };
}

function splitUnescaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) {
      cur += c + text[i + 1]!;
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** RFC 4514 §3 unescaping: `\,` and friends, `\XX` hex pairs (UTF-8 bytes). */
function unescapeRfc4514(value: string): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && i + 1 < value.length) {
      const hex = value.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...enc.encode(value[i + 1]!));
        i += 1;
      }
    } else {
      bytes.push(...enc.encode(c));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Checks a client certificate against the allowed peer names: accepted when any entry matches.
 * With no entries there is no restriction. On failure, `code` is `GSKX_ERROR_PEER_NAME_MISMATCH`
 * and `message` names the certificate's subject and SANs, the allowed names and the fix.
 */
export function matchAllowedPeerNames(cert: X509Certificate, allowed: AllowedPeerNames): AllowedPeerNameResult {
  if (allowed.entries.length === 0) return { ok: true, matched: "" };
  const sans = sansOf(cert);
  let subject: Rdn[] | undefined;
  for (const entry of allowed.entries) {
    switch (entry.kind) {
      case "dns":
        if (entry.pattern.startsWith("*.")) {
          if (sans.dns.some((san) => wildcardEntryCovers(entry.pattern, san))) return { ok: true, matched: entry.text };
        } else if (checkPeerName(cert, entry.pattern).ok) return { ok: true, matched: entry.text };
        break;
      case "ip":
        if (checkPeerName(cert, entry.address).ok) return { ok: true, matched: entry.text };
        break;
      case "email":
        if (sans.email.some((e) => emailMatches(entry, e))) return { ok: true, matched: entry.text };
        break;
      case "dn":
        subject ??= parseNodeDn(cert.subject);
        if (dnEquals(entry.rdns, subject)) return { ok: true, matched: entry.text };
        break;
    }
  }
  const subjectText = formatDnRfc4514(cert.subject);
  const hints: string[] = [];
  for (const entry of allowed.entries) {
    if (entry.kind === "dn" && dnEquals([...entry.rdns].reverse(), (subject ??= parseNodeDn(cert.subject)))) {
      hints.push(`'${entry.text}' lists the RDNs in reverse: write the DN most specific first, as dn:${subjectText}`);
    }
    if (entry.kind === "email" && sans.email.some((e) => e.toLowerCase() === `${entry.local}@${entry.domain}`.toLowerCase())) {
      hints.push(`'${entry.text}' differs from the certificate's address only in the case of the local part, which is compared exactly`);
    }
  }
  return {
    ok: false,
    code: RC.GSKX_ERROR_PEER_NAME_MISMATCH,
    message:
      `the client certificate (subject '${subjectText}'; ${presented(sans)}) matches none of the allowed peer names ` +
      `(${allowed.entries.map((e) => e.text).join(", ")})${hints.length ? `; ${hints.join("; ")}` : ""}. ` +
      `Fix: add one of the certificate's names to GSKX_ALLOWED_PEER_NAMES (e.g. dn:${subjectText}), or issue the client a certificate with an allowed name`,
  };
}

/** A wildcard entry covers a SAN one label below its base, or the same wildcard SAN. */
function wildcardEntryCovers(pattern: string, san: string): boolean {
  const s = san.toLowerCase().replace(/\.$/, "");
  if (s === pattern) return true;
  if (s.includes("*") || /[^\x20-\x7e]/.test(s)) return false;
  return dnsPatternMatches(pattern, s);
}

function emailMatches(entry: AllowedPeerName & { kind: "email" }, san: string): boolean {
  const at = san.lastIndexOf("@");
  if (at <= 0) return false;
  return san.slice(0, at) === entry.local && san.slice(at + 1).toLowerCase().replace(/\.$/, "") === entry.domain;
}

/** Exact DN equality: same RDNs in the same order, same attributes in each, values case-insensitive. */
function dnEquals(a: readonly Rdn[], b: readonly Rdn[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((rdn, i) => {
    const other = b[i]!;
    if (rdn.length !== other.length) return false;
    // Attributes inside one multi-valued RDN form a set (DER sorts them), so their order is free.
    const key = (x: DnAttribute): string => `${canonicalAttributeType(x.type)}=${normalizeValue(x.value)}`;
    const left = rdn.map(key).sort();
    const right = other.map(key).sort();
    return left.every((k, j) => k === right[j]);
  });
}

/** Case-insensitive, with insignificant spaces folded as RFC 4518 does for most string attributes. */
function normalizeValue(v: string): string {
  return v.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();
}
