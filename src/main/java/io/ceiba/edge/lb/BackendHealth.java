package io.ceiba.edge.lb;

/** Whether a backend of a service may take traffic, as this edge instance knows it. */
@FunctionalInterface
public interface BackendHealth {

  /**
   * @param service service name (health is per service: services may check the same URL on other paths)
   * @param url     backend URL as written in the registry
   */
  boolean isUp(String service, String url);
}
