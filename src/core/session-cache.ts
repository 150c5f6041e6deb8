/**
 * The client-side resumption cache of one environment, as GSKit's session-ID cache: sessions to
 * the same server (address and SNI name) and the same context resume within
 * `GSK_V3_SESSION_TIMEOUT`. Each entry keeps the peer's chain and validation result from the full
 * handshake, because node:tls gives no peer certificate on a resumed session and the library
 * checks the peer name again on every handshake.
 */
import type { X509Certificate } from "node:crypto";

export interface CachedSession {
  readonly session: Buffer;
  readonly chain: readonly X509Certificate[];
  readonly verifyError: string | undefined;
  readonly expires: number;
}

export class SessionCache {
  private readonly entries = new Map<string, CachedSession>();

  constructor(
    private readonly lifetimeSeconds: number,
    private readonly maxEntries: number,
  ) {}

  get enabled(): boolean {
    return this.lifetimeSeconds > 0 && this.maxEntries > 0;
  }

  get(key: string): CachedSession | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, session: Buffer, chain: readonly X509Certificate[], verifyError: string | undefined): void {
    if (!this.enabled) return;
    this.entries.delete(key);
    this.entries.set(key, { session, chain, verifyError, expires: Date.now() + this.lifetimeSeconds * 1000 });
    // Map keeps insertion order: the first key is the least recently stored.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
