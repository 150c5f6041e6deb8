/** `gskit keydb`: create, list, changepw, stashpw and convert, in every store format. */
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openKeyStore } from "../../src/keystore/open.js";
import { certificateMatchesKey } from "../../src/keystore/pem.js";
import { ERROR_LINE, gskit, scratch, type Result } from "./helpers.js";

const tmp = scratch("keydb");
afterAll(() => tmp.cleanup());

async function ok(argv: string[]): Promise<Result> {
  const result = await gskit(argv);
  expect(result.stderr, `gskit ${argv.join(" ")}`).toBe("");
  expect(result.code).toBe(0);
  return result;
}

interface Listing {
  format: string;
  version?: number;
  verified: boolean;
  defaultLabel: string | null;
  stashFile: string | null;
  entries: { label: string; kind: string; trusted: boolean; subject: string }[];
}

async function listing(argv: string[]): Promise<Listing> {
  return JSON.parse((await ok(["keydb", "list", "--json", ...argv])).stdout) as Listing;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe("keydb create and list", () => {
  it.each([
    ["empty.p12", [], "pkcs12"],
    ["empty.kdb", [], "cms"],
    ["empty.pem", [], "pem"],
    ["typed.store", ["--type", "cms"], "cms"],
    ["typed-p12.store", ["--type", "p12"], "pkcs12"],
  ] as const)("creates %s (%j) as %s", async (name, extra, format) => {
    const file = tmp.path(name);
    const created = await ok(["keydb", "create", "--db", file, "--pw", "pw", ...extra]);
    expect(created.stdout).toBe(`created ${format} key store ${file}\n`);
    expect(mode(file)).toBe(0o600);
    const list = await listing(["--db", file, "--pw", "pw"]);
    expect(list).toMatchObject({ format: expect.stringMatching(new RegExp(`^${format === "pem" ? "pem" : format}$`)) as unknown, entries: [], defaultLabel: null, stashFile: null });
  });

  it("writes the stash with --stash (mode 0600), and a random password when no --pw is given", async () => {
    const file = tmp.path("stashed.kdb");
    const created = await ok(["keydb", "create", "--db", file, "--stash"]);
    expect(created.stdout).toContain(`stashed its password in ${tmp.path("stashed.sth")}`);
    expect(mode(tmp.path("stashed.sth"))).toBe(0o600);
    // gsk8capicmd spelling; the stash beside the store opens it.
    const list = await listing(["-db", file, "-stashed"]);
    expect(list).toMatchObject({ format: "cms", version: 6, verified: true, stashFile: tmp.path("stashed.sth") });
  });

  it("prints a readable summary", async () => {
    const file = tmp.path("summary.p12");
    await ok(["keydb", "create", "--db", file, "--pw", "pw"]);
    const { stdout } = await ok(["keydb", "list", "--db", file, "--pw", "pw"]);
    expect(stdout).toMatch(/^file\s+.*summary\.p12\nformat\s+pkcs12\ndefault\s+\(none\)\nstash\s+\(none\)\nentries\s+0 \(0 personal, 0 CA\)\n$/);
  });
});

describe("keydb changepw and stashpw", () => {
  it.each(["p12", "kdb", "pem"])("re-encrypts a .%s store and rewrites the stash beside it", async (ext) => {
    const file = tmp.path(`pw.${ext}`);
    await ok(["keydb", "create", "--db", file, "--pw", "old-pw", "--stash"]);
    await ok(["cert", "create-ca", "--db", file, "--pw", "old-pw", "--label", "pw-test", "--dn", "CN=pw-test", "--key", "ec-p256"]);
    const changed = await ok(["keydb", "changepw", "--db", file, "--pw", "old-pw", "--new_pw", "new-pw"]);
    expect(changed.stdout).toContain("updated the stash");
    expect((await gskit(["keydb", "list", "--db", file, "--pw", "new-pw"])).code).toBe(0);
    // The stash now holds the new password: the store opens through it.
    expect((await listing(["--db", file, "--stash"])).entries.map((e) => e.label)).toEqual(["pw-test"]);
    const wrong = await gskit(["cert", "details", "--db", file, "--pw", "old-pw", "--label", "pw-test"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(ERROR_LINE);
    expect(wrong.stderr).toMatch(/\(GSK_ERROR_BAD_KEYFILE_PASSWORD 408\)\n$/);
  });

  it("keeps a version-4 key database at version 4", async () => {
    const { saveCmsKeyDb } = await import("../../src/keystore/cms-kdb.js");
    const file = tmp.path("v4.kdb");
    await saveCmsKeyDb(file, [], "old", { version: 4 });
    await ok(["keydb", "changepw", "--db", file, "--pw", "old", "--new-pw", "new"]);
    expect(await listing(["--db", file, "--pw", "new"])).toMatchObject({ format: "cms", version: 4 });
  });

  it("stashpw checks the password first, then writes a 0600 stash", async () => {
    const file = tmp.path("tostash.p12");
    await ok(["keydb", "create", "--db", file, "--pw", "right"]);
    const wrong = await gskit(["keydb", "stashpw", "--db", file, "--pw", "wrong"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^gskit: keydb stashpw: .*wrong password.* \(GSK_ERROR_BAD_KEYFILE_PASSWORD 408\)\n$/);
    expect(() => statSync(tmp.path("tostash.sth"))).toThrow();
    const stashed = await ok(["keydb", "stashpw", "--db", file, "--pw", "right"]);
    expect(stashed.stdout).toBe(`stashed the password of ${file} in ${tmp.path("tostash.sth")}\n`);
    expect(mode(tmp.path("tostash.sth"))).toBe(0o600);
    expect((await listing(["--db", file, "--stash"])).stashFile).toBe(tmp.path("tostash.sth"));
  });
});

describe("keydb convert: p12 → cms → pem → p12", () => {
  const ca = tmp.path("convert-ca.p12");
  const p12 = tmp.path("convert.p12");
  let original: Listing;

  beforeAll(async () => {
    await ok(["keydb", "create", "--db", ca, "--pw", "ca"]);
    await ok(["cert", "create-ca", "--db", ca, "--pw", "ca", "--label", "Example CA", "--dn", "CN=Example Root CA", "--key", "ec-p256"]);
    await ok(["keydb", "create", "--db", p12, "--pw", "pw"]);
    const issue = (label: string, dn: string, key: string): Promise<Result> =>
      ok(["cert", "issue", "--db", ca, "--pw", "ca", "--ca-label", "Example CA", "--label", label, "--dn", dn, "--key", key, "--target", p12, "--target_pw", "pw"]);
    await issue("localhost", "CN=localhost", "ec-p256");
    await issue("web server", "CN=web.example.com", "rsa");
    original = await listing(["--db", p12, "--pw", "pw"]);
  });

  it("keeps every label, kind and trust flag in a key database, and the keys", async () => {
    expect(original.entries.map((e) => [e.label, e.kind])).toEqual([
      ["localhost", "personal"],
      ["web server", "personal"],
      ["Example CA", "ca"],
    ]);
    const kdb = tmp.path("convert.kdb");
    const converted = await ok(["keydb", "convert", "--db", p12, "--pw", "pw", "--target", kdb, "--target_type", "cms"]);
    expect(converted.stdout).toBe(`converted ${p12} to cms key store ${kdb}\n`);
    const list = await listing(["--db", kdb, "--pw", "pw"]);
    expect(list.format).toBe("cms");
    expect(list.entries).toEqual(original.entries);
    expect(list.defaultLabel).toBe("localhost");
    // A key database lists without its password, personal entries still told apart.
    const locked = await listing(["--db", kdb]);
    expect(locked).toMatchObject({ verified: false });
    expect(locked.entries.map((e) => [e.label, e.kind])).toEqual(original.entries.map((e) => [e.label, e.kind]));
    const store = await openKeyStore(kdb, { password: "pw" });
    for (const entry of store.entries.filter((e) => e.privateKey)) expect(certificateMatchesKey(entry.certificates[0]!, entry.privateKey!)).toBe(true);
  });

  it("writes PEM with the CN labels PEM reads back, warning about each label and flag it cannot keep", async () => {
    const kdb = tmp.path("convert2.kdb");
    await ok(["keydb", "convert", "--db", p12, "--pw", "pw", "--target", kdb, "--target_type", "cms", "--target_pw", "kdb-pw"]);
    await ok(["cert", "disable", "--db", kdb, "--pw", "kdb-pw", "--label", "Example CA"]);
    expect((await listing(["--db", kdb, "--pw", "kdb-pw"])).entries.find((e) => e.label === "Example CA")?.trusted).toBe(false);

    const pem = tmp.path("convert.pem");
    const toPem = await gskit(["keydb", "convert", "--db", kdb, "--pw", "kdb-pw", "--target", pem, "--target_type", "pem", "--target_pw", "pem-pw"]);
    expect(toPem.code).toBe(0);
    expect(toPem.stderr.split("\n").filter(Boolean).sort()).toEqual([
      "gskit: warning: a PEM bundle has no trust flag: the disabled CA 'Example CA' will read back as enabled",
      "gskit: warning: a PEM bundle labels entries by subject CN: 'Example CA' will read back as 'Example Root CA'",
      "gskit: warning: a PEM bundle labels entries by subject CN: 'web server' will read back as 'web.example.com'",
    ]);
    const pemList = await listing(["--db", pem, "--pw", "pem-pw"]);
    expect(pemList.format).toBe("pem");
    expect(pemList.entries.map((e) => [e.label, e.kind, e.trusted])).toEqual([
      ["localhost", "personal", false],
      ["web.example.com", "personal", false],
      ["Example Root CA", "ca", true],
    ]);

    // And back: PKCS#12 keeps the labels PEM gave, the certificates are the original ones.
    const back = tmp.path("back.p12");
    await ok(["keydb", "convert", "--db", pem, "--pw", "pem-pw", "--target", back, "--target_type", "pkcs12"]);
    const backList = await listing(["--db", back, "--pw", "pem-pw"]);
    expect(backList.entries.map((e) => e.label).sort()).toEqual(["Example Root CA", "localhost", "web.example.com"]);
    expect(backList.entries.map((e) => e.subject).sort()).toEqual(original.entries.map((e) => e.subject).sort());
  });

  it("refuses to overwrite an existing target and leaves it as it was", async () => {
    const target = tmp.path("exists.kdb");
    await ok(["keydb", "create", "--db", target, "--pw", "x"]);
    const before = statSync(target).mtimeMs;
    const refused = await gskit(["keydb", "convert", "--db", p12, "--pw", "pw", "--target", target, "--target_type", "cms"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^gskit: keydb convert: target .*exists\.kdb already exists: .* \(GSK_INVALID_PARAMETER 13\)\n$/);
    expect(statSync(target).mtimeMs).toBe(before);
  });
});
