package io.ceiba.yaml;

import java.util.List;
import java.util.stream.Collectors;

/** A document (node config, registry) was rejected whole; carries every problem found. */
public final class InvalidDocumentException extends RuntimeException {

  private final transient List<Problem> problems;

  public InvalidDocumentException(String what, List<Problem> problems) {
    super(what + " is invalid (" + problems.size() + (problems.size() == 1 ? " problem" : " problems") + "):\n  "
        + problems.stream().map(Problem::toString).collect(Collectors.joining("\n  ")), null, false, false);
    this.problems = List.copyOf(problems);
  }

  public List<Problem> problems() {
    return problems;
  }
}
