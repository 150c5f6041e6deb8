#!/usr/bin/env node
// bench/run.mjs — `npm run bench`: gskit-tls against raw node:tls in the shared TLS harness.
//
//   npm run bench                          all phases, --repeat 5, server and client in two processes
//   npm run bench -- --procs same          both ends in one process
//   npm run bench -- --phases handshake    any harness option is passed through
//   npm run bench -- --optin               the opt-in paths (GSKX_STRICT_EOF, GSKX_KEEP_SOCKET_OPEN)
//
// Implementations, interleaved phase by phase (ratios are to the first, raw):
//   raw                                     node:tls, one SecureContext per credential set
//   bench/adapter.mjs                       the idiomatic layer (Environment, Session)
//   bench/adapter.mjs?layer=gsk             the gsk_* layer (gsk_secure_soc_read into 64 KiB)
//   ../shared/bench/adapters/raw.mjs?control raw again: how far from 1.0 noise alone puts a ratio
//
// Builds dist/ first when it is missing. The harness lives outside this repository
// (../shared/bench); without it there is nothing to run, which is not an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const shared = join(repo, '..', 'shared', 'bench');
const harness = join(shared, 'raw-tls.mjs');

if (!existsSync(harness)) {
  console.log(`bench: the shared TLS harness is not here (${harness}); nothing to run.`);
  process.exit(0);
}

if (!existsSync(join(repo, 'dist', 'index.js'))) {
  console.error('bench: dist/ is missing, building it (npm run build)');
  const built = spawnSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
  if (built.status !== 0) {
    console.error('bench: the build failed; fix it, then run the benchmark again');
    process.exit(1);
  }
}

let args = process.argv.slice(2);
const optin = args.includes('--optin');
args = args.filter((a) => a !== '--optin');
if (!args.includes('--repeat')) args.push('--repeat', '5');

const control = `${relative(repo, join(shared, 'adapters', 'raw.mjs'))}?control`;
const impls = optin
  ? ['raw', 'bench/adapter.mjs?layer=gsk', 'bench/adapter.mjs?layer=gsk&eof=strict', 'bench/adapter.mjs?layer=gsk&eof=keep',
    'bench/adapter.mjs', 'bench/adapter.mjs?eof=strict', 'bench/adapter.mjs?eof=keep']
  : ['raw', 'bench/adapter.mjs', 'bench/adapter.mjs?layer=gsk', control];
if (!args.includes('--impl')) args.unshift(...impls.flatMap((i) => ['--impl', i]));

console.error(`bench: node ${relative(repo, harness)} ${args.join(' ')}`);
const run = spawnSync(process.execPath, [harness, ...args], { cwd: repo, stdio: 'inherit' });
process.exit(run.status ?? 1);
