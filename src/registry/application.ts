/**
 * Application definitions: this library's counterpart of IBM i DCM application definitions. A
 * program names one with `GSK_IBMI_APPLICATION_ID` instead of naming a key store, and the
 * definition says which certificates of the system store it presents, which CAs it trusts, and
 * the TLS settings it uses. This module holds the shape and its validation; `registry.ts` keeps
 * the definitions on disk.
 */
import { isIP } from "node:net";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";

/** A TLS client or a TLS server application (DCM's two TLS definition types). */
export type ApplicationType = "client" | "server";

/** Whether a server asks for a client certificate, and whether it fails without one. */
export type ClientAuthPolicy = "none" | "optional" | "required";

/** One application definition, as stored in the registry (every field filled). */
export interface ApplicationDefinition {
  /** 1–100 characters: an ASCII letter, then letters, digits, `.` and `_`. */
  id: string;
  /** Fixed once registered, as in DCM. */
  type: ApplicationType;
  /** Free text for people; may be empty. */
  description: string;
  /** Labels of personal entries in the system store, 0 to 4; one is chosen per handshake. */
  certificates: string[];
  /** `null`: no trust list defined (all enabled CAs trusted); `[]`: defined but empty (also all). */
  trustList: string[] | null;
  /** Servers only; clients: `"none"`. */
  clientAuth: ClientAuthPolicy;
  /** Peer-name patterns (`dns:`, `ip:`, `email:`, `dn:`) the peer's certificate must match; may be empty. */
  allowedPeerNames: string[];
  /** Empty: the library default (TLS 1.2 and 1.3). */
  protocols: ("TLSv1.2" | "TLSv1.3")[];
  /** IANA cipher-suite names, in order of preference; empty: the default. */
  ciphers: string[];
  /** Session-cache lifetime in seconds (0–86400); `null`: the default. */
  sessionLifetime: number | null;
}

const MAX_ID_LENGTH = 100;
/** DCM assigns at most four certificates to an application. */
const MAX_CERTIFICATES = 4;
/** The range `GSK_V3_SESSION_TIMEOUT` accepts on IBM i. */
const MAX_SESSION_LIFETIME = 86_400;

const APPLICATION_TYPES: readonly ApplicationType[] = ["client", "server"];
const CLIENT_AUTH_POLICIES: readonly ClientAuthPolicy[] = ["none", "optional", "required"];
const PROTOCOLS = ["TLSv1.2", "TLSv1.3"] as const;

/** Every field of a definition, in the order they are written to the registry file. */
const FIELDS: readonly (keyof ApplicationDefinition)[] = [
  "id",
  "type",
  "description",
  "certificates",
  "trustList",
  "clientAuth",
  "allowedPeerNames",
  "protocols",
  "ciphers",
  "sessionLifetime",
];

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function invalid(message: string): GskError {
  return new GskError(RC.GSK_INVALID_PARAMETER, message);
}

/** A value for a message: strings quoted and cut short, other values by their kind. */
function show(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    // JSON quoting makes control characters visible instead of breaking the message's line.
    return CONTROL_CHARACTERS.test(shown) ? JSON.stringify(shown) : `'${shown}'`;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

function showCharacter(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f ? `'${ch}'` : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Checks an application ID and returns it unchanged.
 *
 * Rules (DCM's): 1–100 characters, an ASCII letter first, then ASCII letters, digits, `.` and `_`.
 * DCM stores IDs in upper case; this library keeps the case it is given and compares IDs
 * case-sensitively (`get("myApp")` does not find `MYAPP`), but the registry refuses to register
 * an ID that differs from a registered one only by case, since on IBM i they would be one ID.
 *
 * @throws GskError `GSK_INVALID_PARAMETER` naming the rule broken.
 */
export function validateApplicationId(id: unknown): string {
  if (typeof id !== "string") {
    throw invalid(`an application ID must be a string, not ${show(id)}`);
  }
  if (id.length === 0) throw invalid("the application ID is empty: give 1 to 100 characters");
  if (id.length > MAX_ID_LENGTH) {
    throw invalid(`application ID ${show(id)} is ${String(id.length)} characters long; at most ${String(MAX_ID_LENGTH)} are allowed`);
  }
  const first = id[0] ?? "";
  if (!/^[A-Za-z]$/.test(first)) {
    throw invalid(`application ID ${show(id)} must start with a letter (A–Z), not ${showCharacter(first)}`);
  }
  for (let i = 1; i < id.length; i++) {
    const ch = id[i] ?? "";
    if (!/^[A-Za-z0-9._]$/.test(ch)) {
      throw invalid(
        `application ID ${show(id)}: character ${showCharacter(ch)} at position ${String(i + 1)} is not allowed; use letters, digits, '.' and '_'`,
      );
    }
  }
  return id;
}

/** A list field: `undefined` is the empty list; anything but a list of strings is refused. */
function stringList(value: unknown, field: string, prefix: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${prefix}: ${field} must be a list of strings, not ${show(value)}`);
  return value.map((item: unknown, index) => {
    if (typeof item !== "string") {
      throw invalid(`${prefix}: ${field} entry ${String(index + 1)} must be a string, not ${show(item)}`);
    }
    return item;
  });
}

function refuseDuplicates(values: readonly string[], field: string, prefix: string): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw invalid(`${prefix}: ${field} lists ${show(value)} twice`);
    seen.add(value);
  }
}

/** Store labels: any text a PKCS#12 friendlyName can hold, except empty or with control characters. */
function labelList(value: unknown, field: string, prefix: string): string[] {
  const labels = stringList(value, field, prefix);
  for (const label of labels) {
    if (label.length === 0) throw invalid(`${prefix}: ${field} contains an empty label`);
    if (CONTROL_CHARACTERS.test(label)) throw invalid(`${prefix}: ${field} label ${show(label)} contains a control character`);
  }
  refuseDuplicates(labels, field, prefix);
  return labels;
}

// A host name, with `*` allowed only as the whole left-most label (RFC 6125, as peer-name checks do).
const HOST_LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOST_PATTERN = new RegExp(`^(?:\\*\\.)?${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/**
 * One allowed-peer-name pattern, normalized: the kind prefix in lower case, DNS names in lower
 * case (they compare case-insensitively). A bare name means `dns:` (a bare IP address `ip:`), as
 * `GSKX_ALLOWED_PEER_NAMES` reads it, so the registry always stores the explicit form.
 */
function peerNamePattern(pattern: string, prefix: string): string {
  const bad = (why: string): GskError => invalid(`${prefix}: allowed peer name ${show(pattern)} ${why}`);
  const match = /^([A-Za-z]+):(.*)$/s.exec(pattern);
  let kind: string;
  let value: string;
  if (isIP(pattern) !== 0) {
    // Checked before the prefix test: an IPv6 address such as "fe80::1" would look like a prefix.
    kind = "ip";
    value = pattern;
  } else if (match) {
    kind = (match[1] ?? "").toLowerCase();
    value = match[2] ?? "";
  } else {
    kind = "dns";
    value = pattern;
  }
  if (value.length === 0) throw bad("has nothing after its prefix");
  if (CONTROL_CHARACTERS.test(value)) throw bad("contains a control character");
  switch (kind) {
    case "dns": {
      const host = value.toLowerCase();
      if (!HOST_PATTERN.test(host) || host.length > 253) {
        throw bad("is not a host name (a '*' may only stand for the whole left-most label, as in dns:*.example.com)");
      }
      return `dns:${host}`;
    }
    case "ip":
      if (isIP(value) === 0) throw bad("is not an IPv4 or IPv6 address");
      return `ip:${value}`;
    case "email":
      if (!/^[^@\s]+@[^@\s]+$/.test(value)) throw bad("is not an e-mail address (user@domain)");
      return `email:${value}`;
    case "dn":
      if (!value.includes("=")) throw bad("is not a distinguished name (such as dn:CN=client,O=Org)");
      return `dn:${value}`;
    default:
      throw bad(`has an unknown kind '${kind}:'; use dns:, ip:, email: or dn:`);
  }
}

/**
 * Fills the defaults of a definition and checks every field, returning a new, complete
 * definition (the input is not changed). Defaults: empty description, no certificates, no trust
 * list (`null`), client authentication `"none"`, no peer-name restriction, default protocols,
 * ciphers and session lifetime. A field given as `undefined` takes its default.
 *
 * Normalizations: allowed peer names get an explicit kind prefix (`example.com` →
 * `dns:example.com`) and DNS names are lower-cased; protocol names take their canonical spelling
 * (`tlsv1.3` → `TLSv1.3`); cipher names are upper-cased.
 *
 * Whether labels exist in the system store is not checked here (the store is not at hand); the
 * registry checks that when it is given the store's labels.
 *
 * @throws GskError `GSK_INVALID_PARAMETER`, its message naming the application ID and the field.
 */
export function normalizeDefinition(
  input: Partial<ApplicationDefinition> & { id: string; type: ApplicationType },
): ApplicationDefinition {
  // Callers pass parsed JSON and CLI input too, so nothing here trusts the static type.
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid(`an application definition must be an object, not ${show(input)}`);
  }
  const record = input as Record<string, unknown>;
  const id = validateApplicationId(record["id"]);
  const prefix = `application ID '${id}'`;

  // A misspelt field name would otherwise be dropped without a word and its setting lost.
  for (const key of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw invalid(`${prefix}: unknown field '${key}'; the fields are ${FIELDS.join(", ")}`);
    }
  }

  const type = record["type"];
  if (typeof type !== "string" || !(APPLICATION_TYPES as readonly string[]).includes(type)) {
    throw invalid(`${prefix}: type must be 'client' or 'server', not ${show(type)}`);
  }
  const applicationType = type as ApplicationType;

  const description = record["description"] ?? "";
  if (typeof description !== "string") throw invalid(`${prefix}: description must be a string, not ${show(description)}`);
  // One line, so that listings print one field per line.
  if (CONTROL_CHARACTERS.test(description)) throw invalid(`${prefix}: description contains a control character`);

  const certificates = labelList(record["certificates"], "certificates", prefix);
  if (certificates.length > MAX_CERTIFICATES) {
    throw invalid(
      `${prefix}: more than four certificates assigned (${String(certificates.length)}: ${certificates.join(", ")}); an application can have at most ${String(MAX_CERTIFICATES)}`,
    );
  }

  const rawTrustList = record["trustList"];
  const trustList = rawTrustList === undefined || rawTrustList === null ? null : labelList(rawTrustList, "trustList", prefix);

  const clientAuth = record["clientAuth"] ?? "none";
  if (typeof clientAuth !== "string" || !(CLIENT_AUTH_POLICIES as readonly string[]).includes(clientAuth)) {
    throw invalid(`${prefix}: clientAuth must be 'none', 'optional' or 'required', not ${show(clientAuth)}`);
  }
  if (applicationType === "client" && clientAuth !== "none") {
    throw invalid(`${prefix}: a client cannot have clientAuth '${clientAuth}'; client authentication is a server setting (use 'none')`);
  }

  const allowedPeerNames = stringList(record["allowedPeerNames"], "allowedPeerNames", prefix).map((p) =>
    peerNamePattern(p, prefix),
  );
  refuseDuplicates(allowedPeerNames, "allowedPeerNames", prefix);

  const protocols = stringList(record["protocols"], "protocols", prefix).map((p) => {
    const canonical = PROTOCOLS.find((known) => known.toLowerCase() === p.toLowerCase());
    if (!canonical) {
      throw invalid(`${prefix}: protocol ${show(p)} is not supported; use 'TLSv1.2' and/or 'TLSv1.3'`);
    }
    return canonical;
  });
  refuseDuplicates(protocols, "protocols", prefix);

  // Only the form is checked: which suites exist is the cipher table's business where the
  // definition is put to use, and this module stays independent of it.
  const ciphers = stringList(record["ciphers"], "ciphers", prefix).map((c) => {
    const upper = c.toUpperCase();
    if (!/^TLS_[A-Z0-9_]+$/.test(upper)) {
      throw invalid(`${prefix}: cipher ${show(c)} is not an IANA cipher-suite name (such as TLS_AES_128_GCM_SHA256)`);
    }
    return upper;
  });
  refuseDuplicates(ciphers, "ciphers", prefix);

  const sessionLifetime = record["sessionLifetime"] ?? null;
  if (
    sessionLifetime !== null &&
    (typeof sessionLifetime !== "number" || !Number.isInteger(sessionLifetime) || sessionLifetime < 0 || sessionLifetime > MAX_SESSION_LIFETIME)
  ) {
    throw invalid(
      `${prefix}: sessionLifetime must be a whole number of seconds from 0 to ${String(MAX_SESSION_LIFETIME)}, or null for the default; not ${show(sessionLifetime)}`,
    );
  }

  return {
    id,
    type: applicationType,
    description,
    certificates,
    trustList,
    clientAuth: clientAuth as ClientAuthPolicy,
    allowedPeerNames,
    protocols,
    ciphers,
    sessionLifetime: sessionLifetime as number | null,
  };
}
