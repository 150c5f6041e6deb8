#!/usr/bin/env node
// bench/table.mjs — the Markdown table of one `npm run bench` run, ratios against raw node:tls.
//
//   npm run bench > run.json && node bench/table.mjs run.json
//
// The harness prints one JSON line at the end of stdout; this reads it and writes, for each
// metric, raw's median (the absolute figure every ratio is relative to) and each implementation's
// ratio to it, with the target the metric has (docs/performance.md). A ratio that misses its
// target is marked "✗"; the control column (raw run again) shows how far from 1.0 noise alone
// puts a ratio in the same run.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2] ?? 0, 'utf8').trim().split('\n').at(-1);
const run = JSON.parse(text);
const [base, ...others] = run.impls.map((i) => i.label);
const NAMES = {
  'bench/adapter.mjs': 'idiomatic',
  'bench/adapter.mjs?layer=gsk': 'gsk_*',
  'bench/adapter.mjs?eof=strict': 'idiomatic strictEof',
  'bench/adapter.mjs?eof=keep': 'idiomatic keepSocketOpen',
  'bench/adapter.mjs?layer=gsk&eof=strict': 'gsk_* GSKX_STRICT_EOF',
  'bench/adapter.mjs?layer=gsk&eof=keep': 'gsk_* GSKX_KEEP_SOCKET_OPEN',
};
const nameOf = (label) => NAMES[label] ?? (label.endsWith('?control') ? 'control (raw again)' : label);

/** The target for a metric and implementation: a check of the ratio, and its text. */
function target(metric, label) {
  const min = (x) => ({ text: `≥ ${x.toFixed(2)}`, ok: (r) => r >= x });
  const max = (x) => ({ text: `≤ ${x.toFixed(2)}`, ok: (r) => r <= x });
  if (/^hs\.full\.[a-z]+$/.test(metric)) return min(0.95);
  if (/^hs\.full\.[a-z]+\.cpu_us$/.test(metric)) return max(1.05);
  if (/^hs\.full\.[a-z]+\.mtls$/.test(metric)) return min(0.9);
  if (/^hs\.resume\.[a-z]+$/.test(metric)) return min(0.95);
  if (metric === 'bulk.MBps') return min(label.includes('layer=gsk') ? 0.9 : 0.95);
  if (/rss_per_conn_KiB$/.test(metric)) return max(1.1);
  if (metric === 'rtt.p50_us' && run.config.procs === 'same') {
    const raw = run.summary[base][metric].median;
    return { text: `≤ raw + 5 µs`, ok: (r) => r * raw - raw <= 5 };
  }
  return undefined;
}

const fmt = (v) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));
const rows = [];
rows.push(`| metric | target | raw node:tls (median of ${run.config.repeat}) | ${others.map(nameOf).join(' | ')} |`);
rows.push(`|---|---|---|${others.map(() => '---|').join('')}`);
for (const [metric, s] of Object.entries(run.summary[base])) {
  const unit = s.unit.replace(/ \(.*\)$/, '');
  const cells = others.map((label) => {
    const r = run.ratios[label]?.[metric];
    if (r === undefined) return '-';
    // The targets are the default path's: the control is noise, the opt-in paths are reported.
    const t = label.endsWith('?control') || label.includes('eof=') ? undefined : target(metric, label);
    return `${r.toFixed(2)}${t && !t.ok(r) ? ' ✗' : ''}`;
  });
  rows.push(`| ${metric} (${s.better} is better) | ${target(metric, others[0])?.text ?? ''} | ${fmt(s.median)} ${unit} | ${cells.join(' | ')} |`);
}
console.log(rows.join('\n'));
console.log(`\n--procs ${run.config.procs}, --repeat ${run.config.repeat}, TLS ${run.config.tls}, ${run.env.node}, OpenSSL ${run.env.openssl}, ${run.env.cpus} × ${run.env.cpuModel}; started ${run.started}; load average before ${run.env.loadavgBefore.join(' / ')}`);
