/**
 * THE table of GSKit value constants that are not return codes or attribute IDs: enumeration
 * values (`GSK_CLIENT_SESSION` …), certificate-info element IDs, `gsk_secure_soc_misc` IDs,
 * validation-callback options and the asynchronous operation kinds. Values are IBM i's
 * (QSYSINC/H.GSKSSL as transcribed in `reference/gskit-api.md` §2.3–2.5); the exported
 * constants and `docs/constants.md` are generated from this table.
 *
 * `ibmi: true` rows are exported under `GSK_IBMI_`, `GSK_OS400_` and `GSK_AS400_` (the `name` is
 * the suffix). `project: true` marks values the project chose because IBM publishes none.
 */

export type ValueGroup =
  | "boolean"
  | "session-type"
  | "client-auth"
  | "server-auth"
  | "protocol-switch"
  | "protocol-used"
  | "sid"
  | "environment-close"
  | "cert-info"
  | "cert-data"
  | "misc"
  | "validation"
  | "async"
  | "null";

export interface ValueRow {
  readonly name: string;
  readonly value: number;
  readonly group: ValueGroup;
  readonly ibmi?: true;
  readonly project?: true;
  readonly text?: string;
}

export const VALUES = [
  { name: "GSK_FALSE", value: 0, group: "boolean" },
  { name: "GSK_TRUE", value: 1, group: "boolean" },
  { name: "GSK_NULL", value: 500, group: "null", text: "initial value of an enumeration that was never set" },

  { name: "GSK_CLIENT_SESSION", value: 507, group: "session-type", text: "client (default)" },
  { name: "GSK_SERVER_SESSION", value: 508, group: "session-type", text: "server, no client certificate asked for" },
  { name: "GSK_SERVER_SESSION_WITH_CL_AUTH", value: 509, group: "session-type", text: "server that asks for a client certificate" },
  { name: "GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL", value: 594, group: "session-type", text: "server that requires a client certificate" },

  { name: "GSK_CLIENT_AUTH_FULL", value: 503, group: "client-auth", text: "a client certificate that fails validation fails the handshake; no certificate still connects (validation code 403)" },
  { name: "GSK_CLIENT_AUTH_PASSTHRU", value: 505, group: "client-auth", text: "connects whatever the certificate; the application reads GSK_CERTIFICATE_VALIDATION_CODE" },
  { name: "CLIENT_AUTH_REQUIRED", value: 6995, group: "client-auth", ibmi: true, text: "no or bad client certificate fails the handshake" },

  { name: "GSK_SERVER_AUTH_FULL", value: 534, group: "server-auth", text: "the server certificate must validate (default)" },
  { name: "GSK_SERVER_AUTH_PASSTHRU", value: 535, group: "server-auth", text: "connects whatever the server certificate; the application reads GSK_CERTIFICATE_VALIDATION_CODE" },
  { name: "SERVER_AUTH_REQUIRED", value: 6994, group: "server-auth", ibmi: true, text: "treated as GSK_SERVER_AUTH_FULL" },

  { name: "GSK_PROTOCOL_SSLV2_ON", value: 510, group: "protocol-switch" },
  { name: "GSK_PROTOCOL_SSLV2_OFF", value: 511, group: "protocol-switch" },
  { name: "GSK_PROTOCOL_SSLV3_ON", value: 512, group: "protocol-switch" },
  { name: "GSK_PROTOCOL_SSLV3_OFF", value: 513, group: "protocol-switch" },
  { name: "GSK_PROTOCOL_TLSV1_ON", value: 518, group: "protocol-switch" },
  { name: "GSK_PROTOCOL_TLSV1_OFF", value: 519, group: "protocol-switch" },

  { name: "GSK_PROTOCOL_USED_SSLV2", value: 514, group: "protocol-used" },
  { name: "GSK_PROTOCOL_USED_SSLV3", value: 515, group: "protocol-used" },
  { name: "GSK_PROTOCOL_USED_TLSV1", value: 520, group: "protocol-used" },
  { name: "GSK_PROTOCOL_USED_TLSV11", value: 595, group: "protocol-used" },
  { name: "GSK_PROTOCOL_USED_TLSV12", value: 596, group: "protocol-used" },
  { name: "GSK_PROTOCOL_USED_TLSV13", value: 5000, group: "protocol-used" },

  { name: "GSK_SID_IS_FIRST", value: 516, group: "sid", text: "full handshake" },
  { name: "GSK_SID_NOT_FIRST", value: 517, group: "sid", text: "resumed session" },

  { name: "GSK_DELAYED_ENVIRONMENT_CLOSE", value: 536, group: "environment-close" },
  { name: "GSK_NORMAL_ENVIRONMENT_CLOSE", value: 537, group: "environment-close" },

  { name: "GSK_PARTNER_CERT_INFO", value: 700, group: "cert-info", text: "the peer's certificate (session handle)" },
  { name: "GSK_LOCAL_CERT_INFO", value: 701, group: "cert-info", text: "our own certificate (environment or session handle)" },

  { name: "CERT_BODY_DER", value: 600, group: "cert-data" },
  { name: "CERT_BODY_BASE64", value: 601, group: "cert-data" },
  { name: "CERT_SERIAL_NUMBER", value: 602, group: "cert-data" },
  { name: "CERT_COMMON_NAME", value: 610, group: "cert-data" },
  { name: "CERT_LOCALITY", value: 611, group: "cert-data" },
  { name: "CERT_STATE_OR_PROVINCE", value: 612, group: "cert-data" },
  { name: "CERT_COUNTRY", value: 613, group: "cert-data" },
  { name: "CERT_ORG", value: 614, group: "cert-data" },
  { name: "CERT_ORG_UNIT", value: 615, group: "cert-data" },
  { name: "CERT_DN_PRINTABLE", value: 616, group: "cert-data" },
  { name: "CERT_DN_DER", value: 617, group: "cert-data" },
  { name: "CERT_POSTAL_CODE", value: 618, group: "cert-data" },
  { name: "CERT_EMAIL", value: 619, group: "cert-data" },
  { name: "CERT_ISSUER_COMMON_NAME", value: 650, group: "cert-data" },
  { name: "CERT_ISSUER_LOCALITY", value: 651, group: "cert-data" },
  { name: "CERT_ISSUER_STATE_OR_PROVINCE", value: 652, group: "cert-data" },
  { name: "CERT_ISSUER_COUNTRY", value: 653, group: "cert-data" },
  { name: "CERT_ISSUER_ORG", value: 654, group: "cert-data" },
  { name: "CERT_ISSUER_ORG_UNIT", value: 655, group: "cert-data" },
  { name: "CERT_ISSUER_DN_PRINTABLE", value: 656, group: "cert-data" },
  { name: "CERT_ISSUER_DN_DER", value: 657, group: "cert-data" },
  { name: "CERT_ISSUER_POSTAL_CODE", value: 658, group: "cert-data" },
  { name: "CERT_ISSUER_EMAIL", value: 659, group: "cert-data" },
  { name: "CERT_VERSION", value: 660, group: "cert-data" },
  { name: "CERT_SIGNATURE_ALGORITHM", value: 661, group: "cert-data" },
  { name: "CERT_VALID_FROM", value: 662, group: "cert-data" },
  { name: "CERT_VALID_TO", value: 663, group: "cert-data" },
  { name: "CERT_PUBLIC_KEY_ALGORITHM", value: 664, group: "cert-data" },
  { name: "CERT_PUBLIC_KEY", value: 665, group: "cert-data" },
  { name: "CERT_PUBLIC_KEY_SIZE", value: 666, group: "cert-data" },
  { name: "CERT_FINGERPRINT_ALGORITHM", value: 667, group: "cert-data" },
  { name: "CERT_FINGERPRINT", value: 668, group: "cert-data" },
  { name: "CERT_ISSUER_UNIQUEID", value: 669, group: "cert-data" },
  { name: "CERT_SUBJECT_UNIQUEID", value: 670, group: "cert-data" },
  { name: "CERT_KEY_USAGE", value: 671, group: "cert-data" },
  { name: "CERT_SUBJECT_ALTERNATIVE_NAME_RFC822NAME", value: 672, group: "cert-data" },
  { name: "CERT_SUBJECT_ALTERNATIVE_NAME_DNSNAME", value: 673, group: "cert-data" },
  { name: "CERT_SUBJECT_ALTERNATIVE_NAME_DIRECTORYNAME", value: 674, group: "cert-data" },
  { name: "CERT_SUBJECT_ALTERNATIVE_NAME_URI", value: 675, group: "cert-data" },
  { name: "CERT_SUBJECT_ALTERNATIVE_NAME_IPADDRESS", value: 676, group: "cert-data" },
  { name: "CERT_CERTIFICATE_POLICY_POLICYIDENTIFIER", value: 677, group: "cert-data" },
  { name: "CERT_BASIC_CONSTRAINTS_CA", value: 678, group: "cert-data" },
  { name: "CERT_BASIC_CONSTRAINTS_PATH_LENGTH_CONSTRAINT", value: 679, group: "cert-data" },
  { name: "CERT_CRL_DISTRIBUTION_POINTS_DISTRIBUTIONPOINTNAME", value: 680, group: "cert-data" },
  { name: "CERT_VALID_FROM_EX", value: 681, group: "cert-data" },
  { name: "CERT_VALID_TO_EX", value: 682, group: "cert-data" },

  { name: "GSK_RESET_CIPHER", value: 100, group: "misc", text: "renegotiate keys (TLS 1.2: renegotiation; TLS 1.3: key update)" },
  { name: "GSK_RESET_SESSION", value: 101, group: "misc", text: "remove the session from the resumption cache" },
  { name: "GSK_RESET_CIPHER_WITHNEWSESSION", value: 103, group: "misc", text: "remove the session from the cache, then renegotiate (TLS 1.2 only)" },

  { name: "GSK_VALIDATION_SUCCESSFUL", value: 0, group: "validation" },
  { name: "GSK_NO_VALIDATION", value: 900, group: "validation", text: "the callback decides, even for a chain the library could not validate" },
  { name: "GSK_VALIDATION_REQUIRED", value: 901, group: "validation", text: "the library validates first; its failure stands" },
  { name: "GSK_CERTIFICATE_CHAIN_SENT_VIA_SSL", value: 950, group: "validation", text: "the callback gets the chain as the peer sent it" },
  { name: "GSK_COMPLETED_CERTIFICATE_CHAIN", value: 951, group: "validation", text: "the callback gets the chain completed up to the trust anchor" },
  { name: "GSK_END_ENTITY_CERTIFICATE", value: 952, group: "validation", text: "the callback gets the peer's certificate only" },

  { name: "GSKSECURESOCSTARTINIT", value: 1, group: "async", project: true, text: "Qso_OverlappedIO_t.operationCompleted after gsk_secure_soc_startInit" },
  { name: "GSKSECURESOCSTARTRECV", value: 2, group: "async", project: true, text: "… after gsk_secure_soc_startRecv" },
  { name: "GSKSECURESOCSTARTSEND", value: 3, group: "async", project: true, text: "… after gsk_secure_soc_startSend" },
] as const satisfies readonly ValueRow[];

type Row = (typeof VALUES)[number];
type IbmiRow = Extract<Row, { ibmi: true }>;
type PlainRow = Exclude<Row, { ibmi: true }>;

export type ValueConstants = { readonly [R in PlainRow as R["name"]]: R["value"] } & {
  readonly [R in IbmiRow as `GSK_IBMI_${R["name"]}` | `GSK_OS400_${R["name"]}` | `GSK_AS400_${R["name"]}`]: R["value"];
};

const PREFIXES = ["GSK_IBMI_", "GSK_OS400_", "GSK_AS400_"] as const;

export function valueConstantNames(row: ValueRow): string[] {
  return row.ibmi ? PREFIXES.map((p) => p + row.name) : [row.name];
}

/** Name -> value for every spelling: `V.GSK_CLIENT_SESSION`. */
export const V: ValueConstants = Object.freeze(
  Object.fromEntries(VALUES.flatMap((r) => valueConstantNames(r).map((n) => [n, r.value]))),
) as ValueConstants;

/** Canonical name of a value within a group, for messages and docs. */
export function valueName(group: ValueGroup, value: number): string | undefined {
  const row = VALUES.find((r) => r.group === group && r.value === value);
  return row ? valueConstantNames(row)[0] : undefined;
}

export function valuesOfGroup(group: ValueGroup): readonly ValueRow[] {
  return VALUES.filter((r) => r.group === group);
}
