/**
 * What an environment presents and whom it trusts, resolved once at `gsk_environment_init` from
 * either an application ID or a key store: the loaded store, the candidate identities, the trust
 * anchors and the CRLs in force.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";

import { A } from "../attributes.js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { Identity } from "../internal/node-tls.js";
import { chainFor, openKeyStore, selectPersonalEntry, trustAnchors } from "../keystore/open.js";
import type { KeyStore, KeyStoreEntry } from "../keystore/types.js";
import type { ApplicationDefinition } from "../registry/application.js";
import { lookupApplication } from "../registry/registry.js";
import type { AttributeValues } from "./attribute-values.js";

/** The special `GSK_KEYRING_FILE` value naming the store application IDs use. */
export const SYSTEM_STORE = "*SYSTEM";

export interface ResolvedIdentity {
  readonly store: KeyStore | undefined;
  readonly application: ApplicationDefinition | undefined;
  /** Labels to present (none: this side has no certificate). */
  readonly labels: readonly string[];
  /** Whether labels were named explicitly (a missing one is then an error, not "no certificate"). */
  readonly explicitLabels: boolean;
  readonly anchors: readonly X509Certificate[];
  readonly crls: readonly Buffer[];
  /** Where the trust list came from, for messages ("CA entries of app.p12"). */
  readonly trustSource: string;
}

export interface IdentityOptions {
  /** Directory of the system store and application registry (default: GSKIT_TLS_HOME or ~/.gskit-tls). */
  readonly systemDirectory?: string | undefined;
}

export async function resolveIdentity(values: AttributeValues, options: IdentityOptions = {}): Promise<ResolvedIdentity> {
  const appId = values.string(A.GSK_IBMI_APPLICATION_ID);
  let store: KeyStore | undefined;
  let application: ApplicationDefinition | undefined;
  let labels: string[] = [];
  let explicitLabels = false;
  let trustSource = "no trust list";

  if (appId !== undefined) {
    // IBM says to set only one of the two; when both are set the application ID wins, because it
    // carries the whole profile (certificates, trust list and policy) and DCM's store is fixed.
    const { definition, location } = await lookupApplication(appId, { directory: options.systemDirectory });
    application = definition;
    store = await openKeyStore(location.storeFile, { stashFile: location.stashFile });
    labels = [...definition.certificates];
    explicitLabels = labels.length > 0;
    trustSource = definition.trustList && definition.trustList.length > 0 ? `the trust list of application ID '${definition.id}'` : `the enabled CA entries of the system store ${location.storeFile}`;
  } else {
    const file = values.string(A.GSK_KEYRING_FILE);
    if (file !== undefined) {
      const credentials = { password: values.string(A.GSK_KEYRING_PW), stashFile: values.string(A.GSK_KEYRING_STASH_FILE) };
      if (file.toUpperCase() === SYSTEM_STORE) {
        const { systemStoreLocation } = await import("../registry/locations.js");
        const location = systemStoreLocation({ directory: options.systemDirectory });
        store = await openKeyStore(location.storeFile, credentials.password !== undefined ? credentials : { stashFile: location.stashFile });
      } else {
        store = await openKeyStore(file, credentials);
      }
      trustSource = `the CA entries of ${store.file}`;
    }
  }

  const labelEx = values.string(A.GSK_KEYRING_LABEL_EX);
  const label = values.string(A.GSK_KEYRING_LABEL);
  if (labelEx !== undefined) {
    labels = splitLabels(labelEx);
    explicitLabels = true;
  } else if (label !== undefined) {
    labels = [label];
    explicitLabels = true;
  } else if (!application && store?.defaultLabel !== undefined) {
    labels = [store.defaultLabel];
  }

  let anchors: X509Certificate[] = store ? trustAnchors(store) : [];
  if (application?.trustList && application.trustList.length > 0 && store) {
    const listed = new Set(application.trustList);
    anchors = store.entries.filter((e) => e.trusted && !e.privateKey && listed.has(e.label)).map((e) => e.certificates[0]!);
  }
  const trustFile = values.string(A.GSKX_TRUST_FILE);
  if (trustFile !== undefined) {
    anchors = await readTrustFile(trustFile);
    trustSource = `the trust file ${trustFile}`;
  }
  const crlFiles = values.string(A.GSKX_CRL_FILE);
  const crls = crlFiles !== undefined ? await readCrls(crlFiles) : [];

  return { store, application, labels, explicitLabels, anchors, crls, trustSource };
}

export function splitLabels(text: string): string[] {
  return text.split(",").map((l) => l.trim()).filter((l) => l.length > 0);
}

/**
 * The identities for a set of labels. Unknown labels give 407 and keyless ones 428; a store with
 * no personal entry at all gives no identity (a server then fails its handshake with 403).
 */
export function identitiesFor(resolved: ResolvedIdentity, labels: readonly string[]): Identity[] {
  const store = resolved.store;
  if (!store) return [];
  if (labels.length === 0) return [];
  return labels.map((label) => {
    const entry: KeyStoreEntry = selectPersonalEntry(store, label);
    return { label: entry.label, key: entry.privateKey!, chain: chainFor(store, entry) };
  });
}

async function readTrustFile(path: string): Promise<X509Certificate[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `trust file ${path} could not be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `trust file ${path} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----" blocks)`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (error) {
      throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `trust file ${path} holds a certificate that cannot be parsed`, { cause: error });
    }
  });
}

async function readCrls(list: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const path of list.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error) {
      throw new GskError(RC.GSK_IBMI_ERROR_CRL_INVALID, `CRL file ${path} could not be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
    const text = data.toString("latin1");
    if (text.includes("-----BEGIN")) {
      // node:tls accepts only the "X509 CRL" label; some tools write "CRL".
      const blocks = text.match(/-----BEGIN (X509 )?CRL-----[\s\S]+?-----END (X509 )?CRL-----/g);
      if (!blocks) throw new GskError(RC.GSK_IBMI_ERROR_CRL_INVALID, `CRL file ${path} is PEM but holds no "X509 CRL" block`);
      for (const b of blocks) out.push(Buffer.from(b.replace(/-----(BEGIN|END) CRL-----/g, "-----$1 X509 CRL-----")));
    } else {
      if (data[0] !== 0x30) throw new GskError(RC.GSK_IBMI_ERROR_CRL_INVALID, `CRL file ${path} is neither PEM nor DER`);
      out.push(Buffer.from(`-----BEGIN X509 CRL-----\n${data.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END X509 CRL-----\n`));
    }
  }
  return out;
}

