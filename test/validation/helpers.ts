/**
 * The validation suites' harness: both ends of a real loopback connection driven through the
 * gsk_* layer, each end's outcome recorded (init code and message, validation code, the first
 * read when the peer failed), and `openssl s_server` / `s_client` as the foreign peer.
 *
 * The outcome of each end is taken the moment its own call returns, because gskx_last_error is
 * process-wide and the other end fails a moment later.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { TLSSocket, connect as tlsConnect, createSecureContext, createServer as createTlsServer, type SecureContext, type TlsOptions } from "node:tls";
import { expect } from "vitest";

import {
  gsk_attribute_get_buffer,
  gsk_attribute_get_enum,
  gsk_attribute_get_numeric_value,
  gsk_attribute_set_buffer,
  gsk_attribute_set_callback,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_write,
  gskx_last_error,
  ref,
  type gsk_handle,
  type validationCallBack,
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CERT_VALIDATION_CALLBACK,
  GSK_CLIENT_AUTH_TYPE,
  GSK_CLIENT_SESSION,
  GSK_ERROR_BAD_CERTIFICATE,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_ERROR_NO_CIPHERS,
  GSK_FALSE,
  GSK_FD,
  GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_IBMI_READ_TIMEOUT,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_PROTOCOL_TLSV13,
  GSK_SERVER_AUTH_TYPE,
  GSK_SESSION_TYPE,
  GSK_SID_FIRST,
  GSK_SSL_EXTN_SERVERNAME,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_V3_SESSION_TIMEOUT,
  GSKX_ALLOWED_PEER_NAMES,
  GSKX_CRL_FILE,
  GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
  GSKX_PEER_NAME,
  GSKX_TRUST_FILE,
} from "../../src/index.js";
import type { KeyStoreEntry } from "../../src/keystore/types.js";
import { writeKeyStoreFile } from "../../src/keystore/write.js";
import { issueCertificate } from "../../src/pki/index.js";
import { pkiPath, type FullTree } from "../fixtures/pki-manifest.js";
import { caCert, makeStore, PASSWORD, scratchDir } from "../helpers/stores.js";

export type Tree = FullTree;
export const TREES: readonly Tree[] = ["rsa", "ecdsa"];

// ---------------------------------------------------------------------------------------------
// External tools

/** True when `tool` runs (looked up on PATH at run time). */
export function has(tool: string): boolean {
  const r = spawnSync(tool, tool === "openssl" ? ["version"] : ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

export const HAS_OPENSSL = has("openssl");

// ---------------------------------------------------------------------------------------------
// Certificates and stores

function certsIn(path: string): X509Certificate[] {
  const text = readFileSync(path, "utf8");
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

export function leafCert(tree: Tree, name: string): X509Certificate {
  return certsIn(pkiPath(tree, `${name}.cert.pem`))[0]!;
}

export function leafKey(tree: Tree, name: string): KeyObject {
  return createPrivateKey(readFileSync(pkiPath(tree, `${name}.key.pem`)));
}

export { caCert };

let storeCounter = 0;

/** A store from explicit entries, for the shapes `makeStore` does not make (leaf-only, mismatched key). */
export async function customStore(entries: readonly KeyStoreEntry[], format: "pkcs12" | "pem" = "pkcs12"): Promise<string> {
  const file = join(scratchDir(), `validation-${String(process.pid)}-${String(++storeCounter)}.${format === "pem" ? "pem" : "p12"}`);
  await writeKeyStoreFile(file, entries, { format, password: PASSWORD, iterations: 1 });
  return file;
}

/** A personal entry holding only the leaf: the side then presents no intermediate unless a CA entry supplies it. */
export function leafOnlyEntry(tree: Tree, name: string): KeyStoreEntry {
  return { label: name, certificates: [leafCert(tree, name)], privateKey: leafKey(tree, name), trusted: false };
}

export function caEntry(tree: Tree, name: string): KeyStoreEntry {
  return { label: `ca-${name}`, certificates: [caCert(tree, name)], trusted: true };
}

const untrustedClients = new Map<Tree, Promise<KeyStoreEntry>>();

/**
 * A client certificate issued by the tree's Other CA (a root nobody trusts by default), with the
 * normal client's name and key: only its issuer makes it unacceptable.
 */
export function untrustedClientEntry(tree: Tree): Promise<KeyStoreEntry> {
  let entry = untrustedClients.get(tree);
  if (!entry) {
    entry = (async () => {
      const key = leafKey(tree, "client");
      const cert = await issueCertificate({
        subject: `CN=client.example.test,OU=${tree} untrusted,O=gskit-tls tests,C=US`,
        issuer: { certificate: caCert(tree, "other-ca"), privateKey: leafKey(tree, "other-ca") },
        publicKey: createPublicKey(key),
        extendedKeyUsage: ["clientAuth"],
        subjectAltNames: { dns: ["client.example.test"] },
        validityDays: 365,
      });
      return { label: "client-untrusted", certificates: [cert], privateKey: key, trusted: false };
    })();
    untrustedClients.set(tree, entry);
  }
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Environments

export interface EnvSpec {
  tree: Tree;
  /** Personal entries by leaf name (chain as generated); first is the default. */
  personal?: readonly string[];
  /** CA entries by CA name; default the tree's root. */
  trust?: readonly string[];
  /** A store file made elsewhere (customStore); replaces personal/trust. */
  store?: string;
  sessionType?: number;
  clientAuth?: number;
  serverAuth?: number;
  /** CA names whose CRL files are put in GSKX_CRL_FILE (one file each, comma-separated). */
  crls?: readonly string[];
  trustFile?: string;
  /** Server: GSKX_ALLOWED_PEER_NAMES. */
  allowedPeerNames?: string;
  tls13?: boolean;
  callback?: validationCallBack;
  /** Seconds; 0 turns the client session cache off. */
  sessionTimeout?: number;
}

export interface OpenedEnv {
  handle: gsk_handle;
  close(): void;
}

/** Opens and initialises an environment; the test fails if init does not return GSK_OK. */
export async function openEnv(spec: EnvSpec): Promise<OpenedEnv> {
  const { rc, handle, message } = await tryOpenEnv(spec);
  expect(rc, `gsk_environment_init: ${message ?? ""}`).toBe(GSK_OK);
  return { handle: handle!, close: () => void gsk_environment_close(ref(handle)) };
}

/** Opens an environment and returns what gsk_environment_init said (the handle is closed on failure). */
export async function tryOpenEnv(spec: EnvSpec): Promise<{ rc: number; handle: gsk_handle | undefined; message: string | undefined }> {
  const store = spec.store ?? (await makeStore({ tree: spec.tree, personal: spec.personal ?? [], trust: spec.trust ?? ["root"] }));
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  const h = env.value;
  expect(gsk_attribute_set_buffer(h, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(h, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(h, GSK_SESSION_TYPE, spec.sessionType ?? GSK_CLIENT_SESSION)).toBe(GSK_OK);
  if (spec.clientAuth !== undefined) expect(gsk_attribute_set_enum(h, GSK_CLIENT_AUTH_TYPE, spec.clientAuth)).toBe(GSK_OK);
  if (spec.serverAuth !== undefined) expect(gsk_attribute_set_enum(h, GSK_SERVER_AUTH_TYPE, spec.serverAuth)).toBe(GSK_OK);
  if (spec.crls && spec.crls.length > 0) {
    const files = spec.crls.map((n) => pkiPath(spec.tree, `${n}.crl.pem`)).join(",");
    expect(gsk_attribute_set_buffer(h, GSKX_CRL_FILE, files, 0)).toBe(GSK_OK);
  }
  if (spec.trustFile !== undefined) expect(gsk_attribute_set_buffer(h, GSKX_TRUST_FILE, spec.trustFile, 0)).toBe(GSK_OK);
  if (spec.allowedPeerNames !== undefined) expect(gsk_attribute_set_buffer(h, GSKX_ALLOWED_PEER_NAMES, spec.allowedPeerNames, 0)).toBe(GSK_OK);
  if (spec.tls13 === false) expect(gsk_attribute_set_enum(h, GSK_PROTOCOL_TLSV13, GSK_FALSE)).toBe(GSK_OK);
  if (spec.callback) expect(gsk_attribute_set_callback(h, GSK_CERT_VALIDATION_CALLBACK, spec.callback)).toBe(GSK_OK);
  if (spec.sessionTimeout !== undefined) expect(gsk_attribute_set_numeric_value(h, GSK_V3_SESSION_TIMEOUT, spec.sessionTimeout)).toBe(GSK_OK);
  const rc = await gsk_environment_init(h);
  if (rc !== GSK_OK) {
    const message = gskx_last_error()?.message;
    gsk_environment_close(ref(h));
    return { rc, handle: undefined, message };
  }
  return { rc, handle: h, message: undefined };
}

// ---------------------------------------------------------------------------------------------
// Running both ends

/** What one end saw. */
export interface EndResult {
  /** gsk_secure_soc_init's return code. */
  init: number;
  /** gskx_last_error's message for a failed init. */
  message: string | undefined;
  /** GSK_CERTIFICATE_VALIDATION_CODE after a successful init. */
  validation: number | undefined;
  /** After a successful init while the other end failed: the first read's code and message. */
  firstRead: number | undefined;
  firstReadMessage: string | undefined;
  /** Server: GSK_SSL_EXTN_SERVERNAME (the SNI name received). */
  servername: string | undefined;
  /** GSK_SID_FIRST after a successful init. */
  sidFirst: number | undefined;
}

export interface PairResult {
  server: EndResult;
  client: EndResult;
  /** Both inits succeeded and a message went each way. */
  exchanged: boolean;
}

export interface SessionSpec {
  /** GSK_SSL_EXTN_SERVERNAME_REQUEST on the client session. */
  sni?: string;
  /** GSKX_PEER_NAME on the client session. */
  peerName?: string;
  /** GSK_SERVER_AUTH_TYPE on the client session (overrides the environment's). */
  serverAuth?: number;
  /** Session-level GSK_CERT_VALIDATION_CALLBACK on the validating end. */
  clientCallback?: validationCallBack;
  serverCallback?: validationCallBack;
}

/** A loopback listener on port 0 that stays up, so a client environment can resume (same address). */
export class Listener {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async open(): Promise<Listener> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new Listener(server, (server.address() as { port: number }).port);
  }

  /** A connected pair: the client socket and the server's accepted socket. */
  async pair(): Promise<{ client: Socket; server: Socket; close(): void }> {
    const accepted = new Promise<Socket>((resolve) => this.server.once("connection", resolve));
    const client = netConnect(this.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      client.once("connect", resolve);
      client.once("error", reject);
    });
    const server = await accepted;
    // A reset arriving after a session is closed must not become an uncaught error.
    client.on("error", () => undefined);
    server.on("error", () => undefined);
    return {
      client,
      server,
      close() {
        client.destroy();
        server.destroy();
      },
    };
  }

  /** Stops listening; resolves once the connections it accepted have ended too. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function emptyEnd(): EndResult {
  return { init: -1, message: undefined, validation: undefined, firstRead: undefined, firstReadMessage: undefined, servername: undefined, sidFirst: undefined };
}

async function initEnd(h: gsk_handle | undefined, end: EndResult): Promise<void> {
  end.init = await gsk_secure_soc_init(h);
  // Taken at once: the other end's failure would replace it.
  if (end.init !== GSK_OK) end.message = gskx_last_error()?.message;
}

function readResults(h: gsk_handle | undefined, end: EndResult, server: boolean): void {
  const code = ref<number>();
  expect(gsk_attribute_get_numeric_value(h, GSK_CERTIFICATE_VALIDATION_CODE, code)).toBe(GSK_OK);
  end.validation = code.value;
  const sid = ref<number>();
  if (gsk_attribute_get_enum(h, GSK_SID_FIRST, sid) === GSK_OK) end.sidFirst = sid.value;
  if (server) {
    const name = ref<string>();
    const len = ref<number>();
    if (gsk_attribute_get_buffer(h, GSK_SSL_EXTN_SERVERNAME, name, len) === GSK_OK) end.servername = name.value;
  }
}

async function firstRead(h: gsk_handle | undefined, end: EndResult): Promise<void> {
  const buf = Buffer.alloc(64);
  const n = ref<number>();
  end.firstRead = await gsk_secure_soc_read(h, buf, buf.length, n);
  if (end.firstRead !== GSK_OK) end.firstReadMessage = gskx_last_error()?.message;
  else if (n.value === 0) end.firstReadMessage = "end of stream";
}

async function exchange(c: gsk_handle | undefined, s: gsk_handle | undefined): Promise<boolean> {
  const n = ref<number>();
  const buf = Buffer.alloc(64);
  if ((await gsk_secure_soc_write(c, "ping", 4, n)) !== GSK_OK) return false;
  if ((await gsk_secure_soc_read(s, buf, buf.length, n)) !== GSK_OK || buf.subarray(0, n.value).toString() !== "ping") return false;
  if ((await gsk_secure_soc_write(s, "pong", 4, n)) !== GSK_OK) return false;
  if ((await gsk_secure_soc_read(c, buf, buf.length, n)) !== GSK_OK || buf.subarray(0, n.value).toString() !== "pong") return false;
  return true;
}

/**
 * One connection between two initialised environments over loopback: both handshakes run at
 * once; an end whose init succeeded while the other failed makes its first read (5 s read
 * timeout, so a silent success shows as 6011 rather than a hang); when both succeed a message
 * goes each way. Everything is closed before returning.
 */
export async function runPair(serverEnv: OpenedEnv, clientEnv: OpenedEnv, session: SessionSpec = {}, listener?: Listener): Promise<PairResult> {
  let tcp: Awaited<ReturnType<Listener["pair"]>>;
  if (listener) tcp = await listener.pair();
  else {
    const own = await Listener.open();
    try {
      tcp = await own.pair();
    } finally {
      // Not awaited: a server's close waits for its connections, which live on past this.
      void own.close();
    }
  }
  const s = ref<gsk_handle>();
  const c = ref<gsk_handle>();
  const result: PairResult = { server: emptyEnd(), client: emptyEnd(), exchanged: false };
  try {
    expect(gsk_secure_soc_open(serverEnv.handle, s)).toBe(GSK_OK);
    expect(gsk_secure_soc_open(clientEnv.handle, c)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client)).toBe(GSK_OK);
    for (const h of [s.value, c.value]) expect(gsk_attribute_set_numeric_value(h, GSK_IBMI_READ_TIMEOUT, 5000)).toBe(GSK_OK);
    if (session.sni !== undefined) expect(gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, session.sni, 0)).toBe(GSK_OK);
    if (session.peerName !== undefined) expect(gsk_attribute_set_buffer(c.value, GSKX_PEER_NAME, session.peerName, 0)).toBe(GSK_OK);
    if (session.serverAuth !== undefined) expect(gsk_attribute_set_enum(c.value, GSK_SERVER_AUTH_TYPE, session.serverAuth)).toBe(GSK_OK);
    if (session.clientCallback) expect(gsk_attribute_set_callback(c.value, GSK_CERT_VALIDATION_CALLBACK, session.clientCallback)).toBe(GSK_OK);
    if (session.serverCallback) expect(gsk_attribute_set_callback(s.value, GSK_CERT_VALIDATION_CALLBACK, session.serverCallback)).toBe(GSK_OK);

    await Promise.all([initEnd(s.value, result.server), initEnd(c.value, result.client)]);
    if (result.server.init === GSK_OK) readResults(s.value, result.server, true);
    if (result.client.init === GSK_OK) readResults(c.value, result.client, false);

    if (result.server.init === GSK_OK && result.client.init === GSK_OK) {
      result.exchanged = await exchange(c.value, s.value);
    } else if (result.server.init === GSK_OK) {
      await firstRead(s.value, result.server);
    } else if (result.client.init === GSK_OK) {
      await firstRead(c.value, result.client);
    }
  } finally {
    if (s.value) await gsk_secure_soc_close(s);
    if (c.value) await gsk_secure_soc_close(c);
    tcp.close();
  }
  return result;
}

/** Opens both environments, runs one connection, closes the environments. */
export async function runCase(server: EnvSpec, client: EnvSpec, session: SessionSpec = {}): Promise<PairResult> {
  const s = await openEnv(server);
  try {
    const c = await openEnv(client);
    try {
      return await runPair(s, c, session);
    } finally {
      c.close();
    }
  } finally {
    s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions

/**
 * The codes a non-validating end may get for "the peer refused": 9002 for a close or reset, or
 * the code of the alert received (spec: alert mapping).
 */
export const REFUSAL_CODES: readonly number[] = [
  GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
  GSK_ERROR_BAD_CERTIFICATE,
  GSK_IBMI_ERROR_CERTIFICATE_REVOKED,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_ERROR_NO_CIPHERS,
];

/** The validating end: init returned exactly `code`, with a message. */
export function expectRejected(end: EndResult, code: number): void {
  expect({ init: end.init, message: end.message }, `validating end: ${end.message ?? ""}`).toEqual({ init: code, message: expect.any(String) });
}

/** The validating end accepted: init GSK_OK, and the validation code reads `validation`. */
export function expectAccepted(end: EndResult, validation = 0): void {
  expect({ init: end.init, validation: end.validation }, end.message ?? "").toEqual({ init: GSK_OK, validation });
}

/**
 * The end that did not validate learned of the refusal: a non-zero code from init or, at the
 * latest, from its first read — never success followed by silence — and the text says the peer
 * refused (9002) or names the alert received.
 */
export function expectPeerRefused(end: EndResult, allowed: readonly number[] = REFUSAL_CODES): { code: number; message: string } {
  const code = end.init !== GSK_OK ? end.init : end.firstRead;
  const message = (end.init !== GSK_OK ? end.message : end.firstReadMessage) ?? "";
  expect(code, `the non-validating end got ${String(code)}: ${message}`).not.toBe(GSK_OK);
  expect(allowed, `the non-validating end got ${String(code)}: ${message}`).toContain(code);
  expect(message).toMatch(code === GSKX_ERROR_PEER_REFUSED_CERTIFICATE ? /refused/ : /alert \d+|refused|reset|closed/);
  return { code: code!, message };
}

// ---------------------------------------------------------------------------------------------
// openssl s_server / s_client

export interface OpensslProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(): void;
}

function track(child: ChildProcess): OpensslProcess {
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/**
 * `openssl s_server` on 127.0.0.1, an ephemeral port; resolves once it prints its ACCEPT line
 * (OpenSSL 3.0 prints the bound address there) with the port parsed from it. stdin stays open
 * so the server does not quit on end of input.
 */
export async function opensslServer(args: readonly string[]): Promise<OpensslProcess & { port: number }> {
  const child = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const proc = track(child);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`openssl s_server printed no ACCEPT line: ${proc.output()}`)), 10_000);
      const look = (): void => {
        const m = /ACCEPT\s+\S*:(\d+)/.exec(proc.output());
        if (m) {
          clearTimeout(timer);
          child.stdout?.off("data", look);
          resolve(Number(m[1]));
        }
      };
      child.stdout?.on("data", look);
      void proc.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`openssl s_server exited: ${proc.output()}`));
      });
    });
    return Object.assign(proc, { port });
  } catch (error) {
    proc.kill();
    throw error;
  }
}

/** `openssl s_client` to 127.0.0.1:port; stdin stays open until `input` is written and closed. */
export function opensslClient(port: number, args: readonly string[]): OpensslProcess & { send(text: string): void; end(): void } {
  const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${String(port)}`, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const proc = track(child);
  child.stdin?.on("error", () => undefined);
  return Object.assign(proc, {
    send: (text: string) => void child.stdin?.write(text),
    end: () => void child.stdin?.end(),
  });
}

/** Connects a plain TCP socket to a port on 127.0.0.1. */
export function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Accepts one connection on an ephemeral port: the port now, the socket when a client comes. */
export async function acceptOne(): Promise<{ port: number; socket: Promise<Socket>; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = new Promise<Socket>((resolve) => server.once("connection", resolve));
  return {
    port: (server.address() as { port: number }).port,
    socket,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A file in the tree, for openssl's command line. */
export function file(tree: Tree, name: string): string {
  return pkiPath(tree, name);
}

// ---------------------------------------------------------------------------------------------
// A foreign peer on plain node:tls, for what the library refuses to present: its own expired or
// not-yet-valid certificate fails gsk_environment_init (107), so a peer that presents one has to
// be something else.

export interface ForeignSpec {
  tree: Tree;
  /** Leaf to present (its generated chain file), or none. */
  leaf?: string;
  /** Server: ask for a client certificate (and trust the tree's root for it). */
  requestCert?: boolean;
  tls13?: boolean;
}

/** What the foreign end saw. */
export interface ForeignResult {
  /** Its handshake completed. */
  secure: boolean;
  /** Node error code of the first error, if any. */
  error: string | undefined;
  /** Application data it received. */
  received: string;
  /** It saw the connection end. */
  closed: boolean;
}

function foreignContext(spec: ForeignSpec): SecureContext {
  return createSecureContext({
    ...(spec.leaf ? { key: readFileSync(pkiPath(spec.tree, `${spec.leaf}.key.pem`)), cert: readFileSync(pkiPath(spec.tree, `${spec.leaf}.chain.pem`)) } : {}),
    ca: readFileSync(pkiPath(spec.tree, "ca.pem")),
    maxVersion: spec.tls13 === false ? "TLSv1.2" : "TLSv1.3",
  });
}

/**
 * Our client against a node:tls server presenting `spec.leaf`. The client's init code (and message)
 * and what the foreign server saw; the foreign server writes "hello" once its handshake completes,
 * so a client that connected has data to read.
 */
export async function againstForeignServer(clientEnv: OpenedEnv, spec: ForeignSpec, session: SessionSpec = {}): Promise<{ client: EndResult; foreign: ForeignResult }> {
  const listener = await Listener.open();
  const tcp = await listener.pair();
  void listener.close();
  const foreign: ForeignResult = { secure: false, error: undefined, received: "", closed: false };
  const tlsServer = new TLSSocket(tcp.server, { isServer: true, requestCert: spec.requestCert ?? false, rejectUnauthorized: false, secureContext: foreignContext(spec) });
  tlsServer.on("secure", () => {
    foreign.secure = true;
    tlsServer.write("hello");
  });
  tlsServer.on("data", (d: Buffer) => (foreign.received += d.toString()));
  tlsServer.on("error", (e: NodeJS.ErrnoException) => (foreign.error ??= e.code ?? e.message));
  const closed = new Promise<void>((resolve) => tlsServer.once("close", () => resolve()));
  tlsServer.once("close", () => (foreign.closed = true));

  const c = ref<gsk_handle>();
  const client = emptyEnd();
  try {
    expect(gsk_secure_soc_open(clientEnv.handle, c)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(c.value, GSK_IBMI_READ_TIMEOUT, 5000)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, session.sni ?? "localhost", 0)).toBe(GSK_OK);
    if (session.peerName !== undefined) expect(gsk_attribute_set_buffer(c.value, GSKX_PEER_NAME, session.peerName, 0)).toBe(GSK_OK);
    if (session.clientCallback) expect(gsk_attribute_set_callback(c.value, GSK_CERT_VALIDATION_CALLBACK, session.clientCallback)).toBe(GSK_OK);
    await initEnd(c.value, client);
    if (client.init === GSK_OK) {
      readResults(c.value, client, false);
      await firstRead(c.value, client);
      const n = ref<number>();
      await gsk_secure_soc_write(c.value, "ping", 4, n);
    }
  } finally {
    if (c.value) await gsk_secure_soc_close(c);
    if (client.init !== GSK_OK) await closed;
    tcp.close();
    tlsServer.destroy();
  }
  return { client, foreign };
}

/**
 * A node:tls client presenting `spec.leaf` against our server session. The server's outcome and
 * what the foreign client saw (it writes "ping" once connected; the server echoes on success).
 */
export async function foreignClientAgainst(serverEnv: OpenedEnv, spec: ForeignSpec): Promise<{ server: EndResult; foreign: ForeignResult }> {
  const listener = await Listener.open();
  const tcp = await listener.pair();
  void listener.close();
  const foreign: ForeignResult = { secure: false, error: undefined, received: "", closed: false };
  const tlsClient = tlsConnect({ socket: tcp.client, servername: "localhost", secureContext: foreignContext(spec), rejectUnauthorized: false });
  tlsClient.on("secureConnect", () => {
    foreign.secure = true;
    tlsClient.write("ping");
  });
  tlsClient.on("data", (d: Buffer) => (foreign.received += d.toString()));
  tlsClient.on("error", (e: NodeJS.ErrnoException) => (foreign.error ??= e.code ?? e.message));
  const closed = new Promise<void>((resolve) => tlsClient.once("close", () => resolve()));
  tlsClient.once("close", () => (foreign.closed = true));

  const s = ref<gsk_handle>();
  const server = emptyEnd();
  try {
    expect(gsk_secure_soc_open(serverEnv.handle, s)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server)).toBe(GSK_OK);
    expect(gsk_attribute_set_numeric_value(s.value, GSK_IBMI_READ_TIMEOUT, 5000)).toBe(GSK_OK);
    await initEnd(s.value, server);
    if (server.init === GSK_OK) {
      readResults(s.value, server, true);
      const buf = Buffer.alloc(64);
      const n = ref<number>();
      server.firstRead = await gsk_secure_soc_read(s.value, buf, buf.length, n);
      if (server.firstRead === GSK_OK) await gsk_secure_soc_write(s.value, buf, n.value!, n);
    }
  } finally {
    if (s.value) await gsk_secure_soc_close(s);
    if (server.init !== GSK_OK) await closed;
    else await new Promise((resolve) => setTimeout(resolve, 0));
    tcp.close();
    tlsClient.destroy();
  }
  return { server, foreign };
}

/** The foreign end did not get through: no application data from us, and the connection ended. */
export function expectForeignRefused(foreign: ForeignResult): void {
  expect({ received: foreign.received, closed: foreign.closed }).toEqual({ received: "", closed: true });
}

/**
 * node:tls's own server on 127.0.0.1, as a foreign peer: each connection that completes its
 * handshake goes to `onSecure`, then gets "ok" and an end. close() drops open connections too.
 */
export async function nodeTlsServer(options: TlsOptions, onSecure: (socket: TLSSocket) => void = () => undefined): Promise<{ port: number; close(): Promise<void> }> {
  const server = createTlsServer(options, (socket) => {
    onSecure(socket);
    socket.end("ok");
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => sockets.add(s));
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
