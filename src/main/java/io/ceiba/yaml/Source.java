package io.ceiba.yaml;

/** Where a value came from: a file and line, or an override such as an environment variable. */
public record Source(String file, int line) {

  public static Source override(String origin) {
    return new Source(origin, 0);
  }
}
