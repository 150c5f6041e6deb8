/**
 * `gskit cert` and `gskit certreq`: requests signed and received, CA entries added and trusted,
 * details, extract, import and export (legacy PKCS#12 checked with openssl), and the IBM-made key
 * database read without its password.
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { readCsr } from "../../src/pki/csr.js";
import { ERROR_LINE, gskit, has, repoRoot, scratch, type Result } from "./helpers.js";

const tmp = scratch("cert");
afterAll(() => tmp.cleanup());

async function ok(argv: string[]): Promise<Result> {
  const result = await gskit(argv);
  expect(result.stderr, `gskit ${argv.join(" ")}`).toBe("");
  expect(result.code).toBe(0);
  return result;
}

async function fails(argv: string[], codeName: string): Promise<Result> {
  const result = await gskit(argv);
  expect(result.stderr).toMatch(ERROR_LINE);
  expect(ERROR_LINE.exec(result.stderr)?.[1], result.stderr).toBe(codeName);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  return result;
}

function entries(stdout: string): { label: string; kind: string; trusted: boolean }[] {
  return JSON.parse(stdout) as { label: string; kind: string; trusted: boolean }[];
}

const ca = tmp.path("ca.p12");
const CA = ["--db", ca, "--pw", "ca-pw"];

beforeAll(async () => {
  await ok(["keydb", "create", ...CA]);
  await ok(["cert", "create-ca", ...CA, "--label", "Root", "--dn", "CN=Cert Test Root,O=Example", "--key", "ec-p256", "--expire", "30"]);
});

describe("certreq create, cert sign, cert receive", () => {
  it.each([
    ["kdb", "ec-p256"],
    ["p12", "rsa"],
  ])("a request made in a .%s store (%s key) comes back as a personal entry", async (ext, key) => {
    const db = tmp.path(`req.${ext}`);
    const DB = ["--db", db, "--pw", "pw"];
    await ok(["keydb", "create", ...DB]);
    const csr = tmp.path(`req-${ext}.pem`);
    const made = await ok(["certreq", "create", ...DB, "--label", "web", "--dn", "CN=web.example.com,O=Example", "--san", "dns:web.example.com,ip:10.0.0.1", "--key", key, "--file", csr]);
    expect(made.stdout).toContain(`its key waits in ${tmp.path(`req.rdb`)}`);
    expect(statSync(tmp.path("req.rdb")).mode & 0o777).toBe(0o600);
    const request = readCsr(readFileSync(csr));
    expect(request).toMatchObject({ subject: "CN=web.example.com,O=Example", verified: true, subjectAltNames: { dns: ["web.example.com"], ip: ["10.0.0.1"] } });
    expect(JSON.parse((await ok(["certreq", "list", ...DB, "--json"])).stdout)).toMatchObject([{ label: "web", subject: "CN=web.example.com,O=Example" }]);

    const signed = tmp.path(`signed-${ext}.pem`);
    await ok(["cert", "sign", ...CA, "--ca-label", "Root", "--file", csr, "--target", signed, "--eku", "serverAuth", "--expire", "10"]);
    // The CA certificate first, so the received entry's issuer is known.
    await ok(["cert", "extract", ...CA, "--label", "Root", "--target", tmp.path("root.arm")]);
    await ok(["cert", "add", ...DB, "--label", "Root", "--file", tmp.path("root.arm")]);
    const received = await ok(["cert", "receive", ...DB, "--file", signed]);
    expect(received.stdout).toBe(`received the certificate for 'web' into ${db}\n`);
    expect(existsSync(tmp.path("req.rdb"))).toBe(false);

    const details = JSON.parse((await ok(["cert", "details", ...DB, "--label", "web", "--json"])).stdout) as Record<string, unknown>;
    expect(details).toMatchObject({
      kind: "personal",
      isDefault: true,
      subject: "CN=web.example.com,O=Example",
      issuer: "CN=Cert Test Root,O=Example",
      extendedKeyUsage: ["serverAuth"],
      subjectAltNames: { dns: ["web.example.com"], ip: ["10.0.0.1"] },
      keyType: key === "rsa" ? "RSA 2048" : "EC P-256",
      chain: ["CN=web.example.com,O=Example", "CN=Cert Test Root,O=Example"],
    });
    expect(Date.parse(details["notAfter"] as string) - Date.now()).toBeLessThan(11 * 86_400_000);

    // Nothing pending any more.
    await fails(["cert", "receive", ...DB, "--file", signed], "GSK_ERROR_NO_PRIVATE_KEY");
  });

  it("refuses a certificate that matches no pending request, naming the pending ones", async () => {
    const db = tmp.path("nomatch.p12");
    await ok(["keydb", "create", "--db", db, "--pw", "pw"]);
    await ok(["certreq", "create", "--db", db, "--pw", "pw", "--label", "pending one", "--dn", "CN=pending", "--key", "ec-p256", "--file", tmp.path("nomatch.csr")]);
    await ok(["cert", "extract", ...CA, "--label", "Root", "--target", tmp.path("other.arm")]);
    const refused = await fails(["cert", "receive", "--db", db, "--pw", "pw", "--file", tmp.path("other.arm")], "GSK_ERROR_NO_PRIVATE_KEY");
    expect(refused.stderr).toContain("pending: 'pending one' (CN=pending)");
    // Still pending.
    expect((await ok(["keydb", "list", "--db", db, "--pw", "pw"])).stdout).toMatch(/^requests\s+pending one$/m);
  });

  it("warns on receive when the issuer is not in the store", async () => {
    const db = tmp.path("noissuer.kdb");
    await ok(["keydb", "create", "--db", db, "--pw", "pw"]);
    const csr = tmp.path("noissuer.csr");
    await ok(["certreq", "create", "--db", db, "--pw", "pw", "--label", "lonely", "--dn", "CN=lonely", "--key", "ec-p256", "--file", csr]);
    await ok(["cert", "sign", ...CA, "--ca-label", "Root", "--file", csr, "--target", tmp.path("lonely.pem")]);
    const received = await gskit(["cert", "receive", "--db", db, "--pw", "pw", "--file", tmp.path("lonely.pem")]);
    expect(received.code).toBe(0);
    expect(received.stderr).toMatch(/^gskit: warning: the issuer of 'lonely' \(CN=Cert Test Root,O=Example\) is not in key store .*: add its CA certificate \(gskit cert add\).*\n$/);
  });
});

describe("CA entries: add, enable, disable, delete", () => {
  it("keeps a disabled CA in a key database, and refuses to disable one in PKCS#12", async () => {
    await ok(["cert", "extract", ...CA, "--label", "Root", "--target", tmp.path("trust.arm")]);
    const kdb = tmp.path("trust.kdb");
    await ok(["keydb", "create", "--db", kdb, "--pw", "pw"]);
    await ok(["cert", "add", "--db", kdb, "--pw", "pw", "--label", "Root", "--file", tmp.path("trust.arm")]);
    expect((await ok(["cert", "disable", "--db", kdb, "--pw", "pw", "--label", "Root"])).stdout).toBe(`disabled CA 'Root' in ${kdb}\n`);
    expect(entries((await ok(["cert", "list", "--db", kdb, "--pw", "pw", "--json"])).stdout)).toEqual([expect.objectContaining({ label: "Root", kind: "ca", trusted: false })]);
    expect((await ok(["cert", "list", "--db", kdb])).stdout).toMatch(/^Root\s+ca\s+disabled\s+EC P-256/m);
    expect((await ok(["cert", "enable", "--db", kdb, "--pw", "pw", "--label", "Root"])).stdout).toBe(`enabled CA 'Root' in ${kdb}\n`);
    expect((await ok(["cert", "enable", "--db", kdb, "--pw", "pw", "--label", "Root"])).stdout).toBe(`CA 'Root' in ${kdb} is already enabled\n`);

    const p12 = tmp.path("trust.p12");
    await ok(["keydb", "create", "--db", p12, "--pw", "pw"]);
    await ok(["cert", "add", "--db", p12, "--pw", "pw", "--label", "Root", "--file", tmp.path("trust.arm")]);
    const before = statSync(p12).mtimeMs;
    const refused = await fails(["cert", "disable", "--db", p12, "--pw", "pw", "--label", "Root"], "GSK_ERROR_UNSUPPORTED");
    expect(refused.stderr).toContain("cannot record a disabled CA");
    expect(refused.stderr).toContain("gskit keydb convert --target_type cms");
    expect(statSync(p12).mtimeMs).toBe(before);
    expect((await ok(["cert", "enable", "--db", p12, "--pw", "pw", "--label", "Root"])).stdout).toContain("already enabled");
    await fails(["cert", "disable", "--db", ca, "--pw", "ca-pw", "--label", "Root"], "GSK_INVALID_PARAMETER");
  });

  it("refuses a taken label (105) and a certificate already present (104)", async () => {
    const db = tmp.path("dup.p12");
    await ok(["keydb", "create", "--db", db, "--pw", "pw"]);
    await ok(["cert", "add", "--db", db, "--pw", "pw", "--label", "Root", "--file", tmp.path("trust.arm")]);
    await fails(["cert", "add", "--db", db, "--pw", "pw", "--label", "Root", "--file", tmp.path("trust.arm")], "GSK_KEYFILE_DUPLICATE_LABEL");
    const dup = await fails(["cert", "add", "--db", db, "--pw", "pw", "--label", "Again", "--file", tmp.path("trust.arm")], "GSK_KEYFILE_DUPLICATE_KEY");
    expect(dup.stderr).toContain("already in key store");
    expect(dup.stderr).toContain("as 'Root'");
  });

  it("deletes an entry, and names the store's labels for an unknown one", async () => {
    const db = tmp.path("del.kdb");
    await ok(["keydb", "create", "--db", db, "--pw", "pw"]);
    await ok(["cert", "add", "--db", db, "--pw", "pw", "--label", "Root", "--file", tmp.path("trust.arm")]);
    const unknown = await fails(["cert", "delete", "--db", db, "--pw", "pw", "--label", "root"], "GSK_ERROR_BAD_KEYFILE_LABEL");
    expect(unknown.stderr).toContain("did you mean 'Root'?");
    await ok(["cert", "delete", "--db", db, "--pw", "pw", "--label", "Root"]);
    expect(entries((await ok(["cert", "list", "--db", db, "--pw", "pw", "--json"])).stdout)).toEqual([]);
  });
});

describe("cert extract, export, import", () => {
  it("extracts Base64 (.arm) and binary DER, never the key", async () => {
    await ok(["cert", "extract", ...CA, "--label", "Root", "--target", tmp.path("x.arm")]);
    await ok(["cert", "extract", ...CA, "--label", "Root", "--target", tmp.path("x.der"), "--format", "binary"]);
    const text = readFileSync(tmp.path("x.arm"), "utf8");
    expect(text).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    expect(new X509Certificate(text).raw.equals(readFileSync(tmp.path("x.der")))).toBe(true);
    expect(text).not.toContain("PRIVATE KEY");
  });

  it("exports a personal entry with its chain, and imports it elsewhere (all, or one renamed)", async () => {
    const src = tmp.path("export-src.kdb");
    await ok(["keydb", "create", "--db", src, "--pw", "pw"]);
    await ok(["cert", "issue", ...CA, "--ca-label", "Root", "--label", "svc", "--dn", "CN=svc", "--key", "ec-p256", "--target", src, "--target_pw", "pw"]);
    const out = tmp.path("svc.p12");
    await ok(["cert", "export", "--db", src, "--pw", "pw", "--label", "svc", "--target", out, "--target_pw", "out-pw"]);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const dest = tmp.path("import.kdb");
    await ok(["keydb", "create", "--db", dest, "--pw", "pw"]);
    const imported = await ok(["cert", "import", "--db", dest, "--pw", "pw", "--file", out, "--file_pw", "out-pw"]);
    expect(imported.stdout).toMatch(/^imported 'svc', 'Cert Test Root' into /);
    const list = entries((await ok(["cert", "list", "--db", dest, "--pw", "pw", "--json"])).stdout);
    expect(list.map((e) => [e.label, e.kind])).toEqual([
      ["svc", "personal"],
      ["Cert Test Root", "ca"],
    ]);
    await fails(["cert", "import", "--db", dest, "--pw", "pw", "--file", out, "--file_pw", "out-pw", "--label", "svc"], "GSK_KEYFILE_DUPLICATE_LABEL");
    await fails(["cert", "import", "--db", dest, "--pw", "pw", "--file", out, "--file_pw", "out-pw", "--label", "svc", "--new_label", "svc2"], "GSK_KEYFILE_DUPLICATE_KEY");
    await fails(["cert", "import", "--db", dest, "--pw", "pw", "--file", out, "--file_pw", "wrong"], "GSK_ERROR_BAD_KEYFILE_PASSWORD");
    const dest2 = tmp.path("import2.p12");
    await ok(["keydb", "create", "--db", dest2, "--pw", "pw"]);
    const renamed = await ok(["cert", "import", "--db", dest2, "--pw", "pw", "--file", out, "--file_pw", "out-pw", "--label", "svc", "--new_label", "service"]);
    expect(renamed.stdout).toBe(`imported 'service' into ${dest2}\n`);
    await fails(["cert", "export", "--db", dest, "--pw", "pw", "--label", "Cert Test Root", "--target", tmp.path("ca-only.p12"), "--target_pw", "x"], "GSK_ERROR_NO_PRIVATE_KEY");
  });

  if (!has("openssl")) console.warn("skipping the legacy PKCS#12 check: openssl is not on PATH");
  describe.skipIf(!has("openssl"))("with openssl", () => {
    it("exports legacy PKCS#12 (3DES, SHA-1 MAC) that openssl reads with -legacy, and a modern one it reads without", async () => {
      const src = tmp.path("legacy-src.p12");
      await ok(["keydb", "create", "--db", src, "--pw", "pw"]);
      await ok(["cert", "issue", ...CA, "--ca-label", "Root", "--label", "dcm server", "--dn", "CN=dcm.example.com", "--key", "rsa", "--target", src, "--target_pw", "pw"]);
      const legacy = tmp.path("legacy.p12");
      const exported = await ok(["cert", "export", "--db", src, "--pw", "pw", "--label", "dcm server", "--target", legacy, "--target_pw", "dcm-pw", "--legacy"]);
      expect(exported.stdout).toContain("(legacy 3DES/SHA-1)");
      const info = spawnSync("openssl", ["pkcs12", "-legacy", "-in", legacy, "-passin", "pass:dcm-pw", "-info", "-nodes"], { encoding: "utf8" });
      expect(info.status, info.stderr).toBe(0);
      expect(info.stderr).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/);
      expect(info.stderr).toMatch(/MAC: sha1/);
      expect(info.stdout).toContain("friendlyName: dcm server");
      expect(info.stdout).toContain("subject=CN = dcm.example.com");
      expect(info.stdout).toContain("subject=O = Example, CN = Cert Test Root");
      expect(info.stdout).toMatch(/-----BEGIN PRIVATE KEY-----/);

      const modern = tmp.path("modern.p12");
      await ok(["cert", "export", "--db", src, "--pw", "pw", "--label", "dcm server", "--target", modern, "--target_pw", "pw2"]);
      const plain = spawnSync("openssl", ["pkcs12", "-in", modern, "-passin", "pass:pw2", "-info", "-nodes"], { encoding: "utf8" });
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stderr).toMatch(/AES-256-CBC/);
    });
  });
});

const ibmKdb = join(repoRoot, "..", "shared", "fixtures", "gskit-native", "mixed.kdb");
if (!existsSync(ibmKdb)) console.warn(`skipping the IBM key database tests: ${ibmKdb} is absent`);

describe.skipIf(!existsSync(ibmKdb))("a key database made by IBM's tools", () => {
  it("lists and details it without a password (certificates are in the clear)", async () => {
    // Copied without its .sth, so nothing can unlock it.
    const copy = tmp.path("ibm-mixed.kdb");
    copyFileSync(ibmKdb, copy);
    const list = await ok(["cert", "list", "--db", copy]);
    expect(list.stdout).toMatch(/^rsa-keypair \(default\)\s+personal\s+-\s+RSA 2048/m);
    expect(list.stdout).toMatch(/^ec-keypair\s+personal\s+-\s+EC P-256/m);
    expect(list.stdout).toMatch(/^trusted-root-ca\s+ca\s+enabled\s+RSA 2048/m);
    expect(list.stdout).toMatch(/^trusted-intermediate-ca\s+ca\s+enabled\s+RSA 2048/m);

    const details = await ok(["cert", "details", "--db", copy, "--label", "trusted-intermediate-ca"]);
    expect(details.stdout).toMatch(/^subject\s+CN=Example Intermediate CA,O=Example,C=XX$/m);
    expect(details.stdout).toMatch(/^issuer\s+CN=Example Root CA,O=Example,C=XX$/m);
    expect(details.stdout).toMatch(/^kind\s+CA \(enabled\)$/m);
    expect(details.stdout).toMatch(/^CA\s+yes/m);
    expect(details.stdout).toMatch(/^SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
    const ec = JSON.parse((await ok(["cert", "details", "--db", copy, "--label", "ec-keypair", "--json"])).stdout) as Record<string, unknown>;
    expect(ec).toMatchObject({ kind: "personal", keyType: "EC P-256", selfSigned: true, signatureAlgorithm: "ecdsa-with-SHA256" });
    const keydb = JSON.parse((await ok(["keydb", "list", "--db", copy, "--json"])).stdout) as Record<string, unknown>;
    expect(keydb).toMatchObject({ format: "cms", version: 6, verified: false, defaultLabel: "rsa-keypair" });

    // What needs the keys says so.
    const locked = await fails(["cert", "export", "--db", copy, "--label", "ec-keypair", "--target", tmp.path("ibm.p12"), "--target_pw", "x"], "GSK_NO_KEYFILE_PASSWORD");
    expect(locked.stderr).toContain("only listings work without it");
  });
});
