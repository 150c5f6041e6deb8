/** `gskit system`: the system store (`*SYSTEM`) that application IDs draw their certificates from. */
import { mkdir } from "node:fs/promises";

import { RC } from "../../codes.js";
import { GskError } from "../../errors.js";
import { createKeyStore, listStore } from "../../keystore/edit.js";
import { ApplicationRegistry } from "../../registry/registry.js";
import { EXIT_OK, fileExists, parseOptions, printFields, printJson, runGroup, systemLocation, type Action, type CliContext } from "../io.js";

const init: Action = {
  usage: `init [--dir D]
  Creates the system store D/system.p12 with a random password kept only in the stash
  D/system.sth (mode 0600), and an empty application registry D/applications.json. D defaults
  to $GSKIT_TLS_HOME, else ~/.gskit-tls. Programs then use GSK_KEYRING_FILE "*SYSTEM" or an
  application ID, and gskit commands --db '*SYSTEM'.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { dir: { type: "string" } });
    const location = systemLocation(context, values.dir);
    if (await fileExists(location.storeFile)) {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `the system store ${location.storeFile} already exists; to start afresh, move the directory ${location.directory} away first`);
    }
    try {
      // 0700: the directory holds the store's password (the stash).
      await mkdir(location.directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `the directory ${location.directory} cannot be created: ${(error as Error).message}`, { cause: error });
    }
    // system.p12's paired stash is system.sth, the file the library opens the store with.
    await createKeyStore(location.storeFile, { format: "pkcs12", stash: true });
    const registry = await ApplicationRegistry.load(location.registryFile);
    if (!(await fileExists(location.registryFile))) await registry.save();
    context.stdout.write(`created the system store ${location.storeFile}\nits password is stashed in ${location.stashFile}\napplication registry: ${location.registryFile}\n`);
    return EXIT_OK;
  },
};

const show: Action = {
  usage: `show [--json] [--dir D]
  Where the system store, its stash and the application registry are, and what the store holds.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { dir: { type: "string" }, json: { type: "boolean" } });
    const location = systemLocation(context, values.dir);
    const exists = await fileExists(location.storeFile);
    const listing = exists ? await listStore(location.storeFile, { stashFile: location.stashFile }) : undefined;
    const registry = await ApplicationRegistry.load(location.registryFile);
    const summary = {
      directory: location.directory,
      storeFile: location.storeFile,
      stashFile: location.stashFile,
      registryFile: location.registryFile,
      initialized: exists,
      entries: listing?.entries.length ?? 0,
      applications: registry.list().map((d) => d.id),
    };
    if (values.json === true) {
      printJson(context.stdout, summary);
      return EXIT_OK;
    }
    printFields(context.stdout, [
      ["directory", summary.directory],
      ["store", exists ? summary.storeFile : `${summary.storeFile} (not created: run gskit system init)`],
      ["stash", summary.stashFile],
      ["registry", summary.registryFile],
      ["entries", String(summary.entries)],
      ["applications", summary.applications.join(", ") || "(none)"],
    ]);
    return EXIT_OK;
  },
};

export const SYSTEM_ACTIONS: Readonly<Record<string, Action>> = { init, show };

export async function run(context: CliContext): Promise<number> {
  return runGroup(context, "system", "The system store (*SYSTEM) and the application registry beside it.", SYSTEM_ACTIONS);
}
