/**
 * Protocol versions and cipher suites from GSKit attributes, as OpenSSL settings.
 *
 * Protocols follow IBM i: `GSK_PROTOCOL_TLSV1` is the master switch and the per-version switches
 * override it, taking their default from it (so "TLSV1 off, then TLSV12 on" is TLS 1.2 only).
 */
import { A } from "../attributes.js";
import { CIPHERS, parseCipherCodes, parseCipherNames, type CipherRow } from "../ciphers.js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { TlsVersion } from "../internal/node-tls.js";
import { V } from "../values.js";
import type { AttributeValues } from "./attribute-values.js";

export interface ProtocolPolicy {
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** Versions inside min..max that are switched off (OpenSSL needs a contiguous range). */
  readonly excluded: readonly TlsVersion[];
  /** TLS 1.0/1.1 need OpenSSL security level 0 (SHA-1 signatures): only when asked for. */
  readonly legacy: boolean;
}

const ORDER: readonly TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

export function protocolPolicy(values: AttributeValues): ProtocolPolicy {
  if (values.number(A.GSK_PROTOCOL_SSLV2) === V.GSK_PROTOCOL_SSLV2_ON) {
    throw new GskError(RC.GSK_ERROR_UNSUPPORTED, "GSK_PROTOCOL_SSLV2 is on, but SSL 2.0 is not available in this runtime (it is insecure and was removed); turn it off");
  }
  if (values.number(A.GSK_PROTOCOL_SSLV3) === V.GSK_PROTOCOL_SSLV3_ON) {
    throw new GskError(RC.GSK_ERROR_UNSUPPORTED, "GSK_PROTOCOL_SSLV3 is on, but SSL 3.0 is not available in this runtime (it is insecure and was removed); turn it off");
  }
  const master = (values.number(A.GSK_PROTOCOL_TLSV1) ?? V.GSK_PROTOCOL_TLSV1_ON) === V.GSK_PROTOCOL_TLSV1_ON;
  const switchOf = (id: number, defaultWhenMasterOn: boolean): boolean => {
    const v = values.number(id);
    if (v !== undefined) return v === V.GSK_TRUE;
    return master && defaultWhenMasterOn;
  };
  const enabled: Record<TlsVersion, boolean> = {
    "TLSv1": switchOf(A.GSK_PROTOCOL_TLSV10, false),
    "TLSv1.1": switchOf(A.GSK_PROTOCOL_TLSV11, false),
    "TLSv1.2": switchOf(A.GSK_PROTOCOL_TLSV12, true),
    "TLSv1.3": switchOf(A.GSK_PROTOCOL_TLSV13, true),
  };
  const on = ORDER.filter((v) => enabled[v]);
  if (on.length === 0) {
    throw new GskError(RC.GSK_ERROR_NO_CIPHERS, "every protocol version is switched off (GSK_PROTOCOL_TLSV1 and GSK_PROTOCOL_TLSV10/11/12/13); turn on TLS 1.2 or TLS 1.3");
  }
  const minVersion = on[0]!;
  const maxVersion = on[on.length - 1]!;
  const excluded = ORDER.slice(ORDER.indexOf(minVersion), ORDER.indexOf(maxVersion) + 1).filter((v) => !enabled[v]);
  return { minVersion, maxVersion, excluded, legacy: enabled["TLSv1"] || enabled["TLSv1.1"] };
}

/** TLS ≤ 1.2 cipher attributes, most specific first: the first one set decides the list. */
const TLS12_LISTS: readonly { id: number; form: "codes" | "names" }[] = [
  { id: A.GSK_TLSV12_CIPHER_SPECS_EX, form: "names" },
  { id: A.GSK_TLSV12_CIPHER_SPECS, form: "codes" },
  { id: A.GSK_V3_CIPHER_SPECS_EX, form: "names" },
  { id: A.GSK_V3_CIPHER_SPECS, form: "codes" },
  { id: A.GSK_TLSV11_CIPHER_SPECS_EX, form: "names" },
  { id: A.GSK_TLSV11_CIPHER_SPECS, form: "codes" },
  { id: A.GSK_TLSV10_CIPHER_SPECS_EX, form: "names" },
  { id: A.GSK_TLSV10_CIPHER_SPECS, form: "codes" },
];

export interface CipherPolicy {
  /** OpenSSL cipher string for TLS ≤ 1.2. */
  readonly ciphers: string;
  /** OpenSSL TLS 1.3 suite list. */
  readonly ciphersuites: string;
}

/**
 * Default TLS ≤ 1.2 list: forward-secret AEAD suites only (ECDSA and RSA certificates), in
 * preference order. A user who needs more names them explicitly.
 */
const DEFAULT_TLS12 = CIPHERS.filter((c) => c.protocol === "tls12" && /^TLS_ECDHE_.*(GCM|CHACHA20)/.test(c.iana));
const DEFAULT_TLS13 = ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"];

export function cipherPolicy(values: AttributeValues, protocols: ProtocolPolicy): CipherPolicy {
  let tls12: CipherRow[] = [...DEFAULT_TLS12];
  for (const list of TLS12_LISTS) {
    const text = values.string(list.id);
    if (text === undefined) continue;
    tls12 = list.form === "codes" ? parseCipherCodes(text, attrName(list.id)) : parseCipherNames(text, "tls12", attrName(list.id));
    break;
  }
  const text13 = values.string(A.GSK_TLSV13_CIPHER_SPECS_EX);
  const tls13 = text13 !== undefined ? parseCipherNames(text13, "tls13", "GSK_TLSV13_CIPHER_SPECS_EX").map((c) => c.openssl) : DEFAULT_TLS13;
  const level = protocols.legacy ? ":@SECLEVEL=0" : "";
  return { ciphers: tls12.map((c) => c.openssl).join(":") + level, ciphersuites: tls13.join(":") };
}

function attrName(id: number): string {
  return Object.entries(A).find(([, v]) => v === id)?.[0] ?? String(id);
}
