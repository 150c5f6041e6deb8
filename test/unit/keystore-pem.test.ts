import { createSecureContext } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { readPemBundle, writePemBundle } from "../../src/keystore/pem.js";
import type { KeyStore } from "../../src/keystore/types.js";
import { HAS_OPENSSL, makeTestPki, openssl, type Identity, type TestPki } from "./helpers/keystore-pki.js";

const PW = "pem-pass";

if (!HAS_OPENSSL) console.warn("keystore-pem tests skipped: the openssl command is not installed (it builds the test PKI)");

function thrown(fn: () => unknown): GskError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("expected a GskError");
}

function summary(store: KeyStore): [string, boolean, boolean][] {
  return store.entries.map((e) => [e.label, e.privateKey !== undefined, e.trusted]);
}

describe.skipIf(!HAS_OPENSSL)("readPemBundle", () => {
  let pki: TestPki;
  const cert = (id: Identity): string => id.cert.toString();
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());

  it("pairs each key with the certificate of its public key, labels it by CN; other certificates are trusted CA entries", () => {
    // Certificates before the key, and the chain out of order: pairing is by public key, not position.
    const text = cert(pki.root) + cert(pki.p256) + pki.p256.key.export({ type: "pkcs8", format: "pem" }) + cert(pki.intermediate);
    const store = readPemBundle(text, undefined, "bundle.pem");
    expect(store.format).toBe("pem");
    expect(store.file).toBe("bundle.pem");
    expect(summary(store)).toEqual([
      ["client-p256", true, false],
      ["Test Root CA", false, true],
      ["Test Intermediate CA", false, true],
    ]);
    expect(store.defaultLabel).toBe("client-p256");
    expect(store.entries[0]?.certificates[0]?.raw.equals(pki.p256.cert.raw)).toBe(true);
  });

  it("reads PKCS#8, PKCS#1, SEC1, encrypted PKCS#8 and legacy encrypted PEM keys", () => {
    const parts = [
      pki.ed25519.key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PW }),
      cert(pki.ed25519),
      pki.rsa.key.export({ type: "pkcs1", format: "pem" }),
      cert(pki.rsa),
      pki.p384.key.export({ type: "sec1", format: "pem" }),
      cert(pki.p384),
      pki.p256.key.export({ type: "sec1", format: "pem", cipher: "aes-128-cbc", passphrase: PW }),
      cert(pki.p256),
    ].map(String);
    expect(parts[0]).toContain("ENCRYPTED PRIVATE KEY");
    expect(parts[2]).toContain("RSA PRIVATE KEY");
    expect(parts[4]).toContain("EC PRIVATE KEY");
    expect(parts[6]).toContain("Proc-Type: 4,ENCRYPTED");
    const store = readPemBundle(parts.join(""), PW, "keys.pem");
    expect(summary(store).map(([l]) => l)).toEqual(["client-ed25519", "client-rsa", "server-p384", "client-p256"]);
    for (const e of store.entries) expect(e.certificates[0]?.checkPrivateKey(e.privateKey as never)).toBe(true);
  });

  it("de-duplicates labels with -2", () => {
    const text = [pki.p256, pki.p256Twin].map((id) => String(id.key.export({ type: "pkcs8", format: "pem" })) + cert(id)).join("");
    expect(summary(readPemBundle(text, undefined, "twins.pem")).map(([l]) => l)).toEqual(["client-p256", "client-p256-2"]);
  });

  it("reads openssl pkcs12 -nodes output (text before the blocks) and TRUSTED CERTIFICATE blocks", () => {
    const p12 = pki.exportP12("for-pem.p12", pki.p384, PW);
    const text = openssl(["pkcs12", "-in", p12, "-nodes", "-passin", `pass:${PW}`]).toString("utf8");
    expect(text).toContain("Bag Attributes");
    expect(summary(readPemBundle(text, undefined, "nodes.pem")).map(([l]) => l)).toEqual(["server-p384", "Test Intermediate CA", "Test Root CA"]);

    const trusted = openssl(["x509", "-in", pki.root.certPath, "-trustout", "-addtrust", "serverAuth"]).toString("utf8");
    expect(trusted).toContain("BEGIN TRUSTED CERTIFICATE");
    const store = readPemBundle(trusted, undefined, "trusted.pem");
    expect(store.entries[0]?.certificates[0]?.raw.equals(pki.root.cert.raw)).toBe(true);
  });

  it("a bundle of certificates only has CA entries and no default", () => {
    const store = readPemBundle(cert(pki.root) + cert(pki.intermediate), undefined, "cas.pem");
    expect(store.defaultLabel).toBeUndefined();
    expect(store.entries.every((e) => e.trusted && e.privateKey === undefined)).toBe(true);
  });

  it("encrypted key: no password 201, wrong password 408 (no password in the message); plain keys need none", () => {
    const text = String(pki.p256.key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PW })) + cert(pki.p256);
    const missing = thrown(() => readPemBundle(text, undefined, "enc.pem"));
    expect(missing.code).toBe(RC.GSK_NO_KEYFILE_PASSWORD);
    expect(missing.message).toContain("enc.pem");
    expect(missing.message).toContain("encrypted");

    const wrong = thrown(() => readPemBundle(text, "guess-123", "enc.pem"));
    expect(wrong.code).toBe(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD);
    expect(wrong.message).toContain("enc.pem");
    expect(wrong.message).toContain("wrong password");
    expect(wrong.message).not.toContain("guess-123");

    const legacy = String(pki.rsa.key.export({ type: "pkcs1", format: "pem", cipher: "aes-256-cbc", passphrase: PW })) + cert(pki.rsa);
    expect(thrown(() => readPemBundle(legacy, "guess-123", "legacy.pem")).code).toBe(RC.GSK_ERROR_BAD_KEYFILE_PASSWORD);

    const plain = String(pki.p256.key.export({ type: "pkcs8", format: "pem" })) + cert(pki.p256);
    expect(readPemBundle(plain, "ignored", "plain.pem").entries).toHaveLength(1);
  });

  it("garbage and unusable bundles: 202 naming the file and the problem", () => {
    const none = thrown(() => readPemBundle("just some words\n", undefined, "/etc/app/garbage.pem"));
    expect(none.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(none.message).toContain("/etc/app/garbage.pem");

    const broken = thrown(() => readPemBundle("-----BEGIN CERTIFICATE-----\nMIIBroken!!\n-----END CERTIFICATE-----\n", undefined, "broken.pem"));
    expect(broken.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(broken.message).toContain("broken.pem");
    expect(broken.message).toContain("line 1");

    const csrOnly = thrown(() => readPemBundle("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", undefined, "csr.pem"));
    expect(csrOnly.message).toContain("CERTIFICATE REQUEST");

    const mismatch = thrown(() => readPemBundle(String(pki.p256.key.export({ type: "pkcs8", format: "pem" })) + cert(pki.p384), undefined, "mismatch.pem"));
    expect(mismatch.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    expect(mismatch.message).toContain("no certificate with its public key");
    expect(mismatch.message).toContain("server-p384");
  });
});

describe.skipIf(!HAS_OPENSSL)("writePemBundle", () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());

  it("round-trips in the clear and with AES-256 encrypted PKCS#8 keys, and node:tls loads it", () => {
    const entries = [
      { label: "client-rsa", certificates: [pki.rsa.cert, pki.intermediate.cert], privateKey: pki.rsa.key, trusted: false },
      { label: "client-ed25519", certificates: [pki.ed25519.cert], privateKey: pki.ed25519.key, trusted: false },
      { label: "Test Root CA", certificates: [pki.root.cert], trusted: true },
    ];
    const plain = writePemBundle(entries);
    expect(plain).not.toContain("ENCRYPTED");
    expect(summary(readPemBundle(plain, undefined, "plain.pem"))).toEqual([
      ["client-rsa", true, false],
      ["client-ed25519", true, false],
      ["Test Intermediate CA", false, true],
      ["Test Root CA", false, true],
    ]);

    const encrypted = writePemBundle(entries, PW);
    expect(encrypted.match(/BEGIN ENCRYPTED PRIVATE KEY/g)).toHaveLength(2);
    expect(encrypted).not.toContain(PW);
    expect(summary(readPemBundle(encrypted, PW, "enc.pem")).map(([l]) => l)).toEqual(["client-rsa", "client-ed25519", "Test Intermediate CA", "Test Root CA"]);
    // node:tls takes the first key and the certificates from the same bundle: the first personal entry.
    expect(() => createSecureContext({ key: encrypted, passphrase: PW, cert: encrypted })).not.toThrow();
  });
});
