package io.ceiba.yaml;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem of a document so that an operator sees them all at once, not one per run. */
public final class Problems {

  private final List<Problem> list = new ArrayList<>();

  public void add(Source source, String field, String reason) {
    list.add(new Problem(source.file(), source.line(), field, reason));
  }

  public void add(Problem problem) {
    list.add(problem);
  }

  public boolean isEmpty() {
    return list.isEmpty();
  }

  public List<Problem> list() {
    return List.copyOf(list);
  }

  /** Throws {@link InvalidDocumentException} listing every problem, if there is any. */
  public void throwIfAny(String what) {
    if (!list.isEmpty()) {
      throw new InvalidDocumentException(what, list());
    }
  }
}
