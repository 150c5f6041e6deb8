/**
 * GSKit stash files (`.sth`): the key-database password, obfuscated so that it is not stored as
 * plain text. This is not protection — anyone who can read the stash recovers the password — which
 * is why stash files are created with mode 0600. Layouts in `cms-keydb-format.md`:
 *
 * - v1, 129 bytes: `password ‖ 0x00 ‖ random non-zero padding`, every byte XOR 0xF5.
 * - v8, 193 bytes (what current GSKit writes): `A(32) ‖ B(32) ‖ CT(129)`, `B = SHA-256(0x01 ‖ A)`,
 *   `CT` = the v1 buffer XOR a keystream derived from `SHA-256(A ‖ B)`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-file.js";

/** Stash layouts: 1 (129 bytes, XOR only) and 8 (193 bytes, the current default). */
export type StashVersion = 1 | 8;

const V1_LENGTH = 129;
const V8_LENGTH = 193;
const V1_MASK = 0xf5;
/** The password and its terminating NUL must fit in the 129-byte buffer. */
const MAX_PASSWORD_BYTES = V1_LENGTH - 1;

/** Constant of the v8 keystream derivation (from the format description). */
const V8_CONSTANT = Buffer.from(
  "13EC6D5C885056915AB35FAD2BDDF39F40D7C57B8B4D28F66B61B75F391446FDA96751174DBD9713D02E0B38732E763501DBBB85EC60E437929ED2AA8981B36B",
  "ascii",
);
const V8_STATE_INIT = Buffer.from([0x01, 0x01, 0x02, 0x03, 0x05, 0x08]);

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** The 129-byte keystream that v8 XORs over the v1 buffer, from the 32-byte random part A. */
function v8Keystream(a: Uint8Array, b: Uint8Array): Buffer {
  let s = sha256(a, b);
  // The loop ends on average after 256 rounds; the byte test is part of the format, not a choice.
  while (s[8] !== 0x03) s = sha256(s);
  for (let i = 0; i < 64; i++) s = sha256(s);
  const seed = hmacSha256(s, V8_CONSTANT);
  let state = hmacSha256(seed, V8_STATE_INIT);
  let ks = Buffer.alloc(0);
  while (ks.length < V1_LENGTH) {
    ks = Buffer.concat([ks, hmacSha256(seed, state)]);
    state = Buffer.concat([ks, state]);
  }
  return ks.subarray(0, V1_LENGTH);
}

function xor(data: Uint8Array, mask: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] ?? 0) ^ (mask[i] ?? 0);
  return out;
}

/** v1 buffer → password: XOR 0xF5, read up to the first NUL. */
function decodeV1(buf: Uint8Array, file: string): string {
  const plain = Buffer.alloc(buf.length);
  for (let i = 0; i < buf.length; i++) plain[i] = (buf[i] ?? 0) ^ V1_MASK;
  const end = plain.indexOf(0);
  // Without a terminator the buffer is not a stash (v1 has no other integrity check).
  if (end < 0) throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `${file} is a damaged stash file (no password terminator)`);
  return plain.subarray(0, end).toString("utf8");
}

/**
 * Decodes the bytes of a stash file (v1 or v8, told apart by length) and returns the password.
 * `file` is only used in messages.
 */
export function decodeStash(buf: Uint8Array, file: string): string {
  if (buf.length === V1_LENGTH) return decodeV1(buf, file);
  if (buf.length === V8_LENGTH) {
    const a = buf.subarray(0, 32);
    const b = buf.subarray(32, 64);
    if (!timingSafeEqual(sha256(Buffer.from([0x01]), a), b)) {
      throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `${file} is a damaged stash file (its integrity check fails)`);
    }
    return decodeV1(xor(buf.subarray(64), v8Keystream(a, b)), file);
  }
  throw new GskError(
    RC.GSK_KEYRING_OPEN_ERROR,
    `${file} is not a stash file (${String(buf.length)} bytes; GSKit stash files are ${String(V1_LENGTH)} or ${String(V8_LENGTH)} bytes)`,
  );
}

/** Random bytes none of which is zero, so the padding can never be mistaken for the terminator. */
function nonZeroRandom(length: number): Buffer {
  const out = randomBytes(length);
  for (let i = 0; i < length; i++) {
    while (out[i] === 0) out[i] = randomBytes(1)[0] ?? 0;
  }
  return out;
}

/** Encodes `password` as the bytes of a stash file: v8 (193 bytes) by default, v1 (129) on request. */
export function encodeStash(password: string, version: StashVersion = 8): Buffer {
  if (version !== 1 && version !== 8) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, `stash version must be 1 or 8, not ${String(version)}`);
  }
  const pw = Buffer.from(password, "utf8");
  // A NUL would end the password early on decoding; an empty one cannot open a key database.
  if (pw.length === 0 || pw.includes(0)) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, "a stashed password must be non-empty and must not contain NUL characters");
  }
  if (pw.length > MAX_PASSWORD_BYTES) {
    throw new GskError(RC.GSK_INVALID_PARAMETER, `a stashed password can have at most ${String(MAX_PASSWORD_BYTES)} bytes (UTF-8), this one has ${String(pw.length)}`);
  }
  const plain = Buffer.concat([pw, Buffer.from([0]), nonZeroRandom(V1_LENGTH - pw.length - 1)]);
  const v1 = Buffer.alloc(V1_LENGTH);
  for (let i = 0; i < V1_LENGTH; i++) v1[i] = (plain[i] ?? 0) ^ V1_MASK;
  if (version === 1) return v1;
  const a = randomBytes(32);
  const b = sha256(Buffer.from([0x01]), a);
  return Buffer.concat([a, b, xor(v1, v8Keystream(a, b))]);
}

/** Reads a GSKit stash file (v1 or v8) and returns the password it holds. */
export async function readStashFile(path: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `stash file ${path} could not be read`, { cause: error });
  }
  return decodeStash(data, path);
}

/** Writes `password` as a GSKit stash file (v8 by default), mode 0600: it is as good as the password. */
export async function writeStashFile(path: string, password: string, options: { version?: StashVersion } = {}): Promise<void> {
  const data = encodeStash(password, options.version ?? 8);
  try {
    await writeFileAtomic(path, data, 0o600);
  } catch (error) {
    throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `stash file ${path} could not be written`, { cause: error });
  }
}

/** The stash path GSKit tools pair with a key database: the same name with `.sth`. */
export function stashPathFor(keyDbPath: string): string {
  return keyDbPath.replace(/\.[^./\\]*$/, "") + ".sth";
}
