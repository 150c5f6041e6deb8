/**
 * A user of example.org sending a message: to the well-known front msg.example.org, then, when
 * the front answers with a redirect, to the home server it names. The user trusts only its
 * organisation's root (example-root.pem) and checks every server's name: the front's against
 * msg.example.org, the home server's against the name in the redirect. That name can be taken
 * on trust because it came from the front over a session whose certificate was checked.
 *
 * Run: npx tsx examples/router/client.ts <front-port> <user@org> <text…>   (with demo.ts's servers)
 */
import { fileURLToPath } from "node:url";

import { Environment } from "gskit-tls";

import { readLine } from "./servers.js";
import { DEFAULT_DIR, layout, type Layout } from "./setup.js";

export const FRONT_NAME = "msg.example.org";

export interface SendResult {
  /** The last answer: DELIVERED …, UNKNOWN …, FAILED …, NO ROUTE … */
  readonly reply: string;
  /** Each server talked to, as `msg.example.org: REDIRECT …`. */
  readonly hops: readonly string[];
}

/** One request on a fresh session; rejects with the GskError of a failed handshake. */
async function ask(env: Environment, port: number, servername: string, line: string): Promise<string> {
  await using session = await env.connect({ host: "127.0.0.1", port, servername });
  await session.write(`${line}\n`);
  return (await readLine(session)) ?? "";
}

export async function sendMessage(l: Layout, frontPort: number, to: string, text: string, log: (line: string) => void = console.log): Promise<SendResult> {
  await using env = await Environment.open({ trustFile: l.exampleRootPem });
  const line = `SEND ${to} ${text}`;
  const hops: string[] = [];
  let reply = await ask(env, frontPort, FRONT_NAME, line);
  hops.push(`${FRONT_NAME}: ${reply}`);
  log(`user: ${FRONT_NAME} answered '${reply}'`);
  // One redirect at most: a home server never sends the user on.
  const redirect = /^REDIRECT ([\d.]+):(\d+) (\S+)$/.exec(reply);
  if (redirect) {
    const [, host, port, name] = redirect;
    if (host !== "127.0.0.1") throw new Error(`this demo only follows redirects to 127.0.0.1, not ${host ?? ""}`);
    reply = await ask(env, Number(port), name!, line);
    hops.push(`${name!}: ${reply}`);
    log(`user: ${name!} answered '${reply}'`);
  }
  return { reply, hops };
}

/**
 * A user trying another organisation's home server directly, trusting that organisation's root
 * too: its home server requires a client certificate (and only takes example.org's front), so the
 * user is refused. Rejects with the GskError the user's side saw, or answers "" when the server
 * closed without a word: in TLS 1.3 a client without a certificate has finished its handshake
 * before the server judges it, and once it has written, the server's hang-up reads as an end of
 * stream.
 */
export async function sendDirect(l: Layout, port: number, servername: string, to: string, text: string): Promise<string> {
  await using env = await Environment.open({ trustFile: l.partnerRootPem });
  return await ask(env, port, servername, `SEND ${to} ${text}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [port, to, ...words] = process.argv.slice(2);
  if (port === undefined || to === undefined) {
    console.error("usage: npx tsx examples/router/client.ts <front-port> <user@org> <text…>");
    process.exitCode = 2;
  } else {
    const { reply } = await sendMessage(layout(DEFAULT_DIR), Number(port), to, words.join(" ") || "hello");
    process.exitCode = reply.startsWith("DELIVERED") ? 0 : 1;
  }
}
