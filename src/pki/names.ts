/**
 * Distinguished names as GSKit writes them: `"CN=x,O=y,C=z"`, most specific first (the LDAP /
 * RFC 4514 order). In DER the order is the reverse (C, then O, then CN), so `encodeDn` reverses
 * and `formatDn` reverses back; a string round-trips unchanged.
 *
 * Grammar: RDNs separated by `,` (or `;`), multi-valued RDNs joined by `+`, values either plain
 * with `\`-escapes (`\,` `\+` `\\` `\"` `\XX`), double-quoted, or `#hex` (raw DER of the value).
 */
import * as asn1js from "asn1js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import { decodeDer, encodeDer } from "./der.js";

export interface DnAttribute {
  /** Short name when known (`CN`), else the dotted OID. */
  type: string;
  oid: string;
  value: string;
}

interface AttributeSpec {
  oid: string;
  names: string[];
  /** The ASN.1 string type the value is written as; RFC 5280 asks for these (UTF8String otherwise). */
  encoding: "utf8" | "printable" | "ia5";
}

const ATTRIBUTES: AttributeSpec[] = [
  { oid: "2.5.4.3", names: ["CN"], encoding: "utf8" },
  { oid: "2.5.4.6", names: ["C"], encoding: "printable" },
  { oid: "2.5.4.10", names: ["O"], encoding: "utf8" },
  { oid: "2.5.4.11", names: ["OU"], encoding: "utf8" },
  { oid: "2.5.4.7", names: ["L"], encoding: "utf8" },
  { oid: "2.5.4.8", names: ["ST", "SP", "S"], encoding: "utf8" },
  { oid: "2.5.4.9", names: ["STREET"], encoding: "utf8" },
  { oid: "2.5.4.17", names: ["PC", "POSTALCODE"], encoding: "utf8" },
  { oid: "2.5.4.5", names: ["SERIALNUMBER"], encoding: "printable" },
  { oid: "2.5.4.12", names: ["T", "TITLE"], encoding: "utf8" },
  { oid: "2.5.4.4", names: ["SN", "SURNAME"], encoding: "utf8" },
  { oid: "2.5.4.42", names: ["GN", "GIVENNAME"], encoding: "utf8" },
  { oid: "0.9.2342.19200300.100.1.25", names: ["DC"], encoding: "ia5" },
  { oid: "0.9.2342.19200300.100.1.1", names: ["UID"], encoding: "utf8" },
  { oid: "1.2.840.113549.1.9.1", names: ["E", "EMAIL", "EMAILADDRESS"], encoding: "ia5" },
];

const BY_NAME = new Map(ATTRIBUTES.flatMap((a) => a.names.map((n) => [n, a] as const)));
const BY_OID = new Map(ATTRIBUTES.map((a) => [a.oid, a]));

/** One RDN: usually a single attribute, several for a multi-valued `A=x+B=y`. */
export type Rdn = DnAttribute[];

function invalid(dn: string, why: string): GskError {
  return new GskError(RC.GSK_INVALID_PARAMETER, `distinguished name ${JSON.stringify(dn)} is not valid: ${why}`);
}

/** Parses a DN string into RDNs, in the order written (most specific first). */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  if (dn.trim() === "") return rdns;
  let i = 0;
  let current: Rdn = [];
  while (i <= dn.length) {
    while (dn[i] === " ") i++;
    const eq = dn.indexOf("=", i);
    if (eq < 0) throw invalid(dn, "an attribute has no '='");
    const key = dn.slice(i, eq).trim();
    const upper = key.toUpperCase();
    const spec = BY_NAME.get(upper);
    let oid: string;
    if (spec) oid = spec.oid;
    else if (/^(OID\.)?\d+(\.\d+)+$/i.test(key)) oid = key.replace(/^OID\./i, "");
    else throw invalid(dn, `unknown attribute type ${JSON.stringify(key)}`);
    i = eq + 1;
    while (dn[i] === " ") i++;
    let value = "";
    if (dn[i] === '"') {
      i++;
      while (i < dn.length && dn[i] !== '"') {
        if (dn[i] === "\\" && i + 1 < dn.length) i++;
        value += dn[i];
        i++;
      }
      if (dn[i] !== '"') throw invalid(dn, "unterminated quoted value");
      i++;
      while (dn[i] === " ") i++;
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0;
      while (i < dn.length && !",;+".includes(dn[i]!)) {
        const ch = dn[i]!;
        if (ch === "\\") {
          const next = dn.slice(i + 1, i + 3);
          if (/^[0-9a-fA-F]{2}$/.test(next)) {
            bytes.push(parseInt(next, 16));
            i += 3;
          } else if (i + 1 < dn.length) {
            bytes.push(...Buffer.from(dn[i + 1]!, "utf8"));
            i += 2;
          } else {
            throw invalid(dn, "dangling backslash");
          }
          trailingSpaces = 0;
          continue;
        }
        bytes.push(...Buffer.from(ch, "utf8"));
        trailingSpaces = ch === " " ? trailingSpaces + 1 : 0;
        i++;
      }
      // Unescaped trailing spaces are separators' padding, not part of the value (RFC 4514).
      value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString("utf8");
    }
    // An attribute written as a dotted OID still gets its short name when the OID is a known one.
    const known = spec ?? BY_OID.get(oid);
    current.push({ type: known ? known.names[0]! : oid, oid, value });
    const sep = dn[i];
    if (sep === "+") {
      i++;
      continue;
    }
    rdns.push(current);
    current = [];
    if (sep === undefined) break;
    if (sep !== "," && sep !== ";") throw invalid(dn, `unexpected ${JSON.stringify(sep)}`);
    i++;
  }
  return rdns;
}

function encodeValue(attribute: DnAttribute): asn1js.AsnType {
  if (attribute.value.startsWith("#") && /^#([0-9a-fA-F]{2})+$/.test(attribute.value)) {
    return decodeDer(Buffer.from(attribute.value.slice(1), "hex"), "DN attribute value");
  }
  const encoding = BY_OID.get(attribute.oid)?.encoding ?? "utf8";
  if (encoding === "printable" && /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(attribute.value)) {
    return new asn1js.PrintableString({ value: attribute.value });
  }
  if (encoding === "ia5" && /^[\x00-\x7f]*$/.test(attribute.value)) return new asn1js.IA5String({ value: attribute.value });
  return new asn1js.Utf8String({ value: attribute.value });
}

/** DER `Name` for a DN string (or already-parsed RDNs). */
export function encodeDn(dn: string | Rdn[]): Buffer {
  const rdns = typeof dn === "string" ? parseDn(dn) : dn;
  const sets = [...rdns].reverse().map(
    (rdn) =>
      new asn1js.Set({
        value: rdn.map(
          (attribute) =>
            new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: attribute.oid }), encodeValue(attribute)] }),
        ),
      }),
  );
  return encodeDer(new asn1js.Sequence({ value: sets }));
}

function isStringBlock(value: asn1js.AsnType): value is asn1js.AsnType & { valueBlock: { value: string } } {
  return (
    value instanceof asn1js.Utf8String ||
    value instanceof asn1js.PrintableString ||
    value instanceof asn1js.IA5String ||
    value instanceof asn1js.TeletexString ||
    value instanceof asn1js.BmpString ||
    value instanceof asn1js.UniversalString ||
    value instanceof asn1js.VisibleString ||
    value instanceof asn1js.NumericString
  );
}

/** RDNs of a DER `Name`, most specific first. */
export function decodeDn(der: Uint8Array): Rdn[] {
  const name = decodeDer(der, "distinguished name");
  if (!(name instanceof asn1js.Sequence)) throw new GskError(RC.GSK_ERROR_ASN, "distinguished name is not a SEQUENCE");
  const rdns: Rdn[] = [];
  for (const set of name.valueBlock.value) {
    if (!(set instanceof asn1js.Set)) throw new GskError(RC.GSK_ERROR_ASN, "RDN is not a SET");
    const rdn: Rdn = [];
    for (const atv of set.valueBlock.value) {
      const [type, value] = atv instanceof asn1js.Sequence ? atv.valueBlock.value : [];
      if (!(type instanceof asn1js.ObjectIdentifier) || value === undefined) {
        throw new GskError(RC.GSK_ERROR_ASN, "RDN attribute is not a type and value");
      }
      const oid = type.valueBlock.toString();
      const spec = BY_OID.get(oid);
      const text = isStringBlock(value) ? value.valueBlock.value : `#${encodeDer(value).toString("hex")}`;
      rdn.push({ type: spec ? spec.names[0]! : oid, oid, value: text });
    }
    rdns.push(rdn);
  }
  return rdns.reverse();
}

function escapeValue(value: string): string {
  if (value.startsWith("#") && /^#([0-9a-f]{2})+$/.test(value)) return value;
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/[\x00-\x1f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  if (out.startsWith(" ") || out.startsWith("#")) out = `\\${out}`;
  if (out.endsWith(" ") && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** DN string (most specific first) for a DER `Name` or parsed RDNs. */
export function formatDn(name: Uint8Array | Rdn[]): string {
  const rdns = Array.isArray(name) ? name : decodeDn(name);
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${escapeValue(a.value)}`).join("+")).join(",");
}

/** The value of the first attribute of a type (`"CN"`) in a DN string or DER name. */
export function dnAttribute(name: string | Uint8Array, type: string): string | undefined {
  const rdns = typeof name === "string" ? parseDn(name) : decodeDn(name);
  const oid = BY_NAME.get(type.toUpperCase())?.oid ?? type;
  for (const rdn of rdns) for (const a of rdn) if (a.oid === oid) return a.value;
  return undefined;
}

/** Re-exported for builders that must embed a DER name inside a larger asn1js structure. */
export function dnSchema(der: Uint8Array): asn1js.AsnType {
  return decodeDer(der, "distinguished name");
}
