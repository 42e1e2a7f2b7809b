package io.ceiba;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.TimeoutException;

/** Turns why a node did not start into the one line an operator reads: what failed, and where to look. */
final class StartFailures {

  private StartFailures() {
  }

  static String describe(Throwable failure) {
    Throwable cause = failure;
    // the chain's first message that says something; file-system exceptions carry only a path, so name their kind
    while (cause.getCause() != null && cause.getCause() != cause && (cause.getMessage() == null || cause.getMessage().isBlank())) {
      cause = cause.getCause();
    }
    if (cause instanceof TimeoutException) {
      return "not started within 5 minutes (a cluster member or database that never answered?); see the lines above";
    }
    String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage().lines().findFirst().orElse("");
    Throwable root = cause;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String kind = null;
    if (root instanceof FileAlreadyExistsException e) {
      kind = "a file is in the way of a directory: " + e.getFile();
    } else if (root instanceof AccessDeniedException e) {
      kind = "permission denied: " + e.getFile();
    } else if (root instanceof NoSuchFileException e) {
      kind = "no such file or directory: " + e.getFile();
    } else if (root instanceof FileSystemException e) {
      kind = e.getMessage();
    }
    return kind == null || message.contains(kind) ? message : message + " (" + kind + ")";
  }
}
