import type { KeyObject, X509Certificate } from "node:crypto";

/** The file formats a key store can have. */
export type KeyStoreFormat = "pkcs12" | "pem" | "cms";

/**
 * One labelled entry of a key store.
 *
 * A **personal** entry has a private key: `certificates[0]` is its certificate and the rest is the
 * chain the entry carries (intermediates, maybe the root). A **CA** entry has no key:
 * `certificates` holds exactly the CA certificate, and `trusted` says whether it is enabled as a
 * trust anchor (GSKit/DCM let a CA entry be kept but disabled).
 */
export interface KeyStoreEntry {
  readonly label: string;
  readonly certificates: readonly X509Certificate[];
  readonly privateKey?: KeyObject | undefined;
  /** CA entries only: enabled as a trust anchor. Personal entries: false. */
  readonly trusted: boolean;
}

/** A key store as loaded: entries in file order, and which personal entry is the default. */
export interface KeyStore {
  /** The path it was read from (for messages). */
  readonly file: string;
  readonly format: KeyStoreFormat;
  readonly entries: readonly KeyStoreEntry[];
  /** Label of the default personal entry (the first personal entry unless the file says otherwise). */
  readonly defaultLabel: string | undefined;
}

/** How a store is unlocked: a password, or a stash file that holds it. */
export interface KeyStoreCredentials {
  readonly password?: string | undefined;
  readonly stashFile?: string | undefined;
}
