/**
 * Checks an environment runs on its own identity when it is initialised, offline, so that a
 * mistake shows up at `gsk_environment_init` with its cause instead of as a peer's refusal at
 * handshake time ("socket hang up", alert 40, unknown CA …).
 *
 * Errors are what makes every handshake with this identity fail; warnings what makes some peers
 * refuse it or will soon. The codes:
 * - key does not match the certificate → `GSK_ERROR_BAD_CERTIFICATE` (404). The key exists, so
 *   `GSK_ERROR_NO_PRIVATE_KEY` (428, "no private key in the store") would mislead; 404 says the
 *   certificate cannot be used as configured. node:tls accepts an EC key with an RSA certificate
 *   and fails later with NO_SUITABLE_SIGNATURE_ALGORITHM, which is why this check exists.
 *   A public key where a private one is needed is 428.
 * - a certificate of the chain expired or not yet valid → error 107; expiring within
 *   `expiryWarningDays` (30) → warning 107.
 * - a signature in the chain that does not verify → error 413.
 * - no path from the leaf to an anchor or a self-signed root with the certificates available
 *   (a missing intermediate) → warning 6000 naming the missing issuer.
 * - wrong extended key usage for the session type (serverAuth for a server, clientAuth for a
 *   client, when the certificate has an EKU extension) → warning 404; key usage without
 *   digitalSignature → warning 404; a CA certificate as leaf → warning 404.
 * - an RSA key under 2048 bits → warning 405 (peers at OpenSSL security level 2 refuse it).
 */
import type { KeyObject, X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import { RC } from "../codes.js";
import { parseCertificate } from "../pki/certificate.js";
import { formatDnRfc4514, isoDate } from "./describe.js";

export interface Finding {
  code: number;
  message: string;
}

export interface OwnIdentity {
  key: KeyObject;
  /** Our certificate first, then the intermediates we send. */
  chain: readonly X509Certificate[];
  /** The trust anchors available (the store's CA entries). */
  anchors: readonly X509Certificate[];
  sessionType: "client" | "server";
  now?: Date;
  expiryWarningDays?: number;
}

const EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
/** Netscape and Microsoft Server Gated Crypto: OpenSSL's ssl_server purpose accepts them as serverAuth. */
const EKU_SGC = ["2.16.840.1.113730.4.1", "1.3.6.1.4.1.311.10.3.3"];
const DAY_MS = 86_400_000;

/** Runs every check; see the module comment for which finding is an error and which a warning. */
export function checkOwnIdentity(identity: OwnIdentity): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const { key, chain, anchors, sessionType } = identity;
  const now = identity.now ?? new Date();
  const windowDays = identity.expiryWarningDays ?? 30;
  const leaf = chain[0];
  if (!leaf) {
    errors.push({ code: RC.GSK_ERROR_NO_CERTIFICATE, message: `no certificate is configured for this ${sessionType}` });
    return { errors, warnings };
  }
  const leafName = `'${formatDnRfc4514(leaf.subject)}'`;

  // Key and certificate belong together.
  if (key.type !== "private") {
    errors.push({ code: RC.GSK_ERROR_NO_PRIVATE_KEY, message: `the key given for ${leafName} is a ${key.type} key, not a private key` });
  } else if (!keyMatches(leaf, key)) {
    errors.push({
      code: RC.GSK_ERROR_BAD_CERTIFICATE,
      message:
        `private key does not match certificate ${leafName}: the key is ${describeKey(key)}, the certificate's public key is ${describeKey(leaf.publicKey)}. ` +
        "Fix: pair the certificate with the private key it was issued for (a mismatch passes context creation and fails every handshake)",
    });
  }

  // The path from the leaf, as peers will build it from what we send plus what they trust.
  const path = buildPath(leaf, [...chain.slice(1), ...anchors], anchors);
  errors.push(...path.findings.filter((f) => f.code === RC.GSK_ERROR_BAD_CERT_SIG));
  warnings.push(...path.findings.filter((f) => f.code !== RC.GSK_ERROR_BAD_CERT_SIG));

  // Validity of every certificate peers will check: ours, the intermediates, the anchor reached.
  const checked = new Set<X509Certificate>();
  for (const cert of [...chain, ...path.certs]) {
    if (checked.has(cert)) continue;
    checked.add(cert);
    const name = `'${formatDnRfc4514(cert.subject)}'`;
    const role = cert === leaf ? "our certificate" : "the CA certificate";
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (to.getTime() < now.getTime()) {
      errors.push({ code: RC.GSK_KEYFILE_CERT_EXPIRED, message: `${role} ${name} expired on ${isoDate(to)}. Fix: renew it` });
    } else if (from.getTime() > now.getTime()) {
      errors.push({ code: RC.GSK_KEYFILE_CERT_EXPIRED, message: `${role} ${name} is not valid until ${isoDate(from)}. Fix: wait, or check the clock` });
    } else if (to.getTime() - now.getTime() < windowDays * DAY_MS) {
      const days = Math.floor((to.getTime() - now.getTime()) / DAY_MS);
      warnings.push({ code: RC.GSK_KEYFILE_CERT_EXPIRED, message: `${role} ${name} expires in ${String(days)} day${days === 1 ? "" : "s"}, on ${isoDate(to)}. Fix: renew it` });
    }
  }

  // Purpose: what peers' OpenSSL checks (X509_PURPOSE_SSL_SERVER / SSL_CLIENT).
  const eku = leaf.keyUsage;
  if (eku !== undefined) {
    const needed = sessionType === "server" ? EKU_SERVER_AUTH : EKU_CLIENT_AUTH;
    const ok = eku.includes(needed) || (sessionType === "server" && eku.some((o) => EKU_SGC.includes(o)));
    if (!ok) {
      const want = sessionType === "server" ? "serverAuth" : "clientAuth";
      warnings.push({
        code: RC.GSK_ERROR_BAD_CERTIFICATE,
        message:
          `our certificate ${leafName} has extended key usage ${eku.map(ekuName).join(", ") || "(empty)"} without ${want}: ` +
          `peers refuse it as a TLS ${sessionType} certificate (INVALID_PURPOSE). Fix: reissue it with ${want}`,
      });
    }
  }
  const digitalSignature = keyUsageHasDigitalSignature(leaf);
  if (digitalSignature === false) {
    warnings.push({
      code: RC.GSK_ERROR_BAD_CERTIFICATE,
      message: `our certificate ${leafName} has a key usage without digitalSignature: TLS 1.3 and ECDHE handshakes sign with it, and peers may refuse it. Fix: reissue it with keyUsage digitalSignature`,
    });
  }
  if (leaf.ca) {
    warnings.push({
      code: RC.GSK_ERROR_BAD_CERTIFICATE,
      message: `our certificate ${leafName} is a CA certificate (basicConstraints CA:TRUE) used as an end-entity certificate; many peers refuse that. Fix: issue an end-entity certificate from the CA and use that`,
    });
  }
  const bits = leaf.publicKey.asymmetricKeyType === "rsa" ? leaf.publicKey.asymmetricKeyDetails?.modulusLength : undefined;
  if (bits !== undefined && bits < 2048) {
    warnings.push({
      code: RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE,
      message: `our certificate ${leafName} has an RSA key of ${String(bits)} bits; peers at OpenSSL security level 2 or higher refuse keys under 2048 bits. Fix: reissue it with RSA 2048+ or EC P-256`,
    });
  }
  return { errors, warnings };
}

function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    // OpenSSL refuses to compare keys of different types on some builds: they do not match.
    return false;
  }
}

function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? "unknown";
  const d = key.asymmetricKeyDetails;
  if (type === "rsa" || type === "rsa-pss") return `${type.toUpperCase()} ${String(d?.modulusLength ?? "?")}`;
  if (type === "ec") return `EC ${d?.namedCurve ?? ""}`.trim();
  return type;
}

function ekuName(oid: string): string {
  const names: Record<string, string> = {
    [EKU_SERVER_AUTH]: "serverAuth",
    [EKU_CLIENT_AUTH]: "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "2.5.29.37.0": "anyExtendedKeyUsage",
  };
  return names[oid] ?? oid;
}

/** True/false from a keyUsage extension, undefined when the certificate has none (or cannot be parsed). */
function keyUsageHasDigitalSignature(cert: X509Certificate): boolean | undefined {
  try {
    const ext = parseCertificate(cert.raw).extensions.get("2.5.29.15");
    if (!ext) return undefined;
    const bits = asn1js.fromBER(new Uint8Array(ext.value)).result;
    if (!(bits instanceof asn1js.BitString)) return undefined;
    const bytes = bits.valueBlock.valueHexView;
    return bytes.length > 0 && (bytes[0]! & 0x80) !== 0;
  } catch {
    return undefined;
  }
}

/**
 * Self-signed by name and signature. Not `checkIssued(self)`: OpenSSL's issuer check also wants
 * keyCertSign, which a self-signed end-entity certificate does not have.
 */
function isSelfSigned(c: X509Certificate): boolean {
  return c.subject === c.issuer && c.verify(c.publicKey);
}

interface PathResult {
  /** The certificates above the leaf, in order. */
  certs: X509Certificate[];
  findings: Finding[];
}

/**
 * Follows issuers from the leaf through `pool` until a trust anchor or a self-signed root. A
 * candidate whose name and key identifiers fit but whose signature fails is reported (413) and
 * skipped; a break in the path is reported (6000) with the missing issuer's DN.
 */
function buildPath(leaf: X509Certificate, pool: readonly X509Certificate[], anchors: readonly X509Certificate[]): PathResult {
  const certs: X509Certificate[] = [];
  const findings: Finding[] = [];
  const isAnchor = (c: X509Certificate): boolean => anchors.some((a) => a.fingerprint256 === c.fingerprint256);
  let cur = leaf;
  const seen = new Set<string>([leaf.fingerprint256]);
  for (;;) {
    if (isAnchor(cur) || isSelfSigned(cur)) return { certs, findings };
    const candidates = pool.filter((c) => !seen.has(c.fingerprint256) && cur.checkIssued(c));
    const issuer = candidates.find((c) => cur.verify(c.publicKey));
    for (const bad of candidates.filter((c) => c !== issuer)) {
      findings.push({
        code: RC.GSK_ERROR_BAD_CERT_SIG,
        message: `the signature of '${formatDnRfc4514(cur.subject)}' does not verify with the key of its issuer '${formatDnRfc4514(bad.subject)}' (serial ${bad.serialNumber}): the certificate is damaged or that CA certificate is not the one that signed it. Fix: reissue it, or use the right CA certificate`,
      });
    }
    if (!issuer) {
      const sameName = pool.filter((c) => c.subject === cur.issuer && !candidates.includes(c));
      const what = `'${formatDnRfc4514(cur.issuer)}'`;
      const detail =
        sameName.length > 0
          ? `a certificate named ${what} is present but is not the one that issued '${formatDnRfc4514(cur.subject)}' (different key: an old or re-keyed CA certificate?)`
          : `the issuer ${what} of '${formatDnRfc4514(cur.subject)}' is not among the certificates available (our chain and the store's CA certificates)`;
      findings.push({
        code: RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
        message: `the chain of '${formatDnRfc4514(leaf.subject)}' is incomplete: ${detail}; peers that do not have it fail with unknown issuer (UNABLE_TO_VERIFY_LEAF_SIGNATURE). Fix: add the certificate of ${what} to the store`,
      });
      return { certs, findings };
    }
    certs.push(issuer);
    seen.add(issuer.fingerprint256);
    cur = issuer;
  }
}
