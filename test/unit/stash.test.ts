import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { decodeStash, encodeStash, readStashFile, stashPathFor, writeStashFile } from "../../src/keystore/stash.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const nativeDir = path.resolve(repoRoot, "..", "shared", "fixtures", "gskit-native");
const nativeStash = path.join(nativeDir, "mixed.sth");
const haveNative = existsSync(nativeStash);
if (!haveNative) console.warn(`stash tests: native GSKit fixture ${nativeStash} not found; skipping the tests that read it`);

function thrown(fn: () => unknown): GskError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a GskError");
}

async function rejected(promise: Promise<unknown>): Promise<GskError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a GskError");
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gsk-stash-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveNative)("native GSKit stash file", () => {
  it("decodes mixed.sth (v8, 193 bytes) to the key-database password", async () => {
    expect((await readFile(nativeStash)).length).toBe(193);
    expect(await readStashFile(nativeStash)).toBe("password");
  });
});

describe("stash encoding", () => {
  const passwords = ["password", "pässwörd-€", "x", "a".repeat(128)];

  it.each(passwords)("v1 round-trips %j in 129 bytes", (pw) => {
    const buf = encodeStash(pw, 1);
    expect(buf.length).toBe(129);
    expect(decodeStash(buf, "t.sth")).toBe(pw);
  });

  it.each(passwords)("v8 round-trips %j in 193 bytes", (pw) => {
    const buf = encodeStash(pw, 8);
    expect(buf.length).toBe(193);
    expect(decodeStash(buf, "t.sth")).toBe(pw);
  });

  it("v8 is the default and is randomised", () => {
    const a = encodeStash("password");
    const b = encodeStash("password");
    expect(a.length).toBe(193);
    expect(a.equals(b)).toBe(false);
  });

  it("v1 is the password, a NUL and non-zero padding, each byte XOR 0xF5 (checked independently)", () => {
    const buf = encodeStash("secret", 1);
    const plain = Buffer.from(buf.map((b) => b ^ 0xf5));
    expect(plain.subarray(0, 6).toString()).toBe("secret");
    expect(plain[6]).toBe(0);
    expect(plain.subarray(7).includes(0)).toBe(false);
  });

  it("v8 carries B = SHA-256(0x01 ‖ A) (checked independently)", () => {
    const buf = encodeStash("secret", 8);
    const expected = createHash("sha256").update(Buffer.from([1])).update(buf.subarray(0, 32)).digest();
    expect(buf.subarray(32, 64).equals(expected)).toBe(true);
  });

  it("rejects other lengths with 202 and says what a stash file is", () => {
    for (const n of [0, 10, 128, 130, 192, 194]) {
      const e = thrown(() => decodeStash(Buffer.alloc(n), "odd.sth"));
      expect(e.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
      expect(e.message).toContain(`odd.sth is not a stash file (${String(n)} bytes; GSKit stash files are 129 or 193 bytes)`);
    }
  });

  it("rejects a v8 stash whose integrity check fails with 202 (damaged stash)", () => {
    for (const offset of [0, 31, 32, 63]) {
      const buf = encodeStash("password", 8);
      buf[offset] = (buf[offset] ?? 0) ^ 0x01;
      const e = thrown(() => decodeStash(buf, "bad.sth"));
      expect(e.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
      expect(e.message).toContain("damaged stash");
      expect(e.message).not.toContain("password");
    }
  });

  it("rejects a v1 stash without a terminator (202)", () => {
    const buf = Buffer.alloc(129, 0x41 ^ 0xf5);
    expect(thrown(() => decodeStash(buf, "v1.sth")).code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
  });

  it("refuses passwords a stash cannot hold (parameter error, password not echoed)", () => {
    for (const pw of ["", "a\0b", "a".repeat(129)]) {
      const e = thrown(() => encodeStash(pw));
      expect(e.code).toBe(RC.GSK_INVALID_PARAMETER);
      if (pw.length > 0) expect(e.message).not.toContain(pw);
    }
  });
});

describe("stash files", () => {
  it("writes v8 by default with mode 0600 and reads it back", async () => {
    const file = path.join(dir, "default.sth");
    await writeStashFile(file, "s3cret!");
    expect((await readFile(file)).length).toBe(193);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readStashFile(file)).toBe("s3cret!");
  });

  it("writes v1 on request with mode 0600", async () => {
    const file = path.join(dir, "v1.sth");
    await writeStashFile(file, "s3cret!", { version: 1 });
    expect((await readFile(file)).length).toBe(129);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readStashFile(file)).toBe("s3cret!");
  });

  it("replaces an existing stash", async () => {
    const file = path.join(dir, "replace.sth");
    await writeStashFile(file, "first");
    await writeStashFile(file, "second");
    expect(await readStashFile(file)).toBe("second");
  });

  it("a missing file gives 202 naming it", async () => {
    const file = path.join(dir, "missing.sth");
    const e = await rejected(readStashFile(file));
    expect(e.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(e.message).toContain(file);
  });

  it("a file of the wrong length gives 202", async () => {
    const file = path.join(dir, "short.sth");
    await writeFile(file, Buffer.alloc(50));
    const e = await rejected(readStashFile(file));
    expect(e.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(e.message).toContain("50 bytes");
  });

  it("pairs key.kdb with key.sth", () => {
    expect(stashPathFor("/etc/ssl/key.kdb")).toBe("/etc/ssl/key.sth");
    expect(stashPathFor("/a.b/key")).toBe("/a.b/key.sth");
  });
});
