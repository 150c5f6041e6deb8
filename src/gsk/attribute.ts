/** gsk_attribute_set_* / gsk_attribute_get_* / gsk_attribute_get_cert_info. */
import { A } from "../attributes.js";
import { RC } from "../codes.js";
import type { CertDataElement } from "../core/cert-info.js";
import { certificateInfo } from "../core/cert-info.js";
import { EnvironmentCore } from "../core/environment.js";
import { GskError } from "../errors.js";
import { V } from "../values.js";
import { box, coreOf, handleOf } from "./handles.js";
import { callSync } from "./call.js";

type Kind = "buffer" | "numeric" | "enum" | "callback";

function set(fn: string, h: unknown, kind: Kind, id: unknown, value: unknown): number {
  return callSync(fn, () => coreOf(h).setAttribute(kind, id, value));
}

/**
 * Sets a string attribute. `bufSize` 0 means the whole value (C: strlen); a Buffer value is read
 * as UTF-8 text.
 */
export function gsk_attribute_set_buffer(my_gsk_handle: unknown, bufID: unknown, buffer: unknown, bufSize: unknown): number {
  return callSync("gsk_attribute_set_buffer", () => {
    const core = coreOf(my_gsk_handle);
    let bytes: Buffer;
    if (typeof buffer === "string") bytes = Buffer.from(buffer, "utf8");
    else if (buffer instanceof Uint8Array) bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    else throw new GskError(RC.GSK_IBMI_ERROR_INVALID_POINTER, `buffer must be a string or a Buffer, got ${buffer === null ? "null" : typeof buffer}`);
    if (typeof bufSize !== "number" || !Number.isInteger(bufSize) || bufSize < 0 || bufSize > bytes.length) {
      throw new GskError(RC.GSK_ATTRIBUTE_INVALID_LENGTH, `bufSize ${String(bufSize)} is not valid for a value of ${String(bytes.length)} bytes (0 means the whole value)`);
    }
    const text = (bufSize === 0 ? bytes : bytes.subarray(0, bufSize)).toString("utf8").replace(/\0[\s\S]*$/, "");
    core.setAttribute("buffer", bufID, text);
  });
}

/** Sets an enumeration attribute (GSK_SESSION_TYPE, GSK_PROTOCOL_TLSV13, …). */
export function gsk_attribute_set_enum(my_gsk_handle: unknown, enumID: unknown, enumValue: unknown): number {
  return set("gsk_attribute_set_enum", my_gsk_handle, "enum", enumID, enumValue);
}

/**
 * Sets a numeric attribute. For GSK_FD the value is the connected `net.Socket` (or an inherited
 * descriptor number).
 */
export function gsk_attribute_set_numeric_value(my_gsk_handle: unknown, numID: unknown, numValue: unknown): number {
  return set("gsk_attribute_set_numeric_value", my_gsk_handle, "numeric", numID, numValue);
}

/** Sets a callback (GSK_CERT_VALIDATION_CALLBACK, GSK_ENVIRONMENT_CLOSE_CALLBACK, GSK_CIPHER_SESSION_RESET). */
export function gsk_attribute_set_callback(my_gsk_handle: unknown, callBackID: unknown, callBackAreaPtr: unknown): number {
  // The core calls these with its own object; a gsk_* program compares the argument with its handle.
  const takesHandle = (callBackID === A.GSK_ENVIRONMENT_CLOSE_CALLBACK || callBackID === A.GSK_CIPHER_SESSION_RESET) && typeof callBackAreaPtr === "function";
  const value = takesHandle ? (core: object) => (callBackAreaPtr as (h: unknown) => unknown)(handleOf(core) ?? core) : callBackAreaPtr;
  return set("gsk_attribute_set_callback", my_gsk_handle, "callback", callBackID, value);
}

/** Reads a string attribute into `buffer.value` and its byte length into `bufSize.value`. */
export function gsk_attribute_get_buffer(my_gsk_handle: unknown, bufID: unknown, buffer: unknown, bufSize: unknown): number {
  return callSync("gsk_attribute_get_buffer", () => {
    const core = coreOf(my_gsk_handle);
    const out = box<string>(buffer, "buffer");
    const len = box<number>(bufSize, "bufSize");
    const value = core.getAttribute("buffer", bufID);
    const text = typeof value === "string" ? value : "";
    out.value = text;
    len.value = Buffer.byteLength(text, "utf8");
  });
}

/** Reads an enumeration attribute into `enumValue.value`. */
export function gsk_attribute_get_enum(my_gsk_handle: unknown, enumID: unknown, enumValue: unknown): number {
  return callSync("gsk_attribute_get_enum", () => {
    const core = coreOf(my_gsk_handle);
    const out = box<number>(enumValue, "enumValue");
    const value = core.getAttribute("enum", enumID);
    out.value = typeof value === "number" ? value : defaultEnum(enumID);
  });
}

/** Reads a numeric attribute into `numValue.value`. */
export function gsk_attribute_get_numeric_value(my_gsk_handle: unknown, numID: unknown, numValue: unknown): number {
  return callSync("gsk_attribute_get_numeric_value", () => {
    const core = coreOf(my_gsk_handle);
    const out = box<unknown>(numValue, "numValue");
    const value = core.getAttribute("numeric", numID);
    out.value = value ?? defaultNumeric(numID);
  });
}

/**
 * The elements of a certificate (`GSK_PARTNER_CERT_INFO` on a session, `GSK_LOCAL_CERT_INFO` on
 * an environment or session): `CERT_BODY_DER` first, then every element the certificate has.
 */
export function gsk_attribute_get_cert_info(my_gsk_handle: unknown, certID: unknown, certDataElem: unknown, certDataElementCount: unknown): number {
  return callSync("gsk_attribute_get_cert_info", () => {
    const core = coreOf(my_gsk_handle);
    const out = box<CertDataElement[]>(certDataElem, "certDataElem");
    const count = box<number>(certDataElementCount, "certDataElementCount");
    out.value = undefined;
    count.value = 0;
    let elements: CertDataElement[];
    if (core instanceof EnvironmentCore) {
      if (certID !== V.GSK_LOCAL_CERT_INFO) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, "an environment handle has only GSK_LOCAL_CERT_INFO: read GSK_PARTNER_CERT_INFO on a session");
      if (core.state !== "initialized") throw new GskError(RC.GSK_INVALID_STATE, "GSK_LOCAL_CERT_INFO on an environment is known after gsk_environment_init");
      const leaf = core.contextFor(core.values).identities[0]?.chain[0];
      if (!leaf) throw new GskError(RC.GSK_ERROR_NO_CERTIFICATE, "the environment has no certificate");
      elements = certificateInfo(leaf);
    } else {
      if (typeof certID !== "number") throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${String(certID)} is not a certificate ID`);
      elements = core.certInfo(certID);
    }
    out.value = elements;
    count.value = elements.length;
  });
}

/** Enumerations never set read as their documented defaults. */
function defaultEnum(id: unknown): number {
  switch (id) {
    case 401: return V.GSK_CLIENT_AUTH_FULL;
    case 402: return V.GSK_CLIENT_SESSION;
    case 403: return V.GSK_PROTOCOL_SSLV2_OFF;
    case 404: return V.GSK_PROTOCOL_SSLV3_OFF;
    case 407: return V.GSK_PROTOCOL_TLSV1_ON;
    case 410: return V.GSK_SERVER_AUTH_FULL;
    case 411: return V.GSK_NORMAL_ENVIRONMENT_CLOSE;
    case 436: case 437: case 9110: case 9111: return V.GSK_FALSE;
    case 438: case 4030: return V.GSK_TRUE;
    default: return V.GSK_NULL;
  }
}

function defaultNumeric(id: unknown): number {
  switch (id) {
    case 301: return 100;
    case 302: return 86_400;
    case 305: return 1024;
    default: return 0;
  }
}
