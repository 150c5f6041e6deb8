/**
 * Peer-name validation by RFC 6125, strictly: the name a client expects is matched against the
 * server certificate's subjectAltName only.
 *
 * - No common-name fallback: a certificate without a subjectAltName never matches (node:tls's
 *   `checkServerIdentity` falls back to the CN; this library does not, as Go and rustls do not).
 * - A wildcard counts only as the whole left-most label, stands for exactly one label, and needs
 *   at least two labels after it: `*.example.com` matches `a.example.com`, not `example.com` nor
 *   `a.b.example.com`; `f*.example.com`, `*oo.example.com`, `*.*.example.com` and `*.com` never
 *   match. There is no public-suffix list: `*.co.uk` is accepted like `*.example.com`.
 * - An IP address (IPv4 or IPv6, any textual form) is matched only against iPAddress SANs, by
 *   value (`::1` equals `0:0:0:0:0:0:0:1`); a DNS SAN spelling the address does not count.
 * - DNS names compare case-insensitively; one trailing dot is ignored. An internationalised
 *   name given as U-labels (`bücher.example`) is converted to A-labels (`xn--bcher-kva.example`)
 *   first, and only A-label SANs can match it (a SAN holding raw UTF-8 is not a valid dNSName).
 *
 * OpenSSL's `X509_check_host`/`X509_check_ip` (through `X509Certificate.checkHost`/`checkIP` with
 * strict flags) do the matching; the name is validated and normalised here first, because
 * OpenSSL reads a leading dot as "any subdomain" and refuses a trailing dot, and a matched
 * wildcard is checked once more against the rules above so a different OpenSSL cannot loosen them.
 */
import { domainToASCII } from "node:url";
import type { X509Certificate } from "node:crypto";
import { RC } from "../codes.js";
import { canonicalIp, formatDnRfc4514, sansOf, type SubjectAltNames } from "./describe.js";

export type PeerNameResult =
  | { ok: true; matched: string }
  | { ok: false; code: number; message: string };

/** An expected peer name, classified and normalised for matching. */
export type PeerName =
  | { kind: "ip"; /** as given */ text: string; /** canonical (`::1`) */ address: string }
  | { kind: "dns"; text: string; /** lower-case A-labels, no trailing dot */ ascii: string }
  | { kind: "invalid"; text: string; reason: string };

/** The strict flags: SAN only, whole-label wildcards, no partial or multi-label wildcards. */
export const STRICT_CHECK_HOST_OPTIONS = Object.freeze({
  subject: "never",
  wildcards: true,
  partialWildcards: false,
  multiLabelWildcards: false,
  singleLabelSubdomains: false,
} as const);

/**
 * True for an IPv4 or IPv6 address in any textual form (`[::1]` and a `%zone` suffix included).
 * `010.0.0.1` is not one: leading zeros are ambiguous (octal or decimal) and Node refuses them.
 */
export function isIpAddress(name: string): boolean {
  return canonicalIp(name) !== undefined;
}

/**
 * Classifies and normalises an expected peer name: an IP address, or a DNS name converted to
 * lower-case A-labels without trailing dot. Anything else is `invalid`, with the reason.
 */
export function classifyPeerName(name: string): PeerName {
  const address = canonicalIp(name);
  if (address !== undefined) return { kind: "ip", text: name, address };
  if (name.length === 0) return { kind: "invalid", text: name, reason: "the name is empty" };
  if (name.includes("*")) {
    return { kind: "invalid", text: name, reason: "a wildcard is a pattern for certificates, not a name to connect to" };
  }
  if (/^[0-9.]+$/.test(name) || /^\[.*\]$/.test(name) || /^[0-9a-fA-F:.]*:[0-9a-fA-F:.%]*$/.test(name)) {
    return { kind: "invalid", text: name, reason: "it looks like an IP address but is not a valid one (IPv4 leading zeros or too few parts are ambiguous)" };
  }
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const ascii = domainToASCII(trimmed).toLowerCase();
  if (ascii === "") return { kind: "invalid", text: name, reason: "it is not a valid DNS name (IDNA conversion failed)" };
  const problem = dnsNameProblem(ascii);
  if (problem) return { kind: "invalid", text: name, reason: problem };
  return { kind: "dns", text: name, ascii };
}

/** Why an A-label name is not a usable DNS name, or undefined. Underscores are tolerated (internal hosts use them). */
function dnsNameProblem(ascii: string): string | undefined {
  if (ascii.length > 253) return "it is longer than 253 characters";
  const labels = ascii.split(".");
  for (const label of labels) {
    if (label.length === 0) return "it has an empty label (a leading dot or '..')";
    if (label.length > 63) return `its label '${label}' is longer than 63 characters`;
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/.test(label)) return `its label '${label}' has characters a DNS name cannot have`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return "its last label is all digits, which no top-level domain is";
  return undefined;
}

/**
 * Is `pattern` (a DNS SAN, lower-case A-labels) an acceptable wildcard or plain name that matches
 * `ascii` under the rules of this module? Independent of OpenSSL: the cross-check on its verdict.
 */
export function dnsPatternMatches(pattern: string, ascii: string): boolean {
  const p = stripDot(pattern.toLowerCase());
  const n = stripDot(ascii.toLowerCase());
  if (!p.includes("*")) return p === n;
  const pLabels = p.split(".");
  const nLabels = n.split(".");
  if (pLabels[0] !== "*") return false;
  const rest = pLabels.slice(1);
  if (rest.length < 2 || rest.some((l) => l.length === 0 || l.includes("*"))) return false;
  if (nLabels.length !== pLabels.length) return false;
  if (nLabels[0]!.length === 0) return false;
  return rest.every((l, i) => l === nLabels[i + 1]);
}

function stripDot(s: string): string {
  return s.endsWith(".") ? s.slice(0, -1) : s;
}

/**
 * Checks the certificate against the expected peer name (RFC 6125, strict; see the module
 * comment). On success `matched` is the SAN that matched (`*.example.com`, `10.0.0.1`); on failure
 * `code` is `GSKX_ERROR_PEER_NAME_MISMATCH` and `message` names the expected name and its kind,
 * the SANs presented, why none matched and the fix.
 */
export function checkPeerName(cert: X509Certificate, expected: string): PeerNameResult {
  const name = classifyPeerName(expected);
  const sans = sansOf(cert);
  if (name.kind === "invalid") {
    return mismatch(`the expected peer name '${expected}' is not a DNS name or IP address: ${name.reason}; set GSKX_PEER_NAME or the SNI name to the host name or IP address of the server`);
  }
  const kind = name.kind === "ip" ? "IP address" : "DNS name";
  const shown = name.kind === "dns" && name.ascii !== expected.toLowerCase().replace(/\.$/, "") ? `'${expected}' (A-label '${name.ascii}')` : `'${expected}'`;
  const lead = `the certificate does not match the expected ${kind} ${shown}`;
  if (!cert.subjectAltName) {
    return mismatch(
      `${lead}: the certificate has no subjectAltName; the common name is not used (RFC 6125) ` +
        `(subject '${formatDnRfc4514(cert.subject)}'). Fix: reissue it with a SAN for ${sanFor(name)}`,
    );
  }
  if (name.kind === "ip") {
    const hit = cert.checkIP(name.address);
    const san = sans.ip.find((ip) => ip === name.address);
    if (hit !== undefined && san !== undefined) return { ok: true, matched: san };
    return mismatch(`${lead}: ${presented(sans)}${ipWhy(name, sans)}. ${fix(name)}`);
  }
  const hit = cert.checkHost(name.ascii, STRICT_CHECK_HOST_OPTIONS);
  if (hit !== undefined && dnsPatternMatches(hit, name.ascii)) return { ok: true, matched: hit };
  return mismatch(`${lead}: ${presented(sans)}${dnsWhy(name.ascii, sans)}. ${fix(name)}`);
}

function mismatch(message: string): PeerNameResult {
  return { ok: false, code: RC.GSKX_ERROR_PEER_NAME_MISMATCH, message };
}

function sanFor(name: PeerName & { kind: "ip" | "dns" }): string {
  return name.kind === "ip" ? `IP:${name.address}` : `DNS:${name.ascii}`;
}

function fix(name: PeerName & { kind: "ip" | "dns" }): string {
  return `Fix: connect with the name the certificate was issued for, or reissue it with a SAN for ${sanFor(name)}`;
}

/** The SANs presented, as a message fragment. */
export function presented(sans: SubjectAltNames): string {
  const list = [
    ...sans.dns.map((d) => `DNS:${d}`),
    ...sans.ip.map((i) => `IP:${i}`),
    ...sans.email.map((e) => `email:${e}`),
    ...sans.uri.map((u) => `URI:${u}`),
    ...sans.other,
  ];
  return list.length === 0 ? "its subjectAltName has no entries" : `its subjectAltName has ${list.join(", ")}`;
}

function ipWhy(name: PeerName & { kind: "ip" }, sans: SubjectAltNames): string {
  const spelled = sans.dns.find((d) => canonicalIp(d) === name.address || d === name.text);
  if (spelled) return `; the DNS SAN '${spelled}' does not count: an IP address is matched only against IP SANs`;
  if (sans.ip.length === 0) return "; it has no IP address SAN, and an IP address is matched only against IP SANs";
  return "";
}

/** Explains a near miss (a wildcard that cannot match, a case of IDN) so the fix is obvious. */
function dnsWhy(ascii: string, sans: SubjectAltNames): string {
  const notes: string[] = [];
  const labels = ascii.split(".");
  for (const raw of sans.dns) {
    const san = stripDot(raw.toLowerCase());
    if (!san.includes("*")) {
      if (/[^\x20-\x7e]/.test(raw)) notes.push(`'${raw}' is not an A-label name and is never matched`);
      continue;
    }
    const sLabels = san.split(".");
    const suffix = sLabels.slice(1).join(".");
    if (sLabels[0] !== "*" || sLabels.slice(1).some((l) => l.includes("*"))) {
      notes.push(`the wildcard '${raw}' is never honoured: a wildcard must be the whole left-most label`);
    } else if (sLabels.length < 3) {
      notes.push(`the wildcard '${raw}' is never honoured: it needs at least two labels after the '*'`);
    } else if (ascii === suffix) {
      notes.push(`the wildcard '${raw}' does not match the bare domain '${ascii}'`);
    } else if (ascii.endsWith("." + suffix) && labels.length > sLabels.length) {
      notes.push(`the wildcard '${raw}' matches exactly one label, not '${labels.slice(0, labels.length - sLabels.length + 1).join(".")}'`);
    }
  }
  if (sans.dns.length === 0) notes.push("it has no DNS SAN");
  return notes.length === 0 ? "" : `; ${notes.join("; ")}`;
}
