/**
 * THE cipher-suite table: IANA name, OpenSSL name, GSKit two-character code (the low byte of the
 * IANA code point for the `0x00XX` RSA suites that `GSK_V3_CIPHER_SPECS` lists), and the protocol.
 * Cipher attributes accept GSKit codes, IANA names and IBM i's `*NAME` system-value forms; anything
 * else is `GSK_ERROR_BAD_V3_CIPHER` (422), and so are suites this runtime no longer has (RC4,
 * export, single DES, NULL), with a message saying so.
 */
import { RC } from "./codes.js";
import { GskError } from "./errors.js";

export interface CipherRow {
  readonly iana: string;
  readonly openssl: string;
  readonly code?: string;
  readonly protocol: "tls13" | "tls12";
}

export const CIPHERS: readonly CipherRow[] = [
  { iana: "TLS_AES_128_GCM_SHA256", openssl: "TLS_AES_128_GCM_SHA256", protocol: "tls13" },
  { iana: "TLS_AES_256_GCM_SHA384", openssl: "TLS_AES_256_GCM_SHA384", protocol: "tls13" },
  { iana: "TLS_CHACHA20_POLY1305_SHA256", openssl: "TLS_CHACHA20_POLY1305_SHA256", protocol: "tls13" },
  { iana: "TLS_AES_128_CCM_SHA256", openssl: "TLS_AES_128_CCM_SHA256", protocol: "tls13" },
  { iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", openssl: "ECDHE-ECDSA-AES128-GCM-SHA256", protocol: "tls12" },
  { iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", openssl: "ECDHE-ECDSA-AES256-GCM-SHA384", protocol: "tls12" },
  { iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", openssl: "ECDHE-ECDSA-CHACHA20-POLY1305", protocol: "tls12" },
  { iana: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", openssl: "ECDHE-ECDSA-AES128-SHA256", protocol: "tls12" },
  { iana: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", openssl: "ECDHE-ECDSA-AES256-SHA384", protocol: "tls12" },
  { iana: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", openssl: "ECDHE-ECDSA-AES128-SHA", protocol: "tls12" },
  { iana: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", openssl: "ECDHE-ECDSA-AES256-SHA", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", openssl: "ECDHE-RSA-AES128-GCM-SHA256", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", openssl: "ECDHE-RSA-AES256-GCM-SHA384", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", openssl: "ECDHE-RSA-CHACHA20-POLY1305", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", openssl: "ECDHE-RSA-AES128-SHA256", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", openssl: "ECDHE-RSA-AES256-SHA384", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", openssl: "ECDHE-RSA-AES128-SHA", protocol: "tls12" },
  { iana: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", openssl: "ECDHE-RSA-AES256-SHA", protocol: "tls12" },
  { iana: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", openssl: "DHE-RSA-AES128-GCM-SHA256", protocol: "tls12" },
  { iana: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", openssl: "DHE-RSA-AES256-GCM-SHA384", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_AES_128_GCM_SHA256", openssl: "AES128-GCM-SHA256", code: "9C", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_AES_256_GCM_SHA384", openssl: "AES256-GCM-SHA384", code: "9D", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_AES_128_CBC_SHA256", openssl: "AES128-SHA256", code: "3C", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_AES_256_CBC_SHA256", openssl: "AES256-SHA256", code: "3D", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_AES_128_CBC_SHA", openssl: "AES128-SHA", code: "2F", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_AES_256_CBC_SHA", openssl: "AES256-SHA", code: "35", protocol: "tls12" },
  { iana: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", openssl: "DES-CBC3-SHA", code: "0A", protocol: "tls12" },
];

/** GSKit codes of suites OpenSSL 3 has removed: named in the error instead of "unknown". */
const REMOVED_CODES: Readonly<Record<string, string>> = {
  "01": "TLS_RSA_WITH_NULL_MD5",
  "02": "TLS_RSA_WITH_NULL_SHA",
  "03": "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
  "04": "TLS_RSA_WITH_RC4_128_MD5",
  "05": "TLS_RSA_WITH_RC4_128_SHA",
  "06": "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
  "09": "TLS_RSA_WITH_DES_CBC_SHA",
  "3B": "TLS_RSA_WITH_NULL_SHA256",
};

const byIana = new Map(CIPHERS.map((c) => [c.iana, c]));
const byCode = new Map(CIPHERS.filter((c) => c.code).map((c) => [c.code!, c]));
const byOpenssl = new Map(CIPHERS.map((c) => [c.openssl, c]));

/** Parses a list of two-character GSKit codes (`"2F359C"`), in order of preference. */
export function parseCipherCodes(text: string, attribute: string): CipherRow[] {
  const compact = text.replace(/[\s,]/g, "").toUpperCase();
  if (compact.length === 0 || compact.length % 2 !== 0) {
    throw new GskError(RC.GSK_ERROR_BAD_V3_CIPHER, `${attribute}: '${text}' is not a list of two-character cipher codes (e.g. "9C9D2F35")`);
  }
  const rows: CipherRow[] = [];
  for (let i = 0; i < compact.length; i += 2) {
    const code = compact.slice(i, i + 2);
    const row = byCode.get(code);
    if (!row) {
      const removed = REMOVED_CODES[code];
      throw new GskError(
        RC.GSK_ERROR_BAD_V3_CIPHER,
        removed
          ? `${attribute}: cipher code ${code} (${removed}) is not available: OpenSSL 3 removed it as insecure`
          : `${attribute}: unknown cipher code ${code}; known codes: ${[...byCode.keys()].join(" ")}`,
      );
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Parses comma-separated cipher names for one protocol family: IANA names, IBM i system-value
 * names (`*AES_128_GCM_SHA256`, `*ECDHE_RSA_AES_128_GCM_SHA256`) and OpenSSL names.
 */
export function parseCipherNames(text: string, protocol: "tls12" | "tls13", attribute: string): CipherRow[] {
  const names = text.split(/[,:\s]+/).filter((n) => n.length > 0);
  if (names.length === 0) throw new GskError(RC.GSK_ERROR_BAD_V3_CIPHER, `${attribute}: the cipher list is empty`);
  return names.map((name) => {
    const row = lookupName(name);
    if (!row) {
      throw new GskError(RC.GSK_ERROR_BAD_V3_CIPHER, `${attribute}: unknown cipher '${name}'; use IANA names such as ${protocol === "tls13" ? "TLS_AES_128_GCM_SHA256" : "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}`);
    }
    if (row.protocol !== protocol) {
      throw new GskError(RC.GSK_ERROR_BAD_V3_CIPHER, `${attribute}: '${name}' is a ${row.protocol === "tls13" ? "TLS 1.3" : "TLS 1.2"} suite; set it with ${row.protocol === "tls13" ? "GSK_TLSV13_CIPHER_SPECS_EX" : "GSK_TLSV12_CIPHER_SPECS_EX"}`);
    }
    return row;
  });
}

function lookupName(name: string): CipherRow | undefined {
  const upper = name.toUpperCase();
  const direct = byIana.get(upper) ?? byOpenssl.get(upper);
  if (direct) return direct;
  if (upper.startsWith("*")) {
    // IBM i system-value forms drop the TLS_ prefix and the WITH_ (QSSLCSL: *ECDHE_RSA_AES_128_GCM_SHA256).
    const bare = upper.slice(1);
    return byIana.get(`TLS_${bare}`) ?? CIPHERS.find((c) => c.iana.replace("_WITH_", "_") === `TLS_${bare}`);
  }
  return undefined;
}

/** The IANA name for what node:tls reports (`getCipher().standardName`, or its OpenSSL name). */
export function ianaName(opensslOrStandard: string): string {
  return byIana.has(opensslOrStandard) ? opensslOrStandard : (byOpenssl.get(opensslOrStandard)?.iana ?? opensslOrStandard);
}

/** The two-character GSKit code of a suite, if it has one. */
export function gskitCode(iana: string): string | undefined {
  return byIana.get(iana)?.code;
}
