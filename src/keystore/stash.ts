// Placeholder: the GSKit stash-file (.sth) reader and writer land here (see cms-keydb-format.md).
import { RC } from "../codes.js";
import { GskError } from "../errors.js";

/** Reads a GSKit stash file (v1 or v8) and returns the password it holds. */
export async function readStashFile(path: string): Promise<string> {
  throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `stash file ${path}: stash files are not supported yet`);
}

/** Writes `password` as a GSKit stash file (v8 by default), mode 0600. */
export async function writeStashFile(path: string, _password: string, _options: { version?: 1 | 8 } = {}): Promise<void> {
  throw new GskError(RC.GSK_ERROR_UNSUPPORTED, `stash file ${path}: writing stash files is not supported yet`);
}
