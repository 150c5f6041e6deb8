#!/usr/bin/env node
// bench/profile.mjs — where the time goes: one harness phase under `--cpu-prof`, summarized.
//
//   node bench/profile.mjs [--phase hs.full.ecdsa.mtls] [--procs split|same] [--duration 5]
//                          [--impl raw --impl bench/adapter.mjs ...] [--top 12] [--keep DIR]
//                          [--bulk-mib 256]
//
// Runs ../shared/bench/raw-tls.mjs once (one repetition, the implementations interleaved as in
// `npm run bench`) with NODE_OPTIONS=--cpu-prof, so every worker process writes a V8 CPU profile
// when it exits. Each profile is then attributed to its implementation (the adapter module it
// loaded) and its role (server, client or both), and its sampled time is split into:
//
//   native      C++ and OpenSSL: the handshake, record encryption, certificate decoding; V8
//               reports it as "(program)" or under the native binding that was called
//   gc          "(garbage collector)"
//   node:tls    node's own TLS and stream JavaScript (node:_tls_wrap, node:internal/...)
//   gskit-tls   this package's JavaScript (dist/), adapter included
//   harness     the benchmark's own loop (../shared/bench)
//
// Samples before the phase starts (process start-up, module loading) and "idle" samples (the
// event loop waiting) are left out: the shares are of busy time during the phase. Ratios
// between implementations come from the same run, so they compare like with like; absolute
// figures from a profiled run are slower than unprofiled ones.
//
// Needs dist/ (npm run build) and the shared harness.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const harness = join(repo, '..', 'shared', 'bench', 'raw-tls.mjs');
if (!existsSync(harness)) {
  console.log(`profile: the shared TLS harness is not here (${harness}); nothing to run.`);
  process.exit(0);
}
if (!existsSync(join(repo, 'dist', 'index.js'))) {
  console.error('profile: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const { values: a } = parseArgs({ options: {
  phase: { type: 'string', default: 'hs.full.ecdsa.mtls' },
  procs: { type: 'string', default: 'split' },
  duration: { type: 'string', default: '5' },
  impl: { type: 'string', multiple: true },
  top: { type: 'string', default: '12' },
  keep: { type: 'string' },
  'bulk-mib': { type: 'string', default: '256' },
} });
const impls = a.impl ?? ['raw', 'bench/adapter.mjs', 'bench/adapter.mjs?layer=gsk'];
const dir = a.keep ? (mkdirSync(a.keep, { recursive: true }), a.keep) : mkdtempSync(join(tmpdir(), 'gskit-profile-'));

const args = [harness, ...impls.flatMap((i) => ['--impl', i]), '--phases', a.phase, '--procs', a.procs, '--repeat', '1', '--duration', a.duration, '--bulk-mib', a['bulk-mib']];
console.error(`profile: profiles to ${dir}: node ${args.join(' ')}`);
const run = spawnSync(process.execPath, args, {
  cwd: repo,
  env: { ...process.env, GSKIT_PROFILE_DIR: dir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(repo, 'bench', 'cpu-profile-preload.mjs')).href}`.trim() },
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
});
if (run.status !== 0) {
  console.error(`profile: the harness failed (exit ${String(run.status)})`);
  process.exit(1);
}
const result = JSON.parse(run.stdout.trim().split('\n').at(-1));

// ------------------------------------------------------------------ attribution

function category(frame) {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)' || functionName === '(root)') return 'native';
  if (url === '') return 'native'; // a native binding (C++), e.g. getPeerCertificate or writev
  if (url.includes('/dist/') || url.includes('/bench/adapter.mjs')) return 'gskit-tls';
  if (url.includes('/shared/bench/')) return 'harness';
  if (url.startsWith('node:')) return url.includes('tls') || url.includes('stream') || url.includes('net') ? 'node:tls' : 'node (other)';
  return 'other';
}

/** Which implementation and role a profile belongs to, from the modules it ran. */
function identify(nodes) {
  const urls = new Set(nodes.map((n) => n.callFrame.url));
  const names = new Set(nodes.map((n) => n.callFrame.functionName));
  if ([...urls].some((u) => u.endsWith('/raw-tls.mjs'))) return undefined; // the orchestrator
  const adapterUrl = [...urls].find((u) => u.includes('/bench/adapter.mjs') || u.includes('/adapters/raw.mjs'));
  const impl = adapterUrl?.includes('/bench/adapter.mjs')
    ? `bench/adapter.mjs${new URL(adapterUrl).search}`
    : adapterUrl?.includes('control') ? '../shared/bench/adapters/raw.mjs?control' : 'raw';
  const server = names.has('listen') || names.has('serveEcho') || names.has('serveSink');
  const client = names.has('handshakes') || names.has('bulk') || names.has('latency') || names.has('idleOpen');
  return { impl, role: server && client ? 'both' : server ? 'server' : 'client' };
}

const CLIENT_PHASES = new Set(['handshakes', 'bulk', 'latency', 'idleOpen']);
const CATEGORIES = ['native', 'gc', 'node:tls', 'node (other)', 'gskit-tls', 'harness', 'other'];
const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((file) => {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const at = []; // each sample's time stamp (µs, the monotonic clock every process shares)
  let t = profile.startTime;
  for (const dt of profile.timeDeltas) at.push((t += dt));
  return { profile, at, who: identify(profile.nodes) };
}).filter((p) => p.who);

// The phase starts when the client side enters it; samples before that (process start-up, module
// loading, opening the environment: fixed costs outside the harness's measurement window) are
// left out. A server process is cut at the same moment (the clock is shared).
function phaseStart({ profile, at }) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inPhase = (id) => {
    for (let node = id; node !== undefined; node = parent.get(node)) if (CLIENT_PHASES.has(byId.get(node).callFrame.functionName)) return true;
    return false;
  };
  const i = profile.samples.findIndex(inPhase);
  return i < 0 ? Infinity : at[i];
}
const clientStarts = profiles.filter((p) => p.who.role !== 'server').map(phaseStart);
/** A server's phase starts with the client run that falls within the server's lifetime. */
function startFor(p) {
  if (p.who.role !== 'server') return phaseStart(p);
  return clientStarts.find((t) => t >= p.profile.startTime && t <= p.profile.endTime) ?? -Infinity;
}

const tally = new Map(); // "impl|role" -> { busy, byCategory, byFunction }
for (const { profile, at, who } of profiles) {
  const from = startFor({ profile, at, who });
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    if (at[i] < from) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const key = `${who.impl}|${who.role}`;
  const t = tally.get(key) ?? { ...who, busy: 0, byCategory: new Map(), byFunction: new Map() };
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame;
    const cat = category(frame);
    if (cat === 'idle') continue;
    t.busy += us;
    t.byCategory.set(cat, (t.byCategory.get(cat) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*\/(dist|bench|shared\/bench)\//, '$1/')}:${frame.lineNumber + 1}` : 'native';
    const fn = `${frame.functionName || '(anonymous)'} ${where}`;
    t.byFunction.set(fn, (t.byFunction.get(fn) ?? 0) + us);
  }
  tally.set(key, t);
}

// ------------------------------------------------------------------ report

// The phase's headline metric: handshakes/s, MB/s or the p50 round trip.
const metric = { bulk: 'bulk.MBps', latency: 'rtt.p50_us', idle: 'idle.server.rss_per_conn_KiB' }[a.phase] ?? a.phase;
const measured = Object.fromEntries(result.impls.map((i) => [i.label, result.summary[i.label]?.[metric]]));
const pct = (x, total) => `${((100 * x) / total).toFixed(1)} %`;
console.log(`## ${a.phase}, --procs ${a.procs}, one repetition under --cpu-prof\n`);
console.log(`| implementation | role | busy ms | ${CATEGORIES.join(' | ')} |`);
console.log(`|---|---|---|${CATEGORIES.map(() => '---').join('|')}|`);
const rows = [...tally.values()].sort((x, y) => impls.indexOf(x.impl) - impls.indexOf(y.impl) || x.role.localeCompare(y.role));
for (const t of rows) {
  console.log(`| ${t.impl} | ${t.role} | ${(t.busy / 1000).toFixed(0)} | ${CATEGORIES.map((c) => pct(t.byCategory.get(c) ?? 0, t.busy)).join(' | ')} |`);
}
console.log(`\n${metric} in this (profiled) run:`, Object.entries(measured).map(([k, v]) => `${k} ${v ? v.median.toFixed(0) : '-'}`).join(', '));
for (const t of rows.filter((r) => r.impl !== 'raw')) {
  const ours = [...t.byFunction].filter(([fn]) => /dist\/|bench\/adapter/.test(fn)).sort((x, y) => y[1] - x[1]).slice(0, Number(a.top));
  if (ours.length === 0) continue;
  console.log(`\n### ${t.impl} ${t.role}: gskit-tls functions by self time (share of busy time)\n`);
  for (const [fn, us] of ours) console.log(`- ${pct(us, t.busy)}  ${fn}`);
}
for (const t of rows) {
  const top = [...t.byFunction].sort((x, y) => y[1] - x[1]).slice(0, 6);
  console.log(`\n${t.impl} ${t.role}, top self time: ${top.map(([fn, us]) => `${fn.replace(/ native$/, '')} ${pct(us, t.busy)}`).join('; ')}`);
}
if (!a.keep) rmSync(dir, { recursive: true, force: true });
else console.log(`\nprofiles kept in ${dir} (open them in Chrome DevTools, Performance tab)`);
