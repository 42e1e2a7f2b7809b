package io.ceiba.control;

import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Typed reads of a JSON request body with errors an operator can act on: {@code malformed_json} for
 * what does not parse, {@code invalid_request} naming the field for a wrong type, a missing field or an
 * unknown one (a typo must not be silently ignored).
 */
final class JsonInput {

  private final JsonObject json;
  private final String where;

  private JsonInput(JsonObject json, String where) {
    this.json = json;
    this.where = where;
  }

  static JsonInput parse(String body, Set<String> allowed) {
    if (body == null || body.isBlank()) {
      throw new CeibaException(ErrorCode.MALFORMED_JSON, "request body is empty; expected a JSON object");
    }
    Object value;
    try {
      value = io.vertx.core.json.Json.decodeValue(body);
    } catch (DecodeException e) {
      // the parser's message quotes the body, which may hold a key: say only where it broke
      throw new CeibaException(ErrorCode.MALFORMED_JSON, "request body is not valid JSON" + location(e.getMessage()));
    }
    if (!(value instanceof JsonObject object)) {
      throw new CeibaException(ErrorCode.MALFORMED_JSON, "request body must be a JSON object");
    }
    return new JsonInput(object, "").requireKnown(allowed);
  }

  JsonInput requireKnown(Set<String> allowed) {
    for (String field : json.fieldNames()) {
      if (!allowed.contains(field)) {
        throw invalid(field, "unknown field (known: " + String.join(", ", allowed.stream().sorted().toList()) + ")");
      }
    }
    return this;
  }

  boolean has(String field) {
    return json.getValue(field) != null;
  }

  String string(String field, boolean required) {
    Object v = json.getValue(field);
    if (v == null) {
      if (required) {
        throw invalid(field, "is required");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw invalid(field, "must be a string");
    }
    return s;
  }

  /** A name: 1-64 characters of lower-case letters, digits, '-' and '_', starting with a letter or digit. */
  String name(String field) {
    String s = string(field, true);
    if (!s.matches("[a-z0-9][a-z0-9_-]{0,63}")) {
      throw invalid(field, "must be 1-64 characters of a-z, 0-9, '-' and '_', got '" + clip(s) + "'");
    }
    return s;
  }

  long positiveLong(String field) {
    return wholeLong(field, 1, "must be a positive whole number");
  }

  /** A whole number of at least 0. */
  long nonNegativeLong(String field) {
    return wholeLong(field, 0, "must be a whole number, 0 or more");
  }

  private long wholeLong(String field, long min, String problem) {
    Object v = json.getValue(field);
    if (v == null) {
      throw invalid(field, "is required");
    }
    if (!(v instanceof Number n) || n.doubleValue() != n.longValue() || n.longValue() < min) {
      throw invalid(field, problem);
    }
    return n.longValue();
  }

  Instant instant(String field) {
    String s = string(field, false);
    if (s == null) {
      return null;
    }
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw invalid(field, "must be a UTC timestamp such as 2027-01-01T00:00:00Z, got '" + clip(s) + "'");
    }
  }

  /** A nested object, or null when absent; {@code allowed} null: any field (the caller checks them). */
  JsonInput object(String field, Set<String> allowed) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonObject o)) {
      throw invalid(field, "must be an object");
    }
    JsonInput nested = new JsonInput(o, where + field + ".");
    return allowed == null ? nested : nested.requireKnown(allowed);
  }

  /** The object's field names. */
  Set<String> fields() {
    return json.fieldNames();
  }

  /** A list of strings, or null when absent. */
  List<String> strings(String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray a)) {
      throw invalid(field, "must be a list of strings");
    }
    List<String> out = new ArrayList<>();
    for (Object o : a) {
      if (!(o instanceof String s) || s.isBlank()) {
        throw invalid(field, "must be a list of non-empty strings");
      }
      out.add(s);
    }
    return out;
  }

  /** A list of JSON objects, or null when absent; the caller checks each one's fields. */
  List<JsonObject> objects(String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray a)) {
      throw invalid(field, "must be a list of objects");
    }
    List<JsonObject> out = new ArrayList<>();
    for (Object o : a) {
      if (!(o instanceof JsonObject object)) {
        throw invalid(field + "[" + out.size() + "]", "must be an object");
      }
      out.add(object);
    }
    return out;
  }

  CeibaException invalid(String field, String reason) {
    return invalidField(where + field, reason);
  }

  /** {@code invalid_request} naming the field (its full path, e.g. {@code events[3].status}). */
  static CeibaException invalidField(String field, String reason) {
    return new CeibaException(ErrorCode.INVALID_REQUEST, field + ": " + reason, new JsonObject().put("field", field));
  }

  /** A value quoted in an error message, cut to 80 characters. */
  static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }

  private static String location(String parserMessage) {
    var m = java.util.regex.Pattern.compile("line: (\\d+), column: (\\d+)").matcher(parserMessage == null ? "" : parserMessage);
    return m.find() ? " (line " + m.group(1) + ", column " + m.group(2) + ")" : "";
  }
}
