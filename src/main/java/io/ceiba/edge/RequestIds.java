package io.ceiba.edge;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Request ids: a client's, when it is a plain one; else one the edge makes. */
final class RequestIds {

  /** Longest client-sent id kept: a UUID is 36, a W3C trace id 32, a Zipkin/B3 pair 49. */
  static final int MAX_LENGTH = 128;

  private RequestIds() {
  }

  /**
   * The client's {@code X-Request-Id} when it is 1 to {@link #MAX_LENGTH} characters of {@code A-Z a-z 0-9 . _ : - + / =}
   * (enough for UUIDs, trace ids and base64); else null, and the edge makes one. It goes into log lines, usage
   * rows and upstream headers: no spaces, quotes, control characters or line breaks may ride along.
   */
  static String fromClient(String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
      return null;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "._:-+/=".indexOf(c) >= 0;
      if (!plain) {
        return null;
      }
    }
    return value;
  }

  /**
   * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Time-ordered, so the usage table's
   * primary key grows at one end instead of taking inserts all over its pages.
   */
  static String next() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long high = (System.currentTimeMillis() << 16) | 0x7000L | (r.nextInt() & 0x0FFFL);
    long low = (r.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low).toString();
  }
}
