package io.ceiba.edge.cache;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/**
 * A copy of a cacheable response taken while it streams to the client (which is never held back for it).
 * Owned by one exchange on one event loop; dropped as soon as the body outgrows the declared length.
 */
public final class CacheFill {

  /**
   * What is known of the response before its body.
   *
   * @param statusMessage  null for the standard reason phrase
   * @param headers        end-to-end headers to store (no {@code Age}, nothing per request)
   * @param declaredLength its {@code Content-Length}, at most the per-entry cap
   * @param initialAge     its {@code Age} in seconds
   */
  public record Head(int status, String statusMessage, MultiMap headers, long declaredLength, long initialAge, long lifetimeNanos) {
  }

  private final Head head;
  private final Buffer body;

  public CacheFill(Head head) {
    this.head = head;
    this.body = Buffer.buffer((int) head.declaredLength());
  }

  /** @return false when the body no longer fits: the copy is to be dropped */
  public boolean append(Buffer chunk) {
    if (body.length() + chunk.length() > head.declaredLength()) {
      return false;
    }
    body.appendBuffer(chunk);
    return true;
  }

  /** Whether the whole declared body has come. */
  public boolean isComplete() {
    return body.length() == head.declaredLength();
  }

  /** The response to store, or null when less came than was declared. */
  public CachedResponse complete(long nowNanos) {
    if (!isComplete()) {
      return null;
    }
    return new CachedResponse(head.status(), head.statusMessage(), head.headers(), body, CacheRules.vary(head.headers()), nowNanos,
        head.initialAge(), head.lifetimeNanos());
  }
}
