package io.ceiba.edge.accesslog;

/** What an access line is made of, in order: {@code key=value} pairs in text, fields of their own in JSON. */
public interface AccessFields {

  /** A text value; it may hold anything a client sent (it is escaped where needed). */
  void field(String key, String value);

  /** A number: unquoted in JSON. */
  void field(String key, long value);

  /** A field present only when it holds, as {@code key=true} (a JSON boolean). */
  void flag(String key);
}
