package io.ceiba.cli.admin;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** Pieces of {@code /v1} paths from what an operator typed. */
final class Paths {

  private Paths() {
  }

  /** One path segment, percent-encoded: an id with a '/' or a space stays one segment and the server refuses it. */
  static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** One query parameter value. */
  static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
