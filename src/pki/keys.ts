/**
 * Key pairs and the signature algorithm each key type implies. Keys are Node `KeyObject`s; signing
 * uses node:crypto directly (not webcrypto) because it covers Ed25519 and hands back ECDSA
 * signatures already DER-encoded, which is exactly what X.509 stores.
 */
import * as asn1js from "asn1js";
import { createPublicKey, generateKeyPair, sign, verify, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";

export type KeyType = "rsa" | "ec-p256" | "ec-p384" | "ed25519";

export interface GenerateKeyOptions {
  /** RSA modulus length; 2048 unless given. */
  rsaBits?: number;
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const generateKeyPairAsync = promisify(generateKeyPair);
const signAsync = promisify(sign);

/** A new key pair. Asynchronous so that RSA generation does not block the event loop. */
export async function generateKey(type: KeyType, options: GenerateKeyOptions = {}): Promise<KeyPair> {
  switch (type) {
    case "rsa": {
      const bits = options.rsaBits ?? 2048;
      if (!Number.isInteger(bits) || bits < 1024 || bits > 16384) {
        throw new GskError(RC.GSK_INVALID_PARAMETER, `RSA key size ${String(bits)} is not supported`);
      }
      return generateKeyPairAsync("rsa", { modulusLength: bits, publicExponent: 0x10001 });
    }
    case "ec-p256":
      return generateKeyPairAsync("ec", { namedCurve: "P-256" });
    case "ec-p384":
      return generateKeyPairAsync("ec", { namedCurve: "P-384" });
    case "ed25519":
      return generateKeyPairAsync("ed25519");
    default:
      throw new GskError(RC.GSK_INVALID_PARAMETER, `key type ${JSON.stringify(type)} is not supported`);
  }
}

/** How a key signs: the digest node:crypto needs and the AlgorithmIdentifier that names it. */
export interface SignatureAlgorithm {
  /** Digest name for node:crypto `sign`/`verify`; null for Ed25519/Ed448, which hash internally. */
  digest: string | null;
  oid: string;
  /** sha256WithRSAEncryption must carry an explicit NULL parameter; ECDSA and EdDSA must not. */
  nullParameters: boolean;
  name: string;
}

const ALGORITHMS: Record<string, SignatureAlgorithm> = {
  "1.2.840.113549.1.1.5": { digest: "sha1", oid: "1.2.840.113549.1.1.5", nullParameters: true, name: "sha1WithRSAEncryption" },
  "1.2.840.113549.1.1.11": { digest: "sha256", oid: "1.2.840.113549.1.1.11", nullParameters: true, name: "sha256WithRSAEncryption" },
  "1.2.840.113549.1.1.12": { digest: "sha384", oid: "1.2.840.113549.1.1.12", nullParameters: true, name: "sha384WithRSAEncryption" },
  "1.2.840.113549.1.1.13": { digest: "sha512", oid: "1.2.840.113549.1.1.13", nullParameters: true, name: "sha512WithRSAEncryption" },
  "1.2.840.10045.4.3.2": { digest: "sha256", oid: "1.2.840.10045.4.3.2", nullParameters: false, name: "ecdsa-with-SHA256" },
  "1.2.840.10045.4.3.3": { digest: "sha384", oid: "1.2.840.10045.4.3.3", nullParameters: false, name: "ecdsa-with-SHA384" },
  "1.2.840.10045.4.3.4": { digest: "sha512", oid: "1.2.840.10045.4.3.4", nullParameters: false, name: "ecdsa-with-SHA512" },
  "1.3.101.112": { digest: null, oid: "1.3.101.112", nullParameters: false, name: "Ed25519" },
  "1.3.101.113": { digest: null, oid: "1.3.101.113", nullParameters: false, name: "Ed448" },
};

/** The signature algorithm a private (or public) key signs with, matched to its strength. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ALGORITHMS["1.2.840.113549.1.1.11"]!;
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1" || curve === "P-256") return ALGORITHMS["1.2.840.10045.4.3.2"]!;
      if (curve === "secp384r1" || curve === "P-384") return ALGORITHMS["1.2.840.10045.4.3.3"]!;
      if (curve === "secp521r1" || curve === "P-521") return ALGORITHMS["1.2.840.10045.4.3.4"]!;
      throw new GskError(RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, `EC curve ${String(curve)} is not supported for signing`);
    }
    case "ed25519":
      return ALGORITHMS["1.3.101.112"]!;
    case "ed448":
      return ALGORITHMS["1.3.101.113"]!;
    default:
      throw new GskError(RC.GSK_ERROR_UNSUPPORTED_CERTIFICATE_TYPE, `key type ${String(key.asymmetricKeyType)} is not supported for signing`);
  }
}

/** The signature algorithm an AlgorithmIdentifier OID names, if it is one this toolkit verifies. */
export function signatureAlgorithmByOid(oid: string): SignatureAlgorithm | undefined {
  return ALGORITHMS[oid];
}

/** AlgorithmIdentifier SEQUENCE for a signature algorithm. */
export function algorithmIdentifier(algorithm: SignatureAlgorithm): asn1js.Sequence {
  const value: asn1js.AsnType[] = [new asn1js.ObjectIdentifier({ value: algorithm.oid })];
  if (algorithm.nullParameters) value.push(new asn1js.Null());
  return new asn1js.Sequence({ value });
}

/** Signs `data` (a DER-encoded to-be-signed structure) with `key`. */
export async function signBytes(key: KeyObject, algorithm: SignatureAlgorithm, data: Uint8Array): Promise<Buffer> {
  if (key.type !== "private") throw new GskError(RC.GSK_INVALID_PARAMETER, "signing needs a private key");
  try {
    return await signAsync(algorithm.digest, data, key);
  } catch (error) {
    throw new GskError(RC.GSK_ERROR_CRYPTO, `signing with ${algorithm.name} failed`, { cause: error });
  }
}

/** Checks a signature; false (never a throw) when it does not verify or the key does not fit. */
export function verifyBytes(key: KeyObject, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(algorithm.digest, data, key, signature);
  } catch {
    return false;
  }
}

/** The public half of a key (itself when it already is public). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === "public" ? key : createPublicKey(key);
}

/** SubjectPublicKeyInfo DER of a key. */
export function spkiDer(key: KeyObject): Buffer {
  return publicKeyOf(key).export({ type: "spki", format: "der" });
}

/** True when both keys have the same public half. */
export function sameKey(a: KeyObject, b: KeyObject): boolean {
  return spkiDer(a).equals(spkiDer(b));
}
