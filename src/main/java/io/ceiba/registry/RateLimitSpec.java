package io.ceiba.registry;

/** @param perIp limit per client IP, or null for none */
public record RateLimitSpec(Rate perIp) {

  public static final RateLimitSpec NONE = new RateLimitSpec(null);
}
