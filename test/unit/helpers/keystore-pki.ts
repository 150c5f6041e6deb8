import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Test PKI built at test time: no key material is checked in. */

export const HAS_OPENSSL = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

export function openssl(args: readonly string[], cwd?: string): Buffer {
  return execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

/** Like `openssl`, but returns stdout and stderr together (`pkcs12 -info` reports on stderr). */
export function opensslOutput(args: readonly string[]): { status: number; output: string } {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export interface Identity {
  readonly key: KeyObject;
  readonly keyPath: string;
  readonly cert: X509Certificate;
  readonly certPath: string;
}

export interface TestPki {
  readonly dir: string;
  readonly root: Identity;
  readonly intermediate: Identity;
  /** Leaves issued by the intermediate. */
  readonly rsa: Identity;
  readonly p256: Identity;
  readonly p384: Identity;
  readonly ed25519: Identity;
  /** A second P-256 leaf with the same CN as `p256`, for label de-duplication. */
  readonly p256Twin: Identity;
  /** Self-signed RSA certificate on the `rsa` key: the forge-written store test needs an RSA-signed certificate. */
  readonly rsaSelfSigned: Identity;
  /** Self-signed CA without a CN in its subject. */
  readonly noCn: Identity;
  path(name: string): string;
  write(name: string, data: string | Uint8Array): string;
  /** `openssl pkcs12 -export` of an identity with the intermediate and root as extra certificates. */
  exportP12(name: string, id: Identity, password: string, extra?: readonly string[], chain?: readonly Identity[]): string;
  cleanup(): void;
}

const CONFIG = `
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost
`;

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "gskit-keystore-"));
  const path = (name: string): string => join(dir, name);
  const write = (name: string, data: string | Uint8Array): string => {
    writeFileSync(path(name), data);
    return path(name);
  };
  write("openssl.cnf", CONFIG);

  const issue = (
    name: string,
    key: KeyObject,
    subject: string,
    ext: "ca_ext" | "leaf_ext",
    issuer?: Identity,
  ): Identity => {
    const keyPath = write(`${name}.key`, key.export({ type: "pkcs8", format: "pem" }));
    const certPath = path(`${name}.pem`);
    openssl([
      "req", "-x509", "-new", "-config", path("openssl.cnf"), "-extensions", ext, "-key", keyPath,
      "-subj", subject, "-days", "30", "-sha256", "-out", certPath,
      ...(issuer ? ["-CA", issuer.certPath, "-CAkey", issuer.keyPath] : []),
    ]);
    return { key, keyPath, cert: new X509Certificate(readFileSync(certPath)), certPath };
  };
  const ec = (namedCurve: string): KeyObject => generateKeyPairSync("ec", { namedCurve }).privateKey;

  const root = issue("root", ec("P-256"), "/CN=Test Root CA/O=gskit-tls tests", "ca_ext");
  const intermediate = issue("intermediate", ec("P-384"), "/CN=Test Intermediate CA/O=gskit-tls tests", "ca_ext", root);
  const rsaKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const rsa = issue("rsa", rsaKey, "/CN=client-rsa", "leaf_ext", intermediate);
  const p256 = issue("p256", ec("P-256"), "/CN=client-p256", "leaf_ext", intermediate);
  const p384 = issue("p384", ec("P-384"), "/CN=server-p384", "leaf_ext", intermediate);
  const ed25519 = issue("ed25519", generateKeyPairSync("ed25519").privateKey, "/CN=client-ed25519", "leaf_ext", intermediate);
  const p256Twin = issue("p256twin", ec("P-256"), "/CN=client-p256/O=twin", "leaf_ext", intermediate);
  const rsaSelfSigned = issue("rsaself", rsaKey, "/CN=forge-rsa", "leaf_ext");
  const noCn = issue("nocn", ec("P-256"), "/O=No Common Name CA", "ca_ext");

  const exportP12 = (name: string, id: Identity, password: string, extra: readonly string[] = [], chain: readonly Identity[] = [intermediate, root]): string => {
    const out = path(name);
    if (chain.length > 0) write(`${name}.chain.pem`, chain.map((c) => c.cert.toString()).join(""));
    openssl([
      "pkcs12", "-export", "-inkey", id.keyPath, "-in", id.certPath,
      ...(chain.length > 0 ? ["-certfile", path(`${name}.chain.pem`)] : []),
      "-passout", `pass:${password}`, "-out", out, ...extra,
    ]);
    return out;
  };

  return {
    dir, root, intermediate, rsa, p256, p384, ed25519, p256Twin, rsaSelfSigned, noCn, path, write, exportP12,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
