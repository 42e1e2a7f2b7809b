package io.ceiba.edge.lb;

/**
 * Whether a backend of a service may take traffic, as this edge instance knows it. A backend is its node plus its
 * URL: {@code http://127.0.0.1:9000} on host1 and on host2 are two backends, up or down each on its own.
 */
@FunctionalInterface
public interface BackendHealth {

  /**
   * @param service service name (health is per service: services may check the same URL on other paths)
   * @param node    the node the backend belongs to ({@code node:} in the registry), or null
   * @param url     backend URL (TCP: {@code host:port}) as the registry has it
   */
  boolean isUp(String service, String node, String url);

  /** The one key of a backend of a service, wherever its health is kept. */
  static String key(String service, String node, String url) {
    return service + ' ' + (node == null ? "" : node) + ' ' + url;
  }
}
