package io.ceiba.registry;

import java.util.Objects;
import java.util.stream.Collectors;

/** A compact, human-readable account of a registry, for {@code ceiba validate} and the control API. */
public final class RegistrySummary {

  private RegistrySummary() {
  }

  public static String describe(Registry registry) {
    StringBuilder sb = new StringBuilder()
        .append("version ").append(registry.version()).append(": ")
        .append(registry.http().size()).append(" http, ").append(registry.tcp().size()).append(" tcp services\n");
    for (HttpService s : registry.http().values()) {
      sb.append("  http ").append(s.name()).append("  hosts ").append(String.join(",", s.hosts()))
          .append("  backends ").append(s.backends().size()).append(nodes(s.backends().stream().map(Backend::node).toList()));
      long h2c = s.allBackends().stream().filter(Backend::h2c).count();
      if (h2c > 0) {
        sb.append("  h2c ").append(h2c);
      }
      if (!s.fallback().isEmpty()) {
        sb.append("  fallback ").append(s.fallback().size());
      }
      sb.append("  lb ").append(s.lb().yamlName()).append("  access ").append(s.access().policy().yamlName());
      if (s.cache() != null) {
        sb.append("  cache ").append(io.ceiba.yaml.Durations.format(s.cache().ttl()));
      }
      if (!s.routes().isEmpty()) {
        sb.append("  routes ").append(s.routes().list().size()).append(" (classes ")
            .append(String.join(",", s.routes().list().stream().map(Route::className).distinct().toList())).append(')');
      }
      sb.append('\n');
    }
    for (TcpService s : registry.tcp().values()) {
      sb.append("  tcp ").append(s.name()).append("  listen ").append(s.listen())
          .append("  backends ").append(s.backends().size()).append(nodes(s.backends().stream().map(TcpBackend::node).toList()))
          .append("  health ").append(s.health().kind().yamlName()).append('\n');
    }
    return sb.toString();
  }

  private static String nodes(java.util.List<String> nodes) {
    String list = nodes.stream().filter(Objects::nonNull).distinct().sorted().collect(Collectors.joining(","));
    return list.isEmpty() ? "" : " (on " + list + ")";
  }
}
