package io.ceiba.edge.http;

import io.ceiba.config.Cidr;
import java.util.List;

/** The peers {@code edge.trusted_proxies} names: their forwarding headers are believed. */
public final class TrustedProxies {

  public static final TrustedProxies NONE = new TrustedProxies(List.of());

  private final Cidr[] blocks;

  public TrustedProxies(List<Cidr> blocks) {
    this.blocks = blocks.toArray(Cidr[]::new);
  }

  public boolean isEmpty() {
    return blocks.length == 0;
  }

  /** Whether the address (bytes of {@link Cidr#bytesOf}) lies in a trusted block. */
  public boolean trusts(byte[] address) {
    for (Cidr block : blocks) {
      if (block.contains(address)) {
        return true;
      }
    }
    return false;
  }
}
