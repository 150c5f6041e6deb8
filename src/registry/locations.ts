import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The files of the system store directory, as absolute paths. */
export interface SystemStoreLocation {
  /** `system.p12`: the system store (`*SYSTEM`), the store application IDs draw certificates from. */
  storeFile: string;
  /** `system.sth`: the stash holding the system store's password. */
  stashFile: string;
  /** `applications.json`: the application registry (the application definitions). */
  registryFile: string;
  /** The directory that holds the three files. */
  directory: string;
}

/** Name of the environment variable that moves the system store directory. */
const HOME_VARIABLE = "GSKIT_TLS_HOME";
/** Per-user default directory name, under the user's home directory. */
const DEFAULT_DIRECTORY_NAME = ".gskit-tls";

/**
 * Where the system store and the application registry live — this library's counterpart of IBM
 * i's `*SYSTEM` certificate store (`/QIBM/UserData/ICSS/Cert/Server/DEFAULT.KDB`) and of DCM's
 * application definitions.
 *
 * The directory is, first found wins:
 * 1. `options.directory`, when given and not empty;
 * 2. the environment variable `GSKIT_TLS_HOME`, when set and not empty;
 * 3. `~/.gskit-tls` in the current user's home directory (`os.homedir()`), so that each user has
 *    a system store of their own unless they share one through the variable.
 *
 * A relative directory is resolved against the current working directory. The directory holds:
 * - `system.p12` — the system store (`GSK_KEYRING_FILE` `"*SYSTEM"`), a PKCS#12 file;
 * - `system.sth` — a GSKit stash file holding that store's password;
 * - `applications.json` — the application registry that `GSK_IBMI_APPLICATION_ID` looks IDs up in.
 *
 * Only the paths are computed here: nothing is read, created or checked, so the files may not
 * exist yet (a missing registry is an empty one).
 *
 * @example
 * const { storeFile, registryFile } = systemStoreLocation({ directory: "/srv/tls" });
 */
export function systemStoreLocation(options: { directory?: string } = {}): SystemStoreLocation {
  // Read the variable on every call, not once at import: tests and long-lived programs change it.
  const fromEnvironment = process.env[HOME_VARIABLE];
  const chosen =
    options.directory !== undefined && options.directory !== ""
      ? options.directory
      : fromEnvironment !== undefined && fromEnvironment !== ""
        ? fromEnvironment
        : join(homedir(), DEFAULT_DIRECTORY_NAME);
  // Absolute paths, so messages that quote them stay meaningful after a chdir.
  const directory = resolve(chosen);
  return {
    storeFile: join(directory, "system.p12"),
    stashFile: join(directory, "system.sth"),
    registryFile: join(directory, "applications.json"),
    directory,
  };
}
