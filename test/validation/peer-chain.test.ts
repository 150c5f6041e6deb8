/**
 * The peer chain a session reports is the chain OpenSSL verified, the same one node:tls's
 * getPeerCertificate(true) gives for the same peer and trust list: the library builds the short
 * case itself (a leaf issued directly by an anchor, or a trusted self-signed leaf) and asks
 * node:tls otherwise (intermediates sent by the peer), where node:tls decodes the whole chain into
 * JavaScript objects. Both ends, both ways of building it.
 */
import { readFileSync } from "node:fs";
import { connect as tlsConnect, type PeerCertificate, type DetailedPeerCertificate, TLSSocket } from "node:tls";
import { afterEach, describe, expect, it, vi } from "vitest";

import { Environment, type Session } from "../../src/index.js";
import type { KeyStoreEntry } from "../../src/keystore/types.js";
import { PASSWORD } from "../helpers/stores.js";
import { pkiPath } from "../fixtures/pki-manifest.js";
import { TREES, caCert, caEntry, customStore, leafCert, leafKey, nodeTlsServer, untrustedClientEntry, type Tree } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Fingerprints of node:tls's legacy chain, leaf first, stopping at the self-signed end. */
function legacyChain(cert: PeerCertificate | DetailedPeerCertificate): string[] {
  const out: string[] = [];
  for (let c = cert as DetailedPeerCertificate | undefined; c?.raw && !out.includes(c.fingerprint256); c = c.issuerCertificate) out.push(c.fingerprint256);
  return out;
}

async function nodeServer(options: Parameters<typeof nodeTlsServer>[0], onSecure?: (socket: TLSSocket) => void): Promise<number> {
  const server = await nodeTlsServer(options, onSecure);
  cleanup.push(() => server.close());
  return server.port;
}

/** What a node:tls client trusting `ca` reports for the server on `port`. */
function nodeClientChain(port: number, ca: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca, checkServerIdentity: () => undefined }, () => {
      const chain = legacyChain(socket.getPeerCertificate(true));
      socket.destroy();
      resolve(chain);
    });
    socket.on("error", reject);
  });
}

/** Our client's view, and how often node:tls was asked to decode the chain (it costs ~0.4 ms). */
async function ourClientChain(port: number, entries: readonly KeyStoreEntry[]): Promise<{ chain: string[]; decoded: number }> {
  const env = await Environment.open({ keystore: { file: await customStore(entries), password: PASSWORD } });
  cleanup.push(() => env.close());
  const decode = vi.spyOn(TLSSocket.prototype, "getPeerCertificate");
  try {
    await using session = await env.connect({ host: "127.0.0.1", port, servername: "localhost" });
    expect(session.validationCode).toBe(0);
    return { chain: session.peerChain.map((c) => c.fingerprint256.replaceAll(":", "").toUpperCase()), decoded: decode.mock.calls.length };
  } finally {
    decode.mockRestore();
  }
}

const pem = (c: { toString(): string }): string => c.toString();
const keyPem = (tree: Tree, name: string): string => leafKey(tree, name).export({ format: "pem", type: "pkcs8" }) as string;
const normal = (fingerprints: string[]): string[] => fingerprints.map((f) => f.replaceAll(":", "").toUpperCase());

describe.each(TREES)("the peer chain a session reports, %s tree", (tree: Tree) => {
  it("client, the server sends its intermediate: the chain node:tls reports (leaf, intermediate, root)", async () => {
    const port = await nodeServer({ key: readFileSync(pkiPath(tree, "server.key.pem")), cert: readFileSync(pkiPath(tree, "server.chain.pem")) });
    const expected = normal(await nodeClientChain(port, [pem(caCert(tree, "root"))]));
    expect(expected).toHaveLength(3);
    expect(await ourClientChain(port, [caEntry(tree, "root")])).toEqual({ chain: expected, decoded: 1 });
  });

  it("client, a leaf issued directly by a trusted root: leaf and root, as node:tls reports", async () => {
    const port = await nodeServer({ key: keyPem(tree, "server-untrusted"), cert: pem(leafCert(tree, "server-untrusted")) });
    const expected = normal(await nodeClientChain(port, [pem(caCert(tree, "other-ca"))]));
    expect(expected).toHaveLength(2);
    // A second connection takes the chain the context remembered for that certificate.
    expect(await ourClientChain(port, [caEntry(tree, "root"), caEntry(tree, "other-ca")])).toEqual({ chain: expected, decoded: 0 });
    expect(await ourClientChain(port, [caEntry(tree, "other-ca")])).toEqual({ chain: expected, decoded: 0 });
  });

  it("client, a self-signed server certificate trusted directly: the leaf alone", async () => {
    const self = leafCert(tree, "server-selfsigned");
    const port = await nodeServer({ key: keyPem(tree, "server-selfsigned"), cert: pem(self) });
    const expected = normal(await nodeClientChain(port, [pem(self)]));
    expect(expected).toEqual(normal([self.fingerprint256]));
    expect(await ourClientChain(port, [{ label: "trusted-self", certificates: [self], trusted: true }])).toEqual({ chain: expected, decoded: 0 });
  });

  /** A node:tls server's view of `client` (trusting `anchor`), then ours, with and without verifyPeer. */
  async function serverChains(client: { key: string; cert: string }, anchor: string, withCallback: boolean): Promise<{ reference: string[]; seen: string[]; checked: string[] }> {
    let reference: string[] = [];
    const nodePort = await nodeServer(
      { key: readFileSync(pkiPath(tree, "server.key.pem")), cert: readFileSync(pkiPath(tree, "server.chain.pem")), requestCert: true, ca: [pem(caCert(tree, anchor))] },
      (socket) => (reference = normal(legacyChain(socket.getPeerCertificate(true)))),
    );
    await connectAndRead(nodePort, tree, client);

    const store = await customStore([
      { label: "server", certificates: [leafCert(tree, "server"), caCert(tree, "intermediate")], privateKey: leafKey(tree, "server"), trusted: false },
      caEntry(tree, anchor),
    ]);
    let checked: string[] = [];
    const env = await Environment.open({
      role: "server",
      keystore: { file: store, password: PASSWORD },
      clientAuth: "required",
      ...(withCallback
        ? {
            verifyPeer: (chain: readonly { fingerprint256: string }[]) => {
              checked = chain.map((c) => c.fingerprint256.replaceAll(":", "").toUpperCase());
              return true;
            },
          }
        : {}),
    });
    cleanup.push(() => env.close());
    let seen: string[] = [];
    const server = env.createServer(async (session: Session) => {
      seen = session.peerChain.map((c) => c.fingerprint256.replaceAll(":", "").toUpperCase());
      await session.write("ok");
      await session.close();
    });
    const { port } = await server.listen();
    cleanup.push(() => server.close());
    await connectAndRead(port, tree, client);
    return { reference, seen, checked };
  }

  it.each([true, false])("server (verifyPeer: %s), a client certificate issued directly by a trusted root: leaf and root, as a node:tls server reports", async (withCallback) => {
    const entry = await untrustedClientEntry(tree);
    const client = { key: entry.privateKey!.export({ format: "pem", type: "pkcs8" }) as string, cert: pem(entry.certificates[0]!) };
    const { reference, seen, checked } = await serverChains(client, "other-ca", withCallback);
    expect(reference).toHaveLength(2);
    expect(seen).toEqual(reference);
    if (withCallback) expect(checked).toEqual(reference);
  });

  it.each([true, false])("server (verifyPeer: %s), the client sends its intermediate: leaf, intermediate and root, as a node:tls server reports", async (withCallback) => {
    const client = { key: keyPem(tree, "client"), cert: readFileSync(pkiPath(tree, "client.chain.pem"), "utf8") };
    const { reference, seen, checked } = await serverChains(client, "root", withCallback);
    expect(reference).toHaveLength(3);
    expect(seen).toEqual(reference);
    if (withCallback) expect(checked).toEqual(reference);
  });
});

function connectAndRead(port: number, tree: Tree, client: { key: string; cert: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: [pem(caCert(tree, "root"))], ...client });
    socket.on("data", () => undefined);
    socket.on("end", () => {
      socket.end();
      resolve();
    });
    socket.on("error", reject);
  });
}
