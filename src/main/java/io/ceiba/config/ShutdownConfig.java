package io.ceiba.config;

import java.time.Duration;

/** @param grace how long in-flight work may take to finish after SIGTERM before the node exits anyway */
public record ShutdownConfig(Duration grace) {

  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);
}
