package io.ceiba.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where the service registry lives and how often the file is checked for changes.
 *
 * @param watchInterval how often the file is polled; polling also catches atomic renames and symlink swaps
 */
public record RegistryConfig(Path file, Duration watchInterval) {

  public static final String DEFAULT_FILE = "registry.yaml";
  /** Used when no config file is given: the example registry of the source tree. */
  public static final String DEFAULT_FILE_WITHOUT_CONFIG = "node-configs/registry.yaml";
  public static final Duration DEFAULT_WATCH_INTERVAL = Duration.ofSeconds(1);
}
