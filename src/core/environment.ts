/**
 * The environment: attribute values set before init, then — built once at init — the identity,
 * trust list, protocol and cipher policy and the TLS context every session reuses. Sessions that
 * override context attributes (label, protocols, ciphers) get a context per distinct set of
 * overrides, cached here, never one per connection.
 */
import { createHash, randomBytes, type X509Certificate } from "node:crypto";
import { inspect, type InspectOptionsStylized } from "node:util";

import { A } from "../attributes.js";
import { CIPHERS } from "../ciphers.js";
import { RC } from "../codes.js";
import { GskError } from "../errors.js";
import type { ApplicationDefinition } from "../registry/application.js";
import { createTlsContext, type Identity, type TlsContext } from "../internal/node-tls.js";
import { checkOwnIdentity } from "../trust/own-chain-check.js";
import { V } from "../values.js";
import { AttributeValues, gettableRow, parseValue, settableRow, type AttributeValue } from "./attribute-values.js";
import { identitiesFor, resolveIdentity, splitLabels, type ResolvedIdentity } from "./identity.js";
import { SessionCache } from "./session-cache.js";
import { cipherPolicy, protocolPolicy } from "./tls-policy.js";

export type EnvironmentState = "open" | "initialized" | "closed";

/** Attributes that change the TLS context: a session overriding one gets its own (cached) context. */
const CONTEXT_ATTRIBUTES: readonly number[] = [
  A.GSK_KEYRING_LABEL,
  A.GSK_KEYRING_LABEL_EX,
  A.GSK_PROTOCOL_SSLV2,
  A.GSK_PROTOCOL_SSLV3,
  A.GSK_PROTOCOL_TLSV1,
  A.GSK_PROTOCOL_TLSV10,
  A.GSK_PROTOCOL_TLSV11,
  A.GSK_PROTOCOL_TLSV12,
  A.GSK_PROTOCOL_TLSV13,
  A.GSK_V3_CIPHER_SPECS,
  A.GSK_V3_CIPHER_SPECS_EX,
  A.GSK_TLSV10_CIPHER_SPECS,
  A.GSK_TLSV11_CIPHER_SPECS,
  A.GSK_TLSV12_CIPHER_SPECS,
  A.GSK_TLSV10_CIPHER_SPECS_EX,
  A.GSK_TLSV11_CIPHER_SPECS_EX,
  A.GSK_TLSV12_CIPHER_SPECS_EX,
  A.GSK_TLSV13_CIPHER_SPECS_EX,
];

/** A TLS context and what it presents; servers with several certificates pick by SNI name. */
export interface ContextEntry {
  /** Which overrides built it ("" for the environment's own): part of the resumption cache key. */
  readonly key: string;
  readonly context: TlsContext;
  readonly identities: readonly Identity[];
  /** Server: the context for an SNI name when another certificate fits it better. */
  readonly selectContext: ((servername: string) => TlsContext | undefined) | undefined;
}

export interface EnvironmentOptions {
  /** Directory of the system store and application registry. */
  readonly systemDirectory?: string | undefined;
  /** 48 bytes of session-ticket keys shared by every server context (cluster workers). */
  readonly ticketKeys?: Buffer | undefined;
  /** Days before expiry from which init warns about its own certificate (default 30). */
  readonly expiryWarningDays?: number | undefined;
}

let warnedRejectUnauthorized = false;

export class EnvironmentCore {
  state: EnvironmentState = "open";
  readonly values = new AttributeValues();
  /** Findings of the checks on the environment's own certificate at init. */
  warnings: string[] = [];
  private resolved: ResolvedIdentity | undefined;
  private readonly contexts = new Map<string, ContextEntry>();
  private sessionIdContext = "";
  sessionCache = new SessionCache(0, 0);
  /** Live sessions, for delayed close and for reload. */
  readonly sessions = new Set<{ readonly id: number }>();
  private closeCallbackFired = false;

  constructor(readonly options: EnvironmentOptions = {}) {}

  /**
   * What is safe to show of an environment (in logs, a debugger, util.inspect): its fields hold
   * the key-store password, the private keys and the session-ticket keys.
   */
  summary(): Record<string, unknown> {
    const r = this.resolved;
    return {
      state: this.state,
      ...(r?.store ? { keyStore: r.store.file } : {}),
      ...(r?.application ? { applicationId: r.application.id } : {}),
      ...(r ? { labels: r.labels, trust: r.trustSource } : {}),
      sessions: this.sessions.size,
      warnings: this.warnings.length,
      attributes: this.values,
    };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    return `EnvironmentCore ${show(this.summary(), options)}`;
  }

  setAttribute(kind: "buffer" | "numeric" | "enum" | "callback", id: unknown, value: unknown): void {
    if (this.state !== "open") {
      throw new GskError(RC.GSK_INVALID_STATE, this.state === "closed" ? "the environment is closed" : "environment attributes can only be set before gsk_environment_init");
    }
    const row = settableRow(id, kind, "environment");
    this.values.set(row.id, parseValue(row, value));
  }

  getAttribute(kind: "buffer" | "numeric" | "enum" | "callback", id: unknown): AttributeValue | undefined {
    if (this.state === "closed") throw new GskError(RC.GSK_INVALID_HANDLE, "the environment is closed");
    const row = gettableRow(id, kind);
    if (row.scope === "get") throw new GskError(RC.GSK_ATTRIBUTE_INVALID_ID, `${row.name} is a session result: read it on a session handle after gsk_secure_soc_init`);
    return this.values.get(row.id);
  }

  /** gsk_environment_init: resolves identity and policy and builds the shared context. */
  async init(): Promise<void> {
    if (this.state !== "open") throw new GskError(RC.GSK_INVALID_STATE, this.state === "closed" ? "the environment is closed" : "the environment is already initialized");
    warnAboutRejectUnauthorized();
    const resolved = await resolveIdentity(this.values, { systemDirectory: this.options.systemDirectory });
    // An explicit label that does not exist is a configuration error now (407/428), as in GSKit.
    if (resolved.explicitLabels) identitiesFor(resolved, resolved.labels);
    this.resolved = resolved;
    this.sessionIdContext = createHash("sha256")
      .update(resolved.application?.id ?? resolved.store?.file ?? randomBytes(16).toString("hex"))
      .digest("hex")
      .slice(0, 32);
    const entry = this.buildContext(this.values, "");
    this.contexts.set("", entry);
    // Our own chain may end at a root of the store that the trust list leaves out (an application
    // ID trusting only a partner's CA): peers need that root, not us, so it completes the path.
    const storeCas = resolved.store?.entries.filter((e) => e.privateKey === undefined).flatMap((e) => e.certificates.slice(0, 1)) ?? [];
    this.warnings = this.checkOwnCertificates(entry.identities, [...resolved.anchors, ...storeCas]);
    const lifetime = this.values.number(A.GSK_V3_SESSION_TIMEOUT) ?? resolved.application?.sessionLifetime ?? 86_400;
    this.sessionCache = new SessionCache(lifetime, this.values.number(A.GSK_V3_SIDCACHE_SIZE) ?? 1024);
    this.state = "initialized";
  }

  get identity(): ResolvedIdentity {
    if (!this.resolved) throw new GskError(RC.GSK_INVALID_STATE, "the environment is not initialized");
    return this.resolved;
  }

  /** The context for a session: the environment's own, or one cached per distinct override set. */
  contextFor(sessionValues: AttributeValues): ContextEntry {
    const overrides = sessionValues.ownIds().filter((id) => CONTEXT_ATTRIBUTES.includes(id)).sort((a, b) => a - b);
    const key = overrides.map((id) => `${String(id)}=${String(sessionValues.get(id))}`).join(";");
    let entry = this.contexts.get(key);
    if (!entry) {
      entry = this.buildContext(sessionValues, key);
      this.contexts.set(key, entry);
    }
    return entry;
  }

  /** Drops every cached context so the next sessions build fresh ones (after a reload). */
  replaceIdentity(resolved: ResolvedIdentity): void {
    this.resolved = resolved;
    this.contexts.clear();
    this.contexts.set("", this.buildContext(this.values, ""));
  }

  private buildContext(values: AttributeValues, key: string): ContextEntry {
    const resolved = this.identity;
    const labelEx = values.string(A.GSK_KEYRING_LABEL_EX);
    const label = values.string(A.GSK_KEYRING_LABEL);
    const labels = labelEx !== undefined ? splitLabels(labelEx) : label !== undefined ? [label] : resolved.labels;
    const identities = identitiesFor(resolved, labels);
    const application = resolved.application;
    const policyValues = withApplicationPolicy(values, application);
    const protocols = protocolPolicy(policyValues);
    const ciphers = cipherPolicy(policyValues, protocols);
    const base = {
      anchors: resolved.anchors,
      crls: resolved.crls,
      minVersion: protocols.minVersion,
      maxVersion: protocols.maxVersion,
      ciphers: ciphers.ciphers,
      ciphersuites: ciphers.ciphersuites,
      sessionIdContext: this.sessionIdContext,
      ticketKeys: this.options.ticketKeys,
      ...(application?.sessionLifetime ? { sessionTimeout: application.sessionLifetime } : {}),
    };
    // OpenSSL keeps one certificate per key type in a context and picks it from what the peer
    // supports; certificates of the same key type for different names need a context each.
    const primary = onePerKeyType(identities);
    const context = createTlsContext({ ...base, identities: primary });
    let selectContext: ContextEntry["selectContext"];
    if (identities.length > primary.length) {
      const byName = new Map<string, TlsContext | undefined>();
      selectContext = (servername: string) => {
        if (!byName.has(servername)) {
          // A certificate naming the host exactly is preferred to one whose wildcard covers it.
          const match = (i: Identity): string | undefined => i.chain[0]!.checkHost(servername, { subject: "never" });
          const fitting = identities.filter((i) => match(i) !== undefined).sort((a, b) => Number(match(b) === servername) - Number(match(a) === servername));
          // node:tls re-installs only the context's current (last loaded) certificate after an SNI
          // switch: the one that fits the name must come last.
          const chosen = onePerKeyType([...fitting, ...identities]).reverse();
          const same = chosen.length === primary.length && chosen.every((c) => primary.includes(c));
          byName.set(servername, same ? undefined : createTlsContext({ ...base, identities: chosen }));
        }
        return byName.get(servername);
      };
    }
    return { key, context, identities, selectContext };
  }

  private checkOwnCertificates(identities: readonly Identity[], anchors: readonly X509Certificate[]): string[] {
    const sessionType = this.values.number(A.GSK_SESSION_TYPE) ?? V.GSK_CLIENT_SESSION;
    const role = sessionType === V.GSK_CLIENT_SESSION ? "client" : "server";
    const warnings: string[] = [];
    for (const identity of identities) {
      const { errors, warnings: found } = checkOwnIdentity({
        key: identity.key,
        chain: [...identity.chain],
        anchors: [...anchors],
        sessionType: role,
        expiryWarningDays: this.options.expiryWarningDays ?? 30,
      });
      const first = errors[0];
      if (first) throw new GskError(first.code, `certificate '${identity.label}': ${first.message}`);
      for (const w of found) warnings.push(`certificate '${identity.label}': ${w.message}`);
    }
    for (const w of warnings) process.emitWarning(w, { code: "GSKIT_TLS_CERTIFICATE" });
    return warnings;
  }

  /** gsk_environment_close: no new sessions; sessions already open keep working. */
  close(): void {
    if (this.state === "closed") throw new GskError(RC.GSK_INVALID_HANDLE, "the environment is already closed");
    this.state = "closed";
    this.sessionCache.clear();
    this.fireCloseCallback();
  }

  private fireCloseCallback(): void {
    if (this.closeCallbackFired) return;
    this.closeCallbackFired = true;
    const cb = this.values.get(A.GSK_ENVIRONMENT_CLOSE_CALLBACK);
    if (typeof cb === "function") {
      try {
        (cb as (env: unknown) => void)(this);
      } catch {
        // a throwing callback must not turn a successful close into a failure
      }
    }
  }
}

/** Every attribute that sets the TLS 1.2-and-older cipher list: any one set overrides the application's. */
const TLS12_CIPHER_ATTRIBUTES: readonly number[] = [
  A.GSK_TLSV12_CIPHER_SPECS_EX,
  A.GSK_TLSV12_CIPHER_SPECS,
  A.GSK_V3_CIPHER_SPECS_EX,
  A.GSK_V3_CIPHER_SPECS,
  A.GSK_TLSV11_CIPHER_SPECS_EX,
  A.GSK_TLSV11_CIPHER_SPECS,
  A.GSK_TLSV10_CIPHER_SPECS_EX,
  A.GSK_TLSV10_CIPHER_SPECS,
];

/**
 * An application definition's protocols and ciphers would otherwise be stored but never used.
 * They act as defaults under the handle's own attributes, which still win, as for the
 * definition's other settings.
 */
function withApplicationPolicy(values: AttributeValues, application: ApplicationDefinition | undefined): AttributeValues {
  if (!application || (application.protocols.length === 0 && application.ciphers.length === 0)) return values;
  const layered = new AttributeValues(values);
  if (application.protocols.length > 0) {
    for (const [id, name] of [[A.GSK_PROTOCOL_TLSV12, "TLSv1.2"], [A.GSK_PROTOCOL_TLSV13, "TLSv1.3"]] as const) {
      if (!values.has(id)) layered.set(id, application.protocols.includes(name) ? V.GSK_TRUE : V.GSK_FALSE);
    }
  }
  const tls13 = application.ciphers.filter((c) => CIPHERS.some((row) => row.iana === c && row.protocol === "tls13"));
  const tls12 = application.ciphers.filter((c) => !tls13.includes(c));
  if (tls12.length > 0 && !TLS12_CIPHER_ATTRIBUTES.some((id) => values.has(id))) layered.set(A.GSK_TLSV12_CIPHER_SPECS_EX, tls12.join(","));
  if (tls13.length > 0 && !values.has(A.GSK_TLSV13_CIPHER_SPECS_EX)) layered.set(A.GSK_TLSV13_CIPHER_SPECS_EX, tls13.join(","));
  return layered;
}

function onePerKeyType(identities: readonly Identity[]): Identity[] {
  const seen = new Set<string>();
  const out: Identity[] = [];
  for (const identity of identities) {
    const type = identity.key.asymmetricKeyType ?? "unknown";
    if (seen.has(type)) continue;
    seen.add(type);
    out.push(identity);
  }
  return out;
}

function warnAboutRejectUnauthorized(): void {
  if (warnedRejectUnauthorized || process.env["NODE_TLS_REJECT_UNAUTHORIZED"] !== "0") return;
  warnedRejectUnauthorized = true;
  process.emitWarning(
    "NODE_TLS_REJECT_UNAUTHORIZED=0 is set: it turns off certificate verification for node:tls users in this process. gskit-tls ignores it and validates as configured; use GSK_SERVER_AUTH_PASSTHRU explicitly where validation must not fail the handshake.",
    { code: "GSKIT_TLS_REJECT_UNAUTHORIZED" },
  );
}
