package io.ceiba.error;

import io.vertx.core.json.JsonObject;

/**
 * A failure that knows its HTTP status and error code. Stackless: it describes an outcome, not a bug,
 * and is created on request paths where a stack trace would cost more than it tells.
 */
public class CeibaException extends RuntimeException {

  private final ErrorCode code;
  private final transient JsonObject details;

  public CeibaException(ErrorCode code, String message) {
    this(code, message, null);
  }

  public CeibaException(ErrorCode code, String message, JsonObject details) {
    super(message, null, false, false);
    this.code = code;
    this.details = details;
  }

  public ErrorCode code() {
    return code;
  }

  /** Extra fields for the error body (e.g. the list of registry problems), or null. */
  public JsonObject details() {
    return details;
  }
}
