/** `gskit cert`: certificates in a key store (create a CA, issue, sign, receive, add, trust, list, move). */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { RC } from "../../codes.js";
import { GskError } from "../../errors.js";
import { certificateSubject, type ExtendedKeyUsageName, type KeyUsageName } from "../../pki/certificate.js";
import type { KeyType } from "../../pki/keys.js";
import { toPem } from "../../pki/pem.js";
import {
  addCaCertificate,
  certificatesIn,
  createCa,
  deleteEntry,
  entryDetails,
  exportEntry,
  extractCertificate,
  importEntries,
  issueFromCa,
  listStore,
  parseSubjectAltNames,
  receiveCertificate,
  setCaTrust,
  signRequest,
  type CertificateDetails,
} from "../../keystore/edit.js";
import type { KeyStoreFormat } from "../../keystore/types.js";
import { writeFileAtomic } from "../../internal/atomic-file.js";
import {
  EXIT_OK,
  integer,
  list as listOf,
  need,
  oneOf,
  parseOptions,
  printFields,
  printJson,
  printTable,
  reportWarnings,
  runGroup,
  STORE_OPTIONS,
  storeOf,
  UsageError,
  type Action,
  type CliContext,
} from "../io.js";

const KEY_TYPES: readonly KeyType[] = ["rsa", "ec-p256", "ec-p384", "ed25519"];
const EKU_NAMES: readonly string[] = ["serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "ocspSigning", "anyExtendedKeyUsage"];
const KU_NAMES: readonly string[] = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"];

export const KEY_OPTIONS = { key: { type: "string" }, size: { type: "string" } } as const;

export function keySpec(values: { key?: string; size?: string }): { keyType: KeyType | undefined; rsaBits: number | undefined } {
  const keyType = oneOf(values.key, "key", KEY_TYPES);
  const rsaBits = integer(values.size, "size", 1024, 16384);
  if (rsaBits !== undefined && keyType !== undefined && keyType !== "rsa") throw new UsageError("--size applies to RSA keys only");
  return { keyType, rsaBits };
}

export function ekuOf(value: string | undefined): ExtendedKeyUsageName[] | undefined {
  const names = listOf(value);
  for (const n of names ?? []) {
    if (!EKU_NAMES.includes(n) && !/^\d+(\.\d+)+$/.test(n)) throw new UsageError(`--eku: '${n}' is not one of ${EKU_NAMES.join(", ")} or a dotted OID`);
  }
  return names as ExtendedKeyUsageName[] | undefined;
}

function kuOf(value: string | undefined): KeyUsageName[] | undefined {
  const names = listOf(value);
  for (const n of names ?? []) if (!KU_NAMES.includes(n)) throw new UsageError(`--ku: '${n}' is not one of ${KU_NAMES.join(", ")}`);
  return names as KeyUsageName[] | undefined;
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `${what} ${path} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? String(error)})`}`, { cause: error });
  }
}

async function writeOutput(path: string, data: string | Buffer, what: string): Promise<void> {
  try {
    await writeFileAtomic(path, data, 0o644);
  } catch (error) {
    throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `${what} ${path} cannot be written: ${(error as Error).message}`, { cause: error });
  }
}

const createCaAction: Action = {
  usage: `create-ca --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL --dn "CN=…,O=…" [--key rsa|ec-p256|ec-p384|ed25519] [--size BITS] [--expire DAYS]
  Creates a self-signed CA certificate (default RSA 2048, 3650 days) with its key as a personal
  entry, so 'cert issue' and 'cert sign' can sign with it. Its store does not trust it (a
  certificate with a key is not a CA entry); issue into another store with --target, which adds
  the CA there as a trusted CA entry.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, ...KEY_OPTIONS, label: { type: "string" }, dn: { type: "string" }, expire: { type: "string" } });
    const { file, access } = storeOf(context, values);
    const label = need(values, "label");
    const { certificate: cert, warnings } = await createCa(file, access, { label, subject: need(values, "dn"), ...keySpec(values), validityDays: integer(values.expire, "expire", 1, 36500) });
    reportWarnings(context, warnings);
    context.stdout.write(`created CA '${label}' in ${file}: ${certificateSubject(cert)}, valid until ${new Date(cert.validTo).toISOString()}\n`);
    return EXIT_OK;
  },
};

const issue: Action = {
  usage: `issue --db FILE|*SYSTEM [--pw PASSWORD | --stash] --ca-label CA --label LABEL --dn "CN=…" [--san dns:NAME,ip:ADDR,email:X@Y,uri:U] [--eku serverAuth,clientAuth] [--ku …] [--key rsa|ec-p256|ec-p384|ed25519] [--size BITS] [--expire DAYS] [--target OTHER|*SYSTEM [--target_pw PASSWORD | --target_stash]]
  Makes a key and a certificate for it signed by the CA labelled CA (default RSA 2048, 365 days).
  The new personal entry goes into the CA's store, or into --target, which also gets the CA
  certificate as a trusted CA entry. Without --eku the certificate has no extended key usage
  (any purpose).`,
  async run(context, argv) {
    const { values } = parseOptions(argv, {
      ...STORE_OPTIONS,
      ...KEY_OPTIONS,
      "ca-label": { type: "string" },
      label: { type: "string" },
      dn: { type: "string" },
      san: { type: "string" },
      eku: { type: "string" },
      ku: { type: "string" },
      expire: { type: "string" },
      target: { type: "string" },
      "target-pw": { type: "string" },
      "target-stash": { type: "boolean" },
    });
    const { file, access } = storeOf(context, values);
    const target = values.target !== undefined ? storeOf(context, { db: values.target, pw: values["target-pw"], stash: values["target-stash"], dir: values.dir }) : undefined;
    const label = need(values, "label");
    const { certificate, warnings } = await issueFromCa(file, access, {
      caLabel: need(values, "ca-label"),
      label,
      subject: need(values, "dn"),
      subjectAltNames: values.san !== undefined ? parseSubjectAltNames(values.san) : undefined,
      extendedKeyUsage: ekuOf(values.eku),
      keyUsage: kuOf(values.ku),
      ...keySpec(values),
      validityDays: integer(values.expire, "expire", 1, 36500),
      target: target?.file,
      targetAccess: target?.access,
    });
    reportWarnings(context, warnings);
    context.stdout.write(`issued '${label}' into ${target?.file ?? file}: ${certificateSubject(certificate)}, serial ${certificate.serialNumber}\n`);
    return EXIT_OK;
  },
};

const sign: Action = {
  usage: `sign --db FILE|*SYSTEM [--pw PASSWORD | --stash] --ca-label CA --file REQUEST.pem --target CERT.pem [--eku serverAuth,clientAuth] [--ku …] [--san …] [--expire DAYS]
  Signs a PKCS#10 certificate request (PEM or DER) with the CA labelled CA and writes the
  certificate (PEM). The request's own SANs are kept unless --san is given. The store is not changed.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, {
      ...STORE_OPTIONS,
      "ca-label": { type: "string" },
      file: { type: "string" },
      target: { type: "string" },
      eku: { type: "string" },
      ku: { type: "string" },
      san: { type: "string" },
      expire: { type: "string" },
    });
    const { file, access } = storeOf(context, values);
    const request = resolve(need(values, "file"));
    const target = resolve(need(values, "target"));
    const cert = await signRequest(file, access, await readInput(request, "certificate request"), {
      caLabel: need(values, "ca-label"),
      extendedKeyUsage: ekuOf(values.eku),
      keyUsage: kuOf(values.ku),
      subjectAltNames: values.san !== undefined ? parseSubjectAltNames(values.san) : undefined,
      validityDays: integer(values.expire, "expire", 1, 36500),
    });
    await writeOutput(target, toPem(cert), "certificate file");
    context.stdout.write(`signed ${certificateSubject(cert)} into ${target}\n`);
    return EXIT_OK;
  },
};

const receive: Action = {
  usage: `receive --db FILE|*SYSTEM [--pw PASSWORD | --stash] --file CERT.pem
  Attaches a signed certificate to the pending request (gskit certreq create) whose key it
  matches; the pair becomes a personal entry under the request's label. Further certificates in
  the file are kept as the entry's chain.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, file: { type: "string" } });
    const { file, access } = storeOf(context, values);
    const source = resolve(need(values, "file"));
    const { label, warnings } = await receiveCertificate(file, access, certificatesIn(await readInput(source, "certificate file"), source));
    reportWarnings(context, warnings);
    context.stdout.write(`received the certificate for '${label}' into ${file}\n`);
    return EXIT_OK;
  },
};

const add: Action = {
  usage: `add --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL --file CA.pem
  Adds a CA certificate (PEM/.arm or DER) as an enabled CA entry: a trust anchor of the store.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, label: { type: "string" }, file: { type: "string" } });
    const { file, access } = storeOf(context, values);
    const label = need(values, "label");
    const source = resolve(need(values, "file"));
    const certs = certificatesIn(await readInput(source, "certificate file"), source);
    if (certs.length !== 1) throw new GskError(RC.GSK_INVALID_PARAMETER, `${source} holds ${String(certs.length)} certificates; add them one at a time, each under its own label`);
    const { warnings } = await addCaCertificate(file, access, label, certs[0]!);
    reportWarnings(context, warnings);
    context.stdout.write(`added CA '${label}' to ${file}\n`);
    return EXIT_OK;
  },
};

function trustAction(enabled: boolean): Action {
  const name = enabled ? "enable" : "disable";
  return {
    usage: `${name} --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL
  ${enabled ? "Enables a CA entry as a trust anchor." : "Keeps a CA entry but stops trusting it."} Only a key database (.kdb) records a
  disabled CA: for PKCS#12 and PEM stores 'disable' is refused (GSK_ERROR_UNSUPPORTED), since
  their CA entries are always enabled; delete the entry, or leave it out of an application's
  trust list (gskit app trust), instead.`,
    async run(context, argv) {
      const { values } = parseOptions(argv, { ...STORE_OPTIONS, label: { type: "string" } });
      const { file, access } = storeOf(context, values);
      const label = need(values, "label");
      const { changed } = await setCaTrust(file, access, label, enabled);
      context.stdout.write(changed ? `${enabled ? "enabled" : "disabled"} CA '${label}' in ${file}\n` : `CA '${label}' in ${file} is already ${enabled ? "enabled" : "disabled"}\n`);
      return EXIT_OK;
    },
  };
}

const listAction: Action = {
  usage: `list --db FILE|*SYSTEM [--pw PASSWORD | --stash] [--json]
  Lists the entries: label, kind (personal: with a private key; CA), trust, subject, expiry.
  A key database (.kdb) lists without its password.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, json: { type: "boolean" } });
    const { file, access } = storeOf(context, values);
    const listing = await listStore(file, access);
    if (values.json === true) {
      printJson(context.stdout, listing.entries);
      return EXIT_OK;
    }
    printTable(
      context.stdout,
      ["LABEL", "KIND", "TRUST", "KEY", "EXPIRES", "SUBJECT"],
      listing.entries.map((e) => [
        e.isDefault ? `${e.label} (default)` : e.label,
        e.kind,
        e.kind === "ca" ? (e.trusted ? "enabled" : "disabled") : "-",
        e.keyType,
        e.notAfter.slice(0, 10),
        e.subject,
      ]),
    );
    return EXIT_OK;
  },
};

function printDetails(context: CliContext, d: CertificateDetails): void {
  const san = [...d.subjectAltNames.dns.map((n) => `dns:${n}`), ...d.subjectAltNames.ip.map((n) => `ip:${n}`), ...d.subjectAltNames.email.map((n) => `email:${n}`), ...d.subjectAltNames.uri.map((n) => `uri:${n}`)];
  const rows: [string, string][] = [
    ["label", d.label],
    ["kind", d.kind === "personal" ? `personal${d.isDefault ? " (default)" : ""}` : `CA (${d.trusted ? "enabled" : "disabled"})`],
    ["subject", d.subject],
    ["issuer", d.issuer],
    ["serial", d.serialNumber],
    ["not before", d.notBefore],
    ["not after", d.notAfter],
    ["key", d.keyType],
    ["signature", d.signatureAlgorithm],
    ["CA", d.isCA ? `yes${d.pathLength !== undefined ? ` (path length ${String(d.pathLength)})` : ""}` : "no"],
    ["self-signed", d.selfSigned ? "yes" : "no"],
    ["key usage", d.keyUsage.join(", ") || "(any)"],
    ["ext. key usage", d.extendedKeyUsage.join(", ") || "(any)"],
    ["SANs", san.join(", ") || "(none)"],
    ["SHA-256", d.fingerprintSha256],
    ["SHA-1", d.fingerprintSha1],
  ];
  if (d.chain.length > 0) rows.push(["chain", d.chain.join(" <- ")]);
  printFields(context.stdout, rows);
}

const details: Action = {
  usage: `details --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL [--json]
  Subject, issuer, serial, validity, key type, SANs, key usages, fingerprints and (personal
  entries) the chain. A key database (.kdb) shows details without its password.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, label: { type: "string" }, json: { type: "boolean" } });
    const { file, access } = storeOf(context, values);
    const d = await entryDetails(file, access, need(values, "label"));
    if (values.json === true) printJson(context.stdout, d);
    else printDetails(context, d);
    return EXIT_OK;
  },
};

const deleteAction: Action = {
  usage: `delete --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL
  Removes an entry (personal or CA) from the store.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, label: { type: "string" } });
    const { file, access } = storeOf(context, values);
    const label = need(values, "label");
    await deleteEntry(file, access, label);
    context.stdout.write(`deleted '${label}' from ${file}\n`);
    return EXIT_OK;
  },
};

const extract: Action = {
  usage: `extract --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL --target FILE.arm [--format ascii|binary]
  Writes an entry's certificate (never its key): Base64 between PEM lines (ascii, the default) or DER.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, label: { type: "string" }, target: { type: "string" }, format: { type: "string" } });
    const { file, access } = storeOf(context, values);
    const label = need(values, "label");
    const target = resolve(need(values, "target"));
    await extractCertificate(file, access, label, target, { binary: oneOf(values.format, "format", ["ascii", "binary"]) === "binary" });
    context.stdout.write(`extracted the certificate of '${label}' to ${target}\n`);
    return EXIT_OK;
  },
};

const importAction: Action = {
  usage: `import --db FILE|*SYSTEM [--pw PASSWORD | --stash] --file OTHER.p12|.kdb|.pem [--file_pw PASSWORD] [--label LABEL [--new_label NEW]]
  Copies every entry of another store (or the one labelled LABEL, renamed NEW) into this one. A
  label already in use is refused; a CA certificate already present is skipped.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, file: { type: "string" }, "file-pw": { type: "string" }, label: { type: "string" }, "new-label": { type: "string" } });
    const { file, access } = storeOf(context, values);
    const source = storeOf(context, { db: values.file, pw: values["file-pw"], dir: values.dir }, "file");
    const { imported, skipped, warnings } = await importEntries(file, access, source.file, source.access, { label: values.label, newLabel: values["new-label"] });
    reportWarnings(context, warnings);
    context.stdout.write(`imported ${imported.length > 0 ? imported.map((l) => `'${l}'`).join(", ") : "nothing"} into ${file}${skipped.length > 0 ? `; skipped CA ${skipped.map((l) => `'${l}'`).join(", ")} (already present)` : ""}\n`);
    return EXIT_OK;
  },
};

const exportAction: Action = {
  usage: `export --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL --target OUT.p12 --target_pw PASSWORD [--target_type pkcs12|pem|cms] [--legacy]
  Exports a personal certificate with its key and chain. A new target is created (format from
  --target_type, else its name); an existing one gets the entry added. --legacy writes PKCS#12
  with 3DES and a SHA-1 MAC, for IBM i DCM and old Java.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, label: { type: "string" }, target: { type: "string" }, "target-pw": { type: "string" }, "target-type": { type: "string" }, legacy: { type: "boolean" } });
    const { file, access } = storeOf(context, values);
    const label = need(values, "label");
    const target = resolve(need(values, "target"));
    const raw = values["target-type"];
    const format = oneOf(raw === "p12" ? "pkcs12" : raw === "kdb" ? "cms" : raw, "target_type", ["pkcs12", "pem", "cms"] as readonly KeyStoreFormat[]);
    const { warnings } = await exportEntry(file, access, label, target, { password: need(values, "target-pw"), format, legacy: values.legacy });
    reportWarnings(context, warnings);
    context.stdout.write(`exported '${label}' to ${target}${values.legacy === true ? " (legacy 3DES/SHA-1)" : ""}\n`);
    return EXIT_OK;
  },
};

export const CERT_ACTIONS: Readonly<Record<string, Action>> = {
  "create-ca": createCaAction,
  issue,
  sign,
  receive,
  add,
  enable: trustAction(true),
  disable: trustAction(false),
  list: listAction,
  details,
  delete: deleteAction,
  extract,
  import: importAction,
  export: exportAction,
};

export async function run(context: CliContext): Promise<number> {
  return runGroup(context, "cert", "Certificates in a key store. --db '*SYSTEM' is the system store (opened with its stash).", CERT_ACTIONS);
}
