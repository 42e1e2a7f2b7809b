package io.ceiba.yaml;

/**
 * One thing wrong with an input document: where it is (file and line), which field, and why.
 *
 * @param file   the file name, or the origin of an override such as {@code env CEIBA_EDGE_PORT}
 * @param line   1-based line, or 0 when the problem has no line (a missing file, an override)
 * @param field  dotted path of the field, e.g. {@code http.whoami.backends[0].url}; empty for the whole document
 * @param reason what is wrong, phrased for an operator
 */
public record Problem(String file, int line, String field, String reason) {

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(file);
    if (line > 0) {
      sb.append(':').append(line);
    }
    sb.append(": ");
    if (!field.isEmpty()) {
      sb.append(field).append(": ");
    }
    return sb.append(reason).toString();
  }
}
