/** PEM encoding and decoding for certificates, keys, CSRs and CRLs. */
import { KeyObject, X509Certificate } from "node:crypto";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";

export interface PemBlock {
  /** The word(s) after BEGIN: `CERTIFICATE`, `PRIVATE KEY`, `X509 CRL` … */
  label: string;
  der: Buffer;
}

/** DER bytes wrapped as PEM with 64-column base64 lines (what OpenSSL writes and expects). */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * PEM of a certificate, or of a key (private keys as unencrypted PKCS#8, public keys as SPKI:
 * the forms Node, OpenSSL and the keystore importers all read).
 */
export function toPem(value: X509Certificate | KeyObject | PemBlock): string {
  if (value instanceof X509Certificate) return derToPem(value.raw, "CERTIFICATE");
  if (value instanceof KeyObject) {
    if (value.type === "private") return value.export({ type: "pkcs8", format: "pem" }).toString();
    if (value.type === "public") return value.export({ type: "spki", format: "pem" }).toString();
    throw new GskError(RC.GSK_INVALID_PARAMETER, "a secret key has no PEM form here");
  }
  return derToPem(value.der, value.label);
}

/** Every PEM block in a text, in order; text between blocks is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    blocks.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ""), "base64") });
  }
  return blocks;
}

/**
 * DER of the first block with one of `labels` when `data` is PEM text, else `data` itself taken as
 * DER (a Buffer whose first byte is a SEQUENCE tag).
 */
export function derFrom(data: Buffer | Uint8Array | string, labels: string[], what: string): Buffer {
  const text = typeof data === "string" ? data : Buffer.from(data).subarray(0, 64).toString("latin1");
  if (text.includes("-----BEGIN ")) {
    const all = typeof data === "string" ? data : Buffer.from(data).toString("latin1");
    const block = pemBlocks(all).find((b) => labels.includes(b.label));
    if (!block) throw new GskError(RC.GSK_ERROR_ASN, `no ${labels.map((l) => `BEGIN ${l}`).join(" or ")} block in the ${what} PEM`);
    return block.der;
  }
  if (typeof data === "string") throw new GskError(RC.GSK_ERROR_ASN, `the ${what} is neither PEM nor DER`);
  const der = Buffer.from(data);
  if (der[0] !== 0x30) throw new GskError(RC.GSK_ERROR_ASN, `the ${what} is neither PEM nor DER`);
  return der;
}
