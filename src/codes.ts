/**
 * THE return-code table: every GSKit return code this library knows, with its IBM i name, its
 * category and the text `gsk_strerror` returns. No other source file holds a return-code number;
 * the exported `GSK_*` constants, `gsk_strerror` and `docs/return-codes.md` are all derived from
 * this table.
 *
 * Numbering follows IBM i System SSL (QSYSINC/H.GSKSSL; IBM i 7.2 "Secure socket API error code
 * messages", ibm.com/docs/ssw_ibm_i_72/rzab6/ssltrouble.htm). Distributed GSKit shares 0–12 and
 * 1xx–3xx; z/OS System SSL numbers differently above 100 and is not used here.
 *
 * Rows with `ibmi: true` are IBM i–specific: their `name` is a suffix exported under the three
 * spellings IBM has used, `GSK_IBMI_`, `GSK_OS400_` and `GSK_AS400_`, with equal values.
 * Rows with `project: true` are this library's own extensions (`GSKX_*`): IBM has no code for them.
 *
 * IBM publishes message-file texts for only a few codes; the others are the meaning given on
 * IBM's API pages, or the constant's own wording where IBM gives none.
 */

/** Who is at fault, after rustls's split: decides how callers and logs treat a code. */
export type GskCategory = "ok" | "api" | "config" | "certificate" | "peer" | "io" | "internal" | "async";

export interface ReturnCodeRow {
  readonly code: number;
  readonly name: string;
  readonly category: GskCategory;
  readonly text: string;
  readonly ibmi?: true;
  readonly project?: true;
}

export const RETURN_CODES = [
  { code: 0, name: "GSK_OK", category: "ok", text: "The operation completed successfully." },
  { code: 1, name: "GSK_INVALID_HANDLE", category: "api", text: "The handle is not valid: not a GSKit handle, already closed, or of the wrong kind (environment versus session)." },
  { code: 2, name: "GSK_API_NOT_AVAILABLE", category: "internal", text: "The API is not available." },
  { code: 3, name: "GSK_INTERNAL_ERROR", category: "internal", text: "An internal error occurred." },
  { code: 4, name: "GSK_INSUFFICIENT_STORAGE", category: "internal", text: "Insufficient storage is available to complete the operation." },
  { code: 5, name: "GSK_INVALID_STATE", category: "api", text: "Operation which is not valid for the current state of the environment or session." },
  { code: 6, name: "GSK_KEY_LABEL_NOT_FOUND", category: "config", text: "The specified key label was not found in the key file." },
  { code: 7, name: "GSK_CERTIFICATE_NOT_AVAILABLE", category: "certificate", text: "The certificate was not received from the partner." },
  { code: 8, name: "GSK_ERROR_CERT_VALIDATION", category: "certificate", text: "Certificate validation error: the validation callback rejected the certificate." },
  { code: 9, name: "GSK_ERROR_CRYPTO", category: "internal", text: "A cryptographic error occurred." },
  { code: 10, name: "GSK_ERROR_ASN", category: "config", text: "An ASN.1 encoding or decoding error occurred." },
  { code: 11, name: "GSK_ERROR_LDAP", category: "config", text: "An LDAP error occurred." },
  { code: 12, name: "GSK_ERROR_UNKNOWN_ERROR", category: "internal", text: "An unknown error occurred." },
  { code: 13, name: "GSK_INVALID_PARAMETER", category: "api", text: "A parameter value is not valid." },
  { code: 101, name: "GSK_OPEN_CIPHER_ERROR", category: "internal", text: "An error occurred opening the cipher." },
  { code: 102, name: "GSK_KEYFILE_IO_ERROR", category: "config", text: "An I/O error occurred reading the key file." },
  { code: 103, name: "GSK_KEYFILE_INVALID_FORMAT", category: "config", text: "The key file does not have a valid internal format." },
  { code: 104, name: "GSK_KEYFILE_DUPLICATE_KEY", category: "config", text: "The key file has two entries with the same key." },
  { code: 105, name: "GSK_KEYFILE_DUPLICATE_LABEL", category: "config", text: "The key file has two entries with the same label." },
  { code: 106, name: "GSK_BAD_FORMAT_OR_INVALID_PASSWORD", category: "config", text: "The key file is corrupted or the password is not correct." },
  { code: 107, name: "GSK_KEYFILE_CERT_EXPIRED", category: "certificate", text: "The certificate is expired or not yet valid." },
  { code: 108, name: "GSK_ERROR_LOAD_GSKLIB", category: "internal", text: "An error occurred loading a GSKit library." },
  { code: 109, name: "GSK_PENDING_CLOSE_ERROR", category: "api", text: "A delayed environment close is pending: no new sessions may start." },
  { code: 201, name: "GSK_NO_KEYFILE_PASSWORD", category: "config", text: "Neither the password nor the stash-file name was specified." },
  { code: 202, name: "GSK_KEYRING_OPEN_ERROR", category: "config", text: "The certificate store could not be opened: the file is missing, unreadable or not a key store." },
  { code: 203, name: "GSK_RSA_TEMP_KEY_PAIR", category: "internal", text: "An RSA temporary key pair could not be created." },
  { code: 204, name: "GSK_ERROR_LDAP_NO_SUCH_OBJECT", category: "config", text: "The LDAP object does not exist." },
  { code: 205, name: "GSK_ERROR_LDAP_INVALID_CREDENTIALS", category: "config", text: "The LDAP credentials are not valid." },
  { code: 206, name: "GSK_ERROR_BAD_INDEX", category: "api", text: "The index is not valid." },
  { code: 207, name: "GSK_ERROR_FIPS_NO_SUPPORTED", category: "config", text: "FIPS mode is not supported." },
  { code: 301, name: "GSK_CLOSE_FAILED", category: "io", text: "The close operation failed." },
  { code: 401, name: "GSK_ERROR_BAD_DATE", category: "certificate", text: "The certificate date is not valid." },
  { code: 402, name: "GSK_ERROR_NO_CIPHERS", category: "peer", text: "No cipher suite or protocol version is shared with the peer (or none is enabled)." },
  { code: 403, name: "GSK_ERROR_NO_CERTIFICATE", category: "certificate", text: "No certificate is available for TLS processing." },
  { code: 404, name: "GSK_ERROR_BAD_CERTIFICATE", category: "certificate", text: "The certificate is bad: wrong key usage or extended key usage, not usable for this purpose, or malformed." },
  { code: 405, name: "GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE", category: "certificate", text: "The certificate type or signature algorithm is not supported." },
  { code: 406, name: "GSK_ERROR_IO", category: "io", text: "An I/O error occurred on the socket; the underlying error code (errno) says which." },
  { code: 407, name: "GSK_ERROR_BAD_KEYFILE_LABEL", category: "config", text: "The certificate label is not valid or not found in the key store." },
  { code: 408, name: "GSK_ERROR_BAD_KEYFILE_PASSWORD", category: "config", text: "The key store password is not correct (or the key store is damaged)." },
  { code: 409, name: "GSK_ERROR_BAD_KEY_LEN_FOR_EXPORT", category: "config", text: "The key length is not valid for export." },
  { code: 410, name: "GSK_ERROR_BAD_MESSAGE", category: "peer", text: "A badly formatted message was received from the peer." },
  { code: 411, name: "GSK_ERROR_BAD_MAC", category: "peer", text: "A message with a bad MAC was received from the peer." },
  { code: 412, name: "GSK_ERROR_UNSUPPORTED", category: "config", text: "The operation or value is not supported." },
  { code: 413, name: "GSK_ERROR_BAD_CERT_SIG", category: "certificate", text: "The certificate signature is not valid." },
  { code: 414, name: "GSK_ERROR_BAD_CERT", category: "certificate", text: "The certificate is bad." },
  { code: 415, name: "GSK_ERROR_BAD_PEER", category: "peer", text: "The peer violated the protocol." },
  { code: 416, name: "GSK_ERROR_PERMISSION_DENIED", category: "config", text: "Permission was denied." },
  { code: 417, name: "GSK_ERROR_SELF_SIGNED", category: "certificate", text: "The peer's certificate is self-signed and not in the trust list." },
  { code: 418, name: "GSK_ERROR_NO_READ_FUNCTION", category: "api", text: "No read function is available." },
  { code: 419, name: "GSK_ERROR_NO_WRITE_FUNCTION", category: "api", text: "No write function is available." },
  { code: 420, name: "GSK_ERROR_SOCKET_CLOSED", category: "io", text: "The socket was closed." },
  { code: 421, name: "GSK_ERROR_BAD_V2_CIPHER", category: "config", text: "The SSLv2 cipher specification is not valid." },
  { code: 422, name: "GSK_ERROR_BAD_V3_CIPHER", category: "config", text: "The cipher specification is not valid: an unknown cipher name or code." },
  { code: 423, name: "GSK_ERROR_BAD_SEC_TYPE", category: "config", text: "The security type is not valid." },
  { code: 424, name: "GSK_ERROR_BAD_SEC_TYPE_COMBINATION", category: "config", text: "The combination of security types is not valid." },
  { code: 425, name: "GSK_ERROR_HANDLE_CREATION_FAILED", category: "internal", text: "The handle could not be created." },
  { code: 426, name: "GSK_ERROR_INITIALIZATION_FAILED", category: "internal", text: "Initialization failed." },
  { code: 427, name: "GSK_ERROR_LDAP_NOT_AVAILABLE", category: "config", text: "The LDAP server is not available." },
  { code: 428, name: "GSK_ERROR_NO_PRIVATE_KEY", category: "config", text: "The certificate has no private key in the key store." },
  { code: 429, name: "GSK_ERROR_PKCS11_LIBRARY_NOTLOADED", category: "config", text: "The PKCS#11 library could not be loaded." },
  { code: 430, name: "GSK_ERROR_PKCS11_TOKEN_LABELMISMATCH", category: "config", text: "The PKCS#11 token label does not match." },
  { code: 431, name: "GSK_ERROR_PKCS11_TOKEN_NOTPRESENT", category: "config", text: "The PKCS#11 token is not present." },
  { code: 432, name: "GSK_ERROR_PKCS11_TOKEN_BADPASSWORD", category: "config", text: "The PKCS#11 token password is not correct." },
  { code: 433, name: "GSK_ERROR_INVALID_V2_HEADER", category: "peer", text: "The SSLv2 header is not valid." },
  { code: 434, name: "GSK_CSP_OPEN_ERROR", category: "config", text: "The cryptographic service provider could not be opened." },
  { code: 435, name: "GSK_CONFLICTING_ATTRIBUTE_SETTING", category: "api", text: "Attribute settings conflict." },
  { code: 436, name: "GSK_UNSUPPORTED_PLATFORM", category: "config", text: "The platform is not supported." },
  { code: 437, name: "GSK_PEERID_NOT_SET_ERROR", category: "api", text: "The peer ID is not set." },
  { code: 438, name: "GSK_ERROR_INCORRECT_SESSION_TYPE", category: "api", text: "The operation is not valid for this session type." },
  { code: 439, name: "GSK_ERROR_BAD_TLSV11_CIPHER", category: "config", text: "The TLS 1.1 cipher specification is not valid." },
  { code: 440, name: "GSK_ERROR_PKCS11_DEVICE", category: "config", text: "A PKCS#11 device error occurred." },
  { code: 441, name: "GSK_ERROR_PKCS11_DEVICE_SEVERE", category: "config", text: "A severe PKCS#11 device error occurred." },
  { code: 442, name: "GSK_ERROR_EMPTY_DATA_SEGMENT", category: "peer", text: "An empty data segment was received." },
  { code: 443, name: "GSK_ERROR_NO_RI_INDICATION", category: "peer", text: "The peer gave no renegotiation-indication extension." },
  { code: 444, name: "GSK_ERROR_SEQNUM_EXHAUSTED", category: "peer", text: "The record sequence numbers are exhausted." },
  { code: 501, name: "GSK_INVALID_BUFFER_SIZE", category: "api", text: "The buffer size is not valid: less than 1, not an integer, or larger than the buffer." },
  { code: 502, name: "GSK_WOULD_BLOCK", category: "io", text: "The operation would block." },
  { code: 503, name: "GSK_ERROR_SSL_CLOSED", category: "io", text: "The TLS session is closed." },
  { code: 601, name: "GSK_ERROR_NOT_SSLV3", category: "api", text: "The operation needs an SSLv3 or TLS session." },
  { code: 602, name: "GSK_MISC_INVALID_ID", category: "api", text: "The gsk_secure_soc_misc identifier is not valid." },
  { code: 701, name: "GSK_ATTRIBUTE_INVALID_ID", category: "api", text: "The attribute identifier is not valid, not supported, or not of the kind this call takes." },
  { code: 702, name: "GSK_ATTRIBUTE_INVALID_LENGTH", category: "api", text: "The attribute length is not valid." },
  { code: 703, name: "GSK_ATTRIBUTE_INVALID_ENUMERATION", category: "api", text: "The enumeration value is not valid for this attribute." },
  { code: 704, name: "GSK_ATTRIBUTE_INVALID_SID_CACHE", category: "api", text: "The session-ID cache attribute is not valid." },
  { code: 705, name: "GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE", category: "api", text: "The numeric value is out of range for this attribute." },
  { code: 706, name: "GSK_CONFLICTING_VALIDATION_SETTING", category: "api", text: "The validation settings conflict (authentication type versus validation callback)." },
  { code: 707, name: "GSK_AES_UNSUPPORTED", category: "config", text: "AES is not supported." },
  { code: 708, name: "GSK_PEERID_LENGTH_ERROR", category: "api", text: "The peer ID length is not valid." },
  { code: 709, name: "GSK_FIPS_CIPHER_INVALID_WHEN_FIPS_MODE_OFF", category: "config", text: "The cipher is valid only when FIPS mode is on." },
  { code: 710, name: "GSK_CIPHER_INVALID_WHEN_FIPS_MODE_ON", category: "config", text: "The cipher is not valid when FIPS mode is on." },
  { code: 711, name: "GSK_CIPHER_INVALID_WHEN_SUITEB_MODE_ON", category: "config", text: "The cipher is not valid when Suite B mode is on." },
  { code: 1501, name: "GSK_SC_OK", category: "ok", text: "Certificate prompt: OK." },
  { code: 1502, name: "GSK_SC_CANCEL", category: "ok", text: "Certificate prompt: cancelled." },
  { code: 1601, name: "GSK_TRACE_STARTED", category: "ok", text: "Tracing started." },
  { code: 1602, name: "GSK_TRACE_STOPPED", category: "ok", text: "Tracing stopped." },
  { code: 1603, name: "GSK_TRACE_NOT_STARTED", category: "api", text: "Tracing is not started." },
  { code: 1604, name: "GSK_TRACE_ALREADY_STARTED", category: "api", text: "Tracing is already started." },
  { code: 1605, name: "GSK_TRACE_OPEN_FAILED", category: "config", text: "The trace file could not be opened." },
  { code: 6000, name: "ERROR_NOT_TRUSTED_ROOT", ibmi: true, category: "certificate", text: "The certificate is not signed by a trusted certificate authority: unknown issuer, missing intermediate or untrusted root." },
  { code: 6001, name: "ERROR_PASSWORD_EXPIRED", ibmi: true, category: "config", text: "The certificate store password has expired." },
  { code: 6002, name: "ERROR_NOT_REGISTERED", ibmi: true, category: "config", text: "The application ID is not registered in the application registry." },
  { code: 6003, name: "ERROR_NO_ACCESS", ibmi: true, category: "config", text: "Access to the key database is not allowed" },
  { code: 6004, name: "ERROR_CLOSED", ibmi: true, category: "io", text: "The session was closed by another operation." },
  { code: 6005, name: "ERROR_NO_CERTIFICATE_AUTHORITIES", ibmi: true, category: "config", text: "No certificate authorities are available." },
  { code: 6007, name: "ERROR_NO_INITIALIZE", ibmi: true, category: "api", text: "The environment or session is not initialized." },
  { code: 6008, name: "ERROR_ALREADY_SECURE", ibmi: true, category: "api", text: "The socket is already secured by another session." },
  { code: 6009, name: "ERROR_NOT_TCP", ibmi: true, category: "api", text: "The socket is not a connected TCP socket." },
  { code: 6010, name: "ERROR_INVALID_POINTER", ibmi: true, category: "api", text: "A pointer argument is not valid: an out-parameter box or data buffer is missing or of the wrong type." },
  { code: 6011, name: "ERROR_TIMED_OUT", ibmi: true, category: "io", text: "The operation timed out (handshake timeout or read timeout)." },
  { code: 6012, name: "ASYNCHRONOUS_RECV", ibmi: true, category: "async", text: "The receive operation will complete asynchronously." },
  { code: 6013, name: "ASYNCHRONOUS_SEND", ibmi: true, category: "async", text: "The send operation will complete asynchronously." },
  { code: 6014, name: "ERROR_INVALID_OVERLAPPEDIO_T", ibmi: true, category: "api", text: "The Qso_OverlappedIO_t structure is not valid." },
  { code: 6015, name: "ERROR_INVALID_IOCOMPLETIONPORT", ibmi: true, category: "api", text: "The I/O completion port is not valid." },
  { code: 6016, name: "ERROR_BAD_SOCKET_DESCRIPTOR", ibmi: true, category: "api", text: "The socket descriptor specified within the gsk_handle was not valid." },
  { code: 6017, name: "ERROR_CERTIFICATE_REVOKED", ibmi: true, category: "certificate", text: "The certificate has been revoked by a CRL in force." },
  { code: 6018, name: "ERROR_CRL_INVALID", ibmi: true, category: "certificate", text: "A CRL in force is missing for an issuer in the chain, or is not usable." },
  { code: 6019, name: "ASYNCHRONOUS_SOC_INIT", ibmi: true, category: "async", text: "The handshake will complete asynchronously." },
  { code: 9001, name: "GSKX_ERROR_PEER_NAME_MISMATCH", project: true, category: "certificate", text: "The peer's certificate does not match the expected peer name." },
  { code: 9002, name: "GSKX_ERROR_PEER_REFUSED_CERTIFICATE", project: true, category: "peer", text: "The peer closed or reset the connection after receiving our certificate, before any data: it most likely refused it." },
] as const satisfies readonly ReturnCodeRow[];

type Row = (typeof RETURN_CODES)[number];
type IbmiRow = Extract<Row, { ibmi: true }>;
type PlainRow = Exclude<Row, { ibmi: true }>;

/** Every return-code constant name, IBM i rows under all three spellings. */
export type ReturnCodeConstants = { readonly [R in PlainRow as R["name"]]: R["code"] } & {
  readonly [R in IbmiRow as `GSK_IBMI_${R["name"]}` | `GSK_OS400_${R["name"]}` | `GSK_AS400_${R["name"]}`]: R["code"];
};

/** The IBM i prefixes, newest first: the first is the canonical spelling. */
export const IBMI_PREFIXES = ["GSK_IBMI_", "GSK_OS400_", "GSK_AS400_"] as const;

/** The exported names of a row (three for an IBM i row). */
export function constantNames(row: ReturnCodeRow): string[] {
  return row.ibmi ? IBMI_PREFIXES.map((p) => p + row.name) : [row.name];
}

/** Name -> code for every spelling; the core writes `RC.GSK_ERROR_NO_CERTIFICATE`. */
export const RC: ReturnCodeConstants = Object.freeze(
  Object.fromEntries(RETURN_CODES.flatMap((r) => constantNames(r).map((n) => [n, r.code]))),
) as ReturnCodeConstants;

const byCode = new Map<number, ReturnCodeRow>(RETURN_CODES.map((r) => [r.code, r]));

/** The row for a code, if the table has it. */
export function returnCodeRow(code: number): ReturnCodeRow | undefined {
  return byCode.get(code);
}

/** Canonical name of a code (`GSK_IBMI_` spelling for IBM i rows), or undefined. */
export function returnCodeName(code: number): string | undefined {
  const row = byCode.get(code);
  return row ? constantNames(row)[0] : undefined;
}

/** Text for any number: the table's text, else a fixed fallback that names the number. */
export function returnCodeText(code: number): string {
  const row = byCode.get(code);
  if (row) return row.text;
  return `Unknown GSKit return code ${String(code)}.`;
}
