/**
 * The application registry: the file of application definitions (`applications.json` next to the
 * system store), loaded, looked up and edited here. An edit is checked in full before anything is
 * written, and is written atomically, so a refused or interrupted edit leaves the file as it was.
 *
 * File format (`version` 1):
 * ```json
 * { "version": 1, "applications": [ { "id": "MY_SERVER", "type": "server", … } ] }
 * ```
 * Definitions are kept in registration order, every field written out.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-file.js";
import { normalizeDefinition, validateApplicationId, type ApplicationDefinition, type ApplicationType } from "./application.js";
import { systemStoreLocation, type SystemStoreLocation } from "./locations.js";

/** The labels of the system store, by kind: personal entries (with a key) and CA entries. */
export interface StoreLabels {
  personal: readonly string[];
  ca: readonly string[];
}

/** Options of the edits that take labels. */
export interface RegistryEditOptions {
  /**
   * The system store's labels. When given, every label the edit assigns must be a personal entry
   * and every label it puts in a trust list a CA entry; without it labels are only checked for
   * form (the store may be edited later, or be locked by a password the caller lacks).
   */
  storeLabels?: StoreLabels | undefined;
}

/** The only file version this library reads and writes. */
const FILE_VERSION = 1;
const TOP_LEVEL_FIELDS = ["version", "applications"];
/** How long an edit waits for another process's edit to finish. */
const LOCK_WAIT_MS = 5_000;
/**
 * A lock older than this is left over (its holder was killed): a held lock lasts one read, one
 * fsync and one rename.
 */
const LOCK_STALE_MS = 10_000;

/** The message of a GskError without its `gsk: ` prefix and code suffix, to nest it in another. */
function bareMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^gsk: /, "").replace(/ \([A-Z0-9_]+ \d+\)$/, "");
}

function errorCode(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** Permission problems get their own code so that callers can tell them from a full disk. */
function writeError(file: string, what: string, error: unknown): GskError {
  const code = errorCode(error);
  const rc = code === "EACCES" || code === "EPERM" || code === "EROFS" ? RC.GSK_ERROR_PERMISSION_DENIED : RC.GSK_KEYFILE_IO_ERROR;
  return new GskError(rc, `cannot ${what} the application registry ${file}: ${bareMessage(error)}; the file was left as it was`, {
    cause: error,
  });
}

function corrupt(file: string, problem: string, cause?: unknown): GskError {
  return new GskError(
    RC.GSK_KEYRING_OPEN_ERROR,
    `the application registry ${file} ${problem}; it was left as it is: repair it or move it away`,
    cause === undefined ? {} : { cause },
  );
}

/** The file's bytes, or `null` when it does not exist (an empty registry). */
async function readRaw(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `cannot read the application registry ${file}: ${bareMessage(error)}`, { cause: error });
  }
}

/** Parses and checks the file's content; anything unexpected is corruption, reported with 202. */
function parseRegistry(file: string, raw: Buffer | null): ApplicationDefinition[] {
  if (raw === null) return [];
  const text = raw.toString("utf8");
  // A file created empty (touch, an editor) holds no definitions; nothing is lost by treating it so.
  if (text.trim() === "") return [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw corrupt(file, `is not valid JSON (${bareMessage(error)})`, error);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw corrupt(file, "is not a registry: its top level is not a JSON object");
  }
  const record = data as Record<string, unknown>;
  const version = record["version"];
  if (version === undefined) throw corrupt(file, "has no 'version' field");
  if (version !== FILE_VERSION) {
    throw corrupt(
      file,
      `has version ${JSON.stringify(version)}, but this gskit-tls reads version ${String(FILE_VERSION)} only (was it written by a newer gskit-tls?)`,
    );
  }
  // Unknown fields would be dropped by the next edit; refusing them keeps a newer writer's data.
  for (const key of Object.keys(record)) {
    if (!TOP_LEVEL_FIELDS.includes(key)) throw corrupt(file, `has an unknown top-level field '${key}'`);
  }
  const applications = record["applications"];
  if (!Array.isArray(applications)) throw corrupt(file, "has no 'applications' list");
  const definitions: ApplicationDefinition[] = [];
  applications.forEach((entry: unknown, index) => {
    let definition: ApplicationDefinition;
    try {
      definition = normalizeDefinition(entry as ApplicationDefinition);
    } catch (error) {
      throw corrupt(file, `has an invalid definition (entry ${String(index + 1)}: ${bareMessage(error)})`, error);
    }
    const clash = definitions.find((d) => d.id.toLowerCase() === definition.id.toLowerCase());
    if (clash) throw corrupt(file, `defines application ID '${definition.id}' twice (entries differing at most by letter case)`);
    definitions.push(definition);
  });
  return definitions;
}

function serialize(definitions: readonly ApplicationDefinition[]): string {
  return `${JSON.stringify({ version: FILE_VERSION, applications: definitions }, null, 2)}\n`;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) === "EPERM";
  }
}

/**
 * Removes the lock if its holder is gone (killed before it could remove it). Returns true when
 * the lock was removed or had already disappeared.
 */
async function breakStaleLock(lock: string): Promise<boolean> {
  let content: string;
  let age: number;
  try {
    content = await readFile(lock, "utf8");
    age = Date.now() - (await stat(lock)).mtimeMs;
  } catch (error) {
    return errorCode(error) === "ENOENT";
  }
  const pid = Number.parseInt(content, 10);
  // A lock without a pid was not written by this library: only its age can make it stale.
  const holderGone = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid);
  if (!holderGone && age < LOCK_STALE_MS) return false;
  try {
    // Another waiter may have broken it and taken a new lock meanwhile: remove only the stale one.
    if ((await readFile(lock, "utf8")) === content) await unlink(lock);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
  return true;
}

/**
 * Takes `<file>.lock` (holding our pid) so that two processes editing at once apply their edits
 * one after the other instead of the later rename discarding the earlier edit. Returns the
 * function that releases it.
 */
async function acquireLock(file: string): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  const token = `${String(process.pid)} ${randomBytes(8).toString("hex")}\n`;
  // The lock appears with its content already in it (written aside, then hard-linked into place,
  // which fails if the lock exists): a holder killed between creating and filling an empty lock
  // would leave one that no waiter could tell from a live holder's.
  const candidate = `${lock}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(candidate, token, { mode: 0o644, flag: "wx" });
  } catch (error) {
    throw writeError(file, "lock", error);
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  try {
    for (;;) {
      try {
        await link(candidate, lock);
        return async () => {
          try {
            if ((await readFile(lock, "utf8")) === token) await unlink(lock);
          } catch {
            // Already gone (broken as stale by a waiter after a very long pause): nothing to release.
          }
        };
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw writeError(file, "lock", error);
      }
      if (await breakStaleLock(lock).catch(() => false)) continue;
      if (Date.now() > deadline) {
        throw new GskError(
          RC.GSK_KEYFILE_IO_ERROR,
          `the application registry ${file} is being edited by another process (lock file ${lock}); if no gskit-tls process is running, remove the lock file`,
        );
      }
      await delay(5 + Math.floor(Math.random() * 20));
    }
  } finally {
    await unlink(candidate).catch(() => undefined);
  }
}

function copy(definition: ApplicationDefinition): ApplicationDefinition {
  return structuredClone(definition);
}

/** `; did you mean 'X'?` when an entry differs from `wanted` only by case — the likeliest slip. */
function caseHint(wanted: string, candidates: readonly string[], what: string): string {
  const near = candidates.find((c) => c !== wanted && c.toLowerCase() === wanted.toLowerCase());
  return near === undefined ? "" : `; did you mean '${near}'? (${what} are case-sensitive)`;
}

function listed(values: readonly string[]): string {
  return values.length === 0 ? "none" : values.join(", ");
}

/** Every label of a definition's certificates must be a personal entry of the store. */
function checkCertificateLabels(id: string, labels: readonly string[], store: StoreLabels): void {
  for (const label of labels) {
    if (store.personal.includes(label)) continue;
    if (store.ca.includes(label)) {
      throw new GskError(
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        `application ID '${id}': '${label}' is a CA certificate (no private key) in the system store; only personal certificates can be assigned`,
      );
    }
    throw new GskError(
      RC.GSK_ERROR_BAD_KEYFILE_LABEL,
      `application ID '${id}': certificate label '${label}' is not in the system store; personal certificates: ${listed(store.personal)}${caseHint(label, store.personal, "labels")}`,
    );
  }
}

/** Every label of a trust list must be a CA entry of the store. */
function checkTrustLabels(id: string, labels: readonly string[], store: StoreLabels): void {
  for (const label of labels) {
    if (store.ca.includes(label)) continue;
    if (store.personal.includes(label)) {
      throw new GskError(
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        `application ID '${id}': '${label}' is a personal certificate, not a CA certificate; a trust list holds CA certificates only`,
      );
    }
    throw new GskError(
      RC.GSK_ERROR_BAD_KEYFILE_LABEL,
      `application ID '${id}': CA label '${label}' is not in the system store; CA certificates: ${listed(store.ca)}${caseHint(label, store.ca, "labels")}`,
    );
  }
}

function typeFixed(id: string, registered: ApplicationType, wanted: ApplicationType): GskError {
  return new GskError(
    RC.GSK_INVALID_PARAMETER,
    `application ID '${id}' is registered as a ${registered} application and cannot become a ${wanted}: the type is fixed once registered (remove the definition and register it again)`,
  );
}

/**
 * The application definitions of one registry file.
 *
 * Reads (`list`, `get`, `lookup`) answer from the state as last loaded or edited. Each edit
 * re-reads the file first, under a lock file (`<file>.lock`), and when another process changed it
 * meanwhile applies the edit to the fresh content, so that neither edit is lost; the content is
 * compared byte for byte, which unlike a modification time cannot miss two writes within one
 * clock tick. The edit is then validated in full and written atomically (temporary file, fsync,
 * rename); a refused edit writes nothing.
 */
export class ApplicationRegistry {
  /** Absolute path of the registry file. */
  readonly file: string;
  #definitions: ApplicationDefinition[];
  /** The file's bytes when last read or written (`null`: it did not exist). */
  #lastSeen: Buffer | null;
  /** Edits of this object run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(file: string, definitions: ApplicationDefinition[], raw: Buffer | null) {
    this.file = file;
    this.#definitions = definitions;
    this.#lastSeen = raw;
  }

  /**
   * Reads a registry file. A missing (or empty) file is an empty registry; the file is created by
   * the first edit.
   *
   * @throws GskError `GSK_KEYRING_OPEN_ERROR` (202) naming the file when it cannot be read, is not
   *   valid JSON, has an unknown `version` or an invalid definition. The file is never changed.
   */
  static async load(file: string): Promise<ApplicationRegistry> {
    const absolute = resolve(file);
    const raw = await readRaw(absolute);
    return new ApplicationRegistry(absolute, parseRegistry(absolute, raw), raw);
  }

  /** Every definition, in registration order (copies: changing them changes nothing). */
  list(): ApplicationDefinition[] {
    return this.#definitions.map(copy);
  }

  /** The definition with exactly this ID (IDs are case-sensitive), or `undefined`. */
  get(id: string): ApplicationDefinition | undefined {
    const found = this.#definitions.find((d) => d.id === id);
    return found === undefined ? undefined : copy(found);
  }

  /**
   * The definition with this ID.
   *
   * @throws GskError `GSK_IBMI_ERROR_NOT_REGISTERED` (6002): `application ID 'X' is not registered
   *   in <file>; registered: A, B`.
   */
  lookup(id: string): ApplicationDefinition {
    if (typeof id !== "string") validateApplicationId(id);
    const found = this.get(id);
    if (found !== undefined) return found;
    const ids = this.#definitions.map((d) => d.id);
    throw new GskError(
      RC.GSK_IBMI_ERROR_NOT_REGISTERED,
      `application ID '${id}' is not registered in ${this.file}; registered: ${listed(ids)}${caseHint(id, ids, "IDs")}`,
    );
  }

  /**
   * Registers a new definition (defaults filled as by `normalizeDefinition`) and writes the file.
   *
   * Refused, leaving the file as it was: an invalid field; an ID already registered (or one
   * differing from a registered ID only by letter case); an ID registered with the other type
   * (the type is fixed once registered); with `storeLabels`, a certificate that is not a personal
   * entry or a trust-list label that is not a CA entry.
   */
  async register(
    definition: Partial<ApplicationDefinition> & { id: string; type: ApplicationType },
    options: RegistryEditOptions = {},
  ): Promise<ApplicationDefinition> {
    const normalized = normalizeDefinition(definition);
    if (options.storeLabels) {
      checkCertificateLabels(normalized.id, normalized.certificates, options.storeLabels);
      checkTrustLabels(normalized.id, normalized.trustList ?? [], options.storeLabels);
    }
    return this.#edit((definitions) => {
      const existing = definitions.find((d) => d.id.toLowerCase() === normalized.id.toLowerCase());
      if (existing) {
        if (existing.id !== normalized.id) {
          throw new GskError(
            RC.GSK_INVALID_PARAMETER,
            `application ID '${normalized.id}' differs only in letter case from the registered '${existing.id}'; DCM application IDs are upper case, so on IBM i they would be one ID`,
          );
        }
        if (existing.type !== normalized.type) throw typeFixed(existing.id, existing.type, normalized.type);
        throw new GskError(
          RC.GSK_INVALID_PARAMETER,
          `application ID '${normalized.id}' is already registered in ${this.file}; change it with update, assign or trust`,
        );
      }
      definitions.push(normalized);
      return normalized;
    });
  }

  /**
   * Changes fields of a registered definition; fields left out (or `undefined`) keep their value.
   * The type cannot change, nor the ID. With `storeLabels`, changed certificate and trust-list
   * labels are checked against the store (unchanged ones are not, so that an unrelated edit still
   * works after a certificate was removed from the store).
   */
  async update(
    id: string,
    changes: Partial<ApplicationDefinition>,
    options: RegistryEditOptions = {},
  ): Promise<ApplicationDefinition> {
    if (typeof changes !== "object" || changes === null || Array.isArray(changes)) {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `application ID '${id}': the changes must be an object`);
    }
    const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as Partial<ApplicationDefinition>;
    return this.#edit((definitions) => {
      const index = this.#indexOf(definitions, id);
      const existing = definitions[index] as ApplicationDefinition;
      if (given.id !== undefined && given.id !== existing.id) {
        throw new GskError(
          RC.GSK_INVALID_PARAMETER,
          `application ID '${existing.id}': the ID cannot be changed (register '${String(given.id)}' and remove '${existing.id}' instead)`,
        );
      }
      // An unknown type is left for normalizeDefinition to name; only a real client/server swap is a type change.
      if ((given.type === "client" || given.type === "server") && given.type !== existing.type) {
        throw typeFixed(existing.id, existing.type, given.type);
      }
      const updated = normalizeDefinition({ ...existing, ...given });
      if (options.storeLabels) {
        if (given.certificates !== undefined) checkCertificateLabels(existing.id, updated.certificates, options.storeLabels);
        if (given.trustList !== undefined) checkTrustLabels(existing.id, updated.trustList ?? [], options.storeLabels);
      }
      definitions[index] = updated;
      return updated;
    });
  }

  /**
   * Sets the certificates assigned to an application (replacing the previous assignment; `[]`
   * removes all). At most four; with `storeLabels`, each must be a personal entry of the store.
   */
  async assign(id: string, labels: string[], options: RegistryEditOptions = {}): Promise<ApplicationDefinition> {
    return this.#edit((definitions) => {
      const index = this.#indexOf(definitions, id);
      const existing = definitions[index] as ApplicationDefinition;
      const updated = normalizeDefinition({ ...existing, certificates: labels });
      if (options.storeLabels) checkCertificateLabels(existing.id, updated.certificates, options.storeLabels);
      definitions[index] = updated;
      return updated;
    });
  }

  /**
   * Sets an application's CA trust list: `null` removes it (every enabled CA of the store is
   * trusted), `[]` defines an empty one (also every enabled CA, as DCM does), a list of labels
   * trusts only those CAs. With `storeLabels`, each label must be a CA entry of the store.
   */
  async trust(id: string, caLabels: string[] | null, options: RegistryEditOptions = {}): Promise<ApplicationDefinition> {
    return this.#edit((definitions) => {
      const index = this.#indexOf(definitions, id);
      const existing = definitions[index] as ApplicationDefinition;
      const updated = normalizeDefinition({ ...existing, trustList: caLabels });
      if (options.storeLabels) checkTrustLabels(existing.id, updated.trustList ?? [], options.storeLabels);
      definitions[index] = updated;
      return updated;
    });
  }

  /** Removes a definition. @throws GskError 6002 when the ID is not registered. */
  async remove(id: string): Promise<void> {
    await this.#edit((definitions) => {
      definitions.splice(this.#indexOf(definitions, id), 1);
      return undefined;
    });
  }

  /**
   * Writes this object's definitions to the file as they are, replacing what the file holds
   * (edits made meanwhile by other processes included). The edit methods persist by themselves;
   * this is for creating the file or putting back a known state. A file that has become corrupt
   * is not replaced (`GSK_KEYRING_OPEN_ERROR`).
   */
  async save(): Promise<void> {
    await this.#serialized(async () => {
      await this.#prepareDirectory();
      const release = await acquireLock(this.file);
      try {
        // Replacing other processes' edits is the point, but a corrupt file is never replaced:
        // it may hold definitions someone can still recover.
        parseRegistry(this.file, await readRaw(this.file));
        await this.#write(this.#definitions);
      } finally {
        await release();
      }
    });
  }

  #indexOf(definitions: readonly ApplicationDefinition[], id: string): number {
    const index = definitions.findIndex((d) => d.id === id);
    if (index < 0) {
      // Same message as lookup, from the fresh content the edit works on.
      const ids = definitions.map((d) => d.id);
      throw new GskError(
        RC.GSK_IBMI_ERROR_NOT_REGISTERED,
        `application ID '${String(id)}' is not registered in ${this.file}; registered: ${listed(ids)}${caseHint(String(id), ids, "IDs")}`,
      );
    }
    return index;
  }

  /** Runs `task` after every earlier edit of this object has finished, failed or not. */
  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * One edit: lock, re-read, apply `change` to a copy of the fresh definitions, write, unlock.
   * `change` throws to refuse; then nothing is written and this object keeps its state (apart
   * from taking in the fresh content, which is what the file holds anyway).
   */
  #edit<T>(change: (definitions: ApplicationDefinition[]) => T): Promise<T> {
    return this.#serialized(async () => {
      await this.#prepareDirectory();
      const release = await acquireLock(this.file);
      try {
        const raw = await readRaw(this.file);
        if (!sameBytes(raw, this.#lastSeen)) {
          this.#definitions = parseRegistry(this.file, raw);
          this.#lastSeen = raw;
        }
        const draft = this.#definitions.map(copy);
        const result = change(draft);
        await this.#write(draft);
        return result === undefined ? result : (structuredClone(result) as T);
      } finally {
        await release();
      }
    });
  }

  async #prepareDirectory(): Promise<void> {
    try {
      // 0o700: the directory also holds the system store and its stash.
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw writeError(this.file, "create the directory of", error);
    }
  }

  async #write(definitions: ApplicationDefinition[]): Promise<void> {
    const text = serialize(definitions);
    try {
      // 0o644: definitions name labels and settings, no secrets.
      await writeFileAtomic(this.file, text, 0o644);
    } catch (error) {
      throw writeError(this.file, "write", error);
    }
    this.#definitions = definitions;
    this.#lastSeen = Buffer.from(text, "utf8");
  }
}

/**
 * Finds an application definition in the registry of the system store directory (see
 * `systemStoreLocation`): what `gsk_environment_init` does with `GSK_IBMI_APPLICATION_ID`.
 *
 * @throws GskError `GSK_IBMI_ERROR_NOT_REGISTERED` (6002) for an unknown ID;
 *   `GSK_KEYRING_OPEN_ERROR` (202) for an unreadable or corrupt registry file.
 */
export async function lookupApplication(
  id: string,
  options: { directory?: string } = {},
): Promise<{ definition: ApplicationDefinition; location: SystemStoreLocation }> {
  const location = systemStoreLocation(options);
  const registry = await ApplicationRegistry.load(location.registryFile);
  return { definition: registry.lookup(id), location };
}
