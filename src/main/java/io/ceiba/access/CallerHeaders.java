package io.ceiba.access;

import io.netty.util.AsciiString;

/**
 * The values of the identity headers the edge sends upstream ({@code X-Ceiba-Project}, {@code X-Ceiba-Key-Id},
 * {@code X-Ceiba-Plan}), made once per cached key record and plan rather than once per request. As
 * {@link AsciiString}s they are copied into the request's bytes whole; a {@code String} is encoded a character at a
 * time on every request.
 *
 * @param plan null when no plan applied
 */
public record CallerHeaders(CharSequence project, CharSequence keyId, CharSequence plan) {

  /** A key's headers when no plan applies. */
  static CallerHeaders of(KeyRecord key) {
    return new CallerHeaders(AsciiString.of(key.projectId()), AsciiString.of(key.keyId()), null);
  }

  /** The same key's headers for a request admitted under {@code plan}. */
  CallerHeaders under(Plan plan) {
    return new CallerHeaders(project, keyId, AsciiString.of(plan.name()));
  }
}
