/**
 * THE table from Node/OpenSSL outcomes to GSKit return codes. Every failure node:tls can report
 * (an X509 verify code in `authorizationError`, a TLS alert received from the peer, a local
 * OpenSSL error, a Node TLS error, a socket error) has one row here with the GSK code of the same
 * meaning, why that code, and the likely fix. `docs/` is generated from `NODE_ERROR_TABLE`.
 *
 * Fallbacks, for codes the table does not list:
 * - `mapVerifyCode`: `GSK_ERROR_BAD_CERTIFICATE` (404). OpenSSL refused the certificate for a
 *   reason not listed; the unlisted verify codes are the strict-profile and extension checks
 *   (malformed certificates), which is 404's meaning. 6000 would send people to the trust list
 *   for a certificate that is broken, so it is not the fallback.
 * - `mapNodeError`: a TLS alert not listed → `GSK_ERROR_BAD_PEER` (415: the peer ended the
 *   handshake); a socket-ish error (an errno name such as `EHOSTUNREACH`, an error with a
 *   `syscall`, `ERR_SOCKET_*`/`ERR_STREAM_*`) → `GSK_ERROR_IO` (406); anything else →
 *   `GSK_INTERNAL_ERROR` (3), with the Node code kept in `nodeCode` for the report.
 */
import { RC } from "../codes.js";
import { isGskError } from "../errors.js";

/** Where an outcome comes from: decides which side's fault the row describes. */
export type NodeErrorSource = "verify" | "alert" | "openssl" | "node" | "socket";

export interface NodeErrorRow {
  /** `err.code` / `authorizationError` as Node reports it. */
  readonly nodeCode: string;
  /** The GSK return code. */
  readonly gsk: number;
  readonly source: NodeErrorSource;
  /** For received alerts: the TLS alert number (RFC 8446 §6). */
  readonly alert?: number;
  /** Why this GSK code: the meaning they share. */
  readonly why: string;
  /** The likely fix, for the message. */
  readonly hint: string;
}

export interface MappedError {
  code: number;
  hint: string;
  why?: string;
  nodeCode?: string;
  alert?: number;
}

const TRUST_HINT = "add the issuing CA (and the root above it) to the trust list in force, or have the peer send its intermediate certificates";
const CRL_HINT = "provide a current CRL for every CA in the chain (GSKX_CRL_FILE): with CRLs on, OpenSSL checks every level (CRL_CHECK_ALL)";
const EKU_HINT = "reissue the certificate with extended key usage serverAuth (server) or clientAuth (client), or without an EKU extension, and key usage digitalSignature";
const WEAK_HINT = "reissue with a stronger key (RSA ≥ 2048, EC P-256 or better) and SHA-256 or better; OpenSSL's security level refuses weaker ones";

function v(nodeCode: string, gsk: number, why: string, hint: string): NodeErrorRow {
  return { nodeCode, gsk, source: "verify", why, hint };
}

/** X509 verify codes (OpenSSL `X509_V_ERR_*` without the prefix), as `authorizationError` gives them. */
const VERIFY_ROWS: NodeErrorRow[] = [
  v("UNABLE_TO_GET_ISSUER_CERT", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "the issuer of a certificate in the chain is not available: the chain stops short of a trusted root (also Node's report for a missing client certificate when the certificate is optional)", TRUST_HINT),
  v("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "the issuing CA is not in the trust list: an unknown or untrusted CA", TRUST_HINT),
  v("UNABLE_TO_VERIFY_LEAF_SIGNATURE", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "only the leaf was presented and its issuer is not in the trust list (Node fetches no AIA intermediates)", "the peer sent no intermediate; add it to the peer's chain or to the trust list"),
  v("SELF_SIGNED_CERT_IN_CHAIN", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "the chain ends in a self-signed root that is not in the trust list", "add that root CA to the trust list if it is to be trusted"),
  v("DEPTH_ZERO_SELF_SIGNED_CERT", RC.GSK_ERROR_SELF_SIGNED, "the peer's own certificate is self-signed and not in the trust list", "add the self-signed certificate to the trust list, or give the peer a CA-issued certificate"),
  v("CERT_UNTRUSTED", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "the root is present but not trusted for this purpose", TRUST_HINT),
  v("CERT_REJECTED", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "the root is marked to reject this purpose", "use a CA trusted for TLS authentication"),
  v("SUBJECT_ISSUER_MISMATCH", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "a candidate issuer's subject does not match the certificate's issuer: no path to a trusted CA", TRUST_HINT),
  v("AKID_SKID_MISMATCH", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "a candidate issuer's key identifier does not match: the wrong CA certificate (for example an old one with the same name) is in the trust list", "put the CA certificate that actually issued the peer's certificate (matching key identifier) in the trust list"),
  v("AKID_ISSUER_SERIAL_MISMATCH", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "a candidate issuer's serial does not match the authority key identifier: the wrong CA certificate is present", "put the CA certificate that actually issued the peer's certificate in the trust list"),
  v("CERT_HAS_EXPIRED", RC.GSK_KEYFILE_CERT_EXPIRED, "a certificate in the chain is past its notAfter date", "renew the expired certificate (or its CA), or correct a wrong clock"),
  v("CERT_NOT_YET_VALID", RC.GSK_KEYFILE_CERT_EXPIRED, "a certificate in the chain is before its notBefore date", "wait until it becomes valid, or correct a clock that is behind"),
  v("ERROR_IN_CERT_NOT_BEFORE_FIELD", RC.GSK_ERROR_BAD_DATE, "the certificate's notBefore date is malformed", "reissue the certificate"),
  v("ERROR_IN_CERT_NOT_AFTER_FIELD", RC.GSK_ERROR_BAD_DATE, "the certificate's notAfter date is malformed", "reissue the certificate"),
  v("CERT_REVOKED", RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED, "a CRL in force lists the certificate as revoked", "issue the peer a new certificate"),
  v("UNABLE_TO_GET_CRL", RC.GSK_IBMI_ERROR_CRL_INVALID, "CRL checking is on and no CRL was found for an issuer in the chain (node:tls checks every level)", CRL_HINT),
  v("UNABLE_TO_GET_CRL_ISSUER", RC.GSK_IBMI_ERROR_CRL_INVALID, "the issuer of a CRL in force is not available", CRL_HINT),
  v("CRL_HAS_EXPIRED", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL in force is past its nextUpdate: revocation status is unknown", "fetch a current CRL from the CA and replace the old one"),
  v("CRL_NOT_YET_VALID", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL in force is before its thisUpdate", "check the clock, or the CRL file"),
  v("CRL_SIGNATURE_FAILURE", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL's signature does not verify", "replace the CRL with the one the CA published"),
  v("UNABLE_TO_DECRYPT_CRL_SIGNATURE", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL's signature cannot be read", "replace the CRL with the one the CA published"),
  v("ERROR_IN_CRL_LAST_UPDATE_FIELD", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL's thisUpdate date is malformed", "replace the CRL"),
  v("ERROR_IN_CRL_NEXT_UPDATE_FIELD", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL's nextUpdate date is malformed", "replace the CRL"),
  v("KEYUSAGE_NO_CRL_SIGN", RC.GSK_IBMI_ERROR_CRL_INVALID, "the CRL's issuer may not sign CRLs (key usage lacks cRLSign)", "use a CRL signed by a CA with cRLSign"),
  v("DIFFERENT_CRL_SCOPE", RC.GSK_IBMI_ERROR_CRL_INVALID, "the CRL in force does not cover this certificate (scope)", CRL_HINT),
  v("UNHANDLED_CRITICAL_CRL_EXTENSION", RC.GSK_IBMI_ERROR_CRL_INVALID, "a CRL has a critical extension OpenSSL does not handle", "use a CRL without unsupported critical extensions"),
  v("CRL_PATH_VALIDATION_ERROR", RC.GSK_IBMI_ERROR_CRL_INVALID, "the CRL's own issuer chain does not validate", CRL_HINT),
  v("CERT_SIGNATURE_FAILURE", RC.GSK_ERROR_BAD_CERT_SIG, "a certificate's signature does not verify with its issuer's key", "the certificate is corrupted or its issuer is the wrong certificate; reissue it"),
  v("UNABLE_TO_DECRYPT_CERT_SIGNATURE", RC.GSK_ERROR_BAD_CERT_SIG, "a certificate's signature cannot be processed", "reissue the certificate"),
  v("UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY", RC.GSK_ERROR_BAD_CERT_SIG, "the issuer's public key cannot be read, so no signature can be checked", "replace the CA certificate"),
  v("INVALID_PURPOSE", RC.GSK_ERROR_BAD_CERTIFICATE, "the certificate's extended key usage does not allow this use (serverAuth for a server, clientAuth for a client)", EKU_HINT),
  v("INVALID_CA", RC.GSK_ERROR_BAD_CERTIFICATE, "a certificate used as a CA is not one (no basicConstraints CA:TRUE, or no keyCertSign)", "reissue the intermediate as a CA certificate (basicConstraints CA:TRUE, keyUsage keyCertSign)"),
  v("INVALID_NON_CA", RC.GSK_ERROR_BAD_CERTIFICATE, "an end-entity certificate carries CA markings", "reissue the leaf without CA markings"),
  v("PATH_LENGTH_EXCEEDED", RC.GSK_ERROR_BAD_CERTIFICATE, "the chain is longer than a CA's pathLenConstraint allows", "issue from a CA whose path length allows this chain, or shorten the chain"),
  v("CERT_CHAIN_TOO_LONG", RC.GSK_ERROR_BAD_CERTIFICATE, "the chain is longer than the verify depth", "shorten the chain"),
  v("KEYUSAGE_NO_CERTSIGN", RC.GSK_ERROR_BAD_CERTIFICATE, "a CA's key usage does not allow signing certificates", "reissue the CA with keyUsage keyCertSign"),
  v("KEYUSAGE_NO_DIGITAL_SIGNATURE", RC.GSK_ERROR_BAD_CERTIFICATE, "the key usage does not allow digital signatures", EKU_HINT),
  v("UNHANDLED_CRITICAL_EXTENSION", RC.GSK_ERROR_BAD_CERTIFICATE, "a certificate has a critical extension OpenSSL does not understand", "reissue without the unsupported critical extension"),
  v("INVALID_EXTENSION", RC.GSK_ERROR_BAD_CERTIFICATE, "a certificate extension is malformed", "reissue the certificate"),
  v("INVALID_POLICY_EXTENSION", RC.GSK_ERROR_BAD_CERTIFICATE, "a certificate policy extension is malformed", "reissue the certificate"),
  v("NO_EXPLICIT_POLICY", RC.GSK_ERROR_BAD_CERTIFICATE, "a required certificate policy is missing", "issue under the required policy"),
  v("PERMITTED_VIOLATION", RC.GSK_ERROR_BAD_CERTIFICATE, "a name is outside a CA's permitted name constraints", "issue the certificate from a CA allowed to certify that name"),
  v("EXCLUDED_VIOLATION", RC.GSK_ERROR_BAD_CERTIFICATE, "a name is in a CA's excluded name constraints", "issue the certificate from a CA allowed to certify that name"),
  v("SUBTREE_MINMAX", RC.GSK_ERROR_BAD_CERTIFICATE, "name constraints use minimum/maximum, which is not supported", "reissue the CA without min/max in its name constraints"),
  v("UNSUPPORTED_CONSTRAINT_TYPE", RC.GSK_ERROR_BAD_CERTIFICATE, "a name constraint of an unsupported type", "reissue the CA"),
  v("UNSUPPORTED_CONSTRAINT_SYNTAX", RC.GSK_ERROR_BAD_CERTIFICATE, "a name constraint with unsupported syntax", "reissue the CA"),
  v("UNSUPPORTED_NAME_SYNTAX", RC.GSK_ERROR_BAD_CERTIFICATE, "a name cannot be checked against the name constraints", "reissue the certificate"),
  v("EE_KEY_TOO_SMALL", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "the end-entity key is below the security level", WEAK_HINT),
  v("CA_KEY_TOO_SMALL", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "a CA key is below the security level", WEAK_HINT),
  v("CA_MD_TOO_WEAK", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "a certificate is signed with a digest below the security level (MD5, SHA-1)", WEAK_HINT),
  v("EC_KEY_EXPLICIT_PARAMS", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "an EC key uses explicit curve parameters instead of a named curve", "reissue with a named curve (P-256, P-384)"),
  v("HOSTNAME_MISMATCH", RC.GSKX_ERROR_PEER_NAME_MISMATCH, "OpenSSL's host-name check failed", "connect with the name the certificate was issued for, or reissue it with a SAN for that name"),
  v("IP_ADDRESS_MISMATCH", RC.GSKX_ERROR_PEER_NAME_MISMATCH, "OpenSSL's IP-address check failed", "connect with the address the certificate was issued for, or reissue it with an IP SAN for that address"),
  v("EMAIL_MISMATCH", RC.GSKX_ERROR_PEER_NAME_MISMATCH, "OpenSSL's e-mail check failed", "reissue the certificate with the expected e-mail SAN"),
  v("APPLICATION_VERIFICATION", RC.GSK_ERROR_CERT_VALIDATION, "the application's verification callback rejected the certificate", "see why the validation callback rejected it"),
  v("UNSPECIFIED", RC.GSK_ERROR_BAD_CERTIFICATE, "Node's name for every verify code it does not list (the strict-profile and extension checks of OpenSSL 3): a certificate OpenSSL considers malformed", "the error message carries OpenSSL's text; reissue the certificate so it passes OpenSSL's checks"),
  v("OUT_OF_MEM", RC.GSK_INSUFFICIENT_STORAGE, "OpenSSL ran out of memory during verification", "retry; check the process's memory"),
];

function a(alert: number, reason: string, gsk: number, why: string, hint: string): NodeErrorRow {
  return { nodeCode: `ERR_SSL_${reason.toUpperCase().replace(/ /g, "_")}`, gsk, source: "alert", alert, why, hint };
}

/**
 * Alerts received from the peer. `reason` is OpenSSL's reason text (`SSL_AD_REASON_OFFSET` +
 * alert); Node turns it into the code (`ERR_SSL_` + upper case, spaces to underscores). The peer
 * sent the alert about something of ours, so the hints are about our side.
 */
const ALERT_ROWS: NodeErrorRow[] = [
  a(10, "sslv3 alert unexpected message", RC.GSK_ERROR_BAD_MESSAGE, "the peer received a message it did not expect from us", "a protocol mismatch or a non-TLS peer; check both ends speak TLS on this port"),
  a(20, "sslv3 alert bad record mac", RC.GSK_ERROR_BAD_MAC, "the peer could not authenticate a record from us", "data was corrupted in transit (a middlebox?) or the connection was tampered with"),
  a(21, "tlsv1 alert decryption failed", RC.GSK_ERROR_BAD_MAC, "the peer could not decrypt a record from us", "data was corrupted in transit (a middlebox?)"),
  a(22, "tlsv1 alert record overflow", RC.GSK_ERROR_BAD_MESSAGE, "the peer received an over-long record from us", "a middlebox altered the stream, or a TLS implementation bug"),
  a(30, "sslv3 alert decompression failure", RC.GSK_ERROR_BAD_MESSAGE, "the peer could not decompress a record", "TLS compression is obsolete; turn it off on both ends"),
  a(40, "sslv3 alert handshake failure", RC.GSK_ERROR_NO_CIPHERS, "the peer found no acceptable parameters: usually no shared cipher suite, signature algorithm or group; a TLS 1.2 server also sends it when a required client certificate is missing", "compare the cipher suites, protocol versions and certificate key types of both ends; if the server requires a client certificate, configure one"),
  a(41, "sslv3 alert no certificate", RC.GSK_ERROR_NO_CERTIFICATE, "the peer wanted a certificate from us and got none (SSLv3 alert)", "configure a certificate for this side"),
  a(42, "sslv3 alert bad certificate", RC.GSK_ERROR_BAD_CERTIFICATE, "the peer refused our certificate as bad (wrong key usage, malformed, or a failed check it does not name)", "check our certificate's key usage and EKU for this side, and the peer's log for its reason"),
  a(43, "sslv3 alert unsupported certificate", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "the peer does not support our certificate's type or purpose (OpenSSL sends it for a wrong EKU)", "check our certificate's key type and extended key usage (serverAuth / clientAuth)"),
  a(44, "sslv3 alert certificate revoked", RC.GSK_IBMI_ERROR_CERTIFICATE_REVOKED, "the peer found our certificate revoked", "obtain a new certificate for this side"),
  a(45, "sslv3 alert certificate expired", RC.GSK_KEYFILE_CERT_EXPIRED, "the peer found our certificate (or a CRL it uses) expired", "renew our certificate, or check the peer's clock and CRLs"),
  a(46, "sslv3 alert certificate unknown", RC.GSK_ERROR_BAD_CERTIFICATE, "the peer refused our certificate for an unspecified reason", "check the peer's log for its reason"),
  a(47, "sslv3 alert illegal parameter", RC.GSK_ERROR_BAD_MESSAGE, "the peer found a field of our handshake out of range or inconsistent", "a TLS implementation incompatibility; check versions and extensions of both ends"),
  a(48, "tlsv1 alert unknown ca", RC.GSK_IBMI_ERROR_NOT_TRUSTED_ROOT, "the peer does not trust the CA that issued our certificate (or we sent no intermediate)", "send our full chain (intermediates) and have the peer add our root CA to its trust list"),
  a(49, "tlsv1 alert access denied", RC.GSK_ERROR_PERMISSION_DENIED, "the peer accepted our certificate but denies us access (access control)", "ask the peer's administrator to allow our identity"),
  a(50, "tlsv1 alert decode error", RC.GSK_ERROR_BAD_MESSAGE, "the peer could not decode a message from us", "a TLS implementation incompatibility or a corrupted stream"),
  a(51, "tlsv1 alert decrypt error", RC.GSK_ERROR_BAD_CERT_SIG, "the peer could not verify a signature of ours: a certificate signature in our chain, our handshake signature, or Finished", "check that our private key matches our certificate and that our chain's signatures verify (checkOwnIdentity)"),
  a(60, "tlsv1 alert export restriction", RC.GSK_ERROR_NO_CIPHERS, "the peer refuses an export-grade parameter", "enable modern cipher suites"),
  a(70, "tlsv1 alert protocol version", RC.GSK_ERROR_NO_CIPHERS, "the peer supports none of the protocol versions we offered", "enable a protocol version both ends support (TLS 1.2 and 1.3 by default)"),
  a(71, "tlsv1 alert insufficient security", RC.GSK_ERROR_NO_CIPHERS, "the peer requires stronger cipher suites than we offered", "enable stronger cipher suites"),
  a(80, "tlsv1 alert internal error", RC.GSK_ERROR_BAD_PEER, "the peer failed for a reason of its own, not related to our messages", "see the peer's log"),
  a(86, "tlsv1 alert inappropriate fallback", RC.GSK_ERROR_NO_CIPHERS, "the peer saw a version fallback it considers a downgrade attack", "do not retry with lower protocol versions; enable the peer's highest version"),
  a(90, "tlsv1 alert user cancelled", RC.GSK_ERROR_SSL_CLOSED, "the peer cancelled the handshake", "see why the peer's application cancelled"),
  a(100, "tlsv1 alert no renegotiation", RC.GSK_ERROR_UNSUPPORTED, "the peer refuses renegotiation", "do not renegotiate with this peer (GSK_RESET_CIPHER); open a new session instead"),
  a(109, "tlsv13 alert missing extension", RC.GSK_ERROR_BAD_MESSAGE, "the peer needed a TLS extension we did not send", "a TLS implementation incompatibility; check versions of both ends"),
  a(110, "tlsv1 unsupported extension", RC.GSK_ERROR_BAD_MESSAGE, "the peer received an extension it did not ask for", "a TLS implementation incompatibility"),
  a(111, "tlsv1 certificate unobtainable", RC.GSK_ERROR_NO_CERTIFICATE, "the peer could not obtain our certificate from a URL", "send the certificate itself"),
  a(112, "tlsv1 unrecognized name", RC.GSKX_ERROR_PEER_NAME_MISMATCH, "the server has no certificate for the SNI name we sent", "connect with a host name the server is configured for (GSK_SSL_EXTN_SERVERNAME_REQUEST / GSKX_PEER_NAME)"),
  a(113, "tlsv1 bad certificate status response", RC.GSK_ERROR_BAD_CERTIFICATE, "the peer refused our stapled OCSP response", "refresh or stop stapling the OCSP response"),
  a(114, "tlsv1 bad certificate hash value", RC.GSK_ERROR_BAD_CERTIFICATE, "the peer found a certificate hash mismatch", "resend the certificate"),
  a(115, "tlsv1 alert unknown psk identity", RC.GSK_ERROR_BAD_PEER, "the peer does not know our PSK identity", "check the pre-shared key configuration"),
  a(116, "tlsv13 alert certificate required", RC.GSK_ERROR_NO_CERTIFICATE, "the server requires a client certificate and we sent none", "configure a client certificate (an application ID with an assigned certificate, or GSK_KEYRING_LABEL)"),
  a(120, "tlsv1 alert no application protocol", RC.GSK_ERROR_NO_CIPHERS, "no ALPN protocol in common: like a missing shared cipher, the ends cannot agree on what to negotiate", "offer an ALPN protocol the peer supports"),
];

function o(nodeCode: string, gsk: number, why: string, hint: string, source: NodeErrorSource = "openssl"): NodeErrorRow {
  return { nodeCode, gsk, source, why, hint };
}

const SIGALG_HINT =
  "no certificate of ours fits the signature algorithms the peer accepts, or our private key does not match our certificate (an EC key with an RSA certificate passes context creation): check the pair with checkOwnIdentity";

/** Errors OpenSSL raises locally while handshaking or reading. */
const OPENSSL_ROWS: NodeErrorRow[] = [
  o("ERR_SSL_NO_SHARED_CIPHER", RC.GSK_ERROR_NO_CIPHERS, "no cipher suite is enabled on both ends (the client sees alert 40)", "enable a cipher suite both ends support, and a certificate whose key type suits it"),
  o("ERR_SSL_UNSUPPORTED_PROTOCOL", RC.GSK_ERROR_NO_CIPHERS, "the peer offered only protocol versions we do not enable (the client sees alert 70)", "enable a protocol version both ends support"),
  o("ERR_SSL_NO_PROTOCOLS_AVAILABLE", RC.GSK_ERROR_NO_CIPHERS, "no protocol version is enabled on our side", "enable TLS 1.2 and/or 1.3 (GSK_PROTOCOL_TLSV12 / GSK_PROTOCOL_TLSV13)"),
  o("ERR_SSL_NO_CIPHERS_AVAILABLE", RC.GSK_ERROR_NO_CIPHERS, "no cipher suite is enabled for the versions in use", "enable cipher suites for the protocol versions in use"),
  o("ERR_SSL_VERSION_TOO_LOW", RC.GSK_ERROR_NO_CIPHERS, "the peer's protocol version is below our minimum", "enable the peer's version, or upgrade the peer"),
  o("ERR_SSL_VERSION_TOO_HIGH", RC.GSK_ERROR_NO_CIPHERS, "the peer's protocol version is above our maximum", "enable the peer's version"),
  o("ERR_SSL_WRONG_SSL_VERSION", RC.GSK_ERROR_NO_CIPHERS, "the peer uses an unsupported protocol version", "enable a protocol version both ends support"),
  o("ERR_SSL_NO_SHARED_SIGNATURE_ALGORITHMS", RC.GSK_ERROR_NO_CIPHERS, "no signature algorithm is supported by both ends", "enable a common signature algorithm, or use a certificate with a key type both support"),
  o("ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM", RC.GSK_ERROR_NO_CIPHERS, "none of our certificates can sign with an algorithm the peer accepts", SIGALG_HINT),
  o("ERR_SSL_NO_SUITABLE_KEY_SHARE", RC.GSK_ERROR_NO_CIPHERS, "no key-exchange group in common", "enable a common group (X25519, P-256)"),
  o("ERR_SSL_NO_SHARED_GROUPS", RC.GSK_ERROR_NO_CIPHERS, "no key-exchange group in common", "enable a common group (X25519, P-256)"),
  o("ERR_SSL_NO_SUITABLE_GROUPS", RC.GSK_ERROR_NO_CIPHERS, "no usable key-exchange group is enabled", "enable a common group (X25519, P-256)"),
  o("ERR_SSL_INAPPROPRIATE_FALLBACK", RC.GSK_ERROR_NO_CIPHERS, "the client signalled a version fallback we consider a downgrade", "the client should not retry with lower versions"),
  o("ERR_SSL_NO_APPLICATION_PROTOCOL", RC.GSK_ERROR_NO_CIPHERS, "no ALPN protocol in common (the client sees alert 120)", "offer an ALPN protocol the peer supports"),
  o("ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", RC.GSK_ERROR_NO_CERTIFICATE, "a client certificate is required and the client sent none", "configure a certificate on the client, or make client authentication optional"),
  o("ERR_SSL_WRONG_VERSION_NUMBER", RC.GSK_ERROR_BAD_MESSAGE, "the bytes received are not a TLS record: usually a plaintext peer, or TLS spoken to a non-TLS port", "check that both ends speak TLS on this port (not plaintext, not a proxy)"),
  o("ERR_SSL_HTTP_REQUEST", RC.GSK_ERROR_BAD_MESSAGE, "the peer sent a plaintext HTTP request to a TLS port", "the client must use TLS (https://) on this port"),
  o("ERR_SSL_HTTPS_PROXY_REQUEST", RC.GSK_ERROR_BAD_MESSAGE, "the peer sent an HTTP CONNECT request to a TLS port", "point the client at the server, not at it as a proxy"),
  o("ERR_SSL_PACKET_LENGTH_TOO_LONG", RC.GSK_ERROR_BAD_MESSAGE, "a record header announced an impossible length: not TLS, or a corrupted stream", "check that both ends speak TLS on this port"),
  o("ERR_SSL_RECORD_LENGTH_MISMATCH", RC.GSK_ERROR_BAD_MESSAGE, "a record's length is inconsistent", "a corrupted stream or a non-TLS peer"),
  o("ERR_SSL_ENCRYPTED_LENGTH_TOO_LONG", RC.GSK_ERROR_BAD_MESSAGE, "an encrypted record exceeds the maximum size (record overflow)", "a corrupted stream or a non-conforming peer"),
  o("ERR_SSL_DATA_LENGTH_TOO_LONG", RC.GSK_ERROR_BAD_MESSAGE, "a record's data exceeds the maximum size (record overflow)", "a corrupted stream or a non-conforming peer"),
  o("ERR_SSL_EXCESSIVE_MESSAGE_SIZE", RC.GSK_ERROR_BAD_MESSAGE, "a handshake message exceeds the allowed size (a huge certificate chain?)", "shorten the peer's certificate chain"),
  o("ERR_SSL_UNEXPECTED_MESSAGE", RC.GSK_ERROR_BAD_MESSAGE, "the peer sent a handshake message out of order", "a TLS implementation incompatibility"),
  o("ERR_SSL_UNEXPECTED_RECORD", RC.GSK_ERROR_BAD_MESSAGE, "the peer sent a record of the wrong type at this point", "a TLS implementation incompatibility"),
  o("ERR_SSL_BAD_PACKET_LENGTH", RC.GSK_ERROR_BAD_MESSAGE, "a record has a bad length", "a corrupted stream or a non-TLS peer"),
  o("ERR_SSL_LENGTH_MISMATCH", RC.GSK_ERROR_BAD_MESSAGE, "a handshake message length is inconsistent", "a TLS implementation incompatibility"),
  o("ERR_SSL_BAD_EXTENSION", RC.GSK_ERROR_BAD_MESSAGE, "the peer sent a malformed extension", "a TLS implementation incompatibility"),
  o("ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC", RC.GSK_ERROR_BAD_MAC, "a record failed authentication", "data was corrupted or tampered with in transit"),
  o("ERR_SSL_DECRYPTION_FAILED", RC.GSK_ERROR_BAD_MAC, "a record could not be decrypted", "data was corrupted or tampered with in transit"),
  o("ERR_SSL_CIPHER_OPERATION_FAILED", RC.GSK_ERROR_BAD_MAC, "a record failed decryption: OpenSSL 3.0 reports a TLS 1.2 AES-GCM record whose tag does not verify this way", "data was corrupted or tampered with in transit"),
  o("ERR_SSL_BAD_SIGNATURE", RC.GSK_ERROR_BAD_PEER, "the peer's handshake signature does not verify: its key does not match its certificate", "the peer's private key does not match its certificate; fix the peer's configuration"),
  o("ERR_SSL_CERTIFICATE_VERIFY_FAILED", RC.GSK_ERROR_BAD_CERTIFICATE, "OpenSSL's own verification refused the peer certificate without a verify code reaching us", "read the verify code (authorizationError) for the precise reason"),
  o("ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED", RC.GSK_ERROR_NO_RI_INDICATION, "the peer does not support secure renegotiation (RFC 5746)", "upgrade the peer"),
  o("ERR_SSL_UNEXPECTED_EOF_WHILE_READING", RC.GSK_ERROR_SOCKET_CLOSED, "the peer closed TCP without close_notify in the middle of TLS", "see why the peer closed: often it refused the handshake without an alert"),
  o("ERR_SSL_SESSION_ID_CONTEXT_UNINITIALIZED", RC.GSK_INTERNAL_ERROR, "a server context with client authentication has no session ID context, so resumption fails (the client sees alert 80)", "set sessionIdContext on server contexts"),
  o("ERR_SSL_EE_KEY_TOO_SMALL", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "our certificate's key is below the security level", WEAK_HINT),
  o("ERR_SSL_CA_KEY_TOO_SMALL", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "a CA key in our chain is below the security level", WEAK_HINT),
  o("ERR_SSL_CA_MD_TOO_WEAK", RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, "a certificate in our chain is signed with a weak digest", WEAK_HINT),
  o("ERR_OSSL_X509_KEY_VALUES_MISMATCH", RC.GSK_ERROR_BAD_CERTIFICATE, "the private key does not match the certificate", "pair the certificate with its own private key"),
];

/** Errors node:tls itself raises. */
const NODE_ROWS: NodeErrorRow[] = [
  o("ERR_TLS_CERT_ALTNAME_INVALID", RC.GSKX_ERROR_PEER_NAME_MISMATCH, "node:tls's checkServerIdentity found the host name or IP not in the certificate's SANs", "connect with the name the certificate was issued for, or reissue it with a SAN for that name", "node"),
  o("ERR_TLS_CERT_ALTNAME_FORMAT", RC.GSK_ERROR_BAD_CERTIFICATE, "the certificate's subjectAltName cannot be parsed safely", "reissue the certificate with well-formed SANs", "node"),
  o("ERR_TLS_HANDSHAKE_TIMEOUT", RC.GSK_IBMI_ERROR_TIMED_OUT, "the handshake did not finish within the handshake timeout", "check that the peer speaks TLS on this port and is responsive; raise GSK_HANDSHAKE_TIMEOUT if the network is slow", "node"),
  o("ERR_TLS_INVALID_PROTOCOL_VERSION", RC.GSK_ERROR_UNSUPPORTED, "a protocol version setting is not one node:tls knows", "use TLS 1.2 or 1.3", "node"),
  o("ERR_TLS_PROTOCOL_VERSION_CONFLICT", RC.GSK_ERROR_UNSUPPORTED, "the protocol version settings contradict each other", "check the GSK_PROTOCOL_* settings", "node"),
  o("ERR_TLS_RENEGOTIATION_DISABLED", RC.GSK_ERROR_UNSUPPORTED, "renegotiation is not available on this connection (TLS 1.3 has none)", "open a new session instead of renegotiating", "node"),
  o("ERR_TLS_SESSION_ATTACK", RC.GSK_ERROR_BAD_PEER, "the peer requested renegotiation too often", "the peer may be hostile; the connection was closed", "node"),
];

function s(nodeCode: string, gsk: number, why: string, hint: string): NodeErrorRow {
  return { nodeCode, gsk, source: "socket", why, hint };
}

const PEER_GONE_HINT =
  "the peer closed the connection; if it happened right after our certificate was sent, the peer most likely refused it (its log says why)";

/** Socket and stream errors. */
const SOCKET_ROWS: NodeErrorRow[] = [
  s("ECONNRESET", RC.GSK_ERROR_IO, "the peer reset the TCP connection (node:tls's 'socket hang up': a Node server rejecting a certificate looks like this)", PEER_GONE_HINT),
  s("EPIPE", RC.GSK_ERROR_IO, "we wrote to a connection the peer had closed", PEER_GONE_HINT),
  s("ETIMEDOUT", RC.GSK_ERROR_IO, "the TCP connection timed out (the operating system's timer, not GSK_HANDSHAKE_TIMEOUT)", "check the network path to the peer"),
  s("ECONNREFUSED", RC.GSK_ERROR_IO, "nothing listens on the peer's port", "check the host and port, and that the server runs"),
  s("ECONNABORTED", RC.GSK_ERROR_IO, "the connection was aborted locally", "check the network and the local system"),
  s("EHOSTUNREACH", RC.GSK_ERROR_IO, "no route to the peer's host", "check the network path to the peer"),
  s("ENETUNREACH", RC.GSK_ERROR_IO, "the peer's network is unreachable", "check the network path to the peer"),
  s("ENOTCONN", RC.GSK_ERROR_SOCKET_CLOSED, "the socket is not connected", "connect the socket before starting TLS"),
  s("EBADF", RC.GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR, "the file descriptor is not a valid open socket", "pass a connected socket or an inherited descriptor that is open (GSK_FD)"),
  s("ERR_STREAM_DESTROYED", RC.GSK_ERROR_SOCKET_CLOSED, "the socket was already destroyed when we used it", "do not use the session after the socket has been closed"),
  s("ERR_SOCKET_CLOSED", RC.GSK_ERROR_SOCKET_CLOSED, "the socket was already closed", "do not use the session after the socket has been closed"),
  s("ERR_STREAM_WRITE_AFTER_END", RC.GSK_ERROR_SOCKET_CLOSED, "a write after the stream was ended", "do not write after gsk_secure_soc_close or after the peer closed"),
  s("ERR_STREAM_PREMATURE_CLOSE", RC.GSK_ERROR_SOCKET_CLOSED, "the stream closed before it finished", PEER_GONE_HINT),
];

/** The whole table, one row per Node code. Docs are generated from it. */
export const NODE_ERROR_TABLE: readonly NodeErrorRow[] = Object.freeze([...VERIFY_ROWS, ...ALERT_ROWS, ...OPENSSL_ROWS, ...NODE_ROWS, ...SOCKET_ROWS]);

const byNodeCode = new Map<string, NodeErrorRow>(NODE_ERROR_TABLE.map((r) => [r.nodeCode, r]));
const byAlert = new Map<number, NodeErrorRow>(ALERT_ROWS.map((r) => [r.alert!, r]));

/** The row for a Node code, if the table has one. */
export function nodeErrorRow(nodeCode: string): NodeErrorRow | undefined {
  return byNodeCode.get(nodeCode);
}

/**
 * An X509 verify code (`authorizationError`, or `err.code` of a verify failure) → GSK code and
 * fix. Unknown codes give `GSK_ERROR_BAD_CERTIFICATE` (404); see the module comment for why.
 */
export function mapVerifyCode(code: string): { code: number; hint: string } {
  const row = byNodeCode.get(code);
  if (row) return { code: row.gsk, hint: row.hint };
  return {
    code: RC.GSK_ERROR_BAD_CERTIFICATE,
    hint: `OpenSSL refused the certificate with ${code}, a reason this library does not map; look it up in OpenSSL's verify documentation`,
  };
}

/**
 * The TLS alert number a Node error reports having received, from its code
 * (`ERR_SSL_TLSV1_ALERT_UNKNOWN_CA` → 48, `ERR_SSL_SSLV3_ALERT_*`, `ERR_SSL_TLSV13_ALERT_*`) or,
 * for alerts the table does not name, from OpenSSL's "SSL alert number N" in the message.
 */
export function alertFromError(err: unknown): number | undefined {
  const code = codeOf(err);
  if (code !== undefined) {
    const row = byNodeCode.get(code);
    if (row?.alert !== undefined) return row.alert;
  }
  const message = typeof err === "object" && err !== null ? (err as { message?: unknown }).message : undefined;
  if (typeof message === "string") {
    const m = /SSL alert number (\d+)/.exec(message);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * Any error node:tls or the socket gave → GSK code, fix, the Node code and the alert received.
 * A `GskError` passes through with its own code. Fallbacks are in the module comment.
 */
export function mapNodeError(err: unknown): MappedError {
  if (isGskError(err)) {
    return { code: err.code, hint: "", ...(err.nodeCode !== undefined ? { nodeCode: err.nodeCode } : {}) };
  }
  const code = codeOf(err);
  const alert = alertFromError(err);
  const found = (code !== undefined ? byNodeCode.get(code) : undefined) ?? (alert !== undefined ? byAlert.get(alert) : undefined) ?? byReason(err);
  const withCode = code !== undefined ? { nodeCode: code } : {};
  const withAlert = alert !== undefined ? { alert } : {};
  if (found) return { code: found.gsk, hint: found.hint, why: found.why, ...withCode, ...withAlert };
  if (alert !== undefined) {
    return { code: RC.GSK_ERROR_BAD_PEER, hint: `the peer ended the handshake with TLS alert ${String(alert)}; see the peer's log`, ...withCode, alert };
  }
  if (isSocketish(err, code)) {
    return { code: RC.GSK_ERROR_IO, hint: "a network error; the Node code says which", ...withCode };
  }
  return { code: RC.GSK_INTERNAL_ERROR, hint: "an error this library does not map; the Node code and message say more", ...withCode };
}

function codeOf(err: unknown): string | undefined {
  if (typeof err === "string") return err;
  if (typeof err === "object" && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** Node sets `reason` (OpenSSL's text) on SSL errors; EPROTO-wrapped ones carry no better code. */
function byReason(err: unknown): NodeErrorRow | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason !== "string") return undefined;
  return byNodeCode.get(`ERR_SSL_${reason.toUpperCase().replace(/ /g, "_")}`);
}

function isSocketish(err: unknown, code: string | undefined): boolean {
  if (code !== undefined && (/^E[A-Z0-9]+$/.test(code) || code.startsWith("ERR_SOCKET_") || code.startsWith("ERR_STREAM_"))) return true;
  return typeof err === "object" && err !== null && typeof (err as { syscall?: unknown }).syscall === "string";
}
