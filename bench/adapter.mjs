// bench/adapter.mjs — gskit-tls behind the shared TLS benchmark's adapter interface
// (documented at the top of ../../shared/bench/raw-tls.mjs; adapters/raw.mjs there is the model).
//
// Only the PUBLIC API of the built package is used, the way an application would use it:
//   adapter.mjs               the idiomatic layer: Environment.open / env.connect / env.createServer,
//                             Session.read / write / close
//   adapter.mjs?layer=gsk     the gsk_* layer as a C program drives it: gsk_environment_open/init,
//                             gsk_secure_soc_open, GSK_FD = the connected socket, gsk_secure_soc_init,
//                             gsk_secure_soc_read into a 64 KiB buffer of the session, _write, _close
//   ...&eof=strict|keep       the opt-in paths: GSKX_STRICT_EOF / GSKX_KEEP_SOCKET_OPEN on every session
//
// Credentials: the harness hands PEM key/cert/CA; each side gets its own key store, a PEM bundle
// (key + certificate + CA certificate) written once per credential set into a temporary folder
// and opened with GSK_KEYRING_FILE, as a user with PEM files would. One environment is opened
// per credential set and reused for every connection (the harness passes the same Buffer objects
// for a whole phase), as GSKit programs do.
//
// Resumption: the environment's client session cache does it by itself. It is on exactly when the
// harness asks for tickets (`tickets: true`); otherwise GSK_V3_SESSION_TIMEOUT is 0. `ticket()`
// hands the harness an opaque token (the cache is inside the environment, nothing to carry).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer as netCreateServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as gsk from '../dist/index.js';

const query = new URL(import.meta.url).searchParams;
const LAYER = query.get('layer') === 'gsk' ? 'gsk' : 'idiomatic';
const EOF = query.get('eof') ?? ''; // '', 'strict' or 'keep'
if (!['', 'strict', 'keep'].includes(EOF)) throw new Error(`adapter.mjs: unknown eof=${EOF} (strict or keep)`);
export const name = `gskit-tls ${LAYER}${EOF ? ` eof=${EOF}` : ''}`;

const READ_SIZE = 64 * 1024; // the gsk layer's read buffer, one per session
// Read buffers of closed sessions, for the next ones: as a C server reuses its per-thread buffer.
// Allocating 64 KiB per connection instead makes V8 count 128 KiB of external memory per
// handshake and run major GCs for it (~100 µs per handshake).
const spareBuffers = [];
const SPARE_MAX = 256;
const TICKET = Object.freeze({ gskitTls: 'the environment session cache resumes by itself' });

// ---------------------------------------------------------------- key stores

let storeDir;
function storeFolder() {
  if (!storeDir) {
    storeDir = mkdtempSync(join(tmpdir(), 'gskit-bench-stores-'));
    process.once('exit', () => rmSync(storeDir, { recursive: true, force: true }));
  }
  return storeDir;
}
let storeCount = 0;

/** A PEM bundle store: private key + certificate (when given) + the CA certificate(s). */
function writeStore(o) {
  const parts = [];
  if (o.key && o.cert) parts.push(o.key, o.cert);
  parts.push(o.ca);
  const file = join(storeFolder(), `store-${process.pid}-${++storeCount}.pem`);
  writeFileSync(file, Buffer.concat(parts.map((p) => Buffer.concat([Buffer.from(p), Buffer.from('\n')]))), { mode: 0o600 });
  return file;
}

// Cache: ca Buffer -> own cert Buffer (or null) -> parameters -> Promise<environment>.
const environments = new WeakMap();
function cached(o, params, open) {
  let byCert = environments.get(o.ca);
  if (!byCert) environments.set(o.ca, (byCert = new Map()));
  let byParams = byCert.get(o.cert ?? null);
  if (!byParams) byCert.set(o.cert ?? null, (byParams = new Map()));
  let env = byParams.get(params);
  if (!env) {
    env = open();
    byParams.set(params, env);
    env.catch(() => byParams.delete(params));
  }
  return env;
}

function protocolsOf(o) {
  const all = ['TLSv1.2', 'TLSv1.3'];
  const lo = all.indexOf(o.minVersion ?? 'TLSv1.2'), hi = all.indexOf(o.maxVersion ?? 'TLSv1.3');
  return all.slice(Math.max(lo, 0), (hi < 0 ? 1 : hi) + 1);
}

const sessionOptions = EOF === 'strict' ? { strictEof: true } : EOF === 'keep' ? { keepSocketOpen: true } : {};

// ---------------------------------------------------------------- idiomatic layer

function openEnvironment(o, role, tickets) {
  return gsk.Environment.open({
    role,
    keystore: { file: writeStore(o) },
    protocols: protocolsOf(o),
    ...(o.ciphersuites ? { tls13Ciphers: o.ciphersuites.split(':') } : {}),
    ...(role === 'server' && o.requestCert ? { clientAuth: 'required' } : {}),
    ...(role === 'client' && !tickets ? { sessionTimeout: 0 } : {}),
  });
}

/** The library's Session plus the two calls the harness wants that a user does not need. */
class IdiomaticSession {
  #s;
  #tickets;
  constructor(session, tickets) { this.#s = session; this.#tickets = tickets; }
  read() { return this.#s.read(); }
  write(buf) { return this.#s.write(buf); }
  close() { return this.#s.close(); }
  get resumed() { return this.#s.resumed; }
  ticket() { return this.#tickets ? TICKET : undefined; }
  info() { return { protocol: this.#s.protocol, cipher: this.#s.cipher }; }
}

async function idiomaticServer(o, onSession) {
  const env = await openEnvironment(o, 'server', false);
  if (!EOF) {
    const server = env.createServer((session) => { onSession(new IdiomaticSession(session, false)); });
    const { port } = await server.listen(o.port ?? 0, o.host);
    return { port, close: () => server.close().then(() => env.close()) };
  }
  // Session options (the opt-in paths) go to env.accept on a socket of our own server.
  return listen(o, (socket) => {
    env.accept(socket, sessionOptions).then(
      (session) => onSession(new IdiomaticSession(session, false)),
      () => socket.destroy(),
    );
  }, () => env.close());
}

async function idiomaticConnect(o) {
  const tickets = !!o.tickets;
  const env = await cached(o, `${protocolsOf(o)}|${o.ciphersuites ?? ''}|${tickets}`, () => openEnvironment(o, 'client', tickets));
  const session = await env.connect({ host: o.host, port: o.port, servername: o.servername, ...sessionOptions });
  return new IdiomaticSession(session, tickets);
}

// ---------------------------------------------------------------- gsk_* layer

function check(rc, what) {
  if (rc === gsk.GSK_OK) return;
  const detail = gsk.gskx_last_error();
  throw new Error(`${what}: ${rc} ${gsk.gsk_strerror(rc)}${detail ? ` (${detail.message})` : ''}`);
}

async function openGskEnvironment(o, role, tickets) {
  const env = gsk.ref();
  check(gsk.gsk_environment_open(env), 'gsk_environment_open');
  const h = env.value;
  check(gsk.gsk_attribute_set_buffer(h, gsk.GSK_KEYRING_FILE, writeStore(o), 0), 'GSK_KEYRING_FILE');
  const type = role === 'client' ? gsk.GSK_CLIENT_SESSION : o.requestCert ? gsk.GSK_SERVER_SESSION_WITH_CL_AUTH_CRITICAL : gsk.GSK_SERVER_SESSION;
  check(gsk.gsk_attribute_set_enum(h, gsk.GSK_SESSION_TYPE, type), 'GSK_SESSION_TYPE');
  const protocols = protocolsOf(o);
  check(gsk.gsk_attribute_set_enum(h, gsk.GSK_PROTOCOL_TLSV12, protocols.includes('TLSv1.2') ? gsk.GSK_TRUE : gsk.GSK_FALSE), 'GSK_PROTOCOL_TLSV12');
  check(gsk.gsk_attribute_set_enum(h, gsk.GSK_PROTOCOL_TLSV13, protocols.includes('TLSv1.3') ? gsk.GSK_TRUE : gsk.GSK_FALSE), 'GSK_PROTOCOL_TLSV13');
  if (o.ciphersuites) check(gsk.gsk_attribute_set_buffer(h, gsk.GSK_TLSV13_CIPHER_SPECS_EX, o.ciphersuites.split(':').join(','), 0), 'GSK_TLSV13_CIPHER_SPECS_EX');
  if (role === 'client' && !tickets) check(gsk.gsk_attribute_set_numeric_value(h, gsk.GSK_V3_SESSION_TIMEOUT, 0), 'GSK_V3_SESSION_TIMEOUT');
  check(await gsk.gsk_environment_init(h), 'gsk_environment_init');
  return h;
}

/** One secure session over a connected socket: open, GSK_FD, options, init. */
async function gskHandshake(env, socket, servername) {
  const session = gsk.ref();
  check(gsk.gsk_secure_soc_open(env, session), 'gsk_secure_soc_open');
  const h = session.value;
  try {
    check(gsk.gsk_attribute_set_numeric_value(h, gsk.GSK_FD, socket), 'GSK_FD');
    if (servername !== undefined) check(gsk.gsk_attribute_set_buffer(h, gsk.GSK_SSL_EXTN_SERVERNAME_REQUEST, servername, 0), 'GSK_SSL_EXTN_SERVERNAME_REQUEST');
    if (EOF === 'strict') check(gsk.gsk_attribute_set_enum(h, gsk.GSKX_STRICT_EOF, gsk.GSK_TRUE), 'GSKX_STRICT_EOF');
    if (EOF === 'keep') check(gsk.gsk_attribute_set_enum(h, gsk.GSKX_KEEP_SOCKET_OPEN, gsk.GSK_TRUE), 'GSKX_KEEP_SOCKET_OPEN');
    check(await gsk.gsk_secure_soc_init(h), 'gsk_secure_soc_init');
  } catch (error) {
    await gsk.gsk_secure_soc_close(session);
    socket.destroy();
    throw error;
  }
  return new GskSession(session, socket);
}

class GskSession {
  #box;      // the session handle's box: gsk_secure_soc_close clears it
  #h;
  #socket;
  #buf;      // the 64 KiB read buffer; a read's chunk is a view of it, valid until the next read or close
  #amtRead = gsk.ref(0);
  #amtWritten = gsk.ref(0);
  #tickets = false;
  constructor(box, socket) { this.#box = box; this.#h = box.value; this.#socket = socket; }

  read() {
    const buf = (this.#buf ??= spareBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_SIZE));
    return gsk.gsk_secure_soc_read(this.#h, buf, READ_SIZE, this.#amtRead).then((rc) => {
      if (rc !== gsk.GSK_OK) check(rc, 'gsk_secure_soc_read');
      const n = this.#amtRead.value;
      return n === 0 ? null : buf.subarray(0, n);
    });
  }

  write(data) {
    return gsk.gsk_secure_soc_write(this.#h, data, data.length, this.#amtWritten).then((rc) => {
      if (rc !== gsk.GSK_OK) check(rc, 'gsk_secure_soc_write');
    });
  }

  close() {
    if (this.#box.value === undefined) return Promise.resolve();
    return gsk.gsk_secure_soc_close(this.#box).then(() => {
      // keepSocketOpen leaves TCP to the application: this one has nothing more to say in plaintext.
      if (EOF === 'keep') this.#socket.end();
      if (this.#buf && spareBuffers.length < SPARE_MAX) spareBuffers.push(this.#buf);
      this.#buf = undefined;
    });
  }

  get resumed() {
    const v = gsk.ref();
    return gsk.gsk_attribute_get_enum(this.#h, gsk.GSK_SID_FIRST, v) === gsk.GSK_OK && v.value === gsk.GSK_SID_NOT_FIRST;
  }

  set wantsTickets(v) { this.#tickets = v; }
  ticket() { return this.#tickets ? TICKET : undefined; }

  info() {
    const protocol = gsk.ref(), cipher = gsk.ref(), len = gsk.ref();
    gsk.gsk_attribute_get_enum(this.#h, gsk.GSK_PROTOCOL_USED, protocol);
    gsk.gsk_attribute_get_buffer(this.#h, gsk.GSK_CONNECT_CIPHER_SPEC_EX, cipher, len);
    const names = { [gsk.GSK_PROTOCOL_USED_TLSV13]: 'TLSv1.3', [gsk.GSK_PROTOCOL_USED_TLSV12]: 'TLSv1.2' };
    return { protocol: names[protocol.value] ?? String(protocol.value), cipher: cipher.value };
  }
}

async function gskServer(o, onSession) {
  const env = await openGskEnvironment(o, 'server', false);
  return listen(o, (socket) => {
    gskHandshake(env, socket, undefined).then(onSession, () => undefined);
  }, () => { gsk.gsk_environment_close(gsk.ref(env)); });
}

async function gskConnect(o) {
  const tickets = !!o.tickets;
  const env = await cached(o, `${protocolsOf(o)}|${o.ciphersuites ?? ''}|${tickets}`, () => openGskEnvironment(o, 'client', tickets));
  const socket = await new Promise((resolve, reject) => {
    const s = createConnection({ host: o.host, port: o.port, noDelay: true });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
  const session = await gskHandshake(env, socket, o.servername);
  session.wantsTickets = tickets;
  return session;
}

// ---------------------------------------------------------------- shared

/** A plain TCP server whose accepted sockets go to `onSocket`. */
function listen(o, onSocket, onClose) {
  const open = new Set();
  const server = netCreateServer({ noDelay: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => undefined); // a peer's reset must not crash the server
    onSocket(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host, o.backlog ?? 511, () => {
      server.off('error', reject);
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => {
          for (const s of open) s.destroy();
          server.close(() => { onClose(); done(); });
        }),
      });
    });
  });
}

export const createServer = LAYER === 'gsk' ? gskServer : idiomaticServer;
export const connect = LAYER === 'gsk' ? gskConnect : idiomaticConnect;
