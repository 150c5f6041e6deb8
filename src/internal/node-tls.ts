/**
 * The only module that imports `node:tls`. It builds secure contexts and runs handshakes over a
 * socket the caller already has, and exposes exactly what the core needs through `SecureChannel`,
 * so no `node:tls` type leaks into the rest of the library.
 *
 * Three undocumented internals are used, each the same one Node's own code uses, and nothing else:
 * - a server-side `TLSSocket` built directly (not through a listening `tls.Server`) never sets
 *   `authorized`/`authorizationError`; Node's own server reads the verdict from
 *   `_handle.verifyError()` in its `'secure'` handler, and so do we;
 * - `'secure'` is the completion event of such a socket (documented from Node 22 on);
 * - such a socket reports TLS errors after the handshake only once `_releaseControl()` was
 *   called, which Node's own server does in its `'secure'` handler, and so do we.
 */
import { hash, X509Certificate, type KeyObject } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";

export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** One certificate a side can present: its key and its chain, leaf first. */
export interface Identity {
  readonly label: string;
  readonly key: KeyObject;
  readonly chain: readonly X509Certificate[];
}

export interface ContextOptions {
  readonly identities: readonly Identity[];
  readonly anchors: readonly X509Certificate[];
  readonly crls: readonly Buffer[];
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher string for TLS ≤ 1.2 (may carry `@SECLEVEL=0`). */
  readonly ciphers: string;
  /** OpenSSL TLS 1.3 suite list. */
  readonly ciphersuites: string;
  /** Server contexts: required for resumption whenever client certificates are requested. */
  readonly sessionIdContext?: string | undefined;
  readonly sessionTimeout?: number | undefined;
  readonly ticketKeys?: Buffer | undefined;
}

/** An opaque, reusable secure context: built once per environment (and per distinct override). */
export class TlsContext {
  /**
   * Peer certificates already parsed, by SHA-256 fingerprint: a server presents the same chain on
   * every connection, and parsing one costs ~125 µs (OpenSSL 3.0's key decoders). Bounded, and
   * X509Certificate is immutable, so sessions may share one.
   */
  private readonly parsedPeers = new Map<string, X509Certificate>();

  /** Server sessions that ask for no client certificate: the same context without the trust list. */
  private untrusting: tls.SecureContext | undefined;

  /** @internal */
  constructor(readonly native: tls.SecureContext, readonly options: ContextOptions) {}

  /**
   * The native context for a server session. The trust list only verifies client certificates;
   * in a context that has it, OpenSSL also builds our own chain from it on every handshake and
   * sends the root along, which the peer decodes for nothing (~20 % of a full handshake's CPU,
   * both ends). So a session that asks for no client certificate gets a context without it, built
   * once. Its tickets are its own unless ticket keys were given.
   */
  serverNative(requestCert: boolean): tls.SecureContext {
    if (requestCert || this.options.anchors.length === 0) return this.native;
    return (this.untrusting ??= nativeContext({ ...this.options, anchors: [], crls: [] }));
  }

  /** Trust anchors by subject, built on first use: finding a leaf's issuer is then one lookup. */
  private anchorsBySubject: Map<string, X509Certificate[]> | undefined;

  /** Verified chains by leaf object (the objects are shared through `parsedPeers`). */
  private readonly chains = new WeakMap<X509Certificate, X509Certificate[] | null>();

  /**
   * The chain OpenSSL verified for a leaf issued directly by one of this context's anchors:
   * `[leaf, anchor]`, or `[leaf]` when the leaf is itself an anchor. Undefined when the path needs
   * certificates only the peer sent (intermediates) or more than one anchor could be the issuer;
   * the caller then asks node:tls for the chain the peer sent.
   * @internal
   */
  chainToAnchor(leaf: X509Certificate): X509Certificate[] | undefined {
    let chain = this.chains.get(leaf);
    if (chain === undefined) {
      chain = findChainToAnchor(leaf, (this.anchorsBySubject ??= indexBySubject(this.options.anchors))) ?? null;
      this.chains.set(leaf, chain);
    }
    return chain ?? undefined;
  }

  /** @internal */
  peerCertificate(cert: CapturedCert): X509Certificate {
    const fingerprint = cert.fingerprint256;
    const known = fingerprint !== undefined ? this.parsedPeers.get(fingerprint) : undefined;
    if (known && known.raw.equals(cert.raw)) return known;
    const parsed = new X509Certificate(cert.raw);
    if (fingerprint !== undefined) {
      if (this.parsedPeers.size >= PARSED_PEERS_MAX) this.parsedPeers.delete(this.parsedPeers.keys().next().value as string);
      this.parsedPeers.set(fingerprint, parsed);
    }
    return parsed;
  }
}

const PARSED_PEERS_MAX = 256;

function indexBySubject(anchors: readonly X509Certificate[]): Map<string, X509Certificate[]> {
  const index = new Map<string, X509Certificate[]>();
  for (const anchor of anchors) {
    const same = index.get(anchor.subject);
    if (same) same.push(anchor);
    else index.set(anchor.subject, [anchor]);
  }
  return index;
}

/**
 * What node:tls's getPeerCertificate(true) reports for a verified leaf whose issuer is an anchor:
 * the leaf, then the anchor found by name and key identifiers (OpenSSL's own issuer check), and
 * nothing after a self-signed root. A self-issued leaf ends the chain when it is itself trusted.
 */
function findChainToAnchor(leaf: X509Certificate, anchorsBySubject: Map<string, X509Certificate[]>): X509Certificate[] | undefined {
  const named = anchorsBySubject.get(leaf.issuer);
  if (!named) return undefined;
  if (leaf.issuer === leaf.subject) {
    return named.some((a) => a.fingerprint256 === leaf.fingerprint256) ? [leaf] : undefined;
  }
  const issuers = named.filter((a) => leaf.checkIssued(a));
  const anchor = issuers.length === 1 ? issuers[0]! : undefined;
  return anchor && anchor.subject === anchor.issuer ? [leaf, anchor] : undefined;
}

export function createTlsContext(options: ContextOptions): TlsContext {
  return new TlsContext(nativeContext(options), options);
}

function nativeContext(options: ContextOptions): tls.SecureContext {
  const keys = options.identities.map((i) => i.key.export({ format: "pem", type: "pkcs8" }) as string);
  const certs = options.identities.map((i) => i.chain.map((c) => c.toString()).join(""));
  try {
    return tls.createSecureContext({
      ...(keys.length > 0 ? { key: keys, cert: certs } : {}),
      // An empty list is an empty store; leaving `ca` out would load Node's bundled roots instead.
      ca: options.anchors.map((c) => c.toString()),
      ...(options.crls.length > 0 ? { crl: [...options.crls] } : {}),
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      // node:tls takes TLS 1.3 suites (TLS_*) and the TLS ≤ 1.2 list in one string.
      ciphers: `${options.ciphersuites}:${options.ciphers}`,
      ...(options.sessionIdContext !== undefined ? { sessionIdContext: options.sessionIdContext } : {}),
      ...(options.sessionTimeout !== undefined ? { sessionTimeout: options.sessionTimeout } : {}),
      ...(options.ticketKeys !== undefined ? { ticketKeys: options.ticketKeys } : {}),
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code.includes("NO_CIPHER_MATCH") || code === "ERR_SSL_NO_CIPHER_MATCH") {
      throw new GskError(RC.GSK_ERROR_NO_CIPHERS, "no cipher suite in the configured lists is available in this runtime", { cause: error });
    }
    if (code.includes("CRL") || /crl/i.test((error as Error).message)) {
      throw new GskError(RC.GSK_IBMI_ERROR_CRL_INVALID, `a CRL in force could not be parsed: ${(error as Error).message}`, { cause: error });
    }
    if (code === "ERR_OSSL_X509_KEY_VALUES_MISMATCH") {
      throw new GskError(RC.GSK_ERROR_BAD_CERTIFICATE, `the private key of '${options.identities.map((i) => i.label).join("', '")}' does not match its certificate`, { cause: error });
    }
    throw new GskError(RC.GSK_ERROR_INITIALIZATION_FAILED, `the TLS context could not be built: ${(error as Error).message}`, { cause: error });
  }
}

/** The versions this runtime's OpenSSL can negotiate at all. */
export function runtimeSupports(version: TlsVersion): boolean {
  return ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"].includes(version);
}

/** A peer certificate as node:tls gives it (legacy object). */
interface LegacyCert {
  raw?: Buffer;
  fingerprint256?: string;
  issuerCertificate?: LegacyCert;
}

/** One certificate of the chain node:tls verified: its DER, and the fingerprint node computed. */
interface CapturedCert {
  readonly raw: Buffer;
  readonly fingerprint256: string | undefined;
}

function chainFromLegacy(cert: LegacyCert | undefined): CapturedCert[] {
  const out: CapturedCert[] = [];
  const seen = new Set<LegacyCert>();
  for (let c = cert; c && c.raw && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    out.push({ raw: c.raw, fingerprint256: c.fingerprint256 });
  }
  return out;
}

/**
 * A peer's close_notify ends only its own direction (TLS 1.3 half-close): this side may still be
 * writing its answer. A TLSSocket takes its `allowHalfOpen` from the TCP socket it wraps (false
 * for sockets from net.connect and net.createServer) and would then end its writing as soon as
 * the peer's close_notify arrives, failing the answer's writes. When each side ends is the
 * application's decision (gsk_secure_soc_close, Session.close, ending the Duplex view).
 */
function halfOpen(socket: tls.TLSSocket): void {
  socket.allowHalfOpen = true;
}

/**
 * A server's view of the client certificate, from the serialized session (OpenSSL's SSL_SESSION,
 * field [3] EXPLICIT Certificate). node:tls hands it out only as a decoded copy (~190 µs); this
 * way a client that connects again is found among the certificates already parsed.
 */
function sessionPeerCertificate(session: Buffer | undefined): CapturedCert | undefined {
  if (!session || session[0] !== 0x30) return undefined;
  const outer = derElement(session, 0);
  for (let pos = outer?.content ?? session.length; pos < (outer?.end ?? 0); ) {
    const field = derElement(session, pos);
    if (!field) return undefined;
    if (session[pos] === 0xa3) {
      const cert = session[field.content] === 0x30 ? derElement(session, field.content) : undefined;
      if (!cert || cert.end > field.end) return undefined;
      const raw = session.subarray(field.content, cert.end);
      return { raw, fingerprint256: hash("sha256", raw, "hex") };
    }
    pos = field.end;
  }
  return undefined;
}

/**
 * A TLS 1.3 client session for the resumption cache, without the server's certificate (field [3]).
 * node:tls decodes the session it resumes twice (TLSSocket._init and tls.connect), and with
 * OpenSSL 3.0 decoding that certificate is most of it (~125 µs each time, about a third of a
 * resumed handshake's client CPU). Resuming needs only the secret; the library keeps the peer's
 * chain and verdict with the cached session and checks those. TLS 1.2 sessions keep it: node:tls
 * would report a TLS 1.2 resumption without a peer certificate as unverified.
 */
export function leanSession(session: Buffer): Buffer {
  const outer = session[0] === 0x30 ? derElement(session, 0) : undefined;
  if (!outer || outer.end !== session.length) return session;
  const version = derElement(session, outer.content);
  const protocol = version && session[version.end] === 0x02 ? derElement(session, version.end) : undefined;
  if (!protocol || protocol.end - protocol.content !== 2 || session.readUInt16BE(protocol.content) !== 0x0304) return session;
  for (let pos = outer.content; pos < outer.end; ) {
    const field = derElement(session, pos);
    if (!field) return session;
    if (session[pos] === 0xa3) {
      const rest = Buffer.concat([session.subarray(outer.content, pos), session.subarray(field.end, outer.end)]);
      return Buffer.concat([derHeader(0x30, rest.length), rest]);
    }
    pos = field.end;
  }
  return session;
}

function derHeader(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

/** Where a DER element's content starts and where the element ends, or undefined if cut short. */
function derElement(der: Buffer, pos: number): { content: number; end: number } | undefined {
  const first = der[pos + 1];
  if (first === undefined) return undefined;
  let length = first;
  let content = pos + 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || content + n > der.length) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[content + i]!;
    content += n;
  }
  const end = content + length;
  return end <= der.length ? { content, end } : undefined;
}

/**
 * What the core sees of one TLS connection. `stream` is the TLS socket as a plain Duplex (for
 * reading, writing and events); the methods answer what the handshake produced.
 */
export class SecureChannel {
  private peerX509: X509Certificate | undefined | null = null;
  private chain: X509Certificate[] | undefined;

  private constructor(
    private readonly socket: tls.TLSSocket,
    readonly role: "client" | "server",
    private readonly raw: Duplex,
    private readonly context: TlsContext,
  ) {
    this.active = context;
  }

  /** The context in use (a server's SNI choice replaces it): what this side presents. */
  private active: TlsContext;

  get stream(): Duplex {
    return this.socket;
  }

  /**
   * Starts a client handshake over `raw`. Name checks are the library's own (RFC 6125, every
   * handshake), so node:tls's are turned off; verification runs inside OpenSSL and its verdict
   * is read at `'secureConnect'`, never enforced by node:tls (so the precise reason is kept).
   */
  static connect(raw: Duplex, context: TlsContext, options: { servername?: string | undefined; session?: Buffer | undefined; wantSession: boolean }): SecureChannel {
    const socket = tls.connect({
      socket: raw,
      secureContext: context.native,
      ...(options.servername !== undefined ? { servername: options.servername } : {}),
      ...(options.session !== undefined ? { session: options.session } : {}),
      rejectUnauthorized: false,
      // "No objection": the library checks names itself (RFC 6125), on the chain it reads below.
      checkServerIdentity: () => undefined,
    });
    // On every verified full handshake node:tls decodes the server's whole chain into JavaScript
    // objects (getPeerCertificate(true), ~0.4 ms, a quarter of a client's CPU for a mutual-TLS
    // handshake) only to hand it to checkServerIdentity above, which does not look at it. That one
    // call is answered with nothing; the chain is read from the session when asked (peerChain).
    // The stand-in goes at completion, before anything else can ask.
    Object.defineProperty(socket, "getPeerCertificate", { value: () => ({}), configurable: true, writable: true });
    socket.once("secureConnect", () => delete (socket as { getPeerCertificate?: unknown }).getPeerCertificate);
    halfOpen(socket);
    const channel = new SecureChannel(socket, "client", raw, context);
    // The 'session' listener must exist before the ticket arrives, or node:tls never asks for it.
    if (options.wantSession) socket.on("session", () => undefined);
    return channel;
  }

  /** Starts a server handshake over `raw`; completion is the `'secure'` event. */
  static accept(
    raw: Duplex,
    context: TlsContext,
    options: { requestCert: boolean; selectContext?: ((servername: string) => TlsContext | undefined) | undefined },
  ): SecureChannel {
    const select = options.selectContext;
    let channel: SecureChannel | undefined;
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: context.serverNative(options.requestCert),
      requestCert: options.requestCert,
      rejectUnauthorized: false,
      ...(select
        ? {
            SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
              const chosen = select(name) ?? context;
              if (channel) channel.active = chosen;
              cb(null, chosen.serverNative(options.requestCert));
            },
          }
        : {}),
    });
    // Until control is released, TLS errors after the handshake (a bad record MAC, an oversized
    // record) raise only an internal '_tlsError' event: the socket neither fails nor ends, and a
    // read on the session would wait for ever.
    socket.once("secure", () => (socket as unknown as { _releaseControl(): boolean })._releaseControl());
    halfOpen(socket);
    channel = new SecureChannel(socket, "server", raw, context);
    return channel;
  }

  /** Event to wait for to know the handshake completed. */
  get completionEvent(): "secureConnect" | "secure" {
    return this.role === "client" ? "secureConnect" : "secure";
  }

  protocol(): string | null {
    return this.socket.getProtocol();
  }

  cipher(): { standardName: string; name: string } {
    const c = this.socket.getCipher();
    return { standardName: c.standardName, name: c.name };
  }

  reused(): boolean {
    return this.socket.isSessionReused();
  }

  /** OpenSSL's verdict on the peer chain (an X509 verify code name), or undefined if it verified. */
  verifyErrorCode(): string | undefined {
    if (this.role === "client") return this.socket.authorizationError ? String(this.socket.authorizationError as unknown as string) : undefined;
    const handle = (this.socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
    const error = handle?.verifyError?.();
    return error ? (error as Error & { code: string }).code : undefined;
  }

  /**
   * The peer's certificate, read from the serialized session and looked up among the certificates
   * the context has already parsed. Without a session, node:tls's decoded copy is asked
   * (getPeerX509Certificate is not: on a client it removes the leaf from OpenSSL's peer chain).
   */
  peerCertificate(): X509Certificate | undefined {
    if (this.peerX509 === null) {
      const captured = sessionPeerCertificate(this.handshakeSession()) ?? this.legacyChain()[0];
      this.peerX509 = captured ? this.context.peerCertificate(captured) : undefined;
    }
    return this.peerX509;
  }

  /** The chain node:tls decodes: the certificates the peer sent, completed from the trust store. */
  private legacyChain(): CapturedCert[] {
    return chainFromLegacy(tls.TLSSocket.prototype.getPeerCertificate.call(this.socket, true) as LegacyCert);
  }

  /**
   * The chain as OpenSSL verified it, leaf first: the leaf and the anchor that issued it when that
   * is the whole path, else the chain node:tls reports (the certificates the peer sent, completed
   * from the trust store) — also after a failed verification, so a failure names the intermediates
   * the peer actually sent.
   */
  peerChain(): X509Certificate[] {
    if (this.chain) return this.chain;
    const leaf = this.verifyErrorCode() === undefined ? this.peerCertificate() : undefined;
    const short = leaf ? this.context.chainToAnchor(leaf) : undefined;
    if (short) return (this.chain = short);
    const captured = this.legacyChain();
    if (captured.length > 0) {
      this.chain = captured.map((c) => this.context.peerCertificate(c));
      if (this.peerX509 === null) this.peerX509 = this.chain[0];
      return this.chain;
    }
    const only = this.peerCertificate();
    return (this.chain = only ? [only] : []);
  }

  /**
   * The certificate this side presented. A context with one identity can present only that one, so
   * OpenSSL is asked (a copy and a parse, ~125 µs) only when it had a choice.
   */
  localCertificate(): X509Certificate | undefined {
    const identities = this.active.options.identities;
    if (identities.length === 0) return undefined;
    if (identities.length === 1) return identities[0]!.chain[0];
    return this.socket.getX509Certificate();
  }

  session(): Buffer | undefined {
    return this.socket.getSession();
  }

  /**
   * The session as it stood when the handshake completed, serialized once: it gives the session ID
   * and the peer's certificate (node:tls serializes the whole session on every getSession call).
   */
  handshakeSession(): Buffer | undefined {
    if (this.completedSession === null) this.completedSession = this.socket.getSession();
    return this.completedSession;
  }

  private completedSession: Buffer | undefined | null = null;

  servername(): string | undefined {
    const name = (this.socket as unknown as { servername?: string | false | null }).servername;
    return typeof name === "string" ? name : undefined;
  }

  /** TLS 1.2 renegotiation; TLS 1.3 has none. */
  renegotiate(): Promise<void> {
    // node:tls counts every handshake start on a server socket, the ones of a renegotiation we
    // start included (two each), and past three in ten minutes fails the connection as a
    // renegotiation attack (ERR_TLS_SESSION_ATTACK): our own must not use up the peer's allowance.
    // The counter is the undocumented `_handle.handshakes` of Node's own check.
    if (this.role === "server") {
      const handle = (this.socket as unknown as { _handle?: { handshakes?: number } })._handle;
      if (handle && typeof handle.handshakes === "number") handle.handshakes = 0;
    }
    return new Promise((resolve, reject) => {
      // A peer that refuses renegotiation ends the connection; a half-open socket does not close
      // by itself then, and node:tls would never call back.
      const onEnd = (): void => reject(Object.assign(new Error("the peer ended the connection during renegotiation"), { code: "ERR_SOCKET_CLOSED" }));
      this.socket.once("end", onEnd);
      const started = this.socket.renegotiate({ rejectUnauthorized: false }, (err) => {
        this.socket.off("end", onEnd);
        if (err) reject(err);
        else resolve();
      });
      if (!started) {
        this.socket.off("end", onEnd);
        reject(new GskError(RC.GSK_ERROR_NOT_SSLV3, "renegotiation could not be started"));
      }
    });
  }

  /**
   * Ends the connection at once, nothing more sent: the peer sees the connection closed, or reset
   * when the transport is a TCP socket the TLS socket does not own (the opt-in stream paths).
   * The TLS socket goes first: resetting the TCP handle under it while node:tls is inside its
   * handshake callback on that handle crashes the process (SIGSEGV on Node 20.20), and is what
   * validation failures do.
   */
  resetAndDestroy(): void {
    this.socket.destroy();
    const raw = this.raw as Partial<Socket>;
    if (typeof raw.resetAndDestroy === "function" && !raw.destroyed) {
      try {
        raw.resetAndDestroy();
      } catch {
        // not a TCP handle (a test transport): the TLS socket is destroyed either way
      }
    }
  }
}
