/**
 * The opt-in path (`GSKX_STRICT_EOF`, `GSKX_KEEP_SOCKET_OPEN`): a gate stream between the TLS
 * socket and the TCP socket. On node:tls's native path a close_notify and a bare TCP FIN both
 * surface as `'end'`, and ending TLS always ends TCP; the gate sees TCP itself, so it can tell the
 * two apart and can close TLS while TCP stays open for plaintext (FTPS `CCC`).
 *
 * It feeds the TLS socket one whole record at a time and stops at close_notify, so plaintext the
 * peer sends right after its close_notify (often in the same TCP segment) is kept, not swallowed
 * by OpenSSL, and handed back to the TCP socket with `unshift`.
 *
 * Costs: every byte crosses a JS stream (JSStreamSocket) instead of the native handle.
 * Internal used: `_readableState.ended` of the TLS socket, set synchronously when TLS reads
 * close_notify (no public getter exposes SSL_get_shutdown).
 */
import { Duplex } from "node:stream";

const RECORD_HEADER = 5;

class Gate extends Duplex {
  attached = true;
  /** Bytes received but not yet fed to TLS (a partial record, or plaintext after close_notify). */
  pending: Buffer = Buffer.alloc(0);
  tlsEnded: () => boolean = () => false;
  onTcpEnd: () => void = () => undefined;

  constructor(private readonly raw: Duplex) {
    super({ allowHalfOpen: true });
    raw.on("data", this.onData);
    raw.on("end", this.onEnd);
  }

  private readonly onData = (data: Buffer): void => {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    this.feed();
  };

  private readonly onEnd = (): void => {
    this.onTcpEnd();
    this.push(null);
  };

  private feed(): void {
    while (this.attached && !this.tlsEnded() && this.pending.length >= RECORD_HEADER) {
      const length = RECORD_HEADER + this.pending.readUInt16BE(3);
      if (this.pending.length < length) break;
      const record = this.pending.subarray(0, length);
      this.pending = this.pending.subarray(length);
      if (!this.push(record)) this.raw.pause();
    }
  }

  override _read(): void {
    if (this.attached) this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.attached) this.raw.write(chunk, callback);
    else callback(new Error("the TLS layer is detached from the socket"));
  }

  override _final(callback: (error?: Error | null) => void): void {
    // close_notify has been written through _write; the TCP FIN is the application's decision.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(error);
  }

  detach(): Duplex {
    if (this.attached) {
      this.attached = false;
      this.raw.off("data", this.onData);
      this.raw.off("end", this.onEnd);
      this.raw.pause();
      if (this.pending.length > 0) {
        this.raw.unshift(this.pending);
        this.pending = Buffer.alloc(0);
      }
    }
    return this.raw;
  }
}

export class EofWatch {
  readonly gate: Gate;
  /** After end of stream: true if the peer sent close_notify, false for a bare FIN. */
  closeNotify: boolean | undefined;
  private tls: Duplex | undefined;

  constructor(private readonly raw: Duplex) {
    this.gate = new Gate(raw);
    // Registered before the TLS socket exists, so it runs before TLS hears of the TCP end.
    this.gate.onTcpEnd = () => {
      if (this.closeNotify === undefined) this.closeNotify = this.tlsEnded();
    };
  }

  attach(tls: Duplex): void {
    this.tls = tls;
    this.gate.tlsEnded = () => this.tlsEnded();
    tls.on("end", () => {
      if (this.closeNotify === undefined) this.closeNotify = true;
    });
  }

  private tlsEnded(): boolean {
    return (this.tls as unknown as { _readableState?: { ended?: boolean } } | undefined)?._readableState?.ended === true;
  }

  /**
   * Sends close_notify. With `keepOpen` the TCP socket stays open (and keeps any plaintext that
   * followed the peer's close_notify); otherwise TCP is ended too.
   */
  async closeTls(tls: Duplex, keepOpen: boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      timer.unref();
      tls.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.gate.detach();
    tls.destroy();
    if (!keepOpen) this.raw.end();
  }
}
