#!/usr/bin/env node
// bench/cluster.mjs — full mutual-TLS handshakes/s against examples/cluster-server.ts with 1 worker
// and with N workers (default 2), the load coming from a separate node:tls client process
// (--concurrency connections in flight, each: handshake, read the greeting, close; no resumption).
// Rounds interleave the worker counts; the table gives medians.
//
//   node bench/cluster.mjs [--workers 2] [--repeat 3] [--duration 5] [--concurrency 16]
//
// Needs tsx (a dev dependency) to run the TypeScript example, and dist/ for gskit-tls/tools.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));

// ------------------------------------------------------------------ load generator (child)

async function generate({ port, ca, key, cert, concurrency, warmup, duration }) {
  const context = tls.createSecureContext({ ca, key, cert });
  const t0 = Date.now(), tStart = t0 + warmup * 1000, tEnd = tStart + duration * 1000;
  let counted = 0, errors = 0;
  const one = () => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext: context });
    s.once('error', reject);
    s.once('data', () => { s.end(); s.once('close', resolve); });
  });
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < tEnd) {
      try { await one(); } catch { errors++; continue; }
      const t = Date.now();
      if (t >= tStart && t <= tEnd) counted++;
    }
  }));
  return { counted, errors };
}

if (process.argv[2] === '--generate') {
  process.once('message', async (m) => {
    const c0 = process.cpuUsage();
    const r = await generate(m);
    const c = process.cpuUsage(c0);
    process.send({ ...r, cpu: (c.user + c.system) / 1e6 });
    process.exit(0);
  });
} else {
  await main();
}

// ------------------------------------------------------------------ orchestration

/** CPU seconds of a process and its children (cluster workers), from /proc. */
function treeCpu(pid) {
  let total = 0;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(p) === pid || Number(f[1]) === pid) total += (Number(f[11]) + Number(f[12])) / 100;
    } catch { /* gone */ }
  }
  return total;
}

async function startCluster(workers, pkiDir) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster-server.ts', '0', String(workers), pkiDir], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`cluster example exited with ${code}`)));
  });
  return { child, port };
}

async function main() {
  const { values: a } = parseArgs({ options: {
    workers: { type: 'string', default: '2' }, repeat: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' }, warmup: { type: 'string', default: '1' }, concurrency: { type: 'string', default: '16' },
  } });
  const tools = await import('../dist/tools.js').catch(() => {
    console.error('cluster: dist/ is missing: run npm run build first');
    process.exit(1);
  });
  const { ensureDemoPki } = await import('tsx/esm/api').then(({ tsImport }) => tsImport('../examples/demo-pki.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'gskit-cluster-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const pki = await ensureDemoPki(dir);
  const store = await tools.openKeyStore(pki.clientStore, { password: pki.password });
  const entry = tools.selectPersonalEntry(store, undefined);
  const creds = {
    key: entry.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    cert: entry.certificates[0].toString(),
    ca: tools.trustAnchors(store).map((c) => c.toString()),
  };

  const counts = [1, Number(a.workers)];
  const results = {};
  for (let round = 1; round <= Number(a.repeat); round++) {
    for (const workers of counts) {
      const { child, port } = await startCluster(workers, dir);
      try {
        const gen = fork(fileURLToPath(import.meta.url), ['--generate'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const s0 = treeCpu(child.pid);
        gen.send({ port, ...creds, concurrency: Number(a.concurrency), warmup: Number(a.warmup), duration: Number(a.duration) });
        const r = await new Promise((resolve) => gen.once('message', resolve));
        const serverCpu = treeCpu(child.pid) - s0;
        const rate = r.counted / Number(a.duration);
        const serverPct = (serverCpu / (Number(a.duration) + Number(a.warmup))) * 100;
        (results[workers] ??= []).push({ rate, serverPct, clientPct: (r.cpu / (Number(a.duration) + Number(a.warmup))) * 100 });
        console.error(`[${round}/${a.repeat}] ${workers} worker(s): ${rate.toFixed(0)} handshakes/s, errors ${r.errors}, server CPU ${serverPct.toFixed(0)}%, client CPU ${((r.cpu / (Number(a.duration) + Number(a.warmup))) * 100).toFixed(0)}%`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
  }
  const median = (xs) => { const v = [...xs].sort((x, y) => x - y); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
  const base = median(results[1].map((r) => r.rate));
  console.log(`full mutual-TLS handshakes (ECDSA P-256, TLS 1.3), ${cpus().length} cores, median of ${a.repeat}`);
  console.log('workers  handshakes/s  ratio  server CPU  client CPU');
  for (const w of counts) {
    const rs = results[w];
    const rate = median(rs.map((r) => r.rate));
    console.log(`${String(w).padStart(7)}  ${rate.toFixed(0).padStart(12)}  ${(rate / base).toFixed(2).padStart(5)}  ${median(rs.map((r) => r.serverPct)).toFixed(0).padStart(9)}%  ${median(rs.map((r) => r.clientPct)).toFixed(0).padStart(9)}%`);
  }
  process.exit(0);
}
