/**
 * Human-readable descriptions of certificates and validation failures. Every validation error the
 * library reports names the certificate (subject, issuer, serial), says what failed and how to fix
 * it: "socket hang up" with no certificate in sight is the complaint this module exists to answer.
 *
 * Distinguished names are shown in RFC 4514 order (most specific RDN first, `CN=leaf,O=Example,C=US`),
 * the order GSKit, DCM, LDAP and `openssl x509 -nameopt RFC2253` print and the order the `dn:` form
 * of `GSKX_ALLOWED_PEER_NAMES` takes, so a name can be copied from a message into configuration.
 */
import { isIP, SocketAddress } from "node:net";
import type { X509Certificate } from "node:crypto";
import { RC, returnCodeName, returnCodeText } from "../codes.js";

/** One attribute of a distinguished name: short name as OpenSSL prints it (`CN`, `O`, or an OID), unescaped value. */
export interface DnAttribute {
  readonly type: string;
  readonly value: string;
}

/** A relative distinguished name: usually one attribute, several for a multi-valued RDN (`CN=a+OU=b`). */
export type Rdn = readonly DnAttribute[];

/**
 * OID → short name, as OpenSSL 3.0's `OBJ_nid2sn` gives them (Node prints names with
 * `XN_FLAG_FN_SN`); read off Node's output for every 2.5.4.x attribute and the common others.
 * Attributes not listed here are printed by OpenSSL as the dotted OID, and so are they here.
 */
export const DN_ATTRIBUTE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.13": "description",
  "2.5.4.14": "searchGuide",
  "2.5.4.15": "businessCategory",
  "2.5.4.16": "postalAddress",
  "2.5.4.17": "postalCode",
  "2.5.4.18": "postOfficeBox",
  "2.5.4.19": "physicalDeliveryOfficeName",
  "2.5.4.20": "telephoneNumber",
  "2.5.4.21": "telexNumber",
  "2.5.4.22": "teletexTerminalIdentifier",
  "2.5.4.23": "facsimileTelephoneNumber",
  "2.5.4.24": "x121Address",
  "2.5.4.25": "internationaliSDNNumber",
  "2.5.4.26": "registeredAddress",
  "2.5.4.27": "destinationIndicator",
  "2.5.4.28": "preferredDeliveryMethod",
  "2.5.4.29": "presentationAddress",
  "2.5.4.30": "supportedApplicationContext",
  "2.5.4.31": "member",
  "2.5.4.32": "owner",
  "2.5.4.33": "roleOccupant",
  "2.5.4.34": "seeAlso",
  "2.5.4.35": "userPassword",
  "2.5.4.36": "userCertificate",
  "2.5.4.37": "cACertificate",
  "2.5.4.38": "authorityRevocationList",
  "2.5.4.39": "certificateRevocationList",
  "2.5.4.40": "crossCertificatePair",
  "2.5.4.41": "name",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.45": "x500UniqueIdentifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.47": "enhancedSearchGuide",
  "2.5.4.48": "protocolInformation",
  "2.5.4.49": "distinguishedName",
  "2.5.4.50": "uniqueMember",
  "2.5.4.51": "houseIdentifier",
  "2.5.4.52": "supportedAlgorithms",
  "2.5.4.53": "deltaRevocationList",
  "2.5.4.54": "dmdName",
  "2.5.4.65": "pseudonym",
  "2.5.4.72": "role",
  "2.5.4.97": "organizationIdentifier",
  "2.5.4.100": "dnsName",
  "1.2.840.113549.1.9.1": "emailAddress",
  "1.2.840.113549.1.9.2": "unstructuredName",
  "1.2.840.113549.1.9.8": "unstructuredAddress",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.3": "mail",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
  "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
  "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
});

/**
 * Canonical attribute name for comparisons: accepts OpenSSL short names, the long names people
 * write (`commonName`, `organizationName` …), `E`/`email` for emailAddress, and dotted OIDs.
 * Returns the OpenSSL short name (or the OID when OpenSSL has none), in OpenSSL's spelling.
 */
export function canonicalAttributeType(type: string): string {
  const t = type.trim();
  const byOid = DN_ATTRIBUTE_NAMES[t];
  if (byOid) return byOid;
  const alias = ATTRIBUTE_ALIASES.get(t.toLowerCase());
  return alias ?? t;
}

const ATTRIBUTE_ALIASES = new Map<string, string>([
  ...Object.values(DN_ATTRIBUTE_NAMES).map((sn) => [sn.toLowerCase(), sn] as [string, string]),
  ["commonname", "CN"],
  ["surname", "SN"],
  ["countryname", "C"],
  ["localityname", "L"],
  ["stateorprovincename", "ST"],
  ["s", "ST"],
  ["streetaddress", "street"],
  ["organizationname", "O"],
  ["organizationalunitname", "OU"],
  ["givenname", "GN"],
  ["g", "GN"],
  ["e", "emailAddress"],
  ["email", "emailAddress"],
  ["userid", "UID"],
  ["domaincomponent", "DC"],
]);

/**
 * Parses a name as `X509Certificate.subject` / `.issuer` print it: one RDN per line, multi-valued
 * RDNs joined by ` + `, values escaped RFC 2253-style by OpenSSL (`\,` `\+` `\"` `\\` `\<` `\>`
 * `\;`, a leading `\#` or `\ `, a trailing `\ `, control characters as `\0A`).
 * Returns the RDNs in the printed order (the certificate's DER order).
 */
export function parseNodeDn(text: string): Rdn[] {
  if (text === "") return [];
  return text.split("\n").map(parseNodeRdnLine);
}

function parseNodeRdnLine(line: string): Rdn {
  const attributes: DnAttribute[] = [];
  let i = 0;
  while (i <= line.length) {
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error(`not a distinguished-name line: ${JSON.stringify(line)}`);
    const type = line.slice(i, eq);
    // Collect the value as (character, escaped) pairs: only an unescaped `+` ends it.
    const chars: { c: string; escaped: boolean }[] = [];
    let j = eq + 1;
    for (; j < line.length; j++) {
      const c = line[j]!;
      if (c === "\\" && j + 1 < line.length) {
        const next = line[j + 1]!;
        const hex = line.slice(j + 1, j + 3);
        // OpenSSL escapes a special character as `\c` and a control character as `\XX`.
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          chars.push({ c: String.fromCharCode(parseInt(hex, 16)), escaped: true });
          j += 2;
        } else {
          chars.push({ c: next, escaped: true });
          j += 1;
        }
        continue;
      }
      if (c === "+") break;
      chars.push({ c, escaped: false });
    }
    // The multi-valued separator is " + ": drop the unescaped space before the `+`.
    if (j < line.length && chars.length > 0 && chars[chars.length - 1]!.c === " " && !chars[chars.length - 1]!.escaped) {
      chars.pop();
    }
    attributes.push({ type, value: chars.map((x) => x.c).join("") });
    if (j >= line.length) break;
    i = j + 1;
    if (line[i] === " ") i++;
  }
  return attributes;
}

/** Escapes one attribute value for a DN string (RFC 4514 §2.4, as OpenSSL's ESC_2253 does). */
export function escapeDnValue(value: string): string {
  let out = "";
  const chars = Array.from(value);
  chars.forEach((c, idx) => {
    const code = c.codePointAt(0)!;
    if (`,+"\\<>;`.includes(c)) out += "\\" + c;
    else if (idx === 0 && (c === "#" || c === " ")) out += "\\" + c;
    else if (idx === chars.length - 1 && c === " ") out += "\\ ";
    else if (code < 0x20 || code === 0x7f) out += "\\" + code.toString(16).toUpperCase().padStart(2, "0");
    else out += c;
  });
  return out;
}

/**
 * A DN in RFC 4514 string order (reverse of the DER order: `CN=leaf,O=Example,C=US`).
 * Takes Node's printed form (`cert.subject`) or parsed RDNs in DER order.
 */
export function formatDnRfc4514(name: string | readonly Rdn[]): string {
  const rdns = typeof name === "string" ? parseNodeDn(name) : name;
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join("+"))
    .join(",");
}

/** The subject alternative names of a certificate, by kind. */
export interface SubjectAltNames {
  /** dNSName entries as written in the certificate (A-labels; wildcards kept). */
  dns: string[];
  /** iPAddress entries, canonical text (`10.0.0.1`, `2001:db8::1`: RFC 5952 compressed, lower case). */
  ip: string[];
  /** rfc822Name entries. */
  email: string[];
  /** uniformResourceIdentifier entries. */
  uri: string[];
  /** Everything else (DirName, othername, Registered ID), as Node prints them. */
  other: string[];
}

/**
 * Parses `cert.subjectAltName`. Node prints `DNS:a, IP Address:10.0.0.1, email:…, URI:…`, and
 * since CVE-2021-44532 puts a value that contains a comma, quote, backslash or control character
 * in a JSON string (`DNS:"a\u002cb"`), so a comma inside a value never splits an entry.
 */
export function sansOf(cert: X509Certificate): SubjectAltNames {
  return parseSubjectAltName(cert.subjectAltName);
}

/** The parser behind `sansOf`, for a string in Node's `subjectAltName` format. */
export function parseSubjectAltName(text: string | undefined): SubjectAltNames {
  const result: SubjectAltNames = { dns: [], ip: [], email: [], uri: [], other: [] };
  if (!text) return result;
  let i = 0;
  while (i < text.length) {
    // A JSON-quoted entry may carry its prefix inside the quotes (othername), or after it.
    let entry: string;
    if (text[i] === '"') {
      const end = endOfJsonString(text, i);
      entry = JSON.parse(text.slice(i, end)) as string;
      i = end;
    } else {
      const colon = text.indexOf(":", i);
      const prefixEnd = colon < 0 ? text.length : colon + 1;
      const prefix = text.slice(i, prefixEnd);
      if (text[prefixEnd] === '"') {
        const end = endOfJsonString(text, prefixEnd);
        entry = prefix + (JSON.parse(text.slice(prefixEnd, end)) as string);
        i = end;
      } else {
        const sep = text.indexOf(", ", prefixEnd);
        const end = sep < 0 ? text.length : sep;
        entry = text.slice(i, end);
        i = end;
      }
    }
    if (text.startsWith(", ", i)) i += 2;
    classifySan(entry, result);
  }
  return result;
}

function endOfJsonString(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new Error(`unterminated quoted subjectAltName entry in ${JSON.stringify(text)}`);
}

function classifySan(entry: string, into: SubjectAltNames): void {
  const colon = entry.indexOf(":");
  const kind = colon < 0 ? "" : entry.slice(0, colon);
  const value = colon < 0 ? entry : entry.slice(colon + 1);
  switch (kind) {
    case "DNS":
      into.dns.push(value);
      break;
    case "IP Address":
      into.ip.push(canonicalIp(value) ?? value);
      break;
    case "email":
      into.email.push(value);
      break;
    case "URI":
      into.uri.push(value);
      break;
    default:
      into.other.push(entry);
  }
}

/**
 * Canonical text of an IP address (`::1` for `0:0:0:0:0:0:0:1`, lower case, zone ID dropped), or
 * undefined if the text is not an IP address. IPv4 with leading zeros (`010.0.0.1`) is not an
 * address here: Node refuses it and OpenSSL would read it as 10.0.0.1, so it is ambiguous.
 */
export function canonicalIp(text: string): string | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const family = isIP(bare);
  if (family === 0) return undefined;
  return new SocketAddress({ address: bare, family: family === 4 ? "ipv4" : "ipv6" }).address;
}

/** One line naming a certificate: subject, issuer, serial and validity, for messages and logs. */
export function describeCertificate(cert: X509Certificate): string {
  return (
    `subject '${formatDnRfc4514(cert.subject)}', issuer '${formatDnRfc4514(cert.issuer)}', ` +
    `serial ${cert.serialNumber}, valid ${isoDate(cert.validFrom)} to ${isoDate(cert.validTo)}`
  );
}

/** Node prints validity as `Nov 23 20:28:28 2026 GMT`; messages use ISO 8601 without milliseconds. */
export function isoDate(nodeDate: string | Date): string {
  const d = typeof nodeDate === "string" ? new Date(nodeDate) : nodeDate;
  if (Number.isNaN(d.getTime())) return String(nodeDate);
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Context of a validation failure: `side` is our own side, the one that validated the peer. */
export interface ValidationContext {
  /** The name the peer's certificate was checked against (client side), for 9001. */
  expectedName?: string;
  /** Our side: a client validates the server's certificate, a server the client's. */
  side: "client" | "server";
  /** The likely fix, when the caller knows better than the defaults below (from `mapNodeError`). */
  hint?: string;
}

/**
 * The message for a failed validation: which certificate (the peer's leaf, with the chain it
 * sent), what failed (by GSK code), and the fix. `chain` is the peer's chain, leaf first; it may
 * be empty when the peer sent no certificate.
 */
export function validationMessage(code: number, chain: readonly X509Certificate[], context: ValidationContext): string {
  const peer = context.side === "client" ? "server" : "client";
  const leaf = chain[0];
  const name = `${returnCodeName(code) ?? "GSK_UNKNOWN"} ${String(code)}`;
  if (!leaf) {
    const what = code === RC.GSK_ERROR_NO_CERTIFICATE ? "sent no certificate" : `sent no certificate to check (${returnCodeText(code)})`;
    const fix =
      context.hint ??
      (peer === "client"
        ? "configure a certificate on the client (an application ID with an assigned certificate, or GSK_KEYRING_LABEL), or stop requiring client authentication"
        : "configure a certificate for the server");
    return `the ${peer} ${what} (${name}); ${fix}`;
  }
  const what = failureText(code, leaf, context, peer, chain);
  const fix = context.hint ?? defaultFix(code, leaf, context, peer);
  const chainText =
    chain.length > 1 ? `; chain presented: ${chain.map((c) => `'${formatDnRfc4514(c.subject)}'`).join(" <- ")}` : "; no intermediate certificates presented";
  // A hint that explains itself (a peer-name check's message) already carries its own "Fix:".
  return `the ${peer}'s certificate (${describeCertificate(leaf)}) ${what} (${name})${chainText}. ${fix.includes("Fix: ") ? fix : `Fix: ${fix}`}`;
}

function failureText(code: number, leaf: X509Certificate, context: ValidationContext, peer: string, chain: readonly X509Certificate[]): string {
  switch (code) {
    case RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT:
      return "does not chain to a trusted CA (unknown issuer, missing intermediate or untrusted root)";
    case RC.GSK_ERROR_SELF_SIGNED:
      return "is self-signed and not in the trust list";
    case RC.GSK_KEYFILE_CERT_EXPIRED: {
      const now = Date.now();
      if (new Date(leaf.validFrom).getTime() > now) return `is not valid yet (valid from ${isoDate(leaf.validFrom)})`;
      if (new Date(leaf.validTo).getTime() < now) return `has expired (on ${isoDate(leaf.validTo)})`;
      // The leaf is in date: name the CA certificate that is not, so the right one gets renewed.
      const ca = chain.slice(1).find((c) => new Date(c.validTo).getTime() < now || new Date(c.validFrom).getTime() > now);
      if (ca) {
        const when = new Date(ca.validTo).getTime() < now ? `expired on ${isoDate(ca.validTo)}` : `is not valid until ${isoDate(ca.validFrom)}`;
        return `is in date, but the CA certificate '${formatDnRfc4514(ca.subject)}' (serial ${ca.serialNumber}) in its chain ${when}`;
      }
      return "or a certificate in its chain is expired or not yet valid";
    }
    case RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED:
      return "has been revoked by a CRL in force";
    case RC.GSK_IBMI_ERROR_CRL_INVALID:
      return "could not be checked for revocation: a CRL in force is missing for an issuer in the chain, expired or unusable";
    case RC.GSK_ERROR_BAD_CERT_SIG:
      return "has a signature that does not verify";
    case RC.GSK_ERROR_BAD_CERTIFICATE:
      return `is not usable for a TLS ${peer} (key usage or extended key usage), or is malformed`;
    case RC.GSKX_ERROR_PEER_NAME_MISMATCH:
      return context.expectedName !== undefined
        ? `does not match the expected peer name '${context.expectedName}'`
        : "does not match the allowed peer names";
    case RC.GSK_ERROR_CERT_VALIDATION:
      return "was rejected by the validation callback";
    default:
      return `failed validation: ${returnCodeText(code)}`;
  }
}

function defaultFix(code: number, leaf: X509Certificate, context: ValidationContext, peer: string): string {
  const issuer = `'${formatDnRfc4514(leaf.issuer)}'`;
  switch (code) {
    case RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT:
      return `add the CA that issued it (${issuer}, or the root above it) to the trust list, and have the ${peer} send its intermediate certificates`;
    case RC.GSK_ERROR_SELF_SIGNED:
      return `add this certificate to the trust list if you trust it, or give the ${peer} a certificate issued by a trusted CA`;
    case RC.GSK_KEYFILE_CERT_EXPIRED:
      return `renew the ${peer}'s certificate (or its CA's), or correct the clock of whichever machine is wrong`;
    case RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED:
      return `issue the ${peer} a new certificate; a revoked one cannot be reinstated`;
    case RC.GSK_IBMI_ERROR_CRL_INVALID:
      return "provide a current CRL for every CA in the chain (GSKX_CRL_FILE), or remove the CRLs to turn revocation checking off";
    case RC.GSK_ERROR_BAD_CERT_SIG:
      return `the certificate is corrupted or was not signed by ${issuer} as presented; reissue it`;
    case RC.GSK_ERROR_BAD_CERTIFICATE:
      return `reissue it with extended key usage ${peer === "server" ? "serverAuth" : "clientAuth"} (or no EKU extension) and key usage digitalSignature`;
    case RC.GSKX_ERROR_PEER_NAME_MISMATCH:
      return context.expectedName !== undefined
        ? `connect with the name the certificate was issued for, or reissue it with a SAN for '${context.expectedName}'`
        : "add one of the certificate's names to the allowed peer names, or issue the client a certificate with an allowed name";
    case RC.GSK_ERROR_CERT_VALIDATION:
      return "see why the validation callback rejected it";
    default:
      return "see the code's description";
  }
}
