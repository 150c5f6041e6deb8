/**
 * The idiomatic environment: one configuration (identity, trust, policy) opened once and used for
 * many connections — its TLS context and client session cache are shared by all of them.
 *
 * @example
 * await using env = await Environment.open({ keystore: { file: "client.p12", password } });
 * await using session = await env.connect({ host: "localhost", port: 8443, servername: "localhost" });
 * await session.write("hello");
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve as resolvePath } from "node:path";
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { inspect, type InspectOptionsStylized } from "node:util";

import { RC } from "../codes.js";
import { EnvironmentCore } from "../core/environment.js";
import { A } from "../attributes.js";
import { resolveIdentity } from "../core/identity.js";
import { systemStoreLocation } from "../registry/locations.js";
import { SessionCore } from "../core/session.js";
import { GskError } from "../errors.js";
import { applyEnvironmentOptions, applySessionOptions, type EnvironmentOptions, type SessionOptions } from "./options.js";
import { Session } from "./session.js";

/** Where `connect` goes: a host and port, or a socket already connected; plus the session options. */
export interface ConnectOptions extends SessionOptions {
  /** Host to connect to (default `"localhost"`); also the default `servername`. */
  readonly host?: string;
  /** TCP port; required unless `socket` is given. */
  readonly port?: number;
  /** An already connected socket (or any Duplex) instead of host/port. */
  readonly socket?: Duplex;
}

/** One configuration (identity, trust, policy) opened once; its TLS context serves every session. */
export class Environment {
  private constructor(private readonly core: EnvironmentCore) {}

  /** Only safe facts (state, store, labels): never the password or keys the environment holds. */
  [inspect.custom](_depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    return `Environment ${show(this.core.summary(), options)}`;
  }

  /** Opens and initializes an environment; throws GskError (e.g. 202, 408, 407, 6002). */
  static async open(options: EnvironmentOptions = {}): Promise<Environment> {
    const core = new EnvironmentCore({
      systemDirectory: options.systemDirectory,
      ticketKeys: options.ticketKeys,
      expiryWarningDays: options.expiryWarningDays,
    });
    applyEnvironmentOptions(core, options);
    await core.init();
    return new Environment(core);
  }

  /** Findings about the environment's own certificate at open (expiring soon, chain incomplete, …). */
  get warnings(): readonly string[] {
    return this.core.warnings;
  }

  /** Connects (or takes `socket`) and runs a client handshake. */
  async connect(options: ConnectOptions): Promise<Session> {
    const socket = options.socket ?? (await tcpConnect(options.host ?? "localhost", options.port));
    const servername = options.servername ?? (options.socket ? undefined : options.host ?? "localhost");
    try {
      return await this.handshake(socket, { ...options, ...(servername !== undefined ? { servername } : {}) });
    } catch (error) {
      if (!options.socket) socket.destroy();
      throw error;
    }
  }

  /** Runs a server handshake on an accepted socket. */
  accept(socket: Duplex, options: SessionOptions = {}): Promise<Session> {
    return this.handshake(socket, options);
  }

  private async handshake(socket: Duplex, options: SessionOptions): Promise<Session> {
    const core = new SessionCore(this.core);
    applySessionOptions(core, options);
    core.setAttribute("numeric", 300, socket);
    try {
      await core.init();
    } catch (error) {
      await core.close().catch(() => undefined);
      throw error;
    }
    return new Session(core);
  }

  /**
   * A TCP server whose connections are handshaken with this environment; `onSession` gets each
   * session, `onError` each failed handshake (default: ignored, the connection is closed).
   */
  createServer(onSession: (session: Session) => void | Promise<void>, onError?: (error: GskError, socket: Socket) => void): TlsServer {
    return new TlsServer(this, onSession, onError);
  }

  /**
   * Re-reads the key store or application ID (certificates, trust list) and uses it for new
   * handshakes; live sessions are untouched. A broken configuration is refused with its code and
   * the old one keeps serving.
   */
  async reload(): Promise<void> {
    const resolved = await resolveIdentity(this.core.values, { systemDirectory: this.core.options.systemDirectory });
    this.core.replaceIdentity(resolved);
  }

  /**
   * Reloads whenever a file the configuration comes from changes (key store, stash, trust file,
   * CRLs, or the system store and application registry). Directories are watched, not files,
   * because stores and the registry are replaced by rename when written. Changes are coalesced
   * over `debounceMs`; each reload's outcome goes to `onReload` (an error: the old configuration
   * keeps serving). Returns a function that stops watching.
   */
  watch(onReload?: (error: GskError | undefined) => void, debounceMs = 200): () => void {
    const files = this.configurationFiles();
    const byDirectory = new Map<string, Set<string>>();
    for (const f of files) {
      const dir = dirname(f);
      byDirectory.set(dir, (byDirectory.get(dir) ?? new Set()).add(basename(f)));
    }
    let timer: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        this.reload().then(
          () => onReload?.(undefined),
          (error: unknown) => onReload?.(error instanceof GskError ? error : new GskError(RC.GSK_INTERNAL_ERROR, String(error), { cause: error })),
        );
      }, debounceMs);
    };
    const watchers: FSWatcher[] = [];
    for (const [dir, names] of byDirectory) {
      const w = watch(dir, (_event, name) => {
        if (name === null || names.has(name.toString())) schedule();
      });
      w.on("error", () => undefined);
      watchers.push(w);
    }
    return () => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    };
  }

  private configurationFiles(): string[] {
    const v = this.core.values;
    const files: string[] = [];
    const add = (f: string | undefined): void => {
      if (f !== undefined && f.length > 0 && f.toUpperCase() !== "*SYSTEM") files.push(resolvePath(f));
    };
    const app = v.string(A.GSK_IBMI_APPLICATION_ID);
    const keyring = v.string(A.GSK_KEYRING_FILE);
    if (app !== undefined || keyring?.toUpperCase() === "*SYSTEM") {
      const loc = systemStoreLocation({ directory: this.core.options.systemDirectory });
      files.push(loc.storeFile, loc.stashFile, loc.registryFile);
    }
    add(keyring);
    add(v.string(A.GSK_KEYRING_STASH_FILE));
    add(v.string(A.GSKX_TRUST_FILE));
    for (const crl of (v.string(A.GSKX_CRL_FILE) ?? "").split(",")) add(crl.trim());
    return files;
  }

  /** No new sessions; sessions already open keep working. */
  async close(): Promise<void> {
    if (this.core.state !== "closed") this.core.close();
  }

  /** `await using env = await Environment.open(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A TCP server that runs a server handshake on each connection it accepts. */
export class TlsServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  /** @internal */
  constructor(env: Environment, onSession: (session: Session) => void | Promise<void>, onError?: (error: GskError, socket: Socket) => void) {
    this.server = netCreateServer((socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      // A socket that fails before the handshake takes it over must not crash the process.
      socket.on("error", () => undefined);
      env.accept(socket).then(
        (session) => {
          Promise.resolve()
            .then(() => onSession(session))
            .catch(() => session.close());
        },
        (error: unknown) => {
          // The handler sees the socket before it is destroyed, so it can still log the peer address.
          if (onError) onError(error instanceof GskError ? error : new GskError(RC.GSK_INTERNAL_ERROR, String(error), { cause: error }), socket);
          socket.destroy();
        },
      );
    });
  }

  /** Listens (default 127.0.0.1, port 0) and resolves with the bound address. */
  listen(port = 0, host = "127.0.0.1"): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** The bound address, once `listen` has resolved. */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stops listening and ends every connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** `await using server = env.createServer(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function tcpConnect(host: string, port: number | undefined): Promise<Socket> {
  if (port === undefined) return Promise.reject(new GskError(RC.GSK_INVALID_PARAMETER, "connect needs a port (or a socket)"));
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, host);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new GskError(RC.GSK_ERROR_IO, `cannot connect to ${host}:${String(port)}: ${error.code ?? error.message}`, { cause: error }));
    };
    socket.once("error", onError);
  });
}

/** Opens a one-off environment and connects. Reuse an `Environment` for many connections. */
export async function connect(options: EnvironmentOptions & ConnectOptions): Promise<Session> {
  const env = await Environment.open(options);
  try {
    return await env.connect(options);
  } finally {
    await env.close();
  }
}

/** Opens a server environment and a TCP server for it. */
export async function createServer(options: EnvironmentOptions, onSession: (session: Session) => void | Promise<void>): Promise<TlsServer> {
  const env = await Environment.open({ ...options, role: "server" });
  return env.createServer(onSession);
}
