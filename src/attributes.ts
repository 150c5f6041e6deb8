/**
 * THE attribute table: every GSKit attribute ID this library knows (IBM i `GSK_BUF_ID`,
 * `GSK_NUM_ID`, `GSK_ENUM_ID`, `GSK_CALLBACK_ID`, from `reference/gskit-api.md` §2, plus the
 * project's `GSKX_*` extensions of the spec §5), with its kind, scope, default and whether it is
 * supported. An ID is either supported or answers `GSK_ATTRIBUTE_INVALID_ID` (701) with a message
 * saying why — real GSKit programs already tolerate 701 for attributes a release lacks — so
 * nothing is ever silently ignored. `docs/attributes.md` and the exported constants are generated
 * from this table.
 */
import type { ValueGroup } from "./values.js";

export type AttributeKind = "buffer" | "numeric" | "enum" | "callback";

/**
 * Where it may be set: `env` between `gsk_environment_open` and `_init`; `session` between
 * `gsk_secure_soc_open` and `_init` (overriding the environment's value); `both`.
 * `get` attributes are results, read after a handshake and never set.
 */
export type AttributeScope = "env" | "session" | "both" | "get";

export interface AttributeRow {
  readonly id: number;
  readonly name: string;
  readonly kind: AttributeKind;
  readonly scope: AttributeScope;
  /** `true`, or the reason the attribute is refused with 701. */
  readonly supported: true | string;
  readonly doc: string;
  /** Default, as documentation text. */
  readonly default?: string;
  /** enum: the value group its values come from (`only` narrows it). */
  readonly values?: ValueGroup;
  readonly only?: readonly number[];
  /** numeric: inclusive range. */
  readonly range?: readonly [number, number];
  /** Write-only (a password): gets answer 701. */
  readonly writeOnly?: true;
  readonly ibmi?: true;
  readonly project?: true;
}

const NO_LDAP = "LDAP CRL and certificate retrieval is not available; give CRLs as files with GSKX_CRL_FILE";
const NO_OCSP = "OCSP checking is not available (node:tls never verifies OCSP responses); use CRLs with GSKX_CRL_FILE";
const NO_PKCS11 = "PKCS#11 and cryptographic service providers are not available; use a PKCS#12, PEM or CMS key store";
const NO_SSLV2 = "SSL 2.0 does not exist in this runtime";

export const ATTRIBUTES = [
  // --- GSK_BUF_ID ---
  { id: 200, name: "GSK_USER_DATA", kind: "buffer", scope: "both", supported: true, doc: "Opaque application data kept with the handle." },
  { id: 201, name: "GSK_KEYRING_FILE", kind: "buffer", scope: "env", supported: true, doc: "Key store path: PKCS#12 (.p12/.pfx), PEM bundle, or CMS key database (.kdb); `*SYSTEM` names the system store that application IDs use." },
  { id: 202, name: "GSK_KEYRING_PW", kind: "buffer", scope: "env", supported: true, writeOnly: true, doc: "Key store password. Write-only: it is never returned." },
  { id: 203, name: "GSK_KEYRING_LABEL", kind: "buffer", scope: "both", supported: true, default: "the store's default certificate", doc: "Label of the certificate to present." },
  { id: 204, name: "GSK_KEYRING_STASH_FILE", kind: "buffer", scope: "env", supported: true, doc: "GSKit stash file (.sth) holding the key store password." },
  { id: 205, name: "GSK_V2_CIPHER_SPECS", kind: "buffer", scope: "both", supported: NO_SSLV2, doc: "SSL 2.0 cipher list." },
  { id: 206, name: "GSK_V3_CIPHER_SPECS", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.2 cipher list as GSKit two-character codes (`2F35…`, `9C`, `9D`)." },
  { id: 207, name: "GSK_CONNECT_CIPHER_SPEC", kind: "buffer", scope: "get", supported: true, doc: "Negotiated cipher as a two-character GSKit code when one exists, else its IANA name." },
  { id: 208, name: "GSK_CONNECT_SEC_TYPE", kind: "buffer", scope: "get", supported: true, doc: "Negotiated protocol: `TLSV13`, `TLSV12`, `TLSV11`, `TLSV10`." },
  { id: 209, name: "GSK_LDAP_SERVER", kind: "buffer", scope: "env", supported: NO_LDAP, doc: "LDAP server for CRLs." },
  { id: 210, name: "GSK_LDAP_USER", kind: "buffer", scope: "env", supported: NO_LDAP, doc: "LDAP user." },
  { id: 211, name: "GSK_LDAP_USER_PW", kind: "buffer", scope: "env", supported: NO_LDAP, doc: "LDAP password." },
  { id: 212, name: "GSK_SID_VALUE", kind: "buffer", scope: "get", supported: true, doc: "TLS session ID (hex), empty for TLS 1.3 ticket sessions without one." },
  { id: 213, name: "GSK_PKCS11_DRIVER_PATH", kind: "buffer", scope: "env", supported: NO_PKCS11, doc: "PKCS#11 driver." },
  { id: 214, name: "GSK_PKCS11_TOKEN_LABEL", kind: "buffer", scope: "env", supported: NO_PKCS11, doc: "PKCS#11 token label." },
  { id: 215, name: "GSK_PKCS11_TOKEN_PWD", kind: "buffer", scope: "env", supported: NO_PKCS11, doc: "PKCS#11 token password." },
  { id: 216, name: "GSK_CSP_NAME", kind: "buffer", scope: "env", supported: NO_PKCS11, doc: "Cryptographic service provider." },
  { id: 221, name: "GSK_OCSP_URL", kind: "buffer", scope: "env", supported: NO_OCSP, doc: "OCSP responder." },
  { id: 222, name: "GSK_OCSP_REQUEST_SIGKEYLABEL", kind: "buffer", scope: "env", supported: NO_OCSP, doc: "OCSP request signing key." },
  { id: 223, name: "GSK_OCSP_PROXY_SERVER_NAME", kind: "buffer", scope: "env", supported: NO_OCSP, doc: "OCSP proxy." },
  { id: 224, name: "GSK_UNKNOWNREVOCATIONSTATUS_SUBJECT", kind: "buffer", scope: "get", supported: NO_OCSP, doc: "Subject whose revocation status is unknown." },
  { id: 230, name: "GSK_SSL_EXTN_SERVERNAME_REQUEST", kind: "buffer", scope: "both", supported: true, doc: "Client: the server name to send as SNI; also the expected peer name unless GSKX_PEER_NAME is set. An IP address is checked against IP SANs and not sent as SNI." },
  { id: 231, name: "GSK_SSL_EXTN_SERVERNAME_CRITICAL_REQUEST", kind: "buffer", scope: "both", supported: "node:tls cannot tell whether the server acknowledged SNI; use GSK_SSL_EXTN_SERVERNAME_REQUEST, whose name is also checked against the certificate", doc: "SNI that must be acknowledged." },
  { id: 232, name: "GSK_SSL_EXTN_SERVERNAME_LIST", kind: "buffer", scope: "env", supported: "SNI names select certificates through application IDs (assigned certificates chosen by SNI); a bare accepted-name list is not offered", doc: "Server: accepted SNI names." },
  { id: 233, name: "GSK_SSL_EXTN_SERVERNAME_CRITICAL_LIST", kind: "buffer", scope: "env", supported: "see GSK_SSL_EXTN_SERVERNAME_LIST", doc: "Server: required SNI names." },
  { id: 234, name: "GSK_SSL_EXTN_SERVERNAME", kind: "buffer", scope: "get", supported: true, doc: "Server: the name the client asked for (SNI); empty if none." },
  { id: 235, name: "GSK_VALIDATIONFAIL_SUBJECT", kind: "buffer", scope: "get", supported: true, doc: "Subject DN of the certificate that failed validation; empty if none failed." },
  { id: 236, name: "GSK_TLSV10_CIPHER_SPECS", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.0 cipher list, two-character codes (applies to TLS ≤ 1.2 handshakes)." },
  { id: 237, name: "GSK_TLSV11_CIPHER_SPECS", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.1 cipher list, two-character codes (applies to TLS ≤ 1.2 handshakes)." },
  { id: 238, name: "GSK_TLSV12_CIPHER_SPECS", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.2 cipher list, two-character codes." },
  { id: 240, name: "GSK_V3_CIPHER_SPECS_EX", kind: "buffer", scope: "both", supported: true, doc: "TLS ≤ 1.2 cipher list, comma-separated names (IANA or GSKit `*` forms)." },
  { id: 241, name: "GSK_TLSV10_CIPHER_SPECS_EX", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.0 cipher names (applies to TLS ≤ 1.2 handshakes)." },
  { id: 242, name: "GSK_TLSV11_CIPHER_SPECS_EX", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.1 cipher names (applies to TLS ≤ 1.2 handshakes)." },
  { id: 243, name: "GSK_TLSV12_CIPHER_SPECS_EX", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.2 cipher list, comma-separated IANA names, e.g. `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`." },
  { id: 244, name: "GSK_CONNECT_CIPHER_SPEC_EX", kind: "buffer", scope: "get", supported: true, doc: "Negotiated cipher suite, IANA name." },
  { id: 245, name: "GSK_SSL_EXTN_SIGALG", kind: "buffer", scope: "both", supported: "IBM's signature-algorithm list format is not published; protocol and cipher attributes are available", doc: "Allowed signature algorithms." },
  { id: 247, name: "GSK_CONNECT_COMPRESSION", kind: "buffer", scope: "get", supported: "TLS compression is never used", doc: "Negotiated compression." },
  { id: 252, name: "GSK_UNKNOWNREVOCATIONSTATUS_SUBJECT_NOAIA", kind: "buffer", scope: "get", supported: NO_OCSP, doc: "Subject with unknown revocation status (no AIA)." },
  { id: 254, name: "GSK_KEYRING_LABEL_EX", kind: "buffer", scope: "both", supported: true, doc: "Up to four comma-separated labels; one is chosen per handshake by SNI name and by the key types the peer accepts." },
  { id: 2008, name: "GSK_TLSV13_CIPHER_SPECS_EX", kind: "buffer", scope: "both", supported: true, doc: "TLS 1.3 cipher list, comma-separated, e.g. `TLS_AES_128_GCM_SHA256`." },
  { id: 6999, name: "APPLICATION_ID", ibmi: true, kind: "buffer", scope: "env", supported: true, doc: "Application ID in the application registry: the certificates, trust list and policy to use." },
  { id: 9100, name: "GSKX_PEER_NAME", project: true, kind: "buffer", scope: "both", supported: true, doc: "The expected peer name (DNS name or IP address) when it differs from the SNI name." },
  { id: 9101, name: "GSKX_ALLOWED_PEER_NAMES", project: true, kind: "buffer", scope: "both", supported: true, doc: "Server: comma-separated names a client certificate must match: `dns:host`, `dns:*.example.com`, `ip:10.0.0.1`, `email:user@example.com`, `dn:CN=client,O=Org`; a bare name means `dns:`." },
  { id: 9102, name: "GSKX_CRL_FILE", project: true, kind: "buffer", scope: "env", supported: true, doc: "Comma-separated CRL files (PEM or DER) in force for validation; every CA in a peer's chain then needs a CRL." },
  { id: 9103, name: "GSKX_TRUST_FILE", project: true, kind: "buffer", scope: "env", supported: true, doc: "A PEM file of CA certificates that replaces the store's CA entries as the trust list." },

  // --- GSK_NUM_ID ---
  { id: 300, name: "GSK_FD", kind: "numeric", scope: "session", supported: true, doc: "The connected socket: a `net.Socket` (or any Duplex), or an inherited file descriptor number." },
  { id: 301, name: "GSK_V2_SESSION_TIMEOUT", kind: "numeric", scope: "env", supported: true, range: [0, 100], default: "100", doc: "SSL 2.0 session cache lifetime, seconds. Accepted for compatibility; SSL 2.0 is never used." },
  { id: 302, name: "GSK_V3_SESSION_TIMEOUT", kind: "numeric", scope: "env", supported: true, range: [0, 86400], default: "86400", doc: "Session resumption lifetime, seconds; 0 turns the client cache and server tickets off." },
  { id: 303, name: "GSK_LDAP_SERVER_PORT", kind: "numeric", scope: "env", supported: NO_LDAP, doc: "LDAP port." },
  { id: 304, name: "GSK_V2_SIDCACHE_SIZE", kind: "numeric", scope: "env", supported: NO_SSLV2, doc: "SSL 2.0 session cache size." },
  { id: 305, name: "GSK_V3_SIDCACHE_SIZE", kind: "numeric", scope: "env", supported: true, range: [0, 1_000_000], default: "1024", doc: "Client session cache size (entries) of the environment." },
  { id: 306, name: "GSK_LDAP_SERVER_INDEX", kind: "numeric", scope: "env", supported: NO_LDAP, doc: "LDAP server index." },
  { id: 307, name: "GSK_LDAP_FAILOVER_RECONNECTION_PERIOD", kind: "numeric", scope: "env", supported: NO_LDAP, doc: "LDAP failover period." },
  { id: 308, name: "GSK_CRL_CACHE_ENTRY_LIFETIME", kind: "numeric", scope: "env", supported: NO_LDAP, doc: "CRL cache entry lifetime." },
  { id: 309, name: "GSK_CRL_CACHE_SIZE", kind: "numeric", scope: "env", supported: NO_LDAP, doc: "CRL cache size." },
  { id: 311, name: "GSK_LAST_VALIDATION_ERROR", kind: "numeric", scope: "get", supported: "GSKVAL codes are not produced; read GSK_CERTIFICATE_VALIDATION_CODE", doc: "Last GSKVAL code." },
  { id: 312, name: "GSK_OCSP_PROXY_SERVER_PORT", kind: "numeric", scope: "env", supported: NO_OCSP, doc: "OCSP proxy port." },
  { id: 313, name: "GSK_OCSP_REQUEST_SIGALG", kind: "numeric", scope: "env", supported: NO_OCSP, doc: "OCSP request signature algorithm." },
  { id: 315, name: "GSK_OCSP_MAX_RESPONSE_SIZE", kind: "numeric", scope: "env", supported: NO_OCSP, doc: "OCSP response size limit." },
  { id: 318, name: "GSK_OCSP_TIMEOUT", kind: "numeric", scope: "env", supported: NO_OCSP, doc: "OCSP timeout." },
  { id: 321, name: "GSK_SSL_EXTN_MAXFRAGMENT_SIZE", kind: "numeric", scope: "both", supported: "the max_fragment_length extension is not negotiated by node:tls", doc: "Maximum fragment length." },
  { id: 324, name: "GSK_OCSP_NONCE_SIZE", kind: "numeric", scope: "env", supported: NO_OCSP, doc: "OCSP nonce size." },
  { id: 326, name: "GSK_OCSP_CLIENT_CACHE_SIZE", kind: "numeric", scope: "env", supported: NO_OCSP, doc: "OCSP cache size." },
  { id: 329, name: "GSK_TLS_CBCPROTECTION_METHOD", kind: "numeric", scope: "env", supported: "CBC record splitting is OpenSSL's own choice and cannot be set", doc: "CBC protection." },
  { id: 6993, name: "READ_TIMEOUT", ibmi: true, kind: "numeric", scope: "both", supported: true, range: [0, 2_147_483_647], default: "0 (wait forever)", doc: "Read timeout, milliseconds: a read that waits longer returns 6011 and the session stays usable." },
  { id: 6996, name: "GSK_CERTIFICATE_VALIDATION_CODE", kind: "numeric", scope: "get", supported: true, doc: "Validation result of the peer certificate: 0, or the return code of the failure." },
  { id: 6998, name: "GSK_HANDSHAKE_TIMEOUT", kind: "numeric", scope: "both", supported: true, range: [0, 2_147_483], default: "0 (wait forever)", doc: "Handshake timeout, seconds: expiry returns 6011 from gsk_secure_soc_init and closes the connection." },

  // --- GSK_ENUM_ID ---
  { id: 401, name: "GSK_CLIENT_AUTH_TYPE", kind: "enum", scope: "both", supported: true, values: "client-auth", default: "GSK_CLIENT_AUTH_FULL", doc: "How a server treats client certificates." },
  { id: 402, name: "GSK_SESSION_TYPE", kind: "enum", scope: "both", supported: true, values: "session-type", default: "GSK_CLIENT_SESSION", doc: "Client or server, and whether a server asks for a client certificate." },
  { id: 403, name: "GSK_PROTOCOL_SSLV2", kind: "enum", scope: "both", supported: true, values: "protocol-switch", only: [510, 511], default: "GSK_PROTOCOL_SSLV2_OFF", doc: "SSL 2.0: ON gives GSK_ERROR_UNSUPPORTED (412) at init." },
  { id: 404, name: "GSK_PROTOCOL_SSLV3", kind: "enum", scope: "both", supported: true, values: "protocol-switch", only: [512, 513], default: "GSK_PROTOCOL_SSLV3_OFF", doc: "SSL 3.0: ON gives GSK_ERROR_UNSUPPORTED (412) at init." },
  { id: 405, name: "GSK_PROTOCOL_USED", kind: "enum", scope: "get", supported: true, values: "protocol-used", doc: "Negotiated protocol." },
  { id: 406, name: "GSK_SID_FIRST", kind: "enum", scope: "get", supported: true, values: "sid", doc: "GSK_SID_IS_FIRST for a full handshake, GSK_SID_NOT_FIRST for a resumed one." },
  { id: 407, name: "GSK_PROTOCOL_TLSV1", kind: "enum", scope: "both", supported: true, values: "protocol-switch", only: [518, 519], default: "GSK_PROTOCOL_TLSV1_ON", doc: "Master switch for TLS; GSK_PROTOCOL_TLSV10/11/12/13 override it and take their default from it." },
  { id: 410, name: "GSK_SERVER_AUTH_TYPE", kind: "enum", scope: "both", supported: true, values: "server-auth", default: "GSK_SERVER_AUTH_FULL", doc: "How a client treats the server's certificate." },
  { id: 411, name: "GSK_ENVIRONMENT_CLOSE_OPTIONS", kind: "enum", scope: "env", supported: true, values: "environment-close", default: "GSK_NORMAL_ENVIRONMENT_CLOSE", doc: "Either way, sessions already open keep working after gsk_environment_close; no new session can be opened." },
  { id: 412, name: "GSK_LDAP_REQUIRED_AT_INIT", kind: "enum", scope: "env", supported: NO_LDAP, doc: "LDAP at init." },
  { id: 413, name: "GSK_AES_SUPPORT", kind: "enum", scope: "env", supported: "AES is always available", doc: "AES switch." },
  { id: 423, name: "GSK_ALLOW_UNAUTHENTICATED_RESUME", kind: "enum", scope: "env", supported: "resumed sessions are always held to the same checks as full ones", doc: "Resume without authentication." },
  { id: 426, name: "GSK_OCSP_ENABLE", kind: "enum", scope: "env", supported: NO_OCSP, doc: "OCSP." },
  { id: 427, name: "GSK_OCSP_NONCE_CHECK_ENABLE", kind: "enum", scope: "env", supported: NO_OCSP, doc: "OCSP nonce check." },
  { id: 428, name: "GSK_OCSP_NONCE_GENERATION_ENABLE", kind: "enum", scope: "env", supported: NO_OCSP, doc: "OCSP nonce generation." },
  { id: 435, name: "GSK_OCSP_RETRIEVE_VIA_GET", kind: "enum", scope: "env", supported: NO_OCSP, doc: "OCSP via GET." },
  { id: 436, name: "GSK_PROTOCOL_TLSV10", kind: "enum", scope: "both", supported: true, values: "boolean", default: "GSK_FALSE", doc: "TLS 1.0 (GSK_TRUE/GSK_FALSE). On: the cipher security level drops to 0 for that environment, as OpenSSL 3 needs for TLS 1.0 (weak: SHA-1 signatures)." },
  { id: 437, name: "GSK_PROTOCOL_TLSV11", kind: "enum", scope: "both", supported: true, values: "boolean", default: "GSK_FALSE", doc: "TLS 1.1 (GSK_TRUE/GSK_FALSE). On: as TLS 1.0." },
  { id: 438, name: "GSK_PROTOCOL_TLSV12", kind: "enum", scope: "both", supported: true, values: "boolean", default: "GSK_TRUE", doc: "TLS 1.2 (GSK_TRUE/GSK_FALSE)." },
  { id: 4030, name: "GSK_PROTOCOL_TLSV13", kind: "enum", scope: "both", supported: true, values: "boolean", default: "GSK_TRUE", doc: "TLS 1.3 (GSK_TRUE/GSK_FALSE)." },
  { id: 442, name: "GSK_NO_RENEGOTIATION", kind: "enum", scope: "env", supported: "renegotiation is always refused to peers; gsk_secure_soc_misc(GSK_RESET_CIPHER) is the only renegotiation", doc: "Refuse renegotiation." },
  { id: 451, name: "GSK_EXTENDED_RENEGOTIATION_CRITICAL_CLIENT", kind: "enum", scope: "env", supported: "OpenSSL always requires secure renegotiation (RFC 5746)", doc: "RFC 5746 critical (client)." },
  { id: 452, name: "GSK_EXTENDED_RENEGOTIATION_CRITICAL_SERVER", kind: "enum", scope: "env", supported: "OpenSSL always requires secure renegotiation (RFC 5746)", doc: "RFC 5746 critical (server)." },
  { id: 457, name: "GSK_CERTREQ_DNLIST_ENABLE", kind: "enum", scope: "env", supported: "the CA name list in CertificateRequest is always sent from the trust list", doc: "Send CA names." },
  { id: 9110, name: "GSKX_KEEP_SOCKET_OPEN", project: true, kind: "enum", scope: "session", supported: true, values: "boolean", default: "GSK_FALSE", doc: "GSK_TRUE: gsk_secure_soc_close sends close_notify and keeps the TCP connection open for plaintext (opt-in path; costs more per byte)." },
  { id: 9111, name: "GSKX_STRICT_EOF", project: true, kind: "enum", scope: "session", supported: true, values: "boolean", default: "GSK_FALSE", doc: "GSK_TRUE: a TCP FIN without close_notify is reported by read as 406 instead of end of stream (opt-in path; costs more per byte)." },
  { id: 9112, name: "GSKX_CLOSE_NOTIFY_RECEIVED", project: true, kind: "enum", scope: "get", supported: true, values: "boolean", doc: "After end of stream on an opt-in path session: GSK_TRUE if the peer sent close_notify." },

  // --- GSK_CALLBACK_ID ---
  { id: 800, name: "GSK_IO_CALLBACK", kind: "callback", scope: "both", supported: "I/O always goes through the socket given as GSK_FD", doc: "Custom I/O routines." },
  { id: 801, name: "GSK_SID_CACHE_CALLBACK", kind: "callback", scope: "env", supported: "the session cache is built in (GSK_V3_SESSION_TIMEOUT, GSK_V3_SIDCACHE_SIZE)", doc: "Session cache routines." },
  { id: 802, name: "GSK_CLIENT_CERT_CALLBACK", kind: "callback", scope: "env", supported: "client certificates are chosen by label or application ID", doc: "Client certificate selection." },
  { id: 803, name: "GSK_PKCS11_CALLBACK", kind: "callback", scope: "env", supported: NO_PKCS11, doc: "PKCS#11 routines." },
  { id: 804, name: "GSK_ENVIRONMENT_CLOSE_CALLBACK", kind: "callback", scope: "env", supported: true, doc: "`(envHandle) => void`, called once the environment is closed." },
  { id: 805, name: "GSK_CERT_VALIDATION_CALLBACK", kind: "callback", scope: "both", supported: true, doc: "`{ validation_callback(certChain, validationStatus), validateRequired, certificateNeeded }`: return GSK_OK to accept, GSK_ERROR_CERT_VALIDATION to reject." },
  { id: 807, name: "GSK_CIPHER_SESSION_RESET", kind: "callback", scope: "both", supported: true, doc: "`(sessionHandle) => void`, called when the session's keys are renegotiated." },
] as const satisfies readonly AttributeRow[];

type Row = (typeof ATTRIBUTES)[number];
type IbmiRow = Extract<Row, { ibmi: true }>;
type PlainRow = Exclude<Row, { ibmi: true }>;

export type AttributeConstants = { readonly [R in PlainRow as R["name"]]: R["id"] } & {
  readonly [R in IbmiRow as `GSK_IBMI_${R["name"]}` | `GSK_OS400_${R["name"]}` | `GSK_AS400_${R["name"]}`]: R["id"];
};

const PREFIXES = ["GSK_IBMI_", "GSK_OS400_", "GSK_AS400_"] as const;

export function attributeConstantNames(row: AttributeRow): string[] {
  return row.ibmi ? PREFIXES.map((p) => p + row.name) : [row.name];
}

/** Name -> ID for every spelling: `A.GSK_KEYRING_FILE`. */
export const A: AttributeConstants = Object.freeze(
  Object.fromEntries(ATTRIBUTES.flatMap((r) => attributeConstantNames(r).map((n) => [n, r.id]))),
) as AttributeConstants;

const byId = new Map<number, AttributeRow>(ATTRIBUTES.map((r) => [r.id, r]));

export function attributeRow(id: number): AttributeRow | undefined {
  return byId.get(id);
}

/** "GSK_KEYRING_FILE (201)" for messages. */
export function attributeLabel(id: number): string {
  const row = byId.get(id);
  return row ? `${attributeConstantNames(row)[0]!} (${String(id)})` : `attribute ${String(id)}`;
}
