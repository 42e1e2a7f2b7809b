package io.ceiba.registry;

import java.time.Duration;

/** Edge cache of GET/HEAD responses for {@code ttl}. */
public record CacheSpec(Duration ttl) {
}
