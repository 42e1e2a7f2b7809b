package io.ceiba.edge;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Request ids the edge makes when a request brings none. */
final class RequestIds {

  private RequestIds() {
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
