package io.ceiba.config;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** What a node does. One jar, any mix; {@code combined} means every role this build has. */
public enum Role {
  EDGE(true, false),
  AUTH(true, true),
  USAGE(true, true),
  HEALTH(true, false),
  CONTROL(true, true);

  /** Name that stands for every role this build ships. */
  public static final String COMBINED = "combined";

  private final boolean available;
  private final boolean needsPostgres;

  Role(boolean available, boolean needsPostgres) {
    this.available = available;
    this.needsPostgres = needsPostgres;
  }

  /** Whether this build ships the role's verticles; roles still to come are refused when named. */
  public boolean available() {
    return available;
  }

  public boolean needsPostgres() {
    return needsPostgres;
  }

  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<Role> byName(String name) {
    return Arrays.stream(values()).filter(r -> r.configName().equals(name)).findFirst();
  }

  public static Set<Role> availableRoles() {
    return Arrays.stream(values()).filter(Role::available).collect(Collectors.toCollection(() -> EnumSet.noneOf(Role.class)));
  }

  public static String knownNames() {
    return Arrays.stream(values()).map(Role::configName).collect(Collectors.joining(", ")) + ", " + COMBINED;
  }
}
