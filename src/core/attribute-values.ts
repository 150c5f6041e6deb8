/**
 * Attribute values of one handle: checks every set against the attribute table (kind, scope,
 * supported, value range) and parses values at the setter, so a bad value is refused with its
 * code when it is set, not discovered at the handshake.
 */
import type { Duplex } from "node:stream";
import { inspect, type InspectOptionsStylized } from "node:util";

import { attributeConstantNames, attributeLabel, attributeRow, type AttributeKind, type AttributeRow } from "../attributes.js";
import { parseCipherCodes, parseCipherNames } from "../ciphers.js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { valueConstantNames, VALUES } from "../values.js";
import { parseAllowedPeerNames } from "../trust/allowed-peer-names.js";
import { A } from "../attributes.js";

export type HandleKind = "environment" | "session";

/** The value of GSK_CERT_VALIDATION_CALLBACK, as IBM's `validationCallBack` structure. */
export interface ValidationCallback {
  validation_callback: (certChain: Buffer, validationStatus: number) => number;
  validateRequired?: number;
  certificateNeeded?: number;
}

export type AttributeValue = string | number | Duplex | ValidationCallback | ((...args: never[]) => unknown);

/** Checks that `id` names an attribute of `kind` that can be set on a handle of `handle` kind. */
export function settableRow(id: unknown, kind: AttributeKind, handle: HandleKind): AttributeRow {
  const row = typeof id === "number" ? attributeRow(id) : undefined;
  if (!row) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `unknown attribute ID ${shown(id)}`);
  const name = attributeLabel(row.id);
  if (row.kind !== kind) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is a ${row.kind} attribute: set it with gsk_attribute_set_${setterSuffix(row.kind)}`);
  if (row.supported !== true) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is not supported: ${row.supported}`);
  if (row.scope === "get") throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is a result of the handshake and cannot be set`);
  if (row.scope === "env" && handle === "session") throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is an environment attribute: set it on the environment handle before gsk_environment_init`);
  if (row.scope === "session" && handle === "environment") throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is a session attribute: set it on the session handle after gsk_secure_soc_open`);
  return row;
}

/** Checks that `id` names an attribute of `kind` that can be read. */
export function gettableRow(id: unknown, kind: AttributeKind): AttributeRow {
  const row = typeof id === "number" ? attributeRow(id) : undefined;
  if (!row) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `unknown attribute ID ${shown(id)}`);
  const name = attributeLabel(row.id);
  if (row.kind !== kind) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is a ${row.kind} attribute: read it with gsk_attribute_get_${setterSuffix(row.kind)}`);
  if (row.supported !== true) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is not supported: ${row.supported}`);
  if (row.writeOnly) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${name} is write-only: it is never returned`);
  return row;
}

/** String() throws for objects without a usable toString; a bad value must still get its code. */
function shown(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function setterSuffix(kind: AttributeKind): string {
  return kind === "numeric" ? "numeric_value" : kind;
}

/** Parses and range-checks a value for `row`, returning what is stored. */
export function parseValue(row: AttributeRow, value: unknown): AttributeValue {
  const name = attributeLabel(row.id);
  switch (row.kind) {
    case "enum": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ENUMERATION, `${name}: ${shown(value)} is not an enumeration value`);
      const allowed = VALUES.filter((v) => v.group === row.values && (!row.only || row.only.includes(v.value)));
      if (!allowed.some((v) => v.value === value)) {
        throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ENUMERATION, `${name}: ${String(value)} is not a valid value; use ${allowed.map((v) => valueConstantNames(v)[0]).join(", ")}`);
      }
      return value;
    }
    case "numeric": {
      if (row.id === A.GSK_FD) return parseSocket(value);
      if (typeof value !== "number" || !Number.isInteger(value)) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE, `${name}: ${shown(value)} is not an integer`);
      const [lo, hi] = row.range ?? [0, 2_147_483_647];
      if (value < lo || value > hi) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE, `${name}: ${String(value)} is out of range ${String(lo)}..${String(hi)}`);
      return value;
    }
    case "buffer": {
      const text = value as string;
      parseBufferValue(row, text);
      return text;
    }
    case "callback":
      return parseCallback(row, value);
  }
}

/** Parses buffer values whose syntax can be checked now (ciphers, peer-name patterns). */
function parseBufferValue(row: AttributeRow, text: string): void {
  const name = attributeConstantNames(row)[0]!;
  switch (row.id) {
    case A.GSK_V3_CIPHER_SPECS:
    case A.GSK_TLSV10_CIPHER_SPECS:
    case A.GSK_TLSV11_CIPHER_SPECS:
    case A.GSK_TLSV12_CIPHER_SPECS:
      parseCipherCodes(text, name);
      return;
    case A.GSK_V3_CIPHER_SPECS_EX:
    case A.GSK_TLSV10_CIPHER_SPECS_EX:
    case A.GSK_TLSV11_CIPHER_SPECS_EX:
    case A.GSK_TLSV12_CIPHER_SPECS_EX:
      parseCipherNames(text, "tls12", name);
      return;
    case A.GSK_TLSV13_CIPHER_SPECS_EX:
      parseCipherNames(text, "tls13", name);
      return;
    case A.GSKX_ALLOWED_PEER_NAMES:
      parseAllowedPeerNames(text);
      return;
    case A.GSK_KEYRING_LABEL_EX: {
      const labels = text.split(",").map((l) => l.trim()).filter((l) => l.length > 0);
      if (labels.length === 0 || labels.length > 4) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_LENGTH, `${name}: give one to four comma-separated labels (got ${String(labels.length)})`);
      return;
    }
    default:
      return;
  }
}

function parseSocket(value: unknown): number | Duplex {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE, `GSK_FD (300): ${String(value)} is not a file descriptor`);
    return value;
  }
  if (isDuplex(value)) {
    if (value.destroyed) throw new GskError(RC.GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR, "GSK_FD (300): the socket is already closed");
    return value;
  }
  throw new GskError(RC.GSK_ATTRIBUTE_INVALID_NUMERIC_VALUE, "GSK_FD (300): give a connected net.Socket (or Duplex stream), or an inherited file descriptor number");
}

export function isDuplex(value: unknown): value is Duplex {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Duplex).write === "function" &&
    typeof (value as Duplex).on === "function" &&
    typeof (value as Duplex).read === "function" &&
    "destroyed" in value
  );
}

function parseCallback(row: AttributeRow, value: unknown): AttributeValue {
  const name = attributeLabel(row.id);
  if (row.id === A.GSK_CERT_VALIDATION_CALLBACK) {
    const cb = value as Partial<ValidationCallback> | null;
    if (typeof cb !== "object" || cb === null || typeof cb.validation_callback !== "function") {
      throw new GskError(RC.GSK_IBMI_ERROR_INVALID_POINTER, `${name}: give { validation_callback(certChain, validationStatus), validateRequired, certificateNeeded }`);
    }
    const required = cb.validateRequired ?? 901;
    if (required !== 900 && required !== 901) throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ENUMERATION, `${name}: validateRequired must be GSK_NO_VALIDATION or GSK_VALIDATION_REQUIRED`);
    const needed = cb.certificateNeeded ?? 950;
    if (needed !== 950 && needed !== 951 && needed !== 952) {
      throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ENUMERATION, `${name}: certificateNeeded must be GSK_CERTIFICATE_CHAIN_SENT_VIA_SSL, GSK_COMPLETED_CERTIFICATE_CHAIN or GSK_END_ENTITY_CERTIFICATE`);
    }
    return { validation_callback: cb.validation_callback, validateRequired: required, certificateNeeded: needed };
  }
  if (typeof value !== "function") throw new GskError(RC.GSK_IBMI_ERROR_INVALID_POINTER, `${name}: give a function`);
  return value as (...args: never[]) => unknown;
}

/**
 * The attribute values set on one handle, falling back to a parent's (a session's environment).
 */
export class AttributeValues {
  private readonly values = new Map<number, AttributeValue>();

  constructor(private readonly parent?: AttributeValues) {}

  /**
   * The values set here by attribute name, for logs and debuggers: passwords (write-only
   * attributes) are never shown, sockets and callbacks only by kind.
   */
  [inspect.custom](_depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    const shown: Record<string, unknown> = {};
    for (const [id, value] of this.values) {
      const row = attributeRow(id);
      const name = row ? (attributeConstantNames(row)[0] ?? String(id)) : String(id);
      shown[name] = row?.writeOnly === true || /_(PW|PWD)$/.test(name) ? "[redacted]" : isDuplex(value) ? "[socket]" : typeof value === "function" ? "[function]" : value;
    }
    return `AttributeValues ${show(shown, options)}`;
  }

  set(id: number, value: AttributeValue): void {
    this.values.set(id, value);
  }

  /** The value set here, else the parent's, else undefined. */
  get(id: number): AttributeValue | undefined {
    return this.values.has(id) ? this.values.get(id) : this.parent?.get(id);
  }

  has(id: number): boolean {
    return this.values.has(id) || (this.parent?.has(id) ?? false);
  }

  /** IDs set on this handle itself (not inherited): what a session overrides. */
  ownIds(): number[] {
    return [...this.values.keys()];
  }

  string(id: number): string | undefined {
    const v = this.get(id);
    return typeof v === "string" ? v : undefined;
  }

  number(id: number): number | undefined {
    const v = this.get(id);
    return typeof v === "number" ? v : undefined;
  }
}
