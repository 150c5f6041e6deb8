/**
 * Makes the PKI the examples run on, once, under examples/.pki/: an organisation CA, a server
 * certificate for localhost / 127.0.0.1 and a client certificate, each in a PKCS#12 key store
 * that also holds the CA as its trust anchor. Real deployments do the same with the `gskit` CLI
 * (docs/cli.md); nothing here is a shortcut the library does not also offer.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { generateKey, issueCertificate, writeKeyStoreFile } from "gskit-tls/tools";

export const DEMO_DIR = join(dirname(fileURLToPath(import.meta.url)), ".pki");
export const DEMO_PASSWORD = "demo-password";

export interface DemoPki {
  serverStore: string;
  clientStore: string;
  password: string;
}

export async function ensureDemoPki(dir = DEMO_DIR): Promise<DemoPki> {
  const serverStore = join(dir, "server.p12");
  const clientStore = join(dir, "client.p12");
  const pki = { serverStore, clientStore, password: DEMO_PASSWORD };
  if (existsSync(serverStore) && existsSync(clientStore)) return pki;
  mkdirSync(dir, { recursive: true });

  const caKey = await generateKey("ec-p256");
  const ca = await issueCertificate({ subject: "CN=Demo Root CA,O=Example Org", publicKey: caKey.publicKey, signingKey: caKey.privateKey, isCA: true, validityDays: 3650 });
  const issuer = { certificate: ca, privateKey: caKey.privateKey };
  const caEntry = { label: "demo-root-ca", certificates: [ca], trusted: true };

  const serverKey = await generateKey("ec-p256");
  const server = await issueCertificate({
    subject: "CN=localhost,O=Example Org",
    issuer,
    publicKey: serverKey.publicKey,
    subjectAltNames: { dns: ["localhost"], ip: ["127.0.0.1", "::1"] },
    extendedKeyUsage: ["serverAuth"],
    validityDays: 825,
  });
  const clientKey = await generateKey("ec-p256");
  const client = await issueCertificate({
    subject: "CN=demo-client,O=Example Org",
    issuer,
    publicKey: clientKey.publicKey,
    subjectAltNames: { dns: ["demo-client.example.org"] },
    extendedKeyUsage: ["clientAuth"],
    validityDays: 825,
  });
  await writeKeyStoreFile(serverStore, [{ label: "server", certificates: [server, ca], privateKey: serverKey.privateKey, trusted: false }, caEntry], { format: "pkcs12", password: DEMO_PASSWORD });
  await writeKeyStoreFile(clientStore, [{ label: "client", certificates: [client, ca], privateKey: clientKey.privateKey, trusted: false }, caEntry], { format: "pkcs12", password: DEMO_PASSWORD });
  return pki;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pki = await ensureDemoPki();
  console.log(`demo PKI ready: ${dirname(pki.serverStore)}`);
}
