// Placeholder: the GSKit CMS key database (.kdb) reader and writer land here.
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { KeyStore } from "./types.js";

/** True when `data` starts with a CMS key database magic (version 4 or 6). */
export function isCmsKeyDb(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x37 && data[1] === 0x48 && (data[2] === 0x06 || data[2] === 0x04) && data[3] === 0x02;
}

/**
 * Reads a CMS key database. Without a password only the certificates are read (they are stored in
 * the clear); personal entries then have no `privateKey`.
 */
export function readCmsKeyDb(_data: Uint8Array, _password: string | undefined, file: string): KeyStore {
  throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `key database ${file}: CMS key databases are not supported yet`);
}
