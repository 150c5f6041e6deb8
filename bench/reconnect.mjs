#!/usr/bin/env node
// bench/reconnect.mjs — one client reconnecting to the same mutual-TLS server, one connection after
// the other (connect, handshake, 1-byte echo, close), the way a batch job or a proxy calls a
// backend:
//
//   gskit        Environment.open({ keystore }) once, then env.connect() per call, default options
//                (so the environment's session cache resumes every connection after the first)
//   naive        tls.connect({ host, port, ca, key, cert }) per call: what most node:tls code does
//   raw-careful  tls.connect with one shared SecureContext and the last session ticket: what
//                node:tls code achieves when it does by hand what a GSKit environment does
//
// The server is plain node:tls (requestCert, rejectUnauthorized) in its own process, the same for
// every client. Rounds interleave the clients; the table gives medians and ratios to `naive`.
//
//   node bench/reconnect.mjs [--count 1000] [--repeat 3] [--alg ecdsa|rsa]
//
// Certificates and the client's PKCS#12 store are made with gskit-tls/tools into a temporary
// folder. Needs dist/ (npm run build).
import { fork } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const PING = Buffer.from([0x2a]);

// ------------------------------------------------------------------ server process

function serve() {
  const dir = process.argv[3];
  const pem = (n) => readFileSync(join(dir, n));
  const server = tls.createServer({ key: pem('server.key'), cert: pem('server.crt'), ca: pem('ca.crt'), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => s.destroy());
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
}

// ------------------------------------------------------------------ clients

function naive(o) {
  return once(() => tls.connect({ host: '127.0.0.1', port: o.port, servername: 'localhost', ca: o.ca, key: o.key, cert: o.cert }));
}

function rawCareful(o) {
  o.context ??= tls.createSecureContext({ ca: o.ca, key: o.key, cert: o.cert });
  return once(() => {
    const s = tls.connect({ host: '127.0.0.1', port: o.port, servername: 'localhost', secureContext: o.context, ...(o.ticket ? { session: o.ticket } : {}) });
    s.on('session', (t) => { o.ticket = t; });
    return s;
  });
}

/** One node:tls connection: handshake, 1-byte echo, close; resolves whether it resumed. */
function once(open) {
  return new Promise((resolve, reject) => {
    const s = open();
    s.once('error', reject);
    s.once('secureConnect', () => {
      s.write(PING);
      s.once('data', () => {
        const resumed = s.isSessionReused();
        s.end();
        s.once('close', () => resolve(resumed));
      });
    });
  });
}

async function gskit(o) {
  o.env ??= await o.lib.Environment.open({ keystore: { file: o.store, password: o.password } });
  const session = await o.env.connect({ host: '127.0.0.1', port: o.port, servername: 'localhost' });
  await session.write(PING);
  await session.read();
  const resumed = session.resumed;
  await session.close();
  return resumed;
}

const CLIENTS = { naive, gskit, 'raw-careful': rawCareful };

// ------------------------------------------------------------------ orchestration

function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks of 10 ms
}

async function main() {
  const { values: a } = parseArgs({ options: {
    count: { type: 'string', default: '1000' }, repeat: { type: 'string', default: '3' }, alg: { type: 'string', default: 'ecdsa' },
  } });
  const count = Number(a.count), repeat = Number(a.repeat);
  let lib, tools;
  try {
    lib = await import('../dist/index.js');
    tools = await import('../dist/tools.js');
  } catch {
    console.error('reconnect: dist/ is missing or incomplete: run npm run build first');
    process.exit(1);
  }

  const dir = mkdtempSync(join(tmpdir(), 'gskit-reconnect-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const keyType = a.alg === 'rsa' ? 'rsa' : 'ec-p256';
  const caKey = await tools.generateKey(keyType);
  const ca = await tools.issueCertificate({ subject: 'CN=Bench CA', publicKey: caKey.publicKey, signingKey: caKey.privateKey, isCA: true, validityDays: 365 });
  const issuer = { certificate: ca, privateKey: caKey.privateKey };
  const leaf = async (cn, eku, san) => {
    const k = await tools.generateKey(keyType);
    const cert = await tools.issueCertificate({ subject: `CN=${cn}`, issuer, publicKey: k.publicKey, subjectAltNames: san, extendedKeyUsage: [eku], validityDays: 365 });
    return { key: k.privateKey, cert };
  };
  const server = await leaf('localhost', 'serverAuth', { dns: ['localhost'], ip: ['127.0.0.1'] });
  const client = await leaf('bench-client', 'clientAuth', { dns: ['bench-client.example'] });
  const keyPem = (k) => k.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'ca.crt'), ca.toString());
  writeFileSync(join(dir, 'server.crt'), server.cert.toString());
  writeFileSync(join(dir, 'server.key'), keyPem(server.key));
  const password = 'bench-password';
  const store = join(dir, 'client.p12');
  await tools.writeKeyStoreFile(store, [
    { label: 'client', certificates: [client.cert, ca], privateKey: client.key, trusted: false },
    { label: 'bench-ca', certificates: [ca], trusted: true },
  ], { format: 'pkcs12', password });

  const child = fork(new URL(import.meta.url).pathname, ['--server', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const creds = { ca: Buffer.from(ca.toString()), key: Buffer.from(keyPem(client.key)), cert: Buffer.from(client.cert.toString()) };

  const results = {};
  try {
    for (let round = 1; round <= repeat; round++) {
      for (const name of Object.keys(CLIENTS)) {
        // Fresh state per round: a new environment, context and ticket, as a new process would have.
        const o = { lib, port, store, password, ...creds };
        const t0 = process.hrtime.bigint(), c0 = process.cpuUsage(), s0 = cpuOf(child.pid);
        let resumed = 0;
        for (let i = 0; i < count; i++) if (await CLIENTS[name](o)) resumed++;
        const wall = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0), server = cpuOf(child.pid) - s0;
        await o.env?.close();
        const r = { rate: count / wall, cpuUs: ((c.user + c.system) / 1e6 + server) / count * 1e6, resumed: resumed / count };
        (results[name] ??= []).push(r);
        console.error(`[${round}/${repeat}] ${name.padEnd(12)} ${r.rate.toFixed(0)} conn/s, ${r.cpuUs.toFixed(0)} µs CPU/conn (client+server), resumed ${(r.resumed * 100).toFixed(0)}%`);
      }
    }
  } finally {
    child.disconnect();
  }

  const median = (xs) => { const v = [...xs].sort((x, y) => x - y); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
  const base = { rate: median(results.naive.map((r) => r.rate)), cpu: median(results.naive.map((r) => r.cpuUs)) };
  console.log(`${count} sequential reconnects, mutual TLS 1.3, ${a.alg}, median of ${repeat} (ratio to naive)`);
  console.log('client        conn/s            CPU µs/conn (client+server)   resumed');
  for (const [name, rs] of Object.entries(results)) {
    const rate = median(rs.map((r) => r.rate)), cpu = median(rs.map((r) => r.cpuUs));
    console.log(`${name.padEnd(13)} ${rate.toFixed(0).padStart(6)} (${(rate / base.rate).toFixed(2)}x)    ${cpu.toFixed(0).padStart(6)} (${(cpu / base.cpu).toFixed(2)}x)                  ${(median(rs.map((r) => r.resumed)) * 100).toFixed(0)}%`);
  }
  process.exit(0);
}

if (process.argv[2] === '--server') serve();
else await main();
