/** `gskit keydb`: key stores as a whole (create, list, change or stash the password, convert). */
import { resolve } from "node:path";

import type { KeyStoreFormat } from "../../keystore/types.js";
import { changeStorePassword, convertStore, createKeyStore, listStore, stashStorePassword, type StoreListing } from "../../keystore/edit.js";
import { EXIT_OK, isSystemStore, need, oneOf, parseOptions, printFields, printJson, reportWarnings, runGroup, STORE_OPTIONS, storeOf, UsageError, type Action, type CliContext } from "../io.js";

const FORMATS: readonly KeyStoreFormat[] = ["pkcs12", "pem", "cms"];
/** gsk8capicmd spells PKCS#12 `p12` as well. */
function formatOf(value: string | undefined, name: string): KeyStoreFormat | undefined {
  return oneOf(value === "p12" ? "pkcs12" : value === "kdb" ? "cms" : value, name, FORMATS);
}

const create: Action = {
  usage: `create --db FILE [--type pkcs12|pem|cms] (--pw PASSWORD [--stash] | --stash)
  Creates an empty key store. The format follows --type, else the name (.kdb: cms, .pem: pem,
  anything else: pkcs12). --stash also writes the password to FILE's .sth (mode 0600); --stash
  without --pw makes a random password and keeps it only there.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, type: { type: "string" } });
    const db = need(values, "db");
    if (isSystemStore(db)) throw new UsageError("the system store is created with gskit system init");
    const created = await createKeyStore(resolve(db), { format: formatOf(values.type, "type"), password: values.pw, stash: values.stash === true || values.stashed === true });
    context.stdout.write(`created ${created.format} key store ${created.file}\n`);
    if (created.stashFile !== undefined) context.stdout.write(`stashed its password in ${created.stashFile}\n`);
    return EXIT_OK;
  },
};

function printListing(context: CliContext, listing: StoreListing): void {
  const personal = listing.entries.filter((e) => e.kind === "personal").length;
  printFields(context.stdout, [
    ["file", listing.file],
    ["format", listing.version !== undefined ? `${listing.format} (version ${String(listing.version)})` : listing.format],
    ["default", listing.defaultLabel ?? "(none)"],
    ["stash", listing.stashFile ?? "(none)"],
    ["entries", `${String(listing.entries.length)} (${String(personal)} personal, ${String(listing.entries.length - personal)} CA)`],
    ...(listing.pendingRequests.length > 0 ? [["requests", listing.pendingRequests.map((r) => r.label).join(", ")] as const] : []),
    ...(listing.verified ? [] : [["note", "listed without the password: integrity not checked, keys not read"] as const]),
  ]);
}

const list: Action = {
  usage: `list --db FILE|*SYSTEM [--pw PASSWORD | --stash] [--json]
  Shows the store's format, default certificate, stash and entries. A key database (.kdb) can be
  listed without its password (its certificates are stored in the clear).`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, json: { type: "boolean" } });
    const { file, access } = storeOf(context, values);
    const listing = await listStore(file, access);
    if (values.json === true) printJson(context.stdout, listing);
    else printListing(context, listing);
    return EXIT_OK;
  },
};

const changepw: Action = {
  usage: `changepw --db FILE|*SYSTEM --pw OLD --new_pw NEW [--stash]
  Re-encrypts the store under a new password. A stash beside the store is rewritten too (so a
  service that opens it through the stash keeps working); --stash creates one.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, "new-pw": { type: "string" } });
    const { file } = storeOf(context, values);
    const oldPassword = need(values, "pw", "the current password");
    const newPassword = need(values, "new-pw", "the new password");
    const { stashFile } = await changeStorePassword(file, oldPassword, newPassword, { stash: values.stash === true || values.stashed === true || isSystemStore(values.db ?? "") });
    context.stdout.write(`changed the password of ${file}\n`);
    if (stashFile !== undefined) context.stdout.write(`updated the stash ${stashFile}\n`);
    return EXIT_OK;
  },
};

const stashpw: Action = {
  usage: `stashpw --db FILE --pw PASSWORD
  Checks that the password opens the store, then writes it to FILE's .sth (mode 0600), so that
  programs and gskit commands can open the store with --stash / GSK_KEYRING_STASH_FILE.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, STORE_OPTIONS);
    const { file } = storeOf(context, values);
    const stashFile = await stashStorePassword(file, need(values, "pw"));
    context.stdout.write(`stashed the password of ${file} in ${stashFile}\n`);
    return EXIT_OK;
  },
};

const convert: Action = {
  usage: `convert --db FILE|*SYSTEM [--pw PASSWORD | --stash] --target NEWFILE --target_type cms|pkcs12|pem [--target_pw PASSWORD] [--legacy]
  Writes every entry to a new store in another format (the source is left as it is). The target
  password defaults to the source's. Warns about what the target format cannot keep: PKCS#12 and
  PEM have no "disabled" flag for CA entries, and PEM labels entries by subject CN.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, target: { type: "string" }, "target-type": { type: "string" }, "target-pw": { type: "string" }, legacy: { type: "boolean" } });
    const { file, access } = storeOf(context, values);
    const target = resolve(need(values, "target"));
    const format = formatOf(need(values, "target-type"), "target_type") as KeyStoreFormat;
    const { warnings } = await convertStore(file, access, target, { format, password: values["target-pw"], legacy: values.legacy });
    reportWarnings(context, warnings);
    context.stdout.write(`converted ${file} to ${format} key store ${target}\n`);
    return EXIT_OK;
  },
};

export const KEYDB_ACTIONS: Readonly<Record<string, Action>> = { create, list, changepw, stashpw, convert };

export async function run(context: CliContext): Promise<number> {
  return runGroup(context, "keydb", "Key stores as a whole: PKCS#12 (.p12), PEM bundles and CMS key databases (.kdb).", KEYDB_ACTIONS);
}
