/**
 * The two kinds of caller of the federated network:
 *
 * - a user of the organisation: no certificate of its own, server-auth TLS to the edge. It trusts
 *   the organisation's root (org-root.pem, handed out with the client) and checks that the server
 *   is the one it asked for by DNS name (`servername`; RFC 6125, subjectAltName only).
 * - the partner's gateway: the application ID PARTNER_GATEWAY in the partner's own system
 *   directory, presenting the partner CA's certificate and trusting our root.
 */
import { Environment } from "gskit-tls";

import { readLine } from "./network.js";
import type { Layout } from "./setup.js";

/** A user of the organisation asks the edge; rejects with the GskError of a failed handshake. */
export async function askAsUser(l: Layout, port: number, what: string, servername = "edge.example.org"): Promise<string> {
  await using env = await Environment.open({ trustFile: l.orgRootPem });
  await using session = await env.connect({ host: "127.0.0.1", port, servername });
  await session.write(`GET ${what}\n`);
  return (await readLine(session)) ?? "";
}

/**
 * The partner's gateway asks one of our servers. Only the edge trusts the partner's root; any
 * other server refuses the gateway's certificate (6000 on its side). In TLS 1.3 the gateway's own
 * handshake may finish before that verdict arrives, so the refusal can surface at the first read:
 * either way this rejects with a non-zero code, never an empty success.
 */
export async function askAsPartner(l: Layout, port: number, servername: string, what: string): Promise<string> {
  await using env = await Environment.open({ applicationId: "PARTNER_GATEWAY", systemDirectory: l.system.partner });
  await using session = await env.connect({ host: "127.0.0.1", port, servername });
  await session.write(`GET ${what}\n`);
  return (await readLine(session)) ?? "";
}
