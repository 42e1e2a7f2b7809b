package io.ceiba.control;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The small pure parts of a registry rollback: the request body, and the old registry text given a new version. */
final class RegistryRollback {

  /** The top-level {@code version:} line of a registry (the parser requires it, at column 0). */
  private static final Pattern VERSION_LINE = Pattern.compile("(?m)^version:[ \\t]*\\d+[ \\t]*(#.*)?$");

  private RegistryRollback() {
  }

  /** The {@code to} of a body {@code {"to": VERSION}}. */
  static long target(String body) {
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (DecodeException e) {
      throw new IllegalArgumentException("body must be JSON like {\"to\": 3}, or empty");
    }
    if (!json.fieldNames().equals(java.util.Set.of("to")) || !(json.getValue("to") instanceof Number n) || n.longValue() < 1
        || n.doubleValue() != n.longValue()) {
      throw new IllegalArgumentException("body must be {\"to\": VERSION} with a positive whole VERSION, or empty");
    }
    return n.longValue();
  }

  /** {@code text} with its version line set to {@code version}; comments and everything else as they were. */
  static String withVersion(String text, long version) {
    Matcher m = VERSION_LINE.matcher(text);
    if (!m.find()) {
      throw new IllegalArgumentException("the recorded registry has no top-level 'version:' line");
    }
    return text.substring(0, m.start()) + "version: " + version + text.substring(m.end());
  }
}
