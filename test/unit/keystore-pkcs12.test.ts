import { createSecureContext } from "node:tls";
import { readFileSync } from "node:fs";
import * as asn1js from "asn1js";
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { readPkcs12, writePkcs12 } from "../../src/keystore/pkcs12.js";
import type { KeyStore, KeyStoreEntry } from "../../src/keystore/types.js";
import { HAS_OPENSSL, makeTestPki, opensslOutput, type Identity, type TestPki } from "./helpers/keystore-pki.js";

const PW = "s3cret-pw";

if (!HAS_OPENSSL) console.warn("keystore-pkcs12 tests skipped: the openssl command is not installed (it builds the test PKI)");

async function rejection(p: Promise<unknown>): Promise<GskError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a GskError");
}

function personal(store: KeyStore): KeyStoreEntry[] {
  return store.entries.filter((e) => e.privateKey !== undefined);
}

function expectIdentity(store: KeyStore, id: Identity, label: string): void {
  const entry = store.entries.find((e) => e.label === label);
  expect(entry, `entry ${label} in ${store.entries.map((e) => e.label).join(",")}`).toBeDefined();
  expect(entry?.privateKey?.asymmetricKeyType).toBe(id.key.asymmetricKeyType);
  expect(entry?.certificates[0]?.raw.equals(id.cert.raw)).toBe(true);
  expect(entry?.certificates[0]?.checkPrivateKey(entry.privateKey as never)).toBe(true);
  expect(entry?.trusted).toBe(false);
}

describe.skipIf(!HAS_OPENSSL)("readPkcs12", () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());

  it("reads the OpenSSL 3 default (PBES2, AES-256, PBKDF2-HMAC-SHA256, SHA-256 MAC) with friendlyName labels", async () => {
    const file = pki.exportP12("default.p12", pki.p256, PW, ["-name", "my-client"]);
    const store = await readPkcs12(readFileSync(file), PW, file);
    expect(store.format).toBe("pkcs12");
    expect(store.file).toBe(file);
    expect(store.defaultLabel).toBe("my-client");
    expectIdentity(store, pki.p256, "my-client");
    // The entry carries its issuer path; the certificates without a key are trusted CA entries.
    const entry = personal(store)[0];
    expect(entry?.certificates.map((c) => c.subject.split("\n")[0])).toEqual(["CN=client-p256", "CN=Test Intermediate CA", "CN=Test Root CA"]);
    const cas = store.entries.filter((e) => e.privateKey === undefined);
    expect(cas.map((e) => [e.label, e.trusted])).toEqual([
      ["Test Intermediate CA", true],
      ["Test Root CA", true],
    ]);
  });

  it.each([
    ["openssl -legacy (RC2-40 certificates, 3DES key, SHA-1 MAC)", ["-legacy"]],
    ["3DES for key and certificates", ["-keypbe", "DES-EDE3-CBC", "-certpbe", "DES-EDE3-CBC"]],
    ["RC2-128 certificates", ["-legacy", "-certpbe", "PBE-SHA1-RC2-128"]],
    ["2-key 3DES key", ["-legacy", "-keypbe", "PBE-SHA1-2DES"]],
    ["PBES2 AES-128 with HMAC-SHA1 PRF and a SHA-1 MAC", ["-keypbe", "AES-128-CBC", "-certpbe", "AES-128-CBC", "-macalg", "sha1"]],
    ["SHA-512 MAC", ["-macalg", "sha512"]],
    ["unencrypted certificates", ["-certpbe", "NONE"]],
  ])("reads %s", async (_name, extra) => {
    const file = pki.exportP12(`variant-${String(Math.random()).slice(2)}.p12`, pki.rsa, PW, extra);
    const store = await readPkcs12(readFileSync(file), PW, file);
    // No -name: the label falls back to the certificate's subject CN.
    expectIdentity(store, pki.rsa, "client-rsa");
    expect(store.entries.map((e) => e.label)).toEqual(["client-rsa", "Test Intermediate CA", "Test Root CA"]);
  });

  it.each([
    ["EC P-256", "p256", "client-p256"],
    ["EC P-384", "p384", "server-p384"],
    ["Ed25519", "ed25519", "client-ed25519"],
    ["RSA", "rsa", "client-rsa"],
  ] as const)("reads %s keys, modern and legacy", async (_name, which, cn) => {
    for (const extra of [[], ["-legacy"]]) {
      const file = pki.exportP12(`${which}-${String(extra.length)}.p12`, pki[which], PW, extra);
      const store = await readPkcs12(readFileSync(file), PW, file);
      expectIdentity(store, pki[which], cn);
    }
  });

  it("reads files written by node-forge (3DES and its AES default)", async () => {
    const key = forge.pki.privateKeyFromPem(readFileSync(pki.rsaSelfSigned.keyPath, "utf8"));
    const cert = forge.pki.certificateFromPem(pki.rsaSelfSigned.cert.toString());
    for (const algorithm of ["3des", "aes128", "aes256"] as const) {
      const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], PW, { algorithm, friendlyName: `forge-${algorithm}` });
      const der = Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
      const store = await readPkcs12(der, PW, `forge-${algorithm}.p12`);
      expectIdentity(store, pki.rsaSelfSigned, `forge-${algorithm}`);
      expect(store.entries).toHaveLength(1);
    }
  });

  it("reads BER as Windows and old Java write it: indefinite lengths and a chunked OCTET STRING", async () => {
    const der = readFileSync(pki.exportP12("ber-source.p12", pki.p256, PW, ["-name", "ber"]));
    const pfx = asn1js.fromBER(der).result as asn1js.Sequence;
    const [, authSafe, macData] = pfx.valueBlock.value as [asn1js.Integer, asn1js.Sequence, asn1js.Sequence];
    const content = Buffer.from(((authSafe.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView);
    const short = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag, 0x82, body.length >> 8, body.length & 0xff]), body]);
    const indefinite = (tag: number, ...parts: Buffer[]): Buffer => Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0, 0])]);
    const half = Math.floor(content.length / 2);
    const ber = indefinite(
      0x30,
      Buffer.from([0x02, 0x01, 0x03]),
      indefinite(0x30, Buffer.from(authSafe.valueBlock.value[0]?.toBER() as ArrayBuffer), indefinite(0xa0, indefinite(0x24, short(0x04, content.subarray(0, half)), short(0x04, content.subarray(half))))),
      Buffer.from(macData.toBER()),
    );
    expectIdentity(await readPkcs12(ber, PW, "ber.p12"), pki.p256, "ber");
  });

  it("labels a CA without friendlyName or CN entry-N, and de-duplicates labels", async () => {
    const file = pki.exportP12("nocn.p12", pki.p256, PW, ["-name", "Test Root CA"], [pki.root, pki.noCn]);
    const store = await readPkcs12(readFileSync(file), PW, file);
    expect(store.entries.map((e) => e.label)).toEqual(["Test Root CA", "Test Root CA-2", "entry-3"]);
  });

  it("reads an empty password and a store without MAC", async () => {
    const empty = pki.exportP12("empty-pw.p12", pki.p256, "");
    expect(personal(await readPkcs12(readFileSync(empty), "", empty))).toHaveLength(1);
    const nomac = pki.exportP12("nomac.p12", pki.p256, PW, ["-nomac"]);
    expect(personal(await readPkcs12(readFileSync(nomac), PW, nomac))).toHaveLength(1);
    const err = await rejection(readPkcs12(readFileSync(nomac), "wrong", nomac));
    expect(err.code).toBe(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD);
    expect(err.message).toContain("no MAC");
  });

  it("wrong password: 408, says the MAC cannot tell a wrong password from a damaged file, never shows the password", async () => {
    const file = pki.exportP12("wrong.p12", pki.p256, PW);
    for (const legacy of [false, true]) {
      const f = legacy ? pki.exportP12("wrong-legacy.p12", pki.p256, PW, ["-legacy"]) : file;
      const err = await rejection(readPkcs12(readFileSync(f), "not-the-password", f));
      expect(err.code).toBe(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD);
      expect(err.message).toContain("wrong password, or the file is damaged: the MAC check cannot tell which");
      expect(err.message).toContain(f);
      expect(err.message).not.toContain("not-the-password");
      expect(err.message).not.toContain(PW);
    }
  });

  it("damaged body: 408 like a wrong password; truncated file, DER certificate, text and JKS: 202 saying what was found", async () => {
    const file = pki.exportP12("damage.p12", pki.p256, PW);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    for (let i = 400; i < 404; i++) flipped[i] = (flipped[i] ?? 0) ^ 0xff;
    expect((await rejection(readPkcs12(flipped, PW, "flipped.p12"))).code).toBe(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD);

    const truncated = await rejection(readPkcs12(good.subarray(0, 700), PW, "cut.p12"));
    expect(truncated.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(truncated.message).toMatch(/cut\.p12: .*truncated/);

    const cert = await rejection(readPkcs12(pki.p256.cert.raw, PW, "cert.der"));
    expect(cert.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(cert.message).toContain("cert.der: a DER certificate, not a PKCS#12 store");

    const text = await rejection(readPkcs12(Buffer.from("hello\nworld\n"), PW, "notes.txt"));
    expect(text.message).toContain("notes.txt: a text file");

    const jks = await rejection(readPkcs12(Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]), PW, "store.jks"));
    expect(jks.message).toContain("Java KeyStore");
  });

  it("reports an encryption it cannot read (RC4) as 202 naming the algorithm", async () => {
    const file = pki.exportP12("rc4.p12", pki.p256, PW, ["-legacy", "-certpbe", "PBE-SHA1-RC4-128"]);
    const err = await rejection(readPkcs12(readFileSync(file), PW, file));
    expect(err.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(err.message).toContain("RC4");
  });

  it("opens a 100,000-iteration store without blocking the event loop", async () => {
    const file = pki.exportP12("slow.p12", pki.p256, PW, ["-iter", "100000"]);
    expect(opensslOutput(["pkcs12", "-info", "-noout", "-in", file, "-passin", `pass:${PW}`]).output).toContain("Iteration 100000");
    const der = readFileSync(file);
    let last = performance.now();
    let longest = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 10);
    try {
      last = performance.now();
      const store = await readPkcs12(der, PW, file);
      expect(personal(store)).toHaveLength(1);
    } finally {
      clearInterval(timer);
    }
    // node-forge's pure-JS PBKDF2 holds the loop ~1.3 s for this file; sliced work stays far below.
    expect(ticks).toBeGreaterThan(2);
    expect(longest).toBeLessThan(300);
  });
});

describe.skipIf(!HAS_OPENSSL)("writePkcs12", () => {
  let pki: TestPki;
  let entries: KeyStoreEntry[];
  beforeAll(() => {
    pki = makeTestPki();
    entries = [
      { label: "server-ec", certificates: [pki.p384.cert, pki.intermediate.cert], privateKey: pki.p384.key, trusted: false },
      { label: "client rsa", certificates: [pki.rsa.cert], privateKey: pki.rsa.key, trusted: false },
      { label: "édition-ed25519", certificates: [pki.ed25519.cert], privateKey: pki.ed25519.key, trusted: false },
      { label: "root", certificates: [pki.root.cert], trusted: true },
    ];
  });
  afterAll(() => pki.cleanup());

  it.each([
    ["modern", false, ["MAC: sha256", "PBES2, PBKDF2, AES-256-CBC", "PRF hmacWithSHA256"]],
    ["legacy 3DES", true, ["MAC: sha1", "pbeWithSHA1And3-KeyTripleDES-CBC"]],
  ] as const)("%s output loads in openssl, node:tls and round-trips labels", async (_name, legacy, expected) => {
    const der = await writePkcs12(entries, PW, { legacy, iterations: 1000 });

    const back = await readPkcs12(der, PW, "written.p12");
    expect(back.entries.map((e) => e.label)).toEqual(["server-ec", "client rsa", "édition-ed25519", "root", "Test Intermediate CA"]);
    expect(back.defaultLabel).toBe("server-ec");
    expectIdentity(back, pki.p384, "server-ec");
    expectIdentity(back, pki.rsa, "client rsa");
    expectIdentity(back, pki.ed25519, "édition-ed25519");
    expect(back.entries[0]?.certificates.map((c) => c.fingerprint256)).toEqual(
      [pki.p384.cert, pki.intermediate.cert, pki.root.cert].map((c) => c.fingerprint256),
    );

    expect(() => createSecureContext({ pfx: der, passphrase: PW })).not.toThrow();
    expect(() => createSecureContext({ pfx: der, passphrase: "wrong" })).toThrow(/mac verify failure/i);

    const file = pki.write(`written-${String(legacy)}.p12`, der);
    const info = opensslOutput(["pkcs12", "-info", "-noout", "-in", file, "-passin", `pass:${PW}`]);
    expect(info.status, info.output).toBe(0);
    for (const text of expected) expect(info.output).toContain(text);
    expect(info.output).toContain("Iteration 1000");
  });

  it("uses 2048 iterations by default and refuses a bad count", async () => {
    const der = await writePkcs12(entries.slice(3), PW);
    const info = opensslOutput(["pkcs12", "-info", "-noout", "-in", pki.write("default-iter.p12", der), "-passin", `pass:${PW}`]);
    expect(info.output).toContain("MAC: sha256, Iteration 2048");
    const err = await rejection(writePkcs12(entries, PW, { iterations: 0 }));
    expect(err.code).toBe(RC.GSK_INVALID_PARAMETER);
  });

  it("refuses a personal entry without a certificate", async () => {
    const err = await rejection(writePkcs12([{ label: "lonely", certificates: [], privateKey: pki.p256.key, trusted: false }], PW));
    expect(err.code).toBe(RC.GSK_INVALID_PARAMETER);
    expect(err.message).toContain('"lonely"');
  });
});
