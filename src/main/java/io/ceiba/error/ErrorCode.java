package io.ceiba.error;

/** Every error code Ceiba puts in a JSON error body, with the HTTP status it goes out with. */
public enum ErrorCode {
  // edge
  UNKNOWN_HOST(404),
  /** The service has routes and none takes the request's method and path. */
  NO_ROUTE(404),
  /** A request path the edge does not normalise safely (encoded '/', '..' above the root, bad '%'). */
  INVALID_PATH(400),
  NO_HEALTHY_BACKEND(503),
  BAD_GATEWAY(502),
  /** A TLS backend's certificate was refused (unknown CA, wrong name, expired) or the handshake failed. */
  UPSTREAM_TLS_FAILED(502),
  /** The backend's connection broke after the request went out, before any byte of an answer: not replayed. */
  UPSTREAM_CONNECTION_BROKEN(502),
  UPSTREAM_TIMEOUT(504),
  HEADERS_TOO_LARGE(431),
  BODY_TOO_LARGE(413),
  BAD_REQUEST(400),
  // access
  MISSING_KEY(401),
  INVALID_KEY(401),
  KEY_REVOKED(403),
  KEY_EXPIRED(403),
  PLAN_REQUIRED(403),
  RATE_LIMITED(429),
  QUOTA_EXCEEDED(429),
  /** The plan's credit balance does not cover the request's cost (402 Payment Required). */
  CREDITS_EXHAUSTED(402),
  AUTH_UNAVAILABLE(503),
  // control API
  UNAUTHORIZED(401),
  NOT_FOUND(404),
  METHOD_NOT_ALLOWED(405),
  MALFORMED_JSON(400),
  INVALID_REQUEST(400),
  INVALID_REGISTRY(400),
  STALE_VERSION(409),
  CONFLICT(409),
  UNSUPPORTED_MEDIA_TYPE(415),
  UNAVAILABLE(503),
  INTERNAL(500);

  private final int status;
  private final String code;

  ErrorCode(int status) {
    this.status = status;
    this.code = name().toLowerCase();
  }

  public int status() {
    return status;
  }

  /** The wire form, e.g. {@code no_healthy_backend}. */
  public String code() {
    return code;
  }
}
