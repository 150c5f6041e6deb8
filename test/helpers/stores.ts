/**
 * Key stores built from the generated test PKI, the way a user would hold them: a personal entry
 * (key + chain) and the CA entries the side trusts.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { KeyStoreEntry } from "../../src/keystore/types.js";
import { writeKeyStoreFile } from "../../src/keystore/write.js";
import { pkiDir } from "../fixtures/pki-manifest.js";

export const PASSWORD = "secret";

const scratch = mkdtempSync(join(tmpdir(), "gskit-test-stores-"));
let counter = 0;

export function scratchDir(): string {
  return scratch;
}

function certsOf(path: string): X509Certificate[] {
  const text = readFileSync(path, "utf8");
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

export function caCert(tree: string, name: string): X509Certificate {
  const file = name === "root" ? "ca.pem" : name === "intermediate" ? "intermediate.pem" : `${name}.cert.pem`;
  return certsOf(join(pkiDir, tree, file))[0]!;
}

export interface StoreSpec {
  tree: "rsa" | "ecdsa" | "mixed";
  /** Personal entries (leaf names in the tree), first is the default. */
  personal?: readonly string[];
  /** CA entries (trust anchors): CA names of the tree, default root. */
  trust?: readonly string[];
  format?: "pkcs12" | "pem";
  password?: string;
}

/** Writes a store and returns its path. */
export async function makeStore(spec: StoreSpec): Promise<string> {
  const entries: KeyStoreEntry[] = [];
  for (const name of spec.personal ?? []) {
    const chain = certsOf(join(pkiDir, spec.tree, `${name}.chain.pem`));
    const key = createPrivateKey(readFileSync(join(pkiDir, spec.tree, `${name}.key.pem`)));
    entries.push({ label: name, certificates: chain, privateKey: key, trusted: false });
  }
  for (const name of spec.trust ?? ["root"]) {
    const tree = spec.tree === "mixed" ? "ecdsa" : spec.tree;
    entries.push({ label: `ca-${name}`, certificates: [caCert(tree, name)], trusted: true });
  }
  const format = spec.format ?? "pkcs12";
  const file = join(scratch, `store-${String(++counter)}.${format === "pem" ? "pem" : "p12"}`);
  await writeKeyStoreFile(file, entries, { format, password: spec.password ?? PASSWORD, iterations: 1 });
  return file;
}
