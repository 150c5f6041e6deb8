/**
 * A connection taken one step at a time, each step's outcome reported: resolve the name, connect
 * TCP, run the TLS handshake, validate the server's certificate, send credentials. What a device
 * that syncs with a server needs to tell its user: not "TLS failed", but "the name does not
 * resolve", "nothing listens there", "the server's certificate expired on …".
 *
 * The handshake runs in PASSTHRU mode so that it completes whatever the certificate, and the
 * chain can be shown and judged as a step of its own; the verdict is the library's usual one
 * (trust list, CRLs, RFC 6125 name check). Nothing is ever sent over a session whose certificate
 * failed: the credentials step runs only after validation passed.
 */
import { lookup } from "node:dns/promises";
import { isIP, connect as netConnect, type Socket } from "node:net";
import type { X509Certificate } from "node:crypto";

import { Environment } from "./api/environment.js";
import type { KeyStoreOptions } from "./api/options.js";
import type { Session } from "./api/session.js";
import { RC, returnCodeName, returnCodeText } from "./codes.js";
import { GskError, isGskError } from "./errors.js";
import { mapNodeError } from "./trust/map-node-error.js";
import { checkPeerName } from "./trust/peer-name.js";
import { formatDnRfc4514, isoDate, validationMessage } from "./trust/describe.js";

/** The steps, in the order they run. */
export type DiagnoseStepName = "resolve" | "connect" | "handshake" | "validate" | "send";

/** One step's outcome. A failed step is the last one run. */
export interface DiagnoseStep {
  readonly step: DiagnoseStepName;
  readonly ok: boolean;
  /** The return code of a failure (a failed reply check has none: the server answered). */
  readonly code?: number;
  /** IBM's name of `code`. */
  readonly codeName?: string;
  /** What happened, for people: one sentence, with the fix for a failure. */
  readonly message: string;
  /** Facts behind the message: addresses, the Node error code, the server's reply. */
  readonly detail?: string;
}

/** A certificate of the server's chain, as shown to people. */
export interface DiagnosedCertificate {
  /** RFC 4514, most specific first: `CN=sync.example.com,O=Example`. */
  readonly subject: string;
  readonly issuer: string;
  /** ISO 8601. */
  readonly validFrom: string;
  readonly validTo: string;
  readonly serialNumber: string;
  /** subjectAltName as Node prints it (`DNS:a, IP Address:1.2.3.4`), when present. */
  readonly subjectAltName?: string;
  readonly fingerprint256: string;
}

export interface DiagnoseOptions {
  /** Host name (resolved with the system resolver, as `dns.lookup`) or IP address. */
  readonly host: string;
  /** TCP port, 1–65535. */
  readonly port: number;
  /** Name the certificate must match, and the SNI name sent (default: `host`). */
  readonly servername?: string;
  /** Key store: our certificate (if the server asks for one) and, unless `trustFile`, the CAs trusted. */
  readonly keystore?: KeyStoreOptions;
  /** PEM file of the CA certificates to trust (replaces the key store's CA entries). */
  readonly trustFile?: string;
  /** An application ID instead of a key store. */
  readonly applicationId?: string;
  /** Directory of the system store and application registry, for `applicationId` or `*SYSTEM`. */
  readonly systemDirectory?: string;
  /** Limit for each step that waits on the network, in ms (the handshake's in whole seconds). Default 10000. */
  readonly timeoutMs?: number;
  /** Sent once the certificate validated; the server's answer (its first line) is reported. */
  readonly credentials?: string | Uint8Array;
  /** The answer to `credentials` that means success; any other fails the send step. Default: any answer. */
  readonly expectReply?: RegExp;
}

export interface Diagnosis {
  /** Every step ran and passed. */
  readonly ok: boolean;
  readonly steps: readonly DiagnoseStep[];
  /** The server's chain, leaf first, once a handshake completed. */
  readonly chain?: readonly DiagnosedCertificate[];
  /** Negotiated protocol (`TLSv1.3`) and cipher suite, once a handshake completed. */
  readonly protocol?: string;
  readonly cipher?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function failed(step: DiagnoseStepName, code: number, message: string, detail?: string): DiagnoseStep {
  return { step, ok: false, code, codeName: returnCodeName(code) ?? "GSK_UNKNOWN", message, ...(detail !== undefined ? { detail } : {}) };
}

function passed(step: DiagnoseStepName, message: string, detail?: string): DiagnoseStep {
  return { step, ok: true, message, ...(detail !== undefined ? { detail } : {}) };
}

function describe(cert: X509Certificate): DiagnosedCertificate {
  return {
    subject: formatDnRfc4514(cert.subject),
    issuer: formatDnRfc4514(cert.issuer),
    validFrom: isoDate(cert.validFrom),
    validTo: isoDate(cert.validTo),
    serialNumber: cert.serialNumber,
    ...(cert.subjectAltName !== undefined ? { subjectAltName: cert.subjectAltName } : {}),
    fingerprint256: cert.fingerprint256,
  };
}

/** Rejects with `onTimeout()` if `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function resolveStep(host: string, ms: number): Promise<{ step: DiagnoseStep; addresses: string[] }> {
  if (isIP(host) !== 0) return { step: passed("resolve", `${host} is an IP address: nothing to resolve`, host), addresses: [host] };
  try {
    const found = await within(lookup(host, { all: true }), ms, () => new GskError(RC.GSK_IBMI_ERROR_TIMED_OUT, "timed out"));
    const addresses = found.map((a) => a.address);
    return { step: passed("resolve", `${host} resolves to ${addresses.join(", ")}`, addresses.join(",")), addresses };
  } catch (error) {
    if (isGskError(error)) {
      return { step: failed("resolve", error.code, `no answer for ${host} within ${String(ms)} ms: the name servers are unreachable or slow. Fix: check the network's DNS settings`), addresses: [] };
    }
    const code = (error as NodeJS.ErrnoException).code ?? "unknown";
    const why =
      code === "ENOTFOUND"
        ? `${host} does not exist in DNS (or is not in the hosts file). Fix: check the spelling of the host name`
        : code === "EAI_AGAIN"
          ? `the name servers could not answer for ${host} just now (temporary failure). Fix: check the network's DNS settings, then retry`
          : `${host} cannot be resolved (${code}). Fix: check the host name and the network's DNS settings`;
    return { step: failed("resolve", RC.GSK_ERROR_IO, why, code), addresses: [] };
  }
}

function tcp(address: string, port: number, ms: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new GskError(RC.GSK_IBMI_ERROR_TIMED_OUT, `no answer from ${address}:${String(port)} within ${String(ms)} ms`, { nodeCode: "ETIMEDOUT" }));
    }, ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once("error", onError);
  });
}

async function connectStep(addresses: readonly string[], port: number, ms: number): Promise<{ step: DiagnoseStep; socket?: Socket }> {
  let last: DiagnoseStep | undefined;
  const tried: string[] = [];
  // Each address in turn, as a client does: a host with an unreachable IPv6 address may still
  // answer on IPv4.
  for (const address of addresses) {
    const where = `${address.includes(":") ? `[${address}]` : address}:${String(port)}`;
    try {
      const socket = await tcp(address, port, ms);
      const before = tried.length > 0 ? ` (after ${tried.join(", ")} failed)` : "";
      return { step: passed("connect", `connected to ${where}${before}`, where), socket };
    } catch (error) {
      tried.push(where);
      if (isGskError(error)) {
        last = failed("connect", error.code, `${where} did not answer within ${String(ms)} ms: a firewall drops the packets, or the host is down. Fix: check the address, the port and the network path`, `${where} ETIMEDOUT`);
        continue;
      }
      const nodeCode = (error as NodeJS.ErrnoException).code ?? "unknown";
      const mapped = mapNodeError(error);
      const why =
        nodeCode === "ECONNREFUSED"
          ? `${where} refused the connection: nothing listens on port ${String(port)}. Fix: check the port, and that the server runs`
          : nodeCode === "EHOSTUNREACH" || nodeCode === "ENETUNREACH"
            ? `${where} is unreachable (${nodeCode}): no route to it. Fix: check the network path`
            : `${where} could not be connected to (${nodeCode}): ${mapped.hint}`;
      last = failed("connect", mapped.code, why, `${where} ${nodeCode}`);
    }
  }
  return { step: last ?? failed("connect", RC.GSK_ERROR_IO, "there is no address to connect to") };
}

async function handshakeStep(env: Environment, socket: Socket, servername: string): Promise<{ step: DiagnoseStep; session?: Session }> {
  try {
    const session = await env.connect({ socket, servername });
    return { step: passed("handshake", `${session.protocol} with ${session.cipher}`, `${session.protocol} ${session.cipher}`), session };
  } catch (error) {
    socket.destroy();
    const e = isGskError(error) ? error : new GskError(RC.GSK_INTERNAL_ERROR, String(error), { cause: error });
    return { step: failed("handshake", e.code, e.message.replace(/^gsk: /, ""), e.nodeCode) };
  }
}

function validateStep(session: Session, servername: string): DiagnoseStep {
  const code = session.validationCode;
  const chain = session.peerChain;
  const leaf = chain[0];
  if (code === 0) {
    return passed("validate", `the certificate of ${leaf ? formatDnRfc4514(leaf.subject) : "the server"} is trusted and matches ${servername}`, leaf ? `issuer ${formatDnRfc4514(leaf.issuer)}, valid until ${isoDate(leaf.validTo)}` : undefined);
  }
  // The name check's own explanation lists the names the certificate has.
  const name = code === RC.GSKX_ERROR_PEER_NAME_MISMATCH && leaf ? checkPeerName(leaf, servername) : undefined;
  const hint = name && !name.ok ? name.message : undefined;
  const message = validationMessage(code, chain, { side: "client", expectedName: servername, ...(hint !== undefined ? { hint } : {}) });
  return failed("validate", code, message, returnCodeText(code));
}

/** Reads until a newline, the end of the stream, or `max` bytes. */
async function readReply(session: Session, max = 4096): Promise<string | null> {
  let text = "";
  for (;;) {
    const chunk = await session.read();
    if (chunk === null) return text === "" ? null : text;
    text += chunk.toString("utf8");
    if (text.includes("\n") || text.length >= max) return text;
  }
}

async function sendStep(session: Session, credentials: string | Uint8Array, expect: RegExp | undefined): Promise<DiagnoseStep> {
  const bytes = typeof credentials === "string" ? Buffer.from(credentials) : credentials;
  try {
    await session.write(bytes);
    const reply = await readReply(session);
    if (reply === null) {
      return failed(
        "send",
        RC.GSK_ERROR_SOCKET_CLOSED,
        `the server closed the connection without answering the credentials (${String(bytes.length)} bytes): it refused them, or it refused our certificate or its absence (see the server's log)`,
      );
    }
    const line = reply.split("\n")[0]!.trim();
    if (expect && !expect.test(line)) {
      return { step: "send", ok: false, message: `the server answered '${line}', which is not the expected answer (${String(expect)}): it did not accept the credentials`, detail: line };
    }
    return passed("send", `sent ${String(bytes.length)} bytes; the server answered '${line}'`, line);
  } catch (error) {
    const e = isGskError(error) ? error : new GskError(RC.GSK_INTERNAL_ERROR, String(error), { cause: error });
    return failed("send", e.code, e.message.replace(/^gsk: /, ""), e.nodeCode);
  }
}

/**
 * Connects step by step and reports each step: resolve, connect, handshake, validate and (with
 * `credentials`) send. Stops at the first step that fails. Network outcomes are results, not
 * errors; it throws (a GskError) only for its own configuration: a missing host or port, a key
 * store that does not open (202, 408, …), an unknown application ID (6002).
 *
 * @example
 * const d = await diagnoseConnection({ host: "sync.example.com", port: 8443, trustFile: "ca.pem" });
 * for (const s of d.steps) console.log(`${s.step}: ${s.ok ? "ok" : `FAILED ${s.code}`} ${s.message}`);
 */
export async function diagnoseConnection(options: DiagnoseOptions): Promise<Diagnosis> {
  const { host, port } = options;
  if (typeof host !== "string" || host === "") throw new GskError(RC.GSK_INVALID_PARAMETER, "diagnoseConnection needs a host");
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new GskError(RC.GSK_INVALID_PARAMETER, `diagnoseConnection needs a port from 1 to 65535, not ${String(port)}`);
  const ms = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(ms > 0)) throw new GskError(RC.GSK_INVALID_PARAMETER, `timeoutMs must be positive, not ${String(ms)}`);
  const servername = options.servername ?? host;

  // Opened first: a local configuration error is the caller's, and found before any traffic.
  const env = await Environment.open({
    role: "client",
    ...(options.keystore ? { keystore: options.keystore } : {}),
    ...(options.trustFile !== undefined ? { trustFile: options.trustFile } : {}),
    ...(options.applicationId !== undefined ? { applicationId: options.applicationId } : {}),
    ...(options.systemDirectory !== undefined ? { systemDirectory: options.systemDirectory } : {}),
    // Validation is a step of its own (see the module comment); nothing is sent unless it passes.
    dangerousPassthru: true,
    handshakeTimeoutMs: ms,
    readTimeoutMs: ms,
    sessionTimeout: 0,
  });
  const steps: DiagnoseStep[] = [];
  const done = (extra: Omit<Diagnosis, "ok" | "steps"> = {}): Diagnosis => ({ ok: steps.every((s) => s.ok), steps, ...extra });
  let session: Session | undefined;
  try {
    const resolved = await resolveStep(host, ms);
    steps.push(resolved.step);
    if (!resolved.step.ok) return done();

    const connected = await connectStep(resolved.addresses, port, ms);
    steps.push(connected.step);
    if (!connected.socket) return done();

    const shaken = await handshakeStep(env, connected.socket, servername);
    steps.push(shaken.step);
    if (!shaken.session) return done();
    session = shaken.session;
    const facts = { chain: session.peerChain.map(describe), protocol: session.protocol, cipher: session.cipher };

    const validated = validateStep(session, servername);
    steps.push(validated);
    if (!validated.ok || options.credentials === undefined) return done(facts);

    steps.push(await sendStep(session, options.credentials, options.expectReply));
    return done(facts);
  } finally {
    await session?.close().catch(() => undefined);
    await env.close();
  }
}
