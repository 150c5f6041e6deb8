/**
 * Options of the idiomatic layer, each turned into the attribute it stands for, so a value is
 * checked by exactly the same code whichever layer set it.
 */
import { X509Certificate } from "node:crypto";

import { A } from "../attributes.js";
import type { EnvironmentCore } from "../core/environment.js";
import type { SessionCore } from "../core/session.js";
import { V } from "../values.js";

/** What a side presents and whom it trusts: a key store, or an application ID. */
export interface KeyStoreOptions {
  /** PKCS#12 (.p12/.pfx), PEM bundle or CMS key database (.kdb); `*SYSTEM` for the system store. */
  readonly file: string;
  /** Store password. Never logged or shown. */
  readonly password?: string;
  /** GSKit stash file (.sth) holding the password; a .kdb without either uses the .sth beside it. */
  readonly stashFile?: string;
  /** Label(s) of the certificate(s) to present (up to four). Default: the store's default certificate. */
  readonly label?: string | readonly string[];
}

/** Everything `Environment.open` takes; each option stands for the GSKit attribute it sets. */
export interface EnvironmentOptions {
  /** `"client"` (default) or `"server"`. */
  readonly role?: "client" | "server";
  /** Identity and trust from a key store. */
  readonly keystore?: KeyStoreOptions;
  /** Identity, trust list and policy from an application ID in the application registry. */
  readonly applicationId?: string;
  /** Directory of the system store and application registry (default: $GSKIT_TLS_HOME, else ~/.gskit-tls). */
  readonly systemDirectory?: string;
  /** A PEM file of CA certificates that replaces the store's CA entries as the trust list. */
  readonly trustFile?: string;
  /** CRL files (PEM or DER) in force; every CA in a peer's chain then needs one. */
  readonly crlFiles?: readonly string[];
  /**
   * Server: whether to ask for a client certificate. `"optional"`: asked for; a bad one fails the
   * handshake, none connects (validation code 403). `"required"`: none or bad fails. Default `"none"`.
   */
  readonly clientAuth?: "none" | "optional" | "required";
  /**
   * DANGEROUS: connect even when the peer's certificate fails validation (GSKit PASSTHRU). The
   * handshake succeeds against an untrusted, expired or wrongly named peer — an active attacker
   * can impersonate it — and the application must read `session.validationCode` itself.
   * Default false.
   */
  readonly dangerousPassthru?: boolean;
  /** Server: names a client certificate must match (`dns:`, `ip:`, `email:`, `dn:` forms). */
  readonly allowedPeerNames?: readonly string[];
  /** Protocol versions to allow. Default TLS 1.2 and 1.3. */
  readonly protocols?: readonly ("TLSv1.2" | "TLSv1.3")[];
  /** TLS 1.2 cipher suites (IANA names), in preference order. */
  readonly tls12Ciphers?: readonly string[];
  /** TLS 1.3 cipher suites (IANA names). */
  readonly tls13Ciphers?: readonly string[];
  /** Handshake timeout in milliseconds (rounded up to whole seconds). Default none. */
  readonly handshakeTimeoutMs?: number;
  /** Read timeout in milliseconds: a read that waits longer fails with 6011, the session stays usable. */
  readonly readTimeoutMs?: number;
  /** Resumption lifetime in seconds; 0 turns the client session cache off. Default 86400. */
  readonly sessionTimeout?: number;
  /**
   * Called with the peer's chain (leaf first) and the library's verdict (0 or a code) when a
   * handshake completes; return true to accept. With `dangerousPassthru` unset it only sees chains
   * the library accepted.
   */
  readonly verifyPeer?: (chain: readonly X509Certificate[], validationCode: number) => boolean;
  /** 48 bytes of session-ticket keys, shared by cluster workers so resumption works across them. */
  readonly ticketKeys?: Buffer;
  /** Days before its own certificate expires from which init warns. Default 30. */
  readonly expiryWarningDays?: number;
}

/** Per-connection options. */
export interface SessionOptions {
  /** Client: SNI name to send and, unless `peerName` is given, the name the certificate must match. */
  readonly servername?: string;
  /** Client: the expected peer name (DNS name or IP) when it differs from `servername`. */
  readonly peerName?: string;
  /** Opt-in: report a TCP FIN without close_notify as an error (costs a JS stream per connection). */
  readonly strictEof?: boolean;
  /** Opt-in: closing the session keeps TCP open for plaintext (costs a JS stream per connection). */
  readonly keepSocketOpen?: boolean;
}

export function applyEnvironmentOptions(env: EnvironmentCore, o: EnvironmentOptions): void {
  const set = env.setAttribute.bind(env);
  set("enum", A.GSK_SESSION_TYPE, sessionType(o));
  if (o.keystore) {
    set("buffer", A.GSK_KEYRING_FILE, o.keystore.file);
    if (o.keystore.password !== undefined) set("buffer", A.GSK_KEYRING_PW, o.keystore.password);
    if (o.keystore.stashFile !== undefined) set("buffer", A.GSK_KEYRING_STASH_FILE, o.keystore.stashFile);
    const label = o.keystore.label;
    if (typeof label === "string") set("buffer", A.GSK_KEYRING_LABEL, label);
    else if (label) set("buffer", A.GSK_KEYRING_LABEL_EX, label.join(","));
  }
  if (o.applicationId !== undefined) set("buffer", A.GSK_IBMI_APPLICATION_ID, o.applicationId);
  if (o.trustFile !== undefined) set("buffer", A.GSKX_TRUST_FILE, o.trustFile);
  if (o.crlFiles && o.crlFiles.length > 0) set("buffer", A.GSKX_CRL_FILE, o.crlFiles.join(","));
  if (o.clientAuth === "required") set("enum", A.GSK_CLIENT_AUTH_TYPE, V.GSK_IBMI_CLIENT_AUTH_REQUIRED);
  if (o.dangerousPassthru) {
    set("enum", A.GSK_SERVER_AUTH_TYPE, V.GSK_SERVER_AUTH_PASSTHRU);
    if (o.clientAuth !== "required") set("enum", A.GSK_CLIENT_AUTH_TYPE, V.GSK_CLIENT_AUTH_PASSTHRU);
  }
  if (o.allowedPeerNames && o.allowedPeerNames.length > 0) set("buffer", A.GSKX_ALLOWED_PEER_NAMES, o.allowedPeerNames.join(","));
  if (o.protocols) {
    set("enum", A.GSK_PROTOCOL_TLSV12, o.protocols.includes("TLSv1.2") ? V.GSK_TRUE : V.GSK_FALSE);
    set("enum", A.GSK_PROTOCOL_TLSV13, o.protocols.includes("TLSv1.3") ? V.GSK_TRUE : V.GSK_FALSE);
  }
  if (o.tls12Ciphers) set("buffer", A.GSK_TLSV12_CIPHER_SPECS_EX, o.tls12Ciphers.join(","));
  if (o.tls13Ciphers) set("buffer", A.GSK_TLSV13_CIPHER_SPECS_EX, o.tls13Ciphers.join(","));
  if (o.handshakeTimeoutMs !== undefined) set("numeric", A.GSK_HANDSHAKE_TIMEOUT, Math.ceil(o.handshakeTimeoutMs / 1000));
  if (o.readTimeoutMs !== undefined) set("numeric", A.GSK_IBMI_READ_TIMEOUT, o.readTimeoutMs);
  if (o.sessionTimeout !== undefined) set("numeric", A.GSK_V3_SESSION_TIMEOUT, o.sessionTimeout);
  if (o.verifyPeer) {
    const verify = o.verifyPeer;
    set("callback", A.GSK_CERT_VALIDATION_CALLBACK, {
      validation_callback: (chain: Buffer, code: number) => (verify(splitDerChain(chain), code) ? 0 : 8),
      validateRequired: o.dangerousPassthru ? V.GSK_NO_VALIDATION : V.GSK_VALIDATION_REQUIRED,
      certificateNeeded: V.GSK_CERTIFICATE_CHAIN_SENT_VIA_SSL,
    });
  }
}

function sessionType(o: EnvironmentOptions): number {
  if (o.role !== "server") return V.GSK_CLIENT_SESSION;
  return o.clientAuth === "optional" || o.clientAuth === "required" ? V.GSK_SERVER_SESSION_WITH_CL_AUTH : V.GSK_SERVER_SESSION;
}

export function applySessionOptions(session: SessionCore, o: SessionOptions): void {
  const set = session.setAttribute.bind(session);
  if (o.servername !== undefined) set("buffer", A.GSK_SSL_EXTN_SERVERNAME_REQUEST, o.servername);
  if (o.peerName !== undefined) set("buffer", A.GSKX_PEER_NAME, o.peerName);
  if (o.strictEof) set("enum", A.GSKX_STRICT_EOF, V.GSK_TRUE);
  if (o.keepSocketOpen) set("enum", A.GSKX_KEEP_SOCKET_OPEN, V.GSK_TRUE);
}

/** The callback's concatenated DER chain back into certificates. */
function splitDerChain(buffer: Buffer): X509Certificate[] {
  const out: X509Certificate[] = [];
  let pos = 0;
  while (pos < buffer.length && buffer[pos] === 0x30) {
    const b = buffer[pos + 1]!;
    const n = b < 0x80 ? 0 : b & 0x7f;
    let len = b < 0x80 ? b : 0;
    for (let i = 0; i < n; i++) len = len * 256 + buffer[pos + 2 + i]!;
    const end = pos + 2 + n + len;
    out.push(new X509Certificate(buffer.subarray(pos, end)));
    pos = end;
  }
  return out;
}
