/**
 * One secure session and THE state machine both layers use:
 *
 *   open ──init()──▶ handshaking ──▶ ready ──close()──▶ closed
 *                         └──────▶ failed ──close()──▶ closed
 *
 * Attributes may be set only while `open`; reads, writes and `misc` need `ready`; a failed
 * handshake leaves `failed`, where everything but close and the getters is `GSK_INVALID_STATE`
 * (real programs rely on that after a failed `gsk_secure_soc_init`).
 *
 * Validation runs synchronously in the handshake-completion event, before node:tls writes session
 * tickets or anything else is read or sent, so a rejected TLS 1.3 client sees the connection end
 * instead of a ticket and learns the verdict during its own `init`.
 */
import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { inspect, type InspectOptionsStylized } from "node:util";

import { A, attributeLabel } from "../attributes.js";
import { gskitCode, ianaName } from "../ciphers.js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { leanSession, SecureChannel } from "../internal/node-tls.js";
import { adoptFd, assertFdNotOwned } from "../internal/socket-fd.js";
import { parseAllowedPeerNames, matchAllowedPeerNames } from "../trust/allowed-peer-names.js";
import { missingCrlMessage, missingCrls, parseCrls } from "../trust/crl-coverage.js";
import { describeCertificate, validationMessage } from "../trust/describe.js";
import { mapNodeError, mapVerifyCode } from "../trust/map-node-error.js";
import { checkPeerName, isIpAddress } from "../trust/peer-name.js";
import { V } from "../values.js";
import { AttributeValues, gettableRow, isDuplex, parseValue, settableRow, type AttributeValue, type ValidationCallback } from "./attribute-values.js";
import { certificateInfo, type CertDataElement } from "./cert-info.js";
import type { ContextEntry, EnvironmentCore } from "./environment.js";
import { Inbound } from "./inbound.js";
import { EofWatch } from "./eof-watch.js";

export type SessionState = "open" | "handshaking" | "ready" | "failed" | "closed";

/** How long a TLS 1.3 client that presented a certificate waits for the server's verdict. */
const REFUSAL_WINDOW_MS = 100;
/** How long a closed session's connection may take to finish its shutdown before it is cut. */
const CLOSE_GRACE_MS = 2_000;

interface SessionConfig {
  readonly role: "client" | "server";
  readonly sessionType: number;
  readonly clientAuth: number;
  readonly serverAuth: number;
  readonly requestCert: boolean;
  /** Server: a missing client certificate fails the handshake. */
  readonly certificateRequired: boolean;
  readonly sni: string | undefined;
  readonly expectedName: string | undefined;
  readonly allowedPeerNames: string | undefined;
  readonly handshakeTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly callback: ValidationCallback | undefined;
  readonly keepSocketOpen: boolean;
  readonly strictEof: boolean;
}

interface HandshakeResult {
  readonly protocol: string;
  readonly cipher: string;
  readonly reused: boolean;
  readonly servername: string | undefined;
  readonly sessionId: string;
  readonly peerChain: readonly X509Certificate[];
  readonly localCertificate: X509Certificate | undefined;
}

let warnedNoPeerName = false;
let nextSessionId = 1;

export class SessionCore {
  readonly id = nextSessionId++;
  state: SessionState = "open";
  readonly values: AttributeValues;
  /** Result of validating the peer's certificate: 0 or the failure's return code. */
  validationCode = 0;
  /** Subject of the certificate that failed validation, for GSK_VALIDATIONFAIL_SUBJECT. */
  private validationFailSubject = "";
  /** The Node error code behind the last GSK_ERROR_IO (ECONNRESET …): C's errno. */
  lastErrno: string | undefined;
  private channel: SecureChannel | undefined;
  private inbound: Inbound | undefined;
  private eofWatch: EofWatch | undefined;
  private raw: Duplex | undefined;
  private config: SessionConfig | undefined;
  private context: ContextEntry | undefined;
  private result: HandshakeResult | undefined;
  private sent = 0;
  /** True while our own gsk_secure_soc_misc renegotiation runs (the only one allowed). */
  private renegotiating = false;
  private cacheKey = "";

  /**
   * What is safe to show of a session (in logs, a debugger, util.inspect): its fields reach the
   * environment, whose attributes hold the key-store password and whose contexts hold the keys.
   */
  summary(): Record<string, unknown> {
    const r = this.result;
    return {
      id: this.id,
      state: this.state,
      ...(this.config ? { role: this.config.role } : {}),
      ...(r ? { protocol: r.protocol, cipher: r.cipher, resumed: r.reused, peer: r.peerChain[0]?.subject.split("\n").join(",") ?? "none" } : {}),
      validationCode: this.validationCode,
      attributes: this.values,
    };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    return `SessionCore ${show(this.summary(), options)}`;
  }

  constructor(readonly env: EnvironmentCore) {
    if (env.state !== "initialized") {
      throw new GskError(RC.GSK_INVALID_STATE, env.state === "closed" ? "the environment is closed: no new session can be opened" : "the environment is not initialized: call gsk_environment_init first");
    }
    this.values = new AttributeValues(env.values);
    env.sessions.add(this);
  }

  setAttribute(kind: "buffer" | "numeric" | "enum" | "callback", id: unknown, value: unknown): void {
    if (this.state !== "open") throw new GskError(RC.GSK_INVALID_STATE, `session attributes can only be set before gsk_secure_soc_init (the session is ${this.state})`);
    const row = settableRow(id, kind, "session");
    const parsed = parseValue(row, value);
    if (row.id === A.GSK_FD && typeof parsed === "number") assertFdNotOwned(parsed);
    this.values.set(row.id, parsed);
  }

  getAttribute(kind: "buffer" | "numeric" | "enum" | "callback", id: unknown): AttributeValue | undefined {
    if (this.state === "closed") throw new GskError(RC.GSK_INVALID_HANDLE, "the session is closed");
    const row = gettableRow(id, kind);
    if (row.scope !== "get") return row.id === A.GSK_FD ? this.values.get(row.id) : this.values.get(row.id);
    return this.result_(row.id);
  }

  private result_(id: number): AttributeValue {
    if (id === A.GSK_CERTIFICATE_VALIDATION_CODE || id === A.GSK_VALIDATIONFAIL_SUBJECT) {
      // Before the handshake an empty subject or a 0 would read as "validated": a result, like the others, is 5 until then.
      if (this.state === "open" || this.state === "handshaking") throw new GskError(RC.GSK_INVALID_STATE, `${attributeLabel(id)} is known after gsk_secure_soc_init`);
      return id === A.GSK_CERTIFICATE_VALIDATION_CODE ? this.validationCode : this.validationFailSubject;
    }
    if (id === A.GSKX_CLOSE_NOTIFY_RECEIVED) {
      const verdict = this.eofWatch?.closeNotify;
      if (verdict === undefined) throw new GskError(RC.GSK_INVALID_STATE, "GSKX_CLOSE_NOTIFY_RECEIVED is known only after end of stream on a session opened with GSKX_STRICT_EOF or GSKX_KEEP_SOCKET_OPEN");
      return verdict ? V.GSK_TRUE : V.GSK_FALSE;
    }
    const r = this.result;
    if (!r) throw new GskError(RC.GSK_INVALID_STATE, `${attributeLabel(id)} is known only after a successful gsk_secure_soc_init`);
    switch (id) {
      case A.GSK_PROTOCOL_USED:
        return protocolUsed(r.protocol);
      case A.GSK_SID_FIRST:
        return r.reused ? V.GSK_SID_NOT_FIRST : V.GSK_SID_IS_FIRST;
      case A.GSK_CONNECT_SEC_TYPE:
        return secType(r.protocol);
      case A.GSK_CONNECT_CIPHER_SPEC:
        return gskitCode(r.cipher) ?? r.cipher;
      case A.GSK_CONNECT_CIPHER_SPEC_EX:
        return r.cipher;
      case A.GSK_SSL_EXTN_SERVERNAME:
        return r.servername ?? "";
      case A.GSK_SID_VALUE:
        return r.sessionId;
      default:
        throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${attributeLabel(id)} cannot be read on a session`);
    }
  }

  /** The peer's chain (leaf first) once the handshake is done; empty if it sent none. */
  get peerChain(): readonly X509Certificate[] {
    const r = this.result;
    if (!r) return [];
    // A server's checks need only the client's leaf, so the handshake reads no more; the rest of
    // the chain is read the first time someone asks, while the connection is open.
    if (this.peerLeafOnly && this.channel) {
      this.peerLeafOnly = false;
      const full = this.channel.peerChain();
      if (full.length > r.peerChain.length) this.result = { ...r, peerChain: full };
    }
    return this.result!.peerChain;
  }

  /** Set when a server validated the client's leaf alone (see peerChain). */
  private peerLeafOnly = false;

  get handshake(): HandshakeResult | undefined {
    return this.result;
  }

  /** gsk_attribute_get_cert_info. */
  certInfo(which: number): CertDataElement[] {
    if (this.state === "closed") throw new GskError(RC.GSK_INVALID_HANDLE, "the session is closed");
    if (which === V.GSK_PARTNER_CERT_INFO) {
      if (!this.result) throw new GskError(RC.GSK_INVALID_STATE, "the partner certificate is known only after a successful gsk_secure_soc_init");
      const leaf = this.result.peerChain[0];
      if (!leaf) throw new GskError(RC.GSK_CERTIFICATE_NOT_AVAILABLE, "the peer sent no certificate");
      return certificateInfo(leaf);
    }
    if (which === V.GSK_LOCAL_CERT_INFO) {
      const local = this.result?.localCertificate ?? this.env.contextFor(this.values).identities[0]?.chain[0];
      if (!local) throw new GskError(RC.GSK_ERROR_NO_CERTIFICATE, "this side has no certificate");
      return certificateInfo(local);
    }
    throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${String(which)} is not GSK_PARTNER_CERT_INFO or GSK_LOCAL_CERT_INFO`);
  }

  /** gsk_secure_soc_init: the handshake, validation included. */
  async init(): Promise<void> {
    if (this.state !== "open") throw new GskError(RC.GSK_INVALID_STATE, `gsk_secure_soc_init was already called on this session (it is ${this.state})`);
    this.state = "handshaking";
    try {
      const config = this.resolveConfig();
      this.config = config;
      const context = this.env.contextFor(this.values);
      this.context = context;
      if (config.role === "server" && context.identities.length === 0) {
        const store = this.env.identity.store;
        const app = this.env.identity.application;
        throw new GskError(
          RC.GSK_ERROR_NO_CERTIFICATE,
          app
            ? `application ID '${app.id}' has no certificate assigned: assign one (gskit app assign) before serving`
            : store
              ? `the key store ${store.file} has no personal certificate (a private key with its certificate) to present`
              : "no certificate to present: set GSK_KEYRING_FILE or GSK_IBMI_APPLICATION_ID",
        );
      }
      this.raw = this.takeSocket();
      await this.runHandshake(config, context, this.raw);
      this.state = "ready";
    } catch (error) {
      this.state = "failed";
      throw error;
    }
  }

  private resolveConfig(): SessionConfig {
    const v = this.values;
    const app = this.env.identity.application;
    const appType = app ? (app.type === "server" ? V.GSK_SERVER_SESSION : V.GSK_CLIENT_SESSION) : V.GSK_CLIENT_SESSION;
    const sessionType = v.number(A.GSK_SESSION_TYPE) ?? appType;
    const role = sessionType === V.GSK_CLIENT_SESSION ? "client" : "server";
    if (app && app.type !== role) {
      throw new GskError(RC.GSK_ERROR_INCORRECT_SESSION_TYPE, `application ID '${app.id}' is a ${app.type} application, but the session type is ${role}`);
    }
    const appAuth = app?.clientAuth ?? "none";
    const clientAuth = v.number(A.GSK_CLIENT_AUTH_TYPE) ?? (appAuth === "required" ? V.GSK_IBMI_CLIENT_AUTH_REQUIRED : V.GSK_CLIENT_AUTH_FULL);
    const serverAuth = v.number(A.GSK_SERVER_AUTH_TYPE) ?? V.GSK_SERVER_AUTH_FULL;
    const requestCert =
      role === "server" &&
      (sessionType === V.GSK_SERVER_SESSION_WITH_CL_AUTH ||
        sessionType === V.GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL ||
        clientAuth === V.GSK_IBMI_CLIENT_AUTH_REQUIRED ||
        appAuth !== "none");
    const certificateRequired = sessionType === V.GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL || clientAuth === V.GSK_IBMI_CLIENT_AUTH_REQUIRED;
    const callback = v.get(A.GSK_CERT_VALIDATION_CALLBACK) as ValidationCallback | undefined;
    const passthru = role === "client" ? serverAuth === V.GSK_SERVER_AUTH_PASSTHRU : clientAuth === V.GSK_CLIENT_AUTH_PASSTHRU;
    if (callback && callback.validateRequired === V.GSK_VALIDATION_REQUIRED && passthru) {
      throw new GskError(RC.GSK_CONFLICTING_VALIDATION_SETTING, "GSK_VALIDATION_REQUIRED in the validation callback conflicts with PASSTHRU authentication: use GSK_NO_VALIDATION, or FULL authentication");
    }
    const sni = v.string(A.GSK_SSL_EXTN_SERVERNAME_REQUEST);
    const expectedName = v.string(A.GSKX_PEER_NAME) ?? sni;
    if (role === "client" && expectedName === undefined && serverAuth !== V.GSK_SERVER_AUTH_PASSTHRU && !warnedNoPeerName) {
      warnedNoPeerName = true;
      process.emitWarning(
        "a client session has no expected peer name (neither GSKX_PEER_NAME nor GSK_SSL_EXTN_SERVERNAME_REQUEST is set): only the certificate chain is validated, any trusted certificate is accepted for any server",
        { code: "GSKIT_TLS_NO_PEER_NAME" },
      );
    }
    const allowed = v.string(A.GSKX_ALLOWED_PEER_NAMES) ?? (app && app.allowedPeerNames.length > 0 ? app.allowedPeerNames.join(",") : undefined);
    return {
      role,
      sessionType,
      clientAuth,
      serverAuth,
      requestCert,
      certificateRequired,
      sni,
      expectedName,
      allowedPeerNames: allowed,
      handshakeTimeoutMs: (v.number(A.GSK_HANDSHAKE_TIMEOUT) ?? 0) * 1000,
      readTimeoutMs: v.number(A.GSK_IBMI_READ_TIMEOUT) ?? 0,
      callback,
      keepSocketOpen: v.number(A.GSKX_KEEP_SOCKET_OPEN) === V.GSK_TRUE,
      strictEof: v.number(A.GSKX_STRICT_EOF) === V.GSK_TRUE,
    };
  }

  private takeSocket(): Duplex {
    const fd = this.values.get(A.GSK_FD);
    if (fd === undefined) throw new GskError(RC.GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR, "GSK_FD is not set: give the session its connected socket with gsk_attribute_set_numeric_value(session, GSK_FD, socket)");
    const socket = typeof fd === "number" ? adoptFd(fd) : (fd as Duplex);
    if (!isDuplex(socket) || socket.destroyed) throw new GskError(RC.GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR, "GSK_FD: the socket is closed");
    return socket;
  }

  private runHandshake(config: SessionConfig, context: ContextEntry, raw: Duplex): Promise<void> {
    const opt = config.keepSocketOpen || config.strictEof;
    if (opt) this.eofWatch = new EofWatch(raw);
    const transport = this.eofWatch?.gate ?? raw;
    let channel: SecureChannel;
    let cached: ReturnType<EnvironmentCore["sessionCache"]["get"]>;
    if (config.role === "client") {
      const cache = this.env.sessionCache;
      const socket = raw as Partial<Socket>;
      this.cacheKey = `${String(socket.remoteAddress)}:${String(socket.remotePort)}|${config.sni ?? ""}|${context.key}`;
      cached = cache.enabled ? cache.get(this.cacheKey) : undefined;
      const servername = config.sni !== undefined && !isIpAddress(config.sni) ? config.sni : undefined;
      channel = SecureChannel.connect(transport, context.context, { servername, session: cached?.session, wantSession: cache.enabled });
    } else {
      channel = SecureChannel.accept(transport, context.context, { requestCert: config.requestCert, selectContext: context.selectContext });
    }
    this.channel = channel;
    const stream = channel.stream;
    this.inbound = new Inbound(stream);
    this.eofWatch?.attach(stream);

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (error?: GskError): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        stream.off(channel.completionEvent, onComplete);
        stream.off("error", onError);
        stream.off("close", onClose);
        stream.off("end", onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onComplete = (): void => {
        stream.off("end", onEnd);
        // Synchronously, before node:tls sends tickets or the application reads anything.
        try {
          this.validate(config, channel, cached);
        } catch (error) {
          channel.resetAndDestroy();
          settle(error as GskError);
          return;
        }
        if (config.role === "client" && this.env.sessionCache.enabled) this.rememberSessions(stream, channel, cached);
        if (config.role === "server") this.refusePeerRenegotiation(stream, channel);
        if (config.role === "client" && channel.protocol() === "TLSv1.3" && !channel.reused() && context.identities.length > 0) {
          this.awaitServerVerdict(stream).then(() => settle(), settle);
        } else {
          settle();
        }
      };
      const onError = (error: Error): void => settle(this.handshakeError(error, config, context));
      const onClose = (): void => settle(this.handshakeError(undefined, config, context));
      // A peer that sends FIN before the handshake completes has ended it; a half-open socket
      // (allowHalfOpen) would otherwise never close, and the handshake would wait for ever.
      const onEnd = onClose;
      stream.once(channel.completionEvent, onComplete);
      stream.on("error", onError);
      stream.once("close", onClose);
      stream.once("end", onEnd);
      if (config.handshakeTimeoutMs > 0) {
        timer = setTimeout(() => {
          settle(new GskError(RC.GSK_IBMI_ERROR_TIMED_OUT, `the handshake did not complete within ${String(config.handshakeTimeoutMs / 1000)} s (GSK_HANDSHAKE_TIMEOUT); the connection was closed`));
          channel.resetAndDestroy();
        }, config.handshakeTimeoutMs);
      }
    });
  }

  /**
   * TLS 1.3 lets a client finish its handshake before the server has looked at the client's
   * certificate; the server's verdict is its next flight. Wait for the first sign: a session
   * ticket or data (accepted), or an alert, end or reset (refused). Only events are awaited, so
   * the wait costs no CPU; a server that sends no tickets costs the window, and a refusal after
   * it surfaces at the first read or write.
   */
  private awaitServerVerdict(stream: Duplex): Promise<void> {
    const inbound = this.inbound!;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        stream.off("session", later);
        if (inbound.available === 0 && inbound.end) reject(this.refusedAfterHandshake(inbound.end.kind === "error" ? inbound.end.error : undefined));
        else resolve();
      };
      // The verdict is taken outside node:tls's own callbacks: a write issued from within the
      // 'session' callback (still inside OpenSSL's read) is silently lost (seen on Node 20.20).
      const later = (): void => void setImmediate(finish);
      const timer = setTimeout(finish, REFUSAL_WINDOW_MS);
      stream.once("session", later);
      void inbound.wait(0).then(later);
    });
  }

  /**
   * Renegotiation is refused to peers (GSK_NO_RENEGOTIATION's row): each one costs the server a
   * full handshake, and a client could repeat it on one connection without end. node:tls enforces
   * neither its renegotiation limit nor disableRenegotiation() on a socket not made by tls.Server
   * (both only raise an internal event), but it does announce a completed renegotiation with a
   * second completion event: the connection is then ended before any data flows under it.
   */
  private refusePeerRenegotiation(stream: Duplex, channel: SecureChannel): void {
    stream.on(channel.completionEvent, () => {
      if (this.renegotiating || stream.destroyed) return;
      const refused = Object.assign(new Error("the client renegotiated the TLS session; renegotiation is refused to peers, so the connection was closed"), {
        code: "ERR_TLS_RENEGOTIATION_DISABLED",
      });
      stream.destroy(refused);
    });
  }

  private rememberSessions(stream: Duplex, channel: SecureChannel, cached: { chain: readonly X509Certificate[]; verifyError: string | undefined } | undefined): void {
    const chain = channel.reused() && cached ? cached.chain : this.result?.peerChain ?? channel.peerChain();
    const verifyError = channel.verifyErrorCode() ?? cached?.verifyError;
    stream.on("session", (session: Buffer) => this.env.sessionCache.set(this.cacheKey, leanSession(session), chain, verifyError));
  }

  private validate(config: SessionConfig, channel: SecureChannel, cached: { chain: readonly X509Certificate[]; verifyError: string | undefined } | undefined): void {
    const reused = channel.reused();
    let chain: readonly X509Certificate[];
    let code = 0;
    let hint: string | undefined;
    if (config.role === "client") {
      chain = reused && cached ? cached.chain : channel.peerChain();
      const verifyError = channel.verifyErrorCode() ?? (reused ? cached?.verifyError : undefined);
      if (chain.length === 0) code = RC.GSK_ERROR_NO_CERTIFICATE;
      else if (verifyError) ({ code, hint } = this.verifyFailure(verifyError, chain));
      else if (isCaAsLeaf(chain[0]!, this.env.identity.anchors)) ({ code, hint } = caAsLeafFailure("server"));
      else if (config.expectedName !== undefined) {
        const name = checkPeerNameOnce(chain[0]!, config.expectedName);
        if (!name.ok) {
          code = name.code;
          hint = name.message;
        }
      }
    } else if (config.requestCert) {
      const needChain = config.callback !== undefined && config.callback.certificateNeeded !== V.GSK_END_ENTITY_CERTIFICATE;
      if (needChain) chain = channel.peerChain();
      else {
        const leaf = channel.peerCertificate();
        chain = leaf ? [leaf] : [];
        this.peerLeafOnly = chain.length > 0;
      }
      const verifyError = channel.verifyErrorCode();
      if (chain.length === 0) code = RC.GSK_ERROR_NO_CERTIFICATE;
      else if (verifyError) ({ code, hint } = this.verifyFailure(verifyError, chain));
      else if (isCaAsLeaf(chain[0]!, this.env.identity.anchors)) ({ code, hint } = caAsLeafFailure("client"));
      else if (config.allowedPeerNames !== undefined) {
        const match = matchAllowedPeerNames(chain[0]!, parseAllowedPeerNames(config.allowedPeerNames));
        if (!match.ok) {
          code = match.code;
          hint = match.message;
        }
      }
    } else {
      chain = [];
    }

    this.result = {
      protocol: channel.protocol() ?? "",
      cipher: ianaName(channel.cipher().standardName),
      reused,
      servername: config.role === "server" ? channel.servername() : config.sni,
      sessionId: sessionIdOf(channel.handshakeSession()),
      peerChain: chain,
      localCertificate: channel.localCertificate(),
    };
    this.validationCode = code;
    if (code !== 0 && chain[0]) this.validationFailSubject = chain[0].subject.split("\n").join(",");

    // The application's callback decides last: with GSK_VALIDATION_REQUIRED only when the library
    // accepted, with GSK_NO_VALIDATION always (it may accept what the library could not validate).
    let accepted: boolean;
    const cb = config.callback;
    if (cb && chain.length > 0 && (cb.validateRequired === V.GSK_NO_VALIDATION || code === 0)) {
      const rc = runValidationCallback(cb, chain, code, this.env.identity.anchors);
      if (rc !== RC.GSK_OK) {
        this.validationCode = code === 0 ? RC.GSK_ERROR_CERT_VALIDATION : code;
        throw new GskError(RC.GSK_ERROR_CERT_VALIDATION, `the validation callback rejected the ${config.role === "client" ? "server" : "client"} certificate (${describeCertificate(chain[0]!)}; it returned ${String(rc)})`);
      }
      accepted = true;
    } else if (code === 0) {
      accepted = true;
    } else if (config.role === "client") {
      accepted = config.serverAuth === V.GSK_SERVER_AUTH_PASSTHRU;
    } else if (code === RC.GSK_ERROR_NO_CERTIFICATE) {
      accepted = !config.certificateRequired;
    } else {
      accepted = config.clientAuth === V.GSK_CLIENT_AUTH_PASSTHRU;
    }
    if (!accepted) {
      const message = validationMessage(code, chain, {
        side: config.role,
        ...(config.expectedName !== undefined ? { expectedName: config.expectedName } : {}),
        ...(hint !== undefined ? { hint } : {}),
      });
      throw new GskError(code, message);
    }
  }

  /**
   * OpenSSL's verdict as a code and fix. A missing CRL is reported without saying for which CA
   * (UNABLE_TO_GET_CRL), so the CAs on the path without one are named here.
   */
  private verifyFailure(verifyError: string, chain: readonly X509Certificate[]): { code: number; hint: string } {
    const mapped = mapVerifyCode(verifyError);
    if (verifyError !== "UNABLE_TO_GET_CRL") return mapped;
    const { anchors, crls } = this.env.identity;
    try {
      const text = missingCrlMessage(missingCrls(chain, anchors, crls.flatMap((c) => parseCrls(c))));
      return text === "" ? mapped : { code: mapped.code, hint: text };
    } catch {
      return mapped;
    }
  }

  /** A handshake that failed before completing: the precise reason where node:tls hides it. */
  private handshakeError(error: Error | undefined, config: SessionConfig, context: ContextEntry): GskError {
    const mapped = error ? mapNodeError(error) : undefined;
    const peerEnded = !error || mapped?.nodeCode === "ECONNRESET" || mapped?.nodeCode === "EPIPE" || mapped?.code === RC.GSK_ERROR_SOCKET_CLOSED;
    // A server has presented its certificate only once it wrote its first flight: a peer that
    // hangs up in the middle of its ClientHello (or sends one we never answer) refused nothing.
    const weSentCertificate = config.role === "server" ? ((this.raw as Partial<Socket>).bytesWritten ?? 1) > 0 : context.identities.length > 0;
    // A client without a certificate that was answered and then hung up on mid-handshake (a TLS
    // 1.2 server requiring client authentication) was refused for having none.
    const refusedWithout = config.role === "client" && context.identities.length === 0 && ((this.raw as Partial<Socket>).bytesRead ?? 0) > 0;
    if (peerEnded && (weSentCertificate || refusedWithout)) {
      this.lastErrno = mapped?.nodeCode;
      const ended = `${error ? "reset" : "closed"} the connection during the handshake`;
      return new GskError(
        RC.GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
        config.role === "server"
          ? `the client ${ended} after receiving our certificate: it most likely refused it (not trusted, or a name mismatch); check the client's trust list and expected name`
          : refusedWithout
            ? `the server ${ended}, and we presented no certificate: it most likely requires client authentication and refused us for having none; configure a certificate for this client (GSK_KEYRING_LABEL, or an application ID with one assigned)`
            : `the server ${ended} after we presented our certificate (${describeCertificate(context.identities[0]!.chain[0]!)}): it most likely refused it; check that the server trusts our issuer`,
        { cause: error },
      );
    }
    if (!error) return new GskError(RC.GSK_ERROR_SOCKET_CLOSED, "the peer closed the connection before the handshake completed");
    this.lastErrno = mapped!.nodeCode;
    const peer = config.role === "client" ? "server" : "client";
    const alert = mapped!.alert !== undefined ? `the ${peer} sent alert ${String(mapped!.alert)}: ` : "";
    return new GskError(mapped!.code, `the handshake failed: ${alert}${error.message.split("\n")[0]!}; ${mapped!.hint}`, { cause: error, nodeCode: mapped!.nodeCode });
  }

  /** The peer ended the connection right after the handshake, before any data. */
  private refusedAfterHandshake(error: Error | undefined): GskError {
    const mapped = error ? mapNodeError(error) : undefined;
    if (mapped?.alert !== undefined && mapped.code !== RC.GSK_ERROR_IO) {
      return new GskError(mapped.code, `the server refused our certificate after the handshake: alert ${String(mapped.alert)}; ${mapped.hint}`, { cause: error, nodeCode: mapped.nodeCode });
    }
    // Only the peer going away (a reset, a FIN, a broken pipe) reads as a refusal; a TLS error it
    // caused (a forged or oversized record, a refused renegotiation) keeps its own code.
    if (error && mapped && mapped.code !== RC.GSK_ERROR_IO && mapped.code !== RC.GSK_ERROR_SOCKET_CLOSED) {
      return this.ioError(error, "the connection right after the handshake");
    }
    this.lastErrno = mapped?.nodeCode;
    const ours = this.context?.identities[0]?.chain[0];
    const peer = this.config?.role === "server" ? "client" : "server";
    const ended = `the ${peer} ${error ? "reset" : "closed"} the connection right after the handshake, before any data`;
    // A client without a certificate has nothing to be refused but its lack of one.
    const message =
      ours || peer === "client"
        ? `${ended}${ours ? `, after we presented our certificate (${describeCertificate(ours)})` : ""}: it most likely refused it; check that the ${peer} trusts our issuer and expects our name`
        : `${ended}, and we presented no certificate: it most likely requires client authentication and refused us for having none; configure a certificate for this client (GSK_KEYRING_LABEL, or an application ID with one assigned)`;
    return new GskError(RC.GSKX_ERROR_PEER_REFUSED_CERTIFICATE, message, { cause: error });
  }

  private get nothingExchanged(): boolean {
    return this.sent === 0 && (this.inbound?.received ?? 0) === 0;
  }

  private assertReady(operation: string): void {
    if (this.state === "ready") return;
    if (this.state === "closed") throw new GskError(RC.GSK_INVALID_HANDLE, "the session is closed");
    throw new GskError(RC.GSK_INVALID_STATE, `${operation} needs a session whose handshake succeeded (the session is ${this.state})`);
  }

  /** Bytes already received and not yet read (for a receive that may complete at once). */
  get readableLength(): number {
    return this.state === "ready" ? this.inbound!.available : 0;
  }

  /** Copies up to `size` already-received bytes without waiting; 0 when none are queued. */
  readAvailable(target: Uint8Array, size: number): number {
    return this.state === "ready" ? this.inbound!.copyInto(target, 0, size) : 0;
  }

  /**
   * Waits for at least one byte and copies at most `size` into `target` (the rest stays queued).
   * Returns 0 at end of stream. One promise per read, settled from the stream's own event.
   */
  readInto(target: Uint8Array, size: number, timeoutMs?: number): Promise<number> {
    return new Promise<number>((resolve, reject) => this.readIntoThen(target, size, timeoutMs, resolve, reject));
  }

  /**
   * readInto for a caller that settles a promise of its own (the gsk_* layer, which settles with
   * a return code): the outcome goes to `resolve`/`reject` (either may run before this returns),
   * so a read costs that caller's promise and no other.
   */
  readIntoThen(target: Uint8Array, size: number, timeoutMs: number | undefined, resolve: (n: number) => void, reject: (error: Error) => void): void {
    if (this.state !== "ready") return reject(this.notReadyError("reading"));
    const inbound = this.inbound!;
    if (inbound.available > 0) return resolve(inbound.copyInto(target, 0, size));
    if (inbound.end) return this.settleAtEnd(0, resolve, reject);
    // A caller's own deadline (startRecv's operationWaitTime) goes into the wait itself: racing a
    // timer against the read would leave the read pending, and it would later take data a
    // following read is waiting for.
    const ms = timeoutMs ?? this.config!.readTimeoutMs;
    inbound.whenReadable(
      ms,
      (got) => {
        if (!got) reject(new GskError(RC.GSK_IBMI_ERROR_TIMED_OUT, `no data arrived within ${String(ms)} ms${timeoutMs === undefined ? " (GSK_IBMI_READ_TIMEOUT)" : ""}; the session is still usable`));
        else if (inbound.available > 0) resolve(inbound.copyInto(target, 0, size));
        else this.atEndLater(0, resolve, reject);
      },
      (chunk) => {
        const n = Math.min(size, chunk.length);
        target.set(n === chunk.length ? chunk : chunk.subarray(0, n));
        resolve(n);
        return n;
      },
    );
  }

  /** Reads the next chunk as it arrived (no copy); `null` at end of stream. One promise per read. */
  readChunk(max = Infinity): Promise<Buffer | null> {
    if (this.state !== "ready") return this.notReady("reading");
    const inbound = this.inbound!;
    if (inbound.available > 0) return Promise.resolve(inbound.take(max)!);
    if (inbound.end) return this.atEnd(null);
    const ms = this.config!.readTimeoutMs;
    return new Promise<Buffer | null>((resolve, reject) => {
      inbound.whenReadable(
        ms,
        (got) => {
          if (!got) reject(new GskError(RC.GSK_IBMI_ERROR_TIMED_OUT, `no data arrived within ${String(ms)} ms; the session is still usable`));
          else if (inbound.available > 0) resolve(inbound.take(max)!);
          else this.atEndLater(null, resolve, reject);
        },
        (chunk) => {
          const out = chunk.length <= max ? chunk : chunk.subarray(0, max);
          resolve(out);
          return out.length;
        },
      );
    });
  }

  private notReady<T>(operation: string): Promise<T> {
    return Promise.reject(this.notReadyError(operation));
  }

  /** Why `operation` cannot run in this state (assertReady's error, as a value). */
  private notReadyError(operation: string): Error {
    try {
      this.assertReady(operation);
    } catch (error) {
      return error as Error;
    }
    return new GskError(RC.GSK_INTERNAL_ERROR, `${operation}: the session is ${this.state}`);
  }

  /** End of stream reached: `value` for a clean end, the end's code otherwise. */
  private atEnd<T>(value: T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.settleAtEnd(value, resolve, reject));
  }

  private settleAtEnd<T>(value: T, resolve: (v: T) => void, reject: (e: Error) => void): void {
    try {
      this.checkEnd();
    } catch (error) {
      reject(error as Error);
      return;
    }
    resolve(value);
  }

  /**
   * The same from inside the stream's end event: judged after the event's other listeners ran
   * (the strict-EOF verdict is one of them), as an awaited read always was.
   */
  private atEndLater<T>(value: T, resolve: (v: T) => void, reject: (e: Error) => void): void {
    queueMicrotask(() => this.settleAtEnd(value, resolve, reject));
  }

  /** At end of stream: a clean end returns, a failure or a suspicious end throws its code. */
  private checkEnd(): void {
    const end = this.inbound!.end!;
    if (end.kind === "eof") {
      if (this.config!.strictEof && this.eofWatch && this.eofWatch.closeNotify === false) {
        this.lastErrno = "ECONNRESET";
        throw new GskError(RC.GSK_ERROR_IO, "the peer closed TCP without close_notify (truncation): data may be missing (GSKX_STRICT_EOF)");
      }
      if (this.nothingExchanged) throw this.refusedAfterHandshake(undefined);
      return;
    }
    if (this.nothingExchanged) throw this.refusedAfterHandshake(end.error);
    throw this.ioError(end.error, "reading");
  }

  private ioError(error: Error, operation: string): GskError {
    const mapped = mapNodeError(error);
    this.lastErrno = mapped.nodeCode;
    const alert = mapped.alert !== undefined ? ` (alert ${String(mapped.alert)})` : "";
    return new GskError(mapped.code, `${operation} failed: ${error.message.split("\n")[0]!}${alert}; ${mapped.hint}`, { cause: error, nodeCode: mapped.nodeCode });
  }

  /** Writes all of `data`, resolving once it is handed to the socket (back-pressure honoured). */
  write(data: Uint8Array): Promise<void> {
    this.assertReady("writing");
    return new Promise<void>((resolve, reject) => this.writeWhenReady(data, resolve, reject));
  }

  /**
   * write for a caller that settles a promise of its own (see readIntoThen): the outcome goes to
   * `resolve`/`reject`, a session in the wrong state included.
   */
  writeThen(data: Uint8Array, resolve: () => void, reject: (error: Error) => void): void {
    if (this.state !== "ready") return reject(this.notReadyError("writing"));
    this.writeWhenReady(data, resolve, reject);
  }

  private writeWhenReady(data: Uint8Array, resolve: () => void, reject: (error: Error) => void): void {
    const stream = this.channel!.stream;
    const end = this.inbound!.end;
    if (stream.destroyed || !stream.writable) {
      if (end?.kind === "error") return reject(this.nothingExchanged ? this.refusedAfterHandshake(end.error) : this.ioError(end.error, "writing"));
      if (this.nothingExchanged && end) return reject(this.refusedAfterHandshake(undefined));
      return reject(new GskError(RC.GSK_ERROR_SOCKET_CLOSED, "writing failed: the connection is closed"));
    }
    this.sent += data.length;
    stream.write(data, (error?: Error | null) => {
      if (error) reject(this.ioError(error, "writing"));
      else resolve();
    });
  }

  /**
   * Half-close: sends close_notify (on the default path with the TCP FIN) and ends this side's
   * writing, while reads go on until the peer ends too. The session stays open until close().
   */
  async endWriting(): Promise<void> {
    this.assertReady("ending the writing side");
    const stream = this.channel!.stream;
    if (stream.writableEnded) return;
    await new Promise<void>((resolve, reject) => {
      stream.end((error?: Error | null) => (error ? reject(this.ioError(error, "ending the writing side")) : resolve()));
    });
  }

  /** gsk_secure_soc_misc. */
  async misc(id: number): Promise<void> {
    if (id !== V.GSK_RESET_CIPHER && id !== V.GSK_RESET_SESSION && id !== V.GSK_RESET_CIPHER_WITHNEWSESSION) {
      throw new GskError(RC.GSK_MISC_INVALID_ID, `${String(id)} is not a gsk_secure_soc_misc ID (GSK_RESET_CIPHER, GSK_RESET_SESSION, GSK_RESET_CIPHER_WITHNEWSESSION)`);
    }
    this.assertReady("gsk_secure_soc_misc");
    if (id !== V.GSK_RESET_CIPHER) this.env.sessionCache.delete(this.cacheKey);
    if (id === V.GSK_RESET_SESSION) return;
    if (this.result!.protocol === "TLSv1.3") {
      throw new GskError(RC.GSK_ERROR_UNSUPPORTED, "TLS 1.3 has no renegotiation, and node:tls offers no key update: GSK_RESET_CIPHER needs a TLS 1.2 session");
    }
    this.renegotiating = true;
    const stream = this.channel!.stream;
    let onClose: (() => void) | undefined;
    try {
      if (stream.destroyed) throw new GskError(RC.GSK_ERROR_SOCKET_CLOSED, "renegotiation failed: the connection is closed");
      // node:tls announces only a completed renegotiation: a peer that refuses it by ending the
      // connection (gsk servers do) would otherwise leave this call waiting for ever.
      const ended = new Promise<never>((_, reject) => {
        onClose = () => {
          const end = this.inbound?.end;
          reject(end?.kind === "error" ? end.error : new GskError(RC.GSK_ERROR_SOCKET_CLOSED, "renegotiation failed: the peer closed the connection instead (it most likely refuses renegotiation)"));
        };
        stream.once("close", onClose);
      });
      const renegotiated = this.channel!.renegotiate();
      renegotiated.catch(() => undefined);
      await Promise.race([renegotiated, ended]);
    } catch (error) {
      throw error instanceof GskError ? error : this.ioError(error as Error, "renegotiation");
    } finally {
      if (onClose) stream.off("close", onClose);
      this.renegotiating = false;
    }
    const cb = this.values.get(A.GSK_CIPHER_SESSION_RESET);
    if (typeof cb === "function") (cb as (s: unknown) => void)(this);
  }

  /**
   * gsk_secure_soc_close: sends close_notify and frees the session. Resolves once close_notify is
   * written; the connection then finishes its shutdown in the background (and is cut after a
   * grace period if the peer never answers), so nothing written before is lost to a reset.
   */
  async close(): Promise<void> {
    if (this.state === "closed") throw new GskError(RC.GSK_INVALID_HANDLE, "the session is already closed");
    const wasReady = this.state === "ready";
    this.state = "closed";
    this.env.sessions.delete(this);
    const channel = this.channel;
    if (!channel) return;
    const stream = channel.stream;
    // Stop queueing: whatever still arrives is read and dropped so the kernel never answers it
    // with a reset.
    stream.removeAllListeners("data");
    stream.on("data", () => undefined);
    if (!wasReady || stream.destroyed) {
      if (!stream.destroyed) stream.destroy();
      return;
    }
    if (this.eofWatch) {
      await this.eofWatch.closeTls(stream, this.config!.keepSocketOpen);
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_GRACE_MS);
      timer.unref();
      stream.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!stream.destroyed) {
      const cut = setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
      cut.unref();
      stream.once("close", () => clearTimeout(cut));
    }
  }
}

/**
 * checkPeerName, remembered per certificate object and name: the check is pure, and handshakes
 * with the same server share its certificate object (TlsContext.peerCertificate, the resumption
 * cache), so a client reconnecting does not parse the same subjectAltName every time (~40 µs).
 */
const peerNameResults = new WeakMap<X509Certificate, Map<string, ReturnType<typeof checkPeerName>>>();

function checkPeerNameOnce(cert: X509Certificate, expected: string): ReturnType<typeof checkPeerName> {
  let byName = peerNameResults.get(cert);
  if (!byName) peerNameResults.set(cert, (byName = new Map()));
  let result = byName.get(expected);
  if (!result) {
    result = checkPeerName(cert, expected);
    if (byName.size < 16) byName.set(expected, result);
  }
  return result;
}

/**
 * OpenSSL accepts a CA certificate (basicConstraints CA:TRUE) as the peer's own certificate when
 * its key usage allows signatures; the contract counts it among the wrong-usage certificates
 * (404). One that is itself a trust anchor is still accepted: a directly trusted self-signed
 * certificate is often CA:TRUE (`openssl req -x509` makes it so by default).
 */
function isCaAsLeaf(leaf: X509Certificate, anchors: readonly X509Certificate[]): boolean {
  return leaf.ca && !anchors.some((a) => a.fingerprint256 === leaf.fingerprint256);
}

function caAsLeafFailure(peer: "server" | "client"): { code: number; hint: string } {
  return {
    code: RC.GSK_ERROR_BAD_CERTIFICATE,
    hint: `it is a CA certificate (basicConstraints CA:TRUE) presented as the ${peer}'s own certificate; issue the ${peer} an end-entity certificate (CA:FALSE) from that CA`,
  };
}

function runValidationCallback(cb: ValidationCallback, chain: readonly X509Certificate[], code: number, anchors: readonly X509Certificate[]): number {
  let certs: readonly X509Certificate[] = chain;
  if (cb.certificateNeeded === V.GSK_END_ENTITY_CERTIFICATE) certs = chain.slice(0, 1);
  else if (cb.certificateNeeded === V.GSK_COMPLETED_CERTIFICATE_CHAIN) {
    const last = chain[chain.length - 1]!;
    const anchor = anchors.find((a) => last.checkIssued(a) && a.fingerprint256 !== last.fingerprint256);
    if (anchor) certs = [...chain, anchor];
  }
  // Concatenated DER, ended by a byte that is not 0x30 so C-style walkers stop (IBM's sample does).
  const buffer = Buffer.concat([...certs.map((c) => c.raw), Buffer.from([0])]);
  try {
    const rc = cb.validation_callback(buffer, code);
    return typeof rc === "number" ? rc : RC.GSK_ERROR_CERT_VALIDATION;
  } catch {
    return RC.GSK_ERROR_CERT_VALIDATION;
  }
}

function protocolUsed(protocol: string): number {
  switch (protocol) {
    case "TLSv1.3":
      return V.GSK_PROTOCOL_USED_TLSV13;
    case "TLSv1.2":
      return V.GSK_PROTOCOL_USED_TLSV12;
    case "TLSv1.1":
      return V.GSK_PROTOCOL_USED_TLSV11;
    default:
      return V.GSK_PROTOCOL_USED_TLSV1;
  }
}

function secType(protocol: string): string {
  return { "TLSv1.3": "TLSV13", "TLSv1.2": "TLSV12", "TLSv1.1": "TLSV11", TLSv1: "TLSV10" }[protocol] ?? protocol;
}

/** The session ID from OpenSSL's SSL_SESSION ASN.1 (4th field, an OCTET STRING), as hex. */
function sessionIdOf(session: Buffer | undefined): string {
  if (!session || session[0] !== 0x30) return "";
  let pos = headerLength(session, 0);
  for (let field = 0; field < 4 && pos < session.length; field++) {
    const len = contentLength(session, pos);
    const hdr = headerLength(session, pos);
    if (field === 3) return session.subarray(pos + hdr, pos + hdr + len).toString("hex").toUpperCase();
    pos += hdr + len;
  }
  return "";
}

function headerLength(der: Buffer, pos: number): number {
  const b = der[pos + 1] ?? 0;
  return b < 0x80 ? 2 : 2 + (b & 0x7f);
}

function contentLength(der: Buffer, pos: number): number {
  const b = der[pos + 1] ?? 0;
  if (b < 0x80) return b;
  let len = 0;
  for (let i = 0; i < (b & 0x7f); i++) len = len * 256 + (der[pos + 2 + i] ?? 0);
  return len;
}
