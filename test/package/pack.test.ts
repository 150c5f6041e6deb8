/**
 * The package as published: `npm pack` holds what a user needs and nothing else, and a scratch
 * project that installs the tarball can use it with `import` and `require`, types included.
 * Needs the build (CI builds before testing); skips, saying so, without it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const built = existsSync(join(root, "dist/index.js")) && existsSync(join(root, "dist/index.cjs")) && existsSync(join(root, "dist/index.d.cts"));
if (!built) console.warn("skipping package tests: dist/ is not built (run npm run build)");

const scratch = mkdtempSync(join(tmpdir(), "gskit-pack-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
}

describe.skipIf(!built)("the published package", () => {
  it("holds dist, README, docs and package.json only", () => {
    const [pack] = JSON.parse(sh("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], root)) as [{ files: { path: string }[] }];
    const paths = pack.files.map((f) => f.path);
    for (const p of paths) expect(p).toMatch(/^(dist\/|docs\/|README\.md$|package\.json$|LICENSE)/);
    for (const needed of ["dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "dist/tools.js", "dist/tools.cjs", "dist/cli/main.js"]) expect(paths).toContain(needed);
    expect(paths.some((p) => p.startsWith("src/") || p.startsWith("test/"))).toBe(false);
  });

  it("installs into a scratch project and works with import and require, types included", () => {
    sh("npm", ["pack", "--ignore-scripts", "--pack-destination", scratch], root);
    const tarball = readdirSync(scratch).find((f) => f.endsWith(".tgz"))!;
    writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", version: "1.0.0", private: true }));
    sh("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(scratch, tarball), `typescript@${require_version("typescript")}`, `@types/node@${require_version("@types/node")}`], scratch);
    writeFileSync(join(scratch, "esm.mjs"), `import { gsk_strerror, GSK_ERROR_NO_CERTIFICATE, Environment, GskError } from "gskit-tls";\nimport { generateKey } from "gskit-tls/tools";\nconsole.log(gsk_strerror(GSK_ERROR_NO_CERTIFICATE), typeof Environment.open, new GskError(403, "x").code, typeof generateKey);\n`);
    writeFileSync(join(scratch, "cjs.cjs"), `const { gsk_strerror, GSK_ERROR_NO_CERTIFICATE, isGskError, GskError } = require("gskit-tls");\nconst { generateKey } = require("gskit-tls/tools");\nconsole.log(gsk_strerror(GSK_ERROR_NO_CERTIFICATE), isGskError(new GskError(403, "x")), typeof generateKey);\n`);
    expect(sh(process.execPath, ["esm.mjs"], scratch)).toContain("No certificate is available for TLS processing. function 403 function");
    expect(sh(process.execPath, ["cjs.cjs"], scratch)).toContain("No certificate is available for TLS processing. true function");
    writeFileSync(join(scratch, "use.mts"), `import { ref, gsk_environment_open, type gsk_handle, Environment } from "gskit-tls";\nconst h = ref<gsk_handle>();\nconst rc: number = gsk_environment_open(h);\nconst p: Promise<Environment> = Environment.open({ role: "server" });\nvoid rc; void p;\n`);
    writeFileSync(join(scratch, "use.cts"), `import { ref, gsk_environment_open, type gsk_handle } from "gskit-tls";\nimport type { KeyStore } from "gskit-tls/tools";\nconst h = ref<gsk_handle>();\nconst rc: number = gsk_environment_open(h);\nlet k: KeyStore | undefined;\nvoid rc; void k;\n`);
    writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, types: ["node"], lib: ["ES2022", "ESNext.Disposable"] }, files: ["use.mts", "use.cts"] }));
    sh(process.execPath, [join(scratch, "node_modules/typescript/bin/tsc"), "-p", "."], scratch);
    // The gskit command is installed as a bin.
    expect(sh(join(scratch, "node_modules/.bin/gskit"), ["strerror", "403"], scratch)).toContain("No certificate is available");
  });
});

function require_version(name: string): string {
  return (JSON.parse(execFileSync(process.execPath, ["-p", `JSON.stringify(require("${name}/package.json").version)`], { cwd: root, encoding: "utf8" })) as string);
}
