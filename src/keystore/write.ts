import { writeFileAtomic } from "../internal/atomic-file.js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { writePemBundle } from "./pem.js";
import { writePkcs12 } from "./pkcs12.js";
import type { KeyStoreEntry } from "./types.js";

export interface WriteKeyStoreOptions {
  readonly format: "pkcs12" | "pem";
  /** Required for PKCS#12; for PEM, encrypts the keys when given. */
  readonly password?: string | undefined;
  /** PKCS#12 only: 3DES and a SHA-1 MAC for old importers. */
  readonly legacy?: boolean | undefined;
  /** PKCS#12 only: KDF iterations. */
  readonly iterations?: number | undefined;
}

/**
 * Writes entries to a key store file atomically with mode 0600: a crash leaves the old store or
 * the new one, and the keys in it are never readable by other users, even for a moment.
 */
export async function writeKeyStoreFile(file: string, entries: readonly KeyStoreEntry[], options: WriteKeyStoreOptions): Promise<void> {
  let data: Buffer | string;
  if (options.format === "pkcs12") {
    if (options.password === undefined) {
      throw new GskError(RC.GSK_NO_KEYFILE_PASSWORD, `key store ${file}: a PKCS#12 file needs a password to be written`);
    }
    data = await writePkcs12(entries, options.password, { legacy: options.legacy, iterations: options.iterations });
  } else {
    data = writePemBundle(entries, options.password);
  }
  try {
    await writeFileAtomic(file, data, 0o600);
  } catch (error) {
    throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `key store ${file} cannot be written: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
