package io.ceiba.registry;

/**
 * One HTTP backend of a service.
 *
 * @param url    normalized URL ({@code http://127.0.0.1:9001}), the backend's identity in health and metrics
 * @param scheme {@code http}, {@code https} or {@code h2c} (HTTP/2 over cleartext with prior knowledge)
 * @param node   the node it lives on, or null when it belongs to no node (reached directly from any node)
 * @param weight relative share for {@code lb: weighted}, 1..1000
 */
public record Backend(String url, String scheme, String host, int port, String node, int weight) {

  /** Spoken to in HTTP/2 over cleartext, with prior knowledge (no upgrade round trip). */
  public boolean h2c() {
    return "h2c".equals(scheme);
  }

  public boolean tls() {
    return "https".equals(scheme);
  }
}
