package io.ceiba.registry;

import java.util.Map;

/**
 * One immutable, validated version of the service registry: where services live. Built by
 * {@link RegistryParser}, swapped whole by the node, shared read-only between verticles.
 *
 * @param version monotonically increasing; a node never applies a lower version than it has
 * @param http    HTTP services by name, in document order
 * @param tcp     TCP services by name, in document order
 * @param text    the exact YAML it was parsed from (written to files and distributed as is)
 * @param sha256  hex digest of {@code text}; equal digests mean the same registry
 */
public record Registry(long version, Map<String, HttpService> http, Map<String, TcpService> tcp, String text, String sha256) {

  public Registry {
    http = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(http));
    tcp = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(tcp));
  }

  /** An empty registry at version 0: what a node has before any registry was loaded. */
  public static final Registry EMPTY = new Registry(0, Map.of(), Map.of(), "", "");

  public boolean isEmpty() {
    return version == 0 && http.isEmpty() && tcp.isEmpty();
  }
}
