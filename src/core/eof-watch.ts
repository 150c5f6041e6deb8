/**
 * The opt-in path (`GSKX_STRICT_EOF`, `GSKX_KEEP_SOCKET_OPEN`): a gate stream between the TLS
 * socket and the TCP socket. On node:tls's native path a close_notify and a bare TCP FIN both
 * surface as `'end'`, and ending TLS always ends TCP; the gate sees TCP itself, so it can tell the
 * two apart and can close TLS while TCP stays open for plaintext (FTPS `CCC`).
 *
 * It feeds the TLS socket one whole record at a time, and the next one only after TLS has taken
 * the previous one, and stops at close_notify, so plaintext the peer sends right after its
 * close_notify (often in the same TCP segment) is kept, not swallowed by OpenSSL, and handed back
 * to the TCP socket with `unshift`.
 *
 * Costs: every byte crosses a JS stream (JSStreamSocket) instead of the native handle.
 * Internal used: `_readableState.ended` of the TLS socket, set synchronously when TLS reads
 * close_notify (no public getter exposes SSL_get_shutdown).
 */
import { Duplex } from "node:stream";

const RECORD_HEADER = 5;
/** How long closing waits for its close_notify to be written, and for the peer's. */
const CLOSE_GRACE_MS = 2_000;

function completeRecordAt(buffer: Buffer): boolean {
  return buffer.length >= RECORD_HEADER && buffer.length >= RECORD_HEADER + buffer.readUInt16BE(3);
}

class Gate extends Duplex {
  attached = true;
  /** Bytes received but not yet fed to TLS (a partial record, or plaintext after close_notify). */
  pending: Buffer = Buffer.alloc(0);
  tlsEnded: () => boolean = () => false;
  onTcpEnd: () => void = () => undefined;
  private rawEnded = false;
  private endPushed = false;

  constructor(private readonly raw: Duplex) {
    super({ allowHalfOpen: true });
    raw.on("data", this.onData);
    raw.on("end", this.onEnd);
    raw.on("error", this.onError);
    raw.on("close", this.onClose);
  }

  private readonly onData = (data: Buffer): void => {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    this.feed();
    // After close_notify the rest belongs to the application's plaintext; while TLS is not taking
    // records, TCP waits in the kernel rather than here.
    if (this.attached && (this.tlsEnded() || this.readableLength > 0)) this.raw.pause();
  };

  private readonly onEnd = (): void => {
    this.rawEnded = true;
    this.feed();
  };

  /** A reset: TLS must hear of it, or a read would wait for ever. */
  private readonly onError = (error: Error): void => {
    if (!this.attached) return;
    this.rawEnded = true;
    this.onTcpEnd();
    this.destroy(error);
  };

  private readonly onClose = (): void => {
    if (this.rawEnded || !this.attached) return;
    this.rawEnded = true;
    this.feed();
  };

  /**
   * Pushes whole records while TLS takes each one as it is pushed (flowing, outside `_read`), so
   * `tlsEnded()` is exact after each and nothing after a close_notify reaches TLS. A record left
   * queued here is delivered by a later `read()`, which calls `_read` and so this again.
   */
  private feed(): void {
    while (this.attached && !this.endPushed && !this.tlsEnded() && this.readableLength === 0 && completeRecordAt(this.pending)) {
      const length = RECORD_HEADER + this.pending.readUInt16BE(3);
      const record = this.pending.subarray(0, length);
      this.pending = this.pending.subarray(length);
      this.push(record);
    }
    // The FIN goes to TLS only after every record before it, so the verdict sees them all.
    if (this.attached && this.rawEnded && !this.endPushed && this.readableLength === 0 && (this.tlsEnded() || !completeRecordAt(this.pending))) {
      this.endPushed = true;
      this.onTcpEnd();
      this.push(null);
    }
  }

  override _read(): void {
    if (!this.attached) return;
    this.feed();
    if (!this.tlsEnded() && !this.rawEnded) this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.attached) callback(new Error("the TLS layer is detached from the socket"));
    // Writing to a socket the peer ended destroys it with an 'error' that would fire after the
    // gate let go of it, where nothing listens: fail the write here instead.
    else if (!this.raw.writable) callback(Object.assign(new Error("the TCP connection is closed for writing"), { code: "EPIPE" }));
    else this.raw.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // close_notify has been written through _write; the TCP FIN is the application's decision.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(error);
  }

  /**
   * Gives the TCP socket back: unread plaintext is put back in front of it, and it is left
   * waiting for a consumer, so the application's own `on("data")` or `read()` starts it.
   */
  detach(): Duplex {
    if (this.attached) {
      this.attached = false;
      this.raw.off("data", this.onData);
      this.raw.off("end", this.onEnd);
      this.raw.off("error", this.onError);
      this.raw.off("close", this.onClose);
      this.raw.pause();
      // After the TCP socket's 'end' event unshift is refused, and nothing can follow the FIN.
      if (this.pending.length > 0 && !this.raw.readableEnded && !this.raw.destroyed) this.raw.unshift(this.pending);
      this.pending = Buffer.alloc(0);
      (this.raw as { readableFlowing: boolean | null }).readableFlowing = null;
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
    await within(CLOSE_GRACE_MS, (done) => tls.end(done));
    // The peer answers our close_notify with its own (RFC 4217's CCC exchange). Until it arrives
    // TLS must keep reading, or its bytes would reach the application as if they were plaintext.
    if (keepOpen && !this.tlsEnded() && !tls.destroyed) {
      tls.resume();
      await within(CLOSE_GRACE_MS, (done) => {
        tls.once("end", done);
        tls.once("close", done);
        tls.once("error", done);
      });
    }
    this.gate.detach();
    tls.destroy();
    if (keepOpen) return;
    // As on the default path: TCP ends, what still arrives is dropped rather than answered with a
    // reset, and a peer that never closes its side is cut after the grace period.
    const raw = this.raw;
    if (raw.destroyed) return;
    raw.on("data", () => undefined);
    raw.on("error", () => undefined);
    raw.resume();
    raw.end();
    const cut = setTimeout(() => raw.destroy(), CLOSE_GRACE_MS);
    cut.unref();
    raw.once("close", () => clearTimeout(cut));
  }
}

/** Runs `start` and resolves when it calls back or after `ms`, whichever comes first. */
function within(ms: number, start: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    start(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
