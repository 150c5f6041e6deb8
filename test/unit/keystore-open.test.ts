import { chmodSync, mkdirSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { chainFor, openKeyStore, selectPersonalEntry, trustAnchors } from "../../src/keystore/open.js";
import type { KeyStore, KeyStoreEntry } from "../../src/keystore/types.js";
import { HAS_OPENSSL, makeTestPki, type TestPki } from "./helpers/keystore-pki.js";

// The stash and CMS readers are tested on their own; here only how the opener calls them matters.
const mocks = vi.hoisted(() => ({
  readStashFile: vi.fn<(path: string) => Promise<string>>(),
  readCmsKeyDb: vi.fn<(data: Uint8Array, password: string | undefined, file: string) => KeyStore>(),
}));
vi.mock("../../src/keystore/stash.js", () => ({ readStashFile: mocks.readStashFile, writeStashFile: vi.fn() }));
vi.mock("../../src/keystore/cms-kdb.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../src/keystore/cms-kdb.js")>()),
  readCmsKeyDb: mocks.readCmsKeyDb,
}));

const PW = "open-sesame";
const CMS_MAGIC = Buffer.from([0x37, 0x48, 0x06, 0x02, 0, 0, 0, 0]);

if (!HAS_OPENSSL) console.warn("keystore-open tests skipped: the openssl command is not installed (it builds the test PKI)");

async function rejection(p: Promise<unknown>): Promise<GskError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a GskError");
}

function thrown(fn: () => unknown): GskError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a GskError");
}

describe.skipIf(!HAS_OPENSSL)("openKeyStore", () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());
  beforeEach(() => {
    mocks.readStashFile.mockReset();
    mocks.readCmsKeyDb.mockReset();
  });

  it("tells PEM from PKCS#12 by content, not by file name", async () => {
    const pem = pki.write("really-pem.p12", String(pki.p256.key.export({ type: "pkcs8", format: "pem" })) + pki.p256.cert.toString());
    const fromPem = await openKeyStore(pem, {});
    expect(fromPem.format).toBe("pem");
    expect(fromPem.defaultLabel).toBe("client-p256");

    const p12 = pki.exportP12("store.pem", pki.rsa, PW, ["-name", "web"]);
    const fromP12 = await openKeyStore(p12, { password: PW });
    expect(fromP12.format).toBe("pkcs12");
    expect(fromP12.defaultLabel).toBe("web");
  });

  it("202 for a missing file, an empty file, a directory and a DER certificate, naming the file", async () => {
    const missing = await rejection(openKeyStore(pki.path("nope.p12"), { password: PW }));
    expect(missing.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(missing.message).toContain(pki.path("nope.p12"));
    expect(missing.message).toContain("does not exist");

    const empty = await rejection(openKeyStore(pki.write("empty.p12", ""), { password: PW }));
    expect(empty.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(empty.message).toContain("empty file");

    mkdirSync(pki.path("a-dir"));
    const dir = await rejection(openKeyStore(pki.path("a-dir"), { password: PW }));
    expect(dir.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(dir.message).toContain("directory");

    const der = pki.write("cert.der", pki.p256.cert.raw);
    const cert = await rejection(openKeyStore(der, { password: PW }));
    expect(cert.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(cert.message).toContain(der);
    expect(cert.message).toContain("a DER certificate, not a PKCS#12 store");
  });

  const isRoot = process.getuid?.() === 0;
  if (isRoot) console.warn("keystore-open: permission-denied test skipped: running as root, which reads any file");
  it.skipIf(isRoot)("202 'permission denied' for an unreadable file", async () => {
    const file = pki.exportP12("locked.p12", pki.p256, PW);
    chmodSync(file, 0o000);
    const err = await rejection(openKeyStore(file, { password: PW }));
    expect(err.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(err.message).toContain("permission denied");
  });

  it("PKCS#12: 201 without password or stash, 408 with the MAC wording for a wrong one", async () => {
    const file = pki.exportP12("needs-pw.p12", pki.p256, PW);
    const none = await rejection(openKeyStore(file, {}));
    expect(none.code).toBe(RC.GSK_NO_KEYFILE_PASSWORD);
    expect(none.message).toContain(file);

    const wrong = await rejection(openKeyStore(file, { password: "hunter2" }));
    expect(wrong.code).toBe(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD);
    expect(wrong.message).toContain("wrong password, or the file is damaged: the MAC check cannot tell which");
    expect(wrong.message).not.toContain("hunter2");
  });

  it("takes the password from a stash file; an explicit password wins", async () => {
    const file = pki.exportP12("stashed.p12", pki.p256, PW);
    mocks.readStashFile.mockResolvedValue(PW);
    expect((await openKeyStore(file, { stashFile: "/keys/app.sth" })).entries.length).toBeGreaterThan(0);
    expect(mocks.readStashFile).toHaveBeenCalledWith("/keys/app.sth");

    mocks.readStashFile.mockClear();
    await openKeyStore(file, { password: PW, stashFile: "/keys/app.sth" });
    expect(mocks.readStashFile).not.toHaveBeenCalled();
  });

  it("PEM with an encrypted key: 201 without password, opens with one from the stash", async () => {
    const file = pki.write("enc.pem", String(pki.p256.key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PW })) + pki.p256.cert.toString());
    expect((await rejection(openKeyStore(file, {}))).code).toBe(RC.GSK_NO_KEYFILE_PASSWORD);
    mocks.readStashFile.mockResolvedValue(PW);
    expect((await openKeyStore(file, { stashFile: pki.path("enc.sth") })).defaultLabel).toBe("client-p256");
  });

  it("CMS key database: uses the .sth beside it when nothing is given, else 201 naming that path", async () => {
    const fake: KeyStore = { file: "x", format: "cms", entries: [], defaultLabel: undefined };
    mocks.readCmsKeyDb.mockReturnValue(fake);
    mocks.readStashFile.mockResolvedValue("kdb-pw");

    const kdb = pki.write("server.kdb", CMS_MAGIC);
    pki.write("server.sth", "stash bytes");
    expect(await openKeyStore(kdb, {})).toBe(fake);
    expect(mocks.readStashFile).toHaveBeenCalledWith(pki.path("server.sth"));
    expect(mocks.readCmsKeyDb.mock.calls[0]?.[1]).toBe("kdb-pw");
    expect(mocks.readCmsKeyDb.mock.calls[0]?.[2]).toBe(kdb);

    mocks.readCmsKeyDb.mockClear();
    await openKeyStore(kdb, { password: "given" });
    expect(mocks.readCmsKeyDb.mock.calls[0]?.[1]).toBe("given");

    const lonely = pki.write("lonely.kdb", CMS_MAGIC);
    const err = await rejection(openKeyStore(lonely, {}));
    expect(err.code).toBe(RC.GSK_NO_KEYFILE_PASSWORD);
    expect(err.message).toContain(pki.path("lonely.sth"));
  });
});

describe.skipIf(!HAS_OPENSSL)("selectPersonalEntry, trustAnchors, chainFor", () => {
  let pki: TestPki;
  let store: KeyStore;
  const ca = (label: string, cert: TestPki["root"]["cert"], trusted = true): KeyStoreEntry => ({ label, certificates: [cert], trusted });
  beforeAll(() => {
    pki = makeTestPki();
    store = {
      file: "/keys/app.p12",
      format: "pkcs12",
      entries: [
        { label: "web", certificates: [pki.p256.cert], privateKey: pki.p256.key, trusted: false },
        { label: "Legacy", certificates: [pki.rsa.cert, pki.intermediate.cert, pki.root.cert], privateKey: pki.rsa.key, trusted: false },
        ca("root", pki.root.cert),
        ca("intermediate", pki.intermediate.cert),
        ca("old-ca", pki.noCn.cert, false),
      ],
      defaultLabel: "Legacy",
    };
  });
  afterAll(() => pki.cleanup());

  it("selects by label, or the default entry", () => {
    expect(selectPersonalEntry(store, undefined).label).toBe("Legacy");
    expect(selectPersonalEntry(store, "web").label).toBe("web");
    expect(selectPersonalEntry({ ...store, defaultLabel: undefined }, undefined).label).toBe("web");
  });

  it("407 for an unknown label, listing the labels there are", () => {
    const err = thrown(() => selectPersonalEntry(store, "legacy"));
    expect(err.code).toBe(RC.GSK_ERROR_BAD_KEYFILE_LABEL);
    expect(err.message).toContain('"legacy"');
    expect(err.message).toContain("/keys/app.p12");
    for (const label of ["web", "Legacy", "root", "intermediate", "old-ca"]) expect(err.message).toContain(`"${label}"`);
    expect(err.message).toContain("case-sensitive");
  });

  it("428 for a CA entry's label, 403 when a store has no personal entry", () => {
    const noKey = thrown(() => selectPersonalEntry(store, "root"));
    expect(noKey.code).toBe(RC.GSK_ERROR_NO_PRIVATE_KEY);
    expect(noKey.message).toContain('"root"');

    const caOnly: KeyStore = { file: "/keys/cas.pem", format: "pem", entries: [ca("root", pki.root.cert)], defaultLabel: undefined };
    const none = thrown(() => selectPersonalEntry(caOnly, undefined));
    expect(none.code).toBe(RC.GSK_ERROR_NO_CERTIFICATE);
    expect(none.message).toContain("/keys/cas.pem");
  });

  it("trust anchors are the enabled CA entries only", () => {
    expect(trustAnchors(store).map((c) => c.fingerprint256)).toEqual([pki.root.cert, pki.intermediate.cert].map((c) => c.fingerprint256));
  });

  it("chainFor completes from CA entries, prefers what the entry carries, and leaves out the root", () => {
    const fp = (certs: readonly { fingerprint256: string }[]): string[] => certs.map((c) => c.fingerprint256);
    const web = selectPersonalEntry(store, "web");
    expect(fp(chainFor(store, web))).toEqual(fp([pki.p256.cert, pki.intermediate.cert]));
    const legacy = selectPersonalEntry(store, "Legacy");
    const bare: KeyStore = { ...store, entries: [legacy] };
    expect(fp(chainFor(bare, legacy))).toEqual(fp([pki.rsa.cert, pki.intermediate.cert]));

    const orphan: KeyStore = { ...store, entries: [web] };
    expect(fp(chainFor(orphan, web))).toEqual(fp([pki.p256.cert]));

    const self: KeyStoreEntry = { label: "self", certificates: [pki.rsaSelfSigned.cert], privateKey: pki.rsa.key, trusted: false };
    expect(fp(chainFor(store, self))).toEqual(fp([pki.rsaSelfSigned.cert]));
  });
});
