package io.ceiba.edge.cache;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import java.util.List;

/**
 * A whole upstream response as the cache keeps it: never changed once stored, and shared by every edge
 * instance of the node, which copy it onto their own responses.
 *
 * @param statusMessage  null when it is the standard reason phrase
 * @param headers        end-to-end headers of the upstream response, without {@code Age} and without anything
 *                       per request ({@code X-Request-Id}, {@code X-Ceiba-Node}, rate-limit headers)
 * @param vary           lower-cased request header names the response varies on; empty when none
 * @param storedAtNanos  {@link System#nanoTime()} when stored
 * @param initialAge     seconds the response was already old when it came ({@code Age} from upstream)
 * @param lifetimeNanos  how long after storing it is fresh
 */
public record CachedResponse(int status, String statusMessage, MultiMap headers, Buffer body, List<String> vary,
    long storedAtNanos, long initialAge, long lifetimeNanos) implements EdgeCache.Stored {

  /** Per-entry bookkeeping beyond body and headers (key, record, map nodes), roughly. */
  private static final int OVERHEAD = 256;

  public CachedResponse {
    vary = List.copyOf(vary);
  }

  boolean isFresh(long nowNanos) {
    return nowNanos - storedAtNanos < lifetimeNanos;
  }

  /** The {@code Age} to send with a hit, in whole seconds. */
  public long ageSeconds(long nowNanos) {
    return initialAge + (nowNanos - storedAtNanos) / 1_000_000_000L;
  }

  @Override
  public int weight() {
    int headerBytes = 0;
    for (var header : headers) {
      headerBytes += header.getKey().length() + header.getValue().length() + 32;
    }
    return OVERHEAD + headerBytes + body.length();
  }
}
