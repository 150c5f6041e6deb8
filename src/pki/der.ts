/**
 * Small ASN.1/DER helpers shared by the certificate, CSR and CRL builders. Kept internal to
 * `src/pki`: the public API speaks Node types (KeyObject, X509Certificate, Buffer, strings) so that
 * callers never depend on asn1js.
 */
import * as asn1js from "asn1js";
import { isIP } from "node:net";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";

/** Object identifiers used by the builders and readers. */
export const OID = {
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  crlNumber: "2.5.29.20",
  crlReason: "2.5.29.21",
  crlDistributionPoints: "2.5.29.31",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  extensionRequest: "1.2.840.113549.1.9.14",
} as const;

/** Decodes DER (or BER) bytes, turning a parse failure into the library's ASN.1 error. */
export function decodeDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed = asn1js.fromBER(view);
  if (parsed.offset === -1) {
    throw new GskError(RC.GSK_ERROR_ASN, `${what} is not valid ASN.1: ${parsed.result.error}`);
  }
  return parsed.result;
}

/** DER bytes of an asn1js value as a Node Buffer. */
export function encodeDer(value: asn1js.AsnType | { toBER(sizeOnly?: boolean): ArrayBuffer }): Buffer {
  return Buffer.from(value.toBER(false));
}

/** An ArrayBuffer holding exactly `bytes` (asn1js wants ArrayBuffers, not views). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/** A context-specific primitive `[tag] IMPLICIT` carrying `bytes`. */
export function contextPrimitive(tag: number, bytes: Uint8Array): asn1js.Primitive {
  return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: tag }, valueHex: toArrayBuffer(bytes) });
}

/** A context-specific constructed `[tag]` wrapping `value`. */
export function contextConstructed(tag: number, value: asn1js.AsnType[]): asn1js.Constructed {
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value });
}

/**
 * Normalises a serial number to the minimal positive DER INTEGER content: leading zero bytes are
 * dropped and one is put back only when the high bit would otherwise make the number negative.
 */
export function serialBytes(serial: Buffer | string): Buffer {
  let bytes: Buffer;
  if (typeof serial === "string") {
    const hex = serial.replace(/[:\s]/g, "");
    if (!/^(0x)?[0-9a-fA-F]+$/.test(hex)) {
      throw new GskError(RC.GSK_INVALID_PARAMETER, `serial number ${JSON.stringify(serial)} is not hexadecimal`);
    }
    const digits = hex.replace(/^0x/i, "");
    bytes = Buffer.from(digits.length % 2 === 1 ? `0${digits}` : digits, "hex");
  } else {
    bytes = Buffer.from(serial);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if ((bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  if (bytes.length > 20 && !(bytes.length === 21 && bytes[0] === 0)) {
    // RFC 5280 4.1.2.2: conforming users must handle at most 20 octets; OpenSSL rejects longer.
    throw new GskError(RC.GSK_INVALID_PARAMETER, "serial number is longer than 20 octets");
  }
  return bytes;
}

/**
 * Serial number in the spelling Node's `X509Certificate.serialNumber` uses (upper-case hex, whole
 * bytes, no leading zero byte), so serials from CRLs and certificates compare as plain strings.
 */
export function serialHex(content: Uint8Array): string {
  let start = 0;
  while (start < content.length - 1 && content[start] === 0) start++;
  return Buffer.from(content.subarray(start)).toString("hex").toUpperCase();
}

/** Certificate and CRL times: UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
export function encodeTime(date: Date): asn1js.UTCTime | asn1js.GeneralizedTime {
  if (Number.isNaN(date.getTime())) throw new GskError(RC.GSK_INVALID_PARAMETER, "date is not valid");
  // RFC 5280 forbids fractional seconds; asn1js would write them for GeneralizedTime.
  const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
  const year = whole.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? new asn1js.UTCTime({ valueDate: whole }) : new asn1js.GeneralizedTime({ valueDate: whole });
}

/** IP address text to the 4- or 16-byte form a SAN iPAddress holds. */
export function ipToBytes(ip: string): Buffer {
  const kind = isIP(ip);
  if (kind === 4) return Buffer.from(ip.split(".").map((part) => Number(part)));
  if (kind !== 6) throw new GskError(RC.GSK_INVALID_PARAMETER, `${JSON.stringify(ip)} is not an IP address`);
  let text = ip.replace(/%.*$/, "");
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split(".").map(Number);
    text = text.slice(0, v4.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(fill).fill("0"), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** SAN iPAddress bytes back to text: dotted IPv4, or RFC 5952 compressed IPv6. */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) return Buffer.from(bytes).toString("hex");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run (length >= 2) of zero groups is replaced by "::", the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}
