/**
 * Spec §1 and §6: every gsk_* function (and the Qso* and gskx_* extras) returns the documented
 * code for a bad argument and never throws or rejects, whatever it is given. Table-driven: each
 * row is one function and one fault; the harness fails with the function's name if a call
 * throws or rejects, and checks that blocking calls return a Promise and the others a number.
 */
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  gsk_attribute_get_buffer,
  gsk_attribute_get_cert_info,
  gsk_attribute_get_enum,
  gsk_attribute_get_numeric_value,
  gsk_attribute_set_buffer,
  gsk_attribute_set_callback,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_misc,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_startInit,
  gsk_secure_soc_startRecv,
  gsk_secure_soc_startSend,
  gsk_secure_soc_write,
  gsk_strerror,
  gskx_errno,
  gskx_last_error,
  QsoCreateIOCompletionPort,
  QsoDestroyIOCompletionPort,
  QsoWaitForIOCompletion,
  ref,
  type gsk_handle,
  type Qso_OverlappedIO_t,
  type Ref,
  GSK_ATTRIBUTE_INVALID_ENUMERATION,
  GSK_ATTRIBUTE_INVALID_ID,
  GSK_ATTRIBUTE_INVALID_LENGTH,
  GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE,
  GSK_CERT_VALIDATION_CALLBACK,
  GSK_CERTIFICATE_VALIDATION_CODE,
  GSK_CIPHER_SESSION_RESET,
  GSK_CLIENT_AUTH_TYPE,
  GSK_CLIENT_SESSION,
  GSK_CONNECT_CIPHER_SPEC,
  GSK_ENVIRONMENT_CLOSE_CALLBACK,
  GSK_FD,
  GSK_HANDSHAKE_TIMEOUT,
  GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR,
  GSK_IBMI_ERROR_INVALID_IOCOMPLETIONPORT,
  GSK_IBMI_ERROR_INVALID_OVERLAPPEDIO_T,
  GSK_IBMI_ERROR_INVALID_POINTER,
  GSK_IBMI_READ_TIMEOUT,
  GSK_INVALID_BUFFER_SIZE,
  GSK_INVALID_HANDLE,
  GSK_IO_CALLBACK,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_LAST_VALIDATION_ERROR,
  GSK_LDAP_SERVER,
  GSK_LOCAL_CERT_INFO,
  GSK_MISC_INVALID_ID,
  GSK_OCSP_ENABLE,
  GSK_OCSP_TIMEOUT,
  GSK_OK,
  GSK_PARTNER_CERT_INFO,
  GSK_PROTOCOL_SSLV2_ON,
  GSK_PROTOCOL_SSLV3,
  GSK_PROTOCOL_TLSV1,
  GSK_PROTOCOL_TLSV13,
  GSK_PROTOCOL_TLSV1_ON,
  GSK_PROTOCOL_USED,
  GSK_SERVER_AUTH_FULL,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
  GSK_SID_CACHE_CALLBACK,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSK_TRUE,
  GSK_USER_DATA,
  GSK_V2_SESSION_TIMEOUT,
  GSK_V3_SESSION_TIMEOUT,
  GSK_V3_SIDCACHE_SIZE,
  GSKX_STRICT_EOF,
  GSK_KEYRING_LABEL,
  GSK_VALIDATION_REQUIRED,
} from "../../src/index.js";
import { tcpPair, type TcpPair } from "../helpers/net.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

/** The calls that can block in C return a Promise (spec §1); every other call returns at once. */
const ASYNC = new Set([
  "gsk_environment_init",
  "gsk_secure_soc_init",
  "gsk_secure_soc_read",
  "gsk_secure_soc_write",
  "gsk_secure_soc_misc",
  "gsk_secure_soc_close",
  "QsoWaitForIOCompletion",
]);

interface Fixture {
  /** Opened, not initialized. */
  envOpen: gsk_handle;
  /** Initialized client environment (the peer of `server`). */
  env: gsk_handle;
  serverEnv: gsk_handle;
  closedEnv: gsk_handle;
  /** Opened on `env`, not initialized. */
  sessOpen: gsk_handle;
  closedSession: gsk_handle;
  /** A client session whose handshake succeeded, and its server. */
  c: gsk_handle;
  s: gsk_handle;
  tcp: TcpPair;
  port: number;
  destroyedPort: number;
  deadSocket: Socket;
}

let fx: Fixture;

/** Runs a call; a throw or rejection fails the test naming the function. */
async function settle(fn: string, call: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    throw new Error(`${fn} threw instead of returning a code: ${String(error)}`);
  }
  const isPromise = result instanceof Promise;
  if (ASYNC.has(fn)) expect(isPromise, `${fn} must return a Promise`).toBe(true);
  else expect(isPromise, `${fn} must not return a Promise`).toBe(false);
  if (!isPromise) return result;
  try {
    return await result;
  } catch (error) {
    throw new Error(`${fn} rejected instead of resolving to a code: ${String(error)}`);
  }
}

interface Case {
  fn: string;
  what: string;
  expected: number;
  run: (f: Fixture, amt: Ref<number>) => unknown;
  /** The call gets `amt` (pre-set to 99) as its amtRead/amtWritten and must leave 0 in it. */
  amt?: boolean;
}

const cases: Case[] = [];
function add(fn: string, what: string, expected: number, run: Case["run"], amt = false): void {
  cases.push({ fn, what, expected, run, amt });
}

type Pick = (f: Fixture) => unknown;

const NOT_HANDLES: [string, Pick][] = [
  ["undefined", () => undefined],
  ["null", () => null],
  ["a number", () => 3],
  ["a string", () => "handle"],
  ["a boolean", () => true],
  ["a plain object", () => ({})],
  ["an object without prototype", () => Object.create(null) as object],
  ["an array", () => []],
  ["a function", () => () => 0],
];

function badHandles(kind: "environment" | "session" | "either"): [string, Pick][] {
  const envFaults: [string, Pick][] = [
    ["a closed environment handle", (f) => f.closedEnv],
    ["the box of an environment handle", (f) => ref(f.env)],
  ];
  const sessionFaults: [string, Pick][] = [
    ["a closed session handle", (f) => f.closedSession],
    ["the box of a session handle", (f) => ref(f.c)],
  ];
  if (kind === "environment") return [...NOT_HANDLES, ...envFaults, ["a session handle (wrong kind)", (f) => f.sessOpen]];
  if (kind === "session") return [...NOT_HANDLES, ...sessionFaults, ["an environment handle (wrong kind)", (f) => f.env]];
  return [...NOT_HANDLES, ...envFaults, ...sessionFaults];
}

const BAD_BOXES: [string, Pick][] = [
  ["undefined", () => undefined],
  ["a symbol", () => Symbol("box")],
  ["null", () => null],
  ["a number", () => 7],
  ["a string", () => "box"],
  ["a boolean", () => false],
  ["a function", () => () => 0],
  ["an environment handle", (f) => f.env],
  ["a session handle", (f) => f.c],
];

// --- environments ---
for (const [what, box] of BAD_BOXES) add("gsk_environment_open", `box: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_environment_open(box(f)));
for (const [what, h] of badHandles("environment")) add("gsk_environment_init", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_environment_init(h(f)));
for (const [what, box] of BAD_BOXES) add("gsk_environment_close", `box: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_environment_close(box(f)));
for (const [what, h] of badHandles("environment")) add("gsk_environment_close", `box holding ${what}`, GSK_INVALID_HANDLE, (f) => gsk_environment_close(ref(h(f))));

// --- sessions ---
for (const [what, h] of badHandles("environment")) add("gsk_secure_soc_open", `environment: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_secure_soc_open(h(f), ref()));
for (const [what, box] of BAD_BOXES) add("gsk_secure_soc_open", `session box: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_secure_soc_open(f.env, box(f)));
for (const [what, h] of badHandles("session")) add("gsk_secure_soc_init", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_secure_soc_init(h(f)));
for (const [what, box] of BAD_BOXES) add("gsk_secure_soc_close", `box: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_secure_soc_close(box(f)));
for (const [what, h] of badHandles("session")) add("gsk_secure_soc_close", `box holding ${what}`, GSK_INVALID_HANDLE, (f) => gsk_secure_soc_close(ref(h(f))));

for (const [what, h] of badHandles("session")) add("gsk_secure_soc_misc", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_secure_soc_misc(h(f), 101));
for (const [what, id] of [
  ["0", 0], ["99", 99], ["102 (a gap between IBM's IDs)", 102], ["104", 104], ["999", 999], ["-1", -1], ["1.5", 1.5],
  ["NaN", Number.NaN], ["the string '100'", "100"], ["undefined", undefined], ["null", null], ["an object", { id: 100 }],
  ["an object without prototype", Object.create(null) as object],
] as [string, unknown][]) {
  add("gsk_secure_soc_misc", `misc ID ${what}`, GSK_MISC_INVALID_ID, (f) => gsk_secure_soc_misc(f.c, id));
}

// --- read and write ---
const BAD_READ_BUFFERS: [string, unknown][] = [
  ["undefined", undefined], ["null", null], ["a string (read needs memory to fill)", "text"], ["a number", 16],
  ["a plain object", {}], ["an array", [1, 2, 3]], ["an ArrayBuffer", new ArrayBuffer(16)], ["a Uint16Array", new Uint16Array(8)],
];
const BAD_WRITE_BUFFERS: [string, unknown][] = [
  ["undefined", undefined], ["null", null], ["a number", 16], ["a plain object", {}], ["an array", [1, 2, 3]],
  ["an ArrayBuffer", new ArrayBuffer(16)], ["a Uint16Array", new Uint16Array(8)],
];
const BAD_SIZES: [string, unknown][] = [
  ["0", 0], ["-1", -1], ["1.5", 1.5], ["NaN", Number.NaN], ["Infinity", Number.POSITIVE_INFINITY], ["the string '8'", "8"],
  ["undefined", undefined], ["null", null], ["17 for a 16-byte buffer", 17], ["an object without prototype", Object.create(null) as object],
];
for (const [what, h] of badHandles("session")) {
  add("gsk_secure_soc_read", `handle: ${what}`, GSK_INVALID_HANDLE, (f, amt) => gsk_secure_soc_read(h(f), Buffer.alloc(16), 16, amt), true);
  add("gsk_secure_soc_write", `handle: ${what}`, GSK_INVALID_HANDLE, (f, amt) => gsk_secure_soc_write(h(f), Buffer.alloc(16), 16, amt), true);
}
for (const [what, buf] of BAD_READ_BUFFERS) add("gsk_secure_soc_read", `buffer: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f, amt) => gsk_secure_soc_read(f.c, buf, 16, amt), true);
for (const [what, buf] of BAD_WRITE_BUFFERS) add("gsk_secure_soc_write", `buffer: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f, amt) => gsk_secure_soc_write(f.c, buf, 16, amt), true);
for (const [what, size] of BAD_SIZES) {
  add("gsk_secure_soc_read", `size: ${what}`, GSK_INVALID_BUFFER_SIZE, (f, amt) => gsk_secure_soc_read(f.c, Buffer.alloc(16), size, amt), true);
  add("gsk_secure_soc_write", `size: ${what}`, GSK_INVALID_BUFFER_SIZE, (f, amt) => gsk_secure_soc_write(f.c, Buffer.alloc(16), size, amt), true);
}
add("gsk_secure_soc_read", "size: 9 for a Uint8Array of 8", GSK_INVALID_BUFFER_SIZE, (f, amt) => gsk_secure_soc_read(f.c, new Uint8Array(8), 9, amt), true);
add("gsk_secure_soc_write", "size: 4 for the 3-character text 'abc'", GSK_INVALID_BUFFER_SIZE, (f, amt) => gsk_secure_soc_write(f.c, "abc", 4, amt), true);
add("gsk_secure_soc_write", "size: 5 for a 4-byte view into a larger buffer", GSK_INVALID_BUFFER_SIZE, (f, amt) => gsk_secure_soc_write(f.c, Buffer.alloc(64).subarray(10, 14), 5, amt), true);
for (const [what, box] of BAD_BOXES) {
  add("gsk_secure_soc_read", `amtRead: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_secure_soc_read(f.c, Buffer.alloc(16), 16, box(f)));
  add("gsk_secure_soc_write", `amtWritten: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_secure_soc_write(f.c, Buffer.alloc(16), 16, box(f)));
}

// --- attribute setters ---
for (const [what, h] of badHandles("either")) {
  add("gsk_attribute_set_buffer", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_set_buffer(h(f), GSK_USER_DATA, "x", 0));
  add("gsk_attribute_set_enum", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_set_enum(h(f), GSK_SESSION_TYPE, GSK_CLIENT_SESSION));
  add("gsk_attribute_set_numeric_value", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_set_numeric_value(h(f), GSK_HANDSHAKE_TIMEOUT, 5));
  add("gsk_attribute_set_callback", `handle: ${what}`, GSK_INVALID_HANDLE, (f) =>
    gsk_attribute_set_callback(h(f), GSK_CERT_VALIDATION_CALLBACK, { validation_callback: () => GSK_OK }),
  );
}

const UNKNOWN_IDS: [string, unknown][] = [
  ["0", 0], ["199", 199], ["99999", 99999], ["-1", -1], ["201.5", 201.5], ["NaN", Number.NaN], ["the string '201'", "201"],
  ["undefined", undefined], ["null", null], ["an object", { id: 201 }], ["an object without prototype", Object.create(null) as object],
];
const ON_BOTH: [string, (f: Fixture) => gsk_handle][] = [
  ["environment", (f) => f.envOpen],
  ["session", (f) => f.sessOpen],
];
for (const [where, h] of ON_BOTH) {
  for (const [what, id] of UNKNOWN_IDS) {
    add("gsk_attribute_set_buffer", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_buffer(h(f), id, "x", 0));
    add("gsk_attribute_set_enum", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_enum(h(f), id, GSK_TRUE));
    add("gsk_attribute_set_numeric_value", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_numeric_value(h(f), id, 1));
    add("gsk_attribute_set_callback", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_callback(h(f), id, () => 0));
  }
}

/** [setter, attribute of another kind (or a result / unsupported one), value]. */
const WRONG_IDS: [string, string, number, unknown][] = [
  ["gsk_attribute_set_buffer", "GSK_FD (numeric)", GSK_FD, "3"],
  ["gsk_attribute_set_buffer", "GSK_SESSION_TYPE (enum)", GSK_SESSION_TYPE, "507"],
  ["gsk_attribute_set_buffer", "GSK_CERT_VALIDATION_CALLBACK (callback)", GSK_CERT_VALIDATION_CALLBACK, "x"],
  ["gsk_attribute_set_buffer", "GSK_CONNECT_CIPHER_SPEC (a result)", GSK_CONNECT_CIPHER_SPEC, "9C"],
  ["gsk_attribute_set_buffer", "GSK_LDAP_SERVER (unsupported)", GSK_LDAP_SERVER, "ldap.example.com"],
  ["gsk_attribute_set_enum", "GSK_KEYRING_FILE (buffer)", GSK_KEYRING_FILE, GSK_TRUE],
  ["gsk_attribute_set_enum", "GSK_FD (numeric)", GSK_FD, GSK_TRUE],
  ["gsk_attribute_set_enum", "GSK_V3_SESSION_TIMEOUT (numeric)", GSK_V3_SESSION_TIMEOUT, 100],
  ["gsk_attribute_set_enum", "GSK_CERT_VALIDATION_CALLBACK (callback)", GSK_CERT_VALIDATION_CALLBACK, GSK_TRUE],
  ["gsk_attribute_set_enum", "GSK_PROTOCOL_USED (a result)", GSK_PROTOCOL_USED, 596],
  ["gsk_attribute_set_enum", "GSK_OCSP_ENABLE (unsupported)", GSK_OCSP_ENABLE, GSK_TRUE],
  ["gsk_attribute_set_numeric_value", "GSK_SESSION_TYPE (enum)", GSK_SESSION_TYPE, GSK_CLIENT_SESSION],
  ["gsk_attribute_set_numeric_value", "GSK_KEYRING_FILE (buffer)", GSK_KEYRING_FILE, 1],
  ["gsk_attribute_set_numeric_value", "GSK_CERTIFICATE_VALIDATION_CODE (a result)", GSK_CERTIFICATE_VALIDATION_CODE, 0],
  ["gsk_attribute_set_numeric_value", "GSK_OCSP_TIMEOUT (unsupported)", GSK_OCSP_TIMEOUT, 10],
  ["gsk_attribute_set_callback", "GSK_KEYRING_FILE (buffer)", GSK_KEYRING_FILE, () => 0],
  ["gsk_attribute_set_callback", "GSK_SESSION_TYPE (enum)", GSK_SESSION_TYPE, () => 0],
  ["gsk_attribute_set_callback", "GSK_IO_CALLBACK (unsupported)", GSK_IO_CALLBACK, () => 0],
  ["gsk_attribute_set_callback", "GSK_SID_CACHE_CALLBACK (unsupported)", GSK_SID_CACHE_CALLBACK, () => 0],
];
const SETTERS: Record<string, (h: unknown, id: unknown, v: unknown) => number> = {
  gsk_attribute_set_buffer: (h, id, v) => gsk_attribute_set_buffer(h, id, v, 0),
  gsk_attribute_set_enum: gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value: gsk_attribute_set_numeric_value,
  gsk_attribute_set_callback: gsk_attribute_set_callback,
};
for (const [where, h] of ON_BOTH) {
  for (const [fn, what, id, value] of WRONG_IDS) add(fn, `${where}: ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => SETTERS[fn]!(h(f), id, value));
}
// The scope is part of the attribute's kind: an environment attribute on a session and back.
add("gsk_attribute_set_buffer", "session: GSK_KEYRING_FILE (environment attribute)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_buffer(f.sessOpen, GSK_KEYRING_FILE, "x.p12", 0));
add("gsk_attribute_set_buffer", "session: GSK_KEYRING_PW (environment attribute)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_buffer(f.sessOpen, GSK_KEYRING_PW, "pw", 0));
add("gsk_attribute_set_numeric_value", "session: GSK_V3_SESSION_TIMEOUT (environment attribute)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_numeric_value(f.sessOpen, GSK_V3_SESSION_TIMEOUT, 10));
add("gsk_attribute_set_numeric_value", "environment: GSK_FD (session attribute)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_numeric_value(f.envOpen, GSK_FD, f.tcp.client));
add("gsk_attribute_set_enum", "environment: GSKX_STRICT_EOF (session attribute)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_enum(f.envOpen, GSKX_STRICT_EOF, GSK_TRUE));
add("gsk_attribute_set_callback", "session: GSK_ENVIRONMENT_CLOSE_CALLBACK (environment attribute)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_set_callback(f.sessOpen, GSK_ENVIRONMENT_CLOSE_CALLBACK, () => 0));

// set_buffer: the value and its length.
for (const [where, h] of ON_BOTH) {
  for (const [what, value] of [["undefined", undefined], ["null", null], ["a number", 42], ["a plain object", {}], ["an array", ["x"]]] as [string, unknown][]) {
    add("gsk_attribute_set_buffer", `${where}: value ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_set_buffer(h(f), GSK_USER_DATA, value, 0));
  }
  for (const [what, value, size] of [
    ["-1", "abc", -1], ["4 for 'abc'", "abc", 4], ["4 for a 3-byte Buffer", Buffer.from("abc"), 4], ["1.5", "abc", 1.5], ["NaN", "abc", Number.NaN],
    ["the string '0'", "abc", "0"], ["undefined", "abc", undefined], ["null", "abc", null], ["3 for 'é' (2 bytes)", "é", 3],
  ] as [string, unknown, unknown][]) {
    add("gsk_attribute_set_buffer", `${where}: length ${what}`, GSK_ATTRIBUTE_INVALID_LENGTH, (f) => gsk_attribute_set_buffer(h(f), GSK_USER_DATA, value, size));
  }
}

// set_enum: values not valid for the ID.
for (const [where, h] of ON_BOTH) {
  for (const [what, id, value] of [
    ["GSK_SESSION_TYPE 9999", GSK_SESSION_TYPE, 9999],
    ["GSK_SESSION_TYPE 0", GSK_SESSION_TYPE, 0],
    ["GSK_SESSION_TYPE -1", GSK_SESSION_TYPE, -1],
    ["GSK_SESSION_TYPE 507.5", GSK_SESSION_TYPE, 507.5],
    ["GSK_SESSION_TYPE NaN", GSK_SESSION_TYPE, Number.NaN],
    ["GSK_SESSION_TYPE '507'", GSK_SESSION_TYPE, "507"],
    ["GSK_SESSION_TYPE undefined", GSK_SESSION_TYPE, undefined],
    ["GSK_SESSION_TYPE null", GSK_SESSION_TYPE, null],
    ["GSK_SESSION_TYPE an object without prototype", GSK_SESSION_TYPE, Object.create(null) as object],
    ["GSK_SESSION_TYPE GSK_SERVER_AUTH_FULL (another group)", GSK_SESSION_TYPE, GSK_SERVER_AUTH_FULL],
    ["GSK_CLIENT_AUTH_TYPE GSK_SERVER_AUTH_FULL (another group)", GSK_CLIENT_AUTH_TYPE, GSK_SERVER_AUTH_FULL],
    ["GSK_PROTOCOL_TLSV13 2", GSK_PROTOCOL_TLSV13, 2],
    ["GSK_PROTOCOL_TLSV13 GSK_PROTOCOL_TLSV1_ON", GSK_PROTOCOL_TLSV13, GSK_PROTOCOL_TLSV1_ON],
    ["GSK_PROTOCOL_TLSV1 GSK_TRUE", GSK_PROTOCOL_TLSV1, GSK_TRUE],
    ["GSK_PROTOCOL_SSLV3 GSK_PROTOCOL_SSLV2_ON (the other protocol's switch)", GSK_PROTOCOL_SSLV3, GSK_PROTOCOL_SSLV2_ON],
  ] as [string, number, unknown][]) {
    add("gsk_attribute_set_enum", `${where}: ${what}`, GSK_ATTRIBUTE_INVALID_ENUMERATION, (f) => gsk_attribute_set_enum(h(f), id, value));
  }
}
add("gsk_attribute_set_enum", "session: GSKX_STRICT_EOF 2", GSK_ATTRIBUTE_INVALID_ENUMERATION, (f) => gsk_attribute_set_enum(f.sessOpen, GSKX_STRICT_EOF, 2));

// set_numeric_value: out of range.
for (const [what, id, value] of [
  ["GSK_V3_SESSION_TIMEOUT -1", GSK_V3_SESSION_TIMEOUT, -1],
  ["GSK_V3_SESSION_TIMEOUT 86401", GSK_V3_SESSION_TIMEOUT, 86401],
  ["GSK_V3_SESSION_TIMEOUT 1.5", GSK_V3_SESSION_TIMEOUT, 1.5],
  ["GSK_V3_SESSION_TIMEOUT NaN", GSK_V3_SESSION_TIMEOUT, Number.NaN],
  ["GSK_V3_SESSION_TIMEOUT Infinity", GSK_V3_SESSION_TIMEOUT, Number.POSITIVE_INFINITY],
  ["GSK_V3_SESSION_TIMEOUT '100'", GSK_V3_SESSION_TIMEOUT, "100"],
  ["GSK_V3_SESSION_TIMEOUT undefined", GSK_V3_SESSION_TIMEOUT, undefined],
  ["GSK_V3_SESSION_TIMEOUT null", GSK_V3_SESSION_TIMEOUT, null],
  ["GSK_V3_SESSION_TIMEOUT an object without prototype", GSK_V3_SESSION_TIMEOUT, Object.create(null) as object],
  ["GSK_V2_SESSION_TIMEOUT 101", GSK_V2_SESSION_TIMEOUT, 101],
  ["GSK_V3_SIDCACHE_SIZE 1000001", GSK_V3_SIDCACHE_SIZE, 1_000_001],
  ["GSK_HANDSHAKE_TIMEOUT -1", GSK_HANDSHAKE_TIMEOUT, -1],
  ["GSK_HANDSHAKE_TIMEOUT 2147484", GSK_HANDSHAKE_TIMEOUT, 2_147_484],
  ["GSK_IBMI_READ_TIMEOUT -1", GSK_IBMI_READ_TIMEOUT, -1],
  ["GSK_IBMI_READ_TIMEOUT 2^31", GSK_IBMI_READ_TIMEOUT, 2 ** 31],
] as [string, number, unknown][]) {
  add("gsk_attribute_set_numeric_value", `environment: ${what}`, GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE, (f) => gsk_attribute_set_numeric_value(f.envOpen, id, value));
}
for (const [what, value] of [["-1", -1], ["1.5", 1.5], ["NaN", Number.NaN], ["the string '3'", "3"], ["a plain object", {}], ["undefined", undefined], ["null", null]] as [string, unknown][]) {
  add("gsk_attribute_set_numeric_value", `session: GSK_FD ${what}`, GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE, (f) => gsk_attribute_set_numeric_value(f.sessOpen, GSK_FD, value));
}
add("gsk_attribute_set_numeric_value", "session: GSK_FD a destroyed socket", GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR, (f) => gsk_attribute_set_numeric_value(f.sessOpen, GSK_FD, f.deadSocket));

// set_callback: values.
for (const [where, h] of ON_BOTH) {
  for (const [what, value] of [
    ["undefined", undefined], ["null", null], ["a number", 1], ["a plain object", {}], ["validation_callback not a function", { validation_callback: 1 }],
    ["a bare function instead of the structure", () => GSK_OK],
  ] as [string, unknown][]) {
    add("gsk_attribute_set_callback", `${where}: GSK_CERT_VALIDATION_CALLBACK ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_set_callback(h(f), GSK_CERT_VALIDATION_CALLBACK, value));
  }
  add("gsk_attribute_set_callback", `${where}: GSK_CERT_VALIDATION_CALLBACK validateRequired 5`, GSK_ATTRIBUTE_INVALID_ENUMERATION, (f) =>
    gsk_attribute_set_callback(h(f), GSK_CERT_VALIDATION_CALLBACK, { validation_callback: () => GSK_OK, validateRequired: 5 }),
  );
  add("gsk_attribute_set_callback", `${where}: GSK_CERT_VALIDATION_CALLBACK certificateNeeded 5`, GSK_ATTRIBUTE_INVALID_ENUMERATION, (f) =>
    gsk_attribute_set_callback(h(f), GSK_CERT_VALIDATION_CALLBACK, { validation_callback: () => GSK_OK, validateRequired: GSK_VALIDATION_REQUIRED, certificateNeeded: 5 }),
  );
  add("gsk_attribute_set_callback", `${where}: GSK_CIPHER_SESSION_RESET a string`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_set_callback(h(f), GSK_CIPHER_SESSION_RESET, "x"));
}
add("gsk_attribute_set_callback", "environment: GSK_ENVIRONMENT_CLOSE_CALLBACK a number", GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_set_callback(f.envOpen, GSK_ENVIRONMENT_CLOSE_CALLBACK, 42));
add("gsk_attribute_set_callback", "environment: GSK_ENVIRONMENT_CLOSE_CALLBACK an object", GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_set_callback(f.envOpen, GSK_ENVIRONMENT_CLOSE_CALLBACK, {}));

// --- attribute getters ---
for (const [what, h] of badHandles("either")) {
  add("gsk_attribute_get_buffer", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_get_buffer(h(f), GSK_KEYRING_LABEL, ref(), ref()));
  add("gsk_attribute_get_enum", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_get_enum(h(f), GSK_SESSION_TYPE, ref()));
  add("gsk_attribute_get_numeric_value", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_get_numeric_value(h(f), GSK_V3_SESSION_TIMEOUT, ref()));
  add("gsk_attribute_get_cert_info", `handle: ${what}`, GSK_INVALID_HANDLE, (f) => gsk_attribute_get_cert_info(h(f), GSK_LOCAL_CERT_INFO, ref(), ref()));
}
const ALL_HANDLES: [string, (f: Fixture) => gsk_handle][] = [
  ["environment", (f) => f.envOpen],
  ["initialized environment", (f) => f.env],
  ["session", (f) => f.sessOpen],
  ["connected session", (f) => f.c],
];
for (const [where, h] of ALL_HANDLES) {
  for (const [what, box] of BAD_BOXES) {
    add("gsk_attribute_get_buffer", `${where}: buffer box ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_get_buffer(h(f), GSK_KEYRING_LABEL, box(f), ref()));
    add("gsk_attribute_get_buffer", `${where}: length box ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_get_buffer(h(f), GSK_KEYRING_LABEL, ref(), box(f)));
    add("gsk_attribute_get_enum", `${where}: value box ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_get_enum(h(f), GSK_SESSION_TYPE, box(f)));
    add("gsk_attribute_get_numeric_value", `${where}: value box ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_get_numeric_value(h(f), GSK_HANDSHAKE_TIMEOUT, box(f)));
    add("gsk_attribute_get_cert_info", `${where}: elements box ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_get_cert_info(h(f), GSK_LOCAL_CERT_INFO, box(f), ref()));
    add("gsk_attribute_get_cert_info", `${where}: count box ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => gsk_attribute_get_cert_info(h(f), GSK_LOCAL_CERT_INFO, ref(), box(f)));
  }
  for (const [what, id] of UNKNOWN_IDS) {
    add("gsk_attribute_get_buffer", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_buffer(h(f), id, ref(), ref()));
    add("gsk_attribute_get_enum", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_enum(h(f), id, ref()));
    add("gsk_attribute_get_numeric_value", `${where}: unknown ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_numeric_value(h(f), id, ref()));
  }
  for (const [what, id] of [["GSK_SESSION_TYPE (enum)", GSK_SESSION_TYPE], ["GSK_FD (numeric)", GSK_FD], ["GSK_KEYRING_PW (write-only)", GSK_KEYRING_PW], ["GSK_LDAP_SERVER (unsupported)", GSK_LDAP_SERVER]] as [string, number][]) {
    add("gsk_attribute_get_buffer", `${where}: ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_buffer(h(f), id, ref(), ref()));
  }
  for (const [what, id] of [["GSK_KEYRING_FILE (buffer)", GSK_KEYRING_FILE], ["GSK_FD (numeric)", GSK_FD], ["GSK_OCSP_ENABLE (unsupported)", GSK_OCSP_ENABLE]] as [string, number][]) {
    add("gsk_attribute_get_enum", `${where}: ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_enum(h(f), id, ref()));
  }
  for (const [what, id] of [["GSK_SESSION_TYPE (enum)", GSK_SESSION_TYPE], ["GSK_KEYRING_FILE (buffer)", GSK_KEYRING_FILE], ["GSK_LAST_VALIDATION_ERROR (unsupported)", GSK_LAST_VALIDATION_ERROR]] as [string, number][]) {
    add("gsk_attribute_get_numeric_value", `${where}: ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_numeric_value(h(f), id, ref()));
  }
}
add("gsk_attribute_get_buffer", "initialized environment: GSK_CONNECT_CIPHER_SPEC (a session result)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_buffer(f.env, GSK_CONNECT_CIPHER_SPEC, ref(), ref()));
add("gsk_attribute_get_enum", "initialized environment: GSK_PROTOCOL_USED (a session result)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_enum(f.env, GSK_PROTOCOL_USED, ref()));
for (const [what, id] of [["0", 0], ["702", 702], ["999", 999], ["the string '700'", "700"], ["undefined", undefined], ["null", null]] as [string, unknown][]) {
  add("gsk_attribute_get_cert_info", `connected session: certificate ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_cert_info(f.c, id, ref(), ref()));
  add("gsk_attribute_get_cert_info", `initialized environment: certificate ID ${what}`, GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_cert_info(f.env, id, ref(), ref()));
}
add("gsk_attribute_get_cert_info", "initialized environment: GSK_PARTNER_CERT_INFO (sessions only)", GSK_ATTRIBUTE_INVALID_ID, (f) => gsk_attribute_get_cert_info(f.env, GSK_PARTNER_CERT_INFO, ref(), ref()));

// --- asynchronous calls ---
const BAD_PORTS: [string, Pick][] = [
  ["undefined", () => undefined], ["null", () => null], ["0", () => 0], ["-1", () => -1], ["999999", () => 999_999], ["1.5", () => 1.5],
  ["the port as a string", (f) => String(f.port)], ["a destroyed port", (f) => f.destroyedPort], ["an object", () => ({})],
  ["an object without prototype", () => Object.create(null) as object],
];
const BAD_OVERLAPPED: [string, unknown][] = [["undefined", undefined], ["null", null], ["a number", 1], ["a string", "io"], ["a boolean", true]];
const START: [string, (h: unknown, port: unknown, io: unknown) => number, (f: Fixture) => gsk_handle][] = [
  ["gsk_secure_soc_startInit", gsk_secure_soc_startInit, (f) => f.sessOpen],
  ["gsk_secure_soc_startRecv", gsk_secure_soc_startRecv, (f) => f.c],
  ["gsk_secure_soc_startSend", gsk_secure_soc_startSend, (f) => f.c],
];
const goodIo = (): Qso_OverlappedIO_t => ({ buffer: Buffer.from("abcd"), bufferLength: 4 });
for (const [fn, start, session] of START) {
  for (const [what, h] of badHandles("session")) add(fn, `handle: ${what}`, GSK_INVALID_HANDLE, (f) => start(h(f), f.port, goodIo()));
  for (const [what, port] of BAD_PORTS) add(fn, `port: ${what}`, GSK_IBMI_ERROR_INVALID_IOCOMPLETIONPORT, (f) => start(session(f), port(f), goodIo()));
  for (const [what, io] of BAD_OVERLAPPED) add(fn, `overlapped: ${what}`, GSK_IBMI_ERROR_INVALID_OVERLAPPEDIO_T, (f) => start(session(f), f.port, io));
}
for (const [fn, start] of START.slice(1)) {
  const buffers: [string, unknown][] = [["missing", undefined], ["null", null], ["a number", 4], ["a plain object", {}], ["an array", [1, 2, 3, 4]]];
  if (fn === "gsk_secure_soc_startRecv") buffers.push(["a string (receive needs memory to fill)", "abcd"]);
  for (const [what, buffer] of buffers) {
    add(fn, `overlapped buffer: ${what}`, GSK_IBMI_ERROR_INVALID_POINTER, (f) => start(f.c, f.port, { buffer, bufferLength: 4 }));
  }
  for (const [what, length] of [["0", 0], ["-1", -1], ["1.5", 1.5], ["NaN", Number.NaN], ["'4'", "4"], ["5 for a 4-byte buffer", 5]] as [string, unknown][]) {
    add(fn, `overlapped bufferLength: ${what}`, GSK_INVALID_BUFFER_SIZE, (f) => start(f.c, f.port, { buffer: Buffer.alloc(4), bufferLength: length }));
  }
}
for (const [what, port] of BAD_PORTS) {
  add("QsoWaitForIOCompletion", `port: ${what}`, -1, (f) => QsoWaitForIOCompletion(port(f), ref(), { tv_sec: 0, tv_usec: 0 }));
  add("QsoDestroyIOCompletionPort", `port: ${what}`, -1, (f) => QsoDestroyIOCompletionPort(port(f)));
}
for (const [what, box] of [["undefined", undefined], ["null", null], ["a number", 1], ["a string", "io"]] as [string, unknown][]) {
  add("QsoWaitForIOCompletion", `overlapped box: ${what}`, -1, (f) => QsoWaitForIOCompletion(f.port, box, { tv_sec: 0, tv_usec: 0 }));
}
for (const [what, timeout] of [
  ["{ tv_sec: 0, tv_usec: 0 }", { tv_sec: 0, tv_usec: 0 }],
  ["a negative timeout", { tv_sec: -5, tv_usec: 0 }],
  ["tv_usec only (1 ms)", { tv_sec: 0, tv_usec: 1000 }],
  ["an empty object", {}],
] as [string, unknown][]) {
  add("QsoWaitForIOCompletion", `timeout ${what} on an idle port`, 0, (f) => QsoWaitForIOCompletion(f.port, ref(), timeout as never));
}

async function environment(store: string | undefined, sessionType: number): Promise<gsk_handle> {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  if (store) {
    expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK);
    expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  }
  expect(gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, sessionType)).toBe(GSK_OK);
  expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
  return env.value!;
}

beforeAll(async () => {
  const serverEnv = await environment(await makeStore({ tree: "ecdsa", personal: ["server"] }), GSK_SERVER_SESSION);
  const env = await environment(await makeStore({ tree: "ecdsa" }), GSK_CLIENT_SESSION);
  const envOpen = ref<gsk_handle>();
  gsk_environment_open(envOpen);
  const closedEnv = ref<gsk_handle>();
  gsk_environment_open(closedEnv);
  const closedEnvHandle = closedEnv.value!;
  expect(gsk_environment_close(closedEnv)).toBe(GSK_OK);

  const sessOpen = ref<gsk_handle>();
  expect(gsk_secure_soc_open(env, sessOpen)).toBe(GSK_OK);
  const closedSession = ref<gsk_handle>();
  gsk_secure_soc_open(env, closedSession);
  const closedSessionHandle = closedSession.value!;
  expect(await gsk_secure_soc_close(closedSession)).toBe(GSK_OK);

  const tcp = await tcpPair();
  const c = ref<gsk_handle>();
  const s = ref<gsk_handle>();
  gsk_secure_soc_open(env, c);
  gsk_secure_soc_open(serverEnv, s);
  gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client);
  gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
  gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
  // A bad-argument call that was wrongly accepted then ends in a timeout instead of hanging.
  gsk_attribute_set_numeric_value(c.value, GSK_IBMI_READ_TIMEOUT, 2000);
  expect(await Promise.all([gsk_secure_soc_init(s.value), gsk_secure_soc_init(c.value)])).toEqual([GSK_OK, GSK_OK]);

  const deadPair = await tcpPair();
  deadPair.close();
  const destroyedPort = QsoCreateIOCompletionPort();
  expect(QsoDestroyIOCompletionPort(destroyedPort)).toBe(0);

  fx = {
    envOpen: envOpen.value!,
    env,
    serverEnv,
    closedEnv: closedEnvHandle,
    sessOpen: sessOpen.value!,
    closedSession: closedSessionHandle,
    c: c.value!,
    s: s.value!,
    tcp,
    port: QsoCreateIOCompletionPort(),
    destroyedPort,
    deadSocket: deadPair.client,
  };
});

afterAll(async () => {
  if (!fx) return;
  await gsk_secure_soc_close(ref(fx.c));
  await gsk_secure_soc_close(ref(fx.s));
  await gsk_secure_soc_close(ref(fx.sessOpen));
  fx.tcp.close();
  QsoDestroyIOCompletionPort(fx.port);
  gsk_environment_close(ref(fx.env));
  gsk_environment_close(ref(fx.serverEnv));
  gsk_environment_close(ref(fx.envOpen));
});

describe("bad arguments give the documented code and never throw (spec §6)", () => {
  it.each(cases.map((c) => [`${c.fn}: ${c.what}`, c] as const))("%s", async (_name, c) => {
    const amt = ref<number>(99);
    const rc = await settle(c.fn, () => c.run(fx, amt));
    expect(rc, `${c.fn}: ${c.what}`).toBe(c.expected);
    if (c.amt) expect(amt.value, `${c.fn} must set its amount to 0 on an error`).toBe(0);
    if (c.fn.startsWith("gsk_") && c.expected > 0) {
      // The detail of the failure is kept for the caller, with the same code.
      const last = gskx_last_error();
      expect(last?.code).toBe(c.expected);
      expect(last?.message.length).toBeGreaterThan(10);
    }
  });

  it("covers every gsk_* function of spec §2 and the Qso* extras", () => {
    const covered = new Set(cases.map((c) => c.fn));
    for (const fn of [
      "gsk_environment_open", "gsk_environment_init", "gsk_environment_close", "gsk_secure_soc_open", "gsk_secure_soc_init",
      "gsk_secure_soc_read", "gsk_secure_soc_write", "gsk_secure_soc_misc", "gsk_secure_soc_close", "gsk_attribute_set_buffer",
      "gsk_attribute_set_enum", "gsk_attribute_set_numeric_value", "gsk_attribute_set_callback", "gsk_attribute_get_buffer",
      "gsk_attribute_get_enum", "gsk_attribute_get_numeric_value", "gsk_attribute_get_cert_info", "gsk_secure_soc_startInit",
      "gsk_secure_soc_startRecv", "gsk_secure_soc_startSend", "QsoWaitForIOCompletion", "QsoDestroyIOCompletionPort",
    ]) {
      expect(covered.has(fn), fn).toBe(true);
    }
  });
});

describe("the calls without a return code", () => {
  it("gsk_strerror returns text for anything", async () => {
    for (const v of [undefined, null, "x", {}, Object.create(null) as object, Symbol("s"), 10n, -1, Number.NaN]) {
      const text = await settle("gsk_strerror", () => gsk_strerror(v));
      expect(typeof text).toBe("string");
    }
  });

  it("gskx_errno answers undefined for anything that is not a live session", async () => {
    for (const [, h] of badHandles("session")) expect(await settle("gskx_errno", () => gskx_errno(h(fx)))).toBeUndefined();
  });

  it("gskx_last_error ignores arguments and describes the last failure", async () => {
    expect(gsk_attribute_set_enum(fx.envOpen, GSK_SESSION_TYPE, 9999)).toBe(GSK_ATTRIBUTE_INVALID_ENUMERATION);
    const last = (await settle("gskx_last_error", () => (gskx_last_error as (...a: unknown[]) => unknown)("junk", 1))) as ReturnType<typeof gskx_last_error>;
    expect(last).toMatchObject({ code: GSK_ATTRIBUTE_INVALID_ENUMERATION, codeName: "GSK_ATTRIBUTE_INVALID_ENUMERATION" });
    expect(last!.message).toContain("GSK_SESSION_TYPE");
  });

  it("QsoCreateIOCompletionPort ignores arguments and returns a new port each time", async () => {
    const a = (await settle("QsoCreateIOCompletionPort", () => (QsoCreateIOCompletionPort as (...a: unknown[]) => number)(null, "x"))) as number;
    const b = QsoCreateIOCompletionPort();
    expect(Number.isInteger(a) && a > 0).toBe(true);
    expect(b).not.toBe(a);
    expect(QsoDestroyIOCompletionPort(a)).toBe(0);
    expect(QsoDestroyIOCompletionPort(b)).toBe(0);
    expect(QsoDestroyIOCompletionPort(a)).toBe(-1);
  });
});

describe("after all those bad calls", () => {
  it("the handles they were given still work", async () => {
    const n = ref<number>();
    expect(await gsk_secure_soc_write(fx.c, "still here", 10, n)).toBe(GSK_OK);
    expect(n.value).toBe(10);
    const buf = Buffer.alloc(32);
    expect(await gsk_secure_soc_read(fx.s, buf, buf.length, n)).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("still here");
    expect(await gsk_secure_soc_write(fx.s, new Uint8Array(Buffer.from("and back")), 8, n)).toBe(GSK_OK);
    expect(await gsk_secure_soc_read(fx.c, new Uint8Array(32), 32, n)).toBe(GSK_OK);
    expect(n.value).toBe(8);
    // Nothing was queued on the port by a refused start call.
    expect(await QsoWaitForIOCompletion(fx.port, ref(), { tv_sec: 0, tv_usec: 0 })).toBe(0);
    const type = ref<number>();
    expect(gsk_attribute_get_enum(fx.envOpen, GSK_SESSION_TYPE, type)).toBe(GSK_OK);
    expect(type.value).toBe(GSK_CLIENT_SESSION);
    expect(gsk_attribute_set_numeric_value(fx.sessOpen, GSK_FD, fx.tcp.client)).toBe(GSK_OK);
  });
});
