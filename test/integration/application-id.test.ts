/**
 * Application IDs end to end: a system store with its stash, definitions in the registry, and
 * handshakes that follow them — certificate chosen per handshake by SNI name and key type, 6002
 * for an unknown ID, 403 for a server with nothing assigned, reload under live traffic.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  Environment,
  GskError,
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  ref,
  type gsk_handle,
  GSK_ERROR_NO_CERTIFICATE,
  GSK_FD,
  GSK_IBMI_APPLICATION_ID,
  GSK_IBMI_ERROR_NOT_REGISTERED,
  GSK_OK,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
} from "../../src/index.js";
import { ApplicationRegistry, systemStoreLocation, writeKeyStoreFile, writeStashFile } from "../../src/tools.js";
import type { KeyStoreEntry } from "../../src/keystore/types.js";
import { pkiDir } from "../fixtures/pki-manifest.js";
import { tcpPair } from "../helpers/net.js";

const SYSTEM_PASSWORD = "system-store-password";

function certs(path: string): X509Certificate[] {
  return (readFileSync(path, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

function personal(label: string, tree: string, name: string): KeyStoreEntry {
  return { label, certificates: certs(join(pkiDir, tree, `${name}.chain.pem`)), privateKey: createPrivateKey(readFileSync(join(pkiDir, tree, `${name}.key.pem`))), trusted: false };
}

let dir: string;
const rootPem = (): string => readFileSync(join(pkiDir, "ecdsa", "ca.pem"), "utf8");

async function systemStore(entries: KeyStoreEntry[]): Promise<void> {
  const loc = systemStoreLocation({ directory: dir });
  await writeKeyStoreFile(loc.storeFile, entries, { format: "pkcs12", password: SYSTEM_PASSWORD, iterations: 1 });
  await writeStashFile(loc.stashFile, SYSTEM_PASSWORD);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gskit-system-"));
  await systemStore([
    personal("edge-ec", "mixed", "server-ec"),
    personal("edge-rsa", "mixed", "server-rsa"),
    personal("wildcard", "ecdsa", "wildcard"),
    personal("other-host", "ecdsa", "server-wrong-host"),
    { label: "org-root", certificates: certs(join(pkiDir, "ecdsa", "ca.pem")), trusted: true },
  ]);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A node:tls client nobody here wrote, reporting which certificate the server chose. */
function probe(port: number, options: tls.ConnectionOptions): Promise<{ subject: string; keyType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: rootPem(), ...options }, () => {
      const cert = s.getPeerX509Certificate()!;
      resolve({ subject: cert.subject, keyType: cert.publicKey.asymmetricKeyType });
      s.end();
    });
    s.on("error", reject);
  });
}

describe("application IDs", () => {
  it("serve one of four assigned certificates per handshake, by SNI name and by the key types the client accepts", async () => {
    const registry = await ApplicationRegistry.load(systemStoreLocation({ directory: dir }).registryFile);
    await registry.register({ id: "EDGE_SERVER", type: "server", certificates: ["edge-ec", "edge-rsa", "wildcard", "other-host"] });
    const env = await Environment.open({ role: "server", applicationId: "EDGE_SERVER", systemDirectory: dir });
    const server = env.createServer(async (session) => {
      for await (const chunk of session) await session.write(chunk);
    });
    const { port } = await server.listen();
    try {
      const ecOnly = await probe(port, { servername: "localhost", sigalgs: "ecdsa_secp256r1_sha256" });
      expect(ecOnly.keyType).toBe("ec");
      const rsaOnly = await probe(port, { servername: "localhost", sigalgs: "rsa_pss_rsae_sha256:rsa_pkcs1_sha256" });
      expect(rsaOnly.keyType).toBe("rsa");
      const rsaTls12 = await probe(port, { servername: "localhost", maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" });
      expect(rsaTls12.keyType).toBe("rsa");
      const wildcard = await probe(port, { servername: "a.example.test", checkServerIdentity: () => undefined });
      expect(wildcard.subject).toMatch(/wildcard|\*\.example\.test/i);
      const other = await probe(port, { servername: "other.example.test", checkServerIdentity: () => undefined });
      expect(other.subject).not.toBe(wildcard.subject);
      expect(other.subject).not.toBe(ecOnly.subject);
    } finally {
      await server.close();
      await env.close();
    }
  });

  it("an unknown ID fails gsk_environment_init with 6002; registering it and retrying on the same handle succeeds", async () => {
    process.env["GSKIT_TLS_HOME"] = dir;
    try {
      const env = ref<gsk_handle>();
      gsk_environment_open(env);
      expect(gsk_attribute_set_buffer(env.value, GSK_IBMI_APPLICATION_ID, "LATE_APP", 0)).toBe(GSK_OK);
      gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, GSK_SERVER_SESSION);
      expect(await gsk_environment_init(env.value)).toBe(GSK_IBMI_ERROR_NOT_REGISTERED);
      const registry = await ApplicationRegistry.load(systemStoreLocation({ directory: dir }).registryFile);
      await registry.register({ id: "LATE_APP", type: "server" });
      expect(await gsk_environment_init(env.value)).toBe(GSK_OK);

      // Nothing assigned: init succeeds, the handshake is 403.
      const tcp = await tcpPair();
      const s = ref<gsk_handle>();
      expect(gsk_secure_soc_open(env.value, s)).toBe(GSK_OK);
      gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
      expect(await gsk_secure_soc_init(s.value)).toBe(GSK_ERROR_NO_CERTIFICATE);
      await gsk_secure_soc_close(s);
      tcp.close();
    } finally {
      delete process.env["GSKIT_TLS_HOME"];
    }
  });

  it("reload picks up a new assignment for new handshakes, keeps live sessions, and refuses a broken configuration", async () => {
    const loc = systemStoreLocation({ directory: dir });
    const registry = await ApplicationRegistry.load(loc.registryFile);
    await registry.register({ id: "RELOAD_SERVER", type: "server", certificates: ["edge-ec"] });
    const env = await Environment.open({ role: "server", applicationId: "RELOAD_SERVER", systemDirectory: dir });
    const server = env.createServer(async (session) => {
      for await (const chunk of session) await session.write(chunk);
    });
    const { port } = await server.listen();
    const live = tls.connect({ host: "127.0.0.1", port, ca: rootPem(), servername: "localhost" });
    try {
      await new Promise<void>((resolve, reject) => live.once("secureConnect", resolve).once("error", reject));
      const before = live.getPeerX509Certificate()!.subject;

      // Handshakes keep running while the configuration changes.
      let failures = 0;
      let stop = false;
      const traffic = (async () => {
        // Any assigned certificate is fine here: what counts is that no handshake fails.
        while (!stop) await probe(port, { servername: "localhost", checkServerIdentity: () => undefined }).catch(() => failures++);
      })();
      await registry.assign("RELOAD_SERVER", ["other-host"]);
      await env.reload();
      const after = await probe(port, { servername: "other.example.test", checkServerIdentity: () => undefined });
      expect(after.subject).not.toBe(before);

      // A broken configuration (stash gone, store unreadable) is refused; the old one keeps serving.
      rmSync(loc.stashFile);
      await expect(env.reload()).rejects.toBeInstanceOf(GskError);
      const still = await probe(port, { servername: "other.example.test", checkServerIdentity: () => undefined });
      expect(still.subject).toBe(after.subject);
      stop = true;
      await traffic;
      expect(failures).toBe(0);

      // The session opened before the reload still echoes.
      live.write("still here");
      const echoed = await new Promise<string>((resolve) => live.once("data", (d: Buffer) => resolve(d.toString())));
      expect(echoed).toBe("still here");
    } finally {
      live.destroy();
      await server.close();
      await env.close();
    }
  });

  it("watching the files reloads by itself when an assignment changes", async () => {
    const registry = await ApplicationRegistry.load(systemStoreLocation({ directory: dir }).registryFile);
    await registry.register({ id: "WATCHED_SERVER", type: "server", certificates: ["edge-ec"] });
    const env = await Environment.open({ role: "server", applicationId: "WATCHED_SERVER", systemDirectory: dir });
    const server = env.createServer(async (session) => session.close());
    const { port } = await server.listen();
    const reloaded: (GskError | undefined)[] = [];
    let notify: () => void = () => undefined;
    const stop = env.watch((error) => {
      reloaded.push(error);
      notify();
    }, 50);
    try {
      const before = await probe(port, { servername: "localhost", checkServerIdentity: () => undefined });
      const done = new Promise<void>((resolve) => (notify = resolve));
      await registry.assign("WATCHED_SERVER", ["other-host"]);
      await done;
      expect(reloaded[0]).toBeUndefined();
      const after = await probe(port, { servername: "localhost", checkServerIdentity: () => undefined });
      expect(after.subject).not.toBe(before.subject);
    } finally {
      stop();
      await server.close();
      await env.close();
    }
  });
});
