package io.ceiba.edge.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import java.util.List;

/**
 * How a request's body is delimited, checked before anything else (RFC 9112 §6). Only two shapes pass: a
 * {@code Content-Length} of plain digits, or {@code Transfer-Encoding: chunked} alone. Anything else is where
 * a proxy and an origin can disagree about where one request ends — the edge refuses it and closes the
 * connection, so bytes pipelined behind it are never read as a request of their own.
 *
 * <p>Netty reads {@code Transfer-Encoding: gzip} as "no body" (the body then parses as the next request) and
 * {@code chunked, gzip} as chunked (RFC 9112 reads it until the connection closes). The edge does not decode
 * transfer codings, so {@code gzip, chunked} is refused as well: simplest rule, the one coding it forwards.
 */
public final class MessageFraming {

  private MessageFraming() {
  }

  /** Why the request's framing is refused, or null when it is one of the two plain shapes. */
  public static String problem(MultiMap headers, HttpVersion version) {
    List<String> codings = headers.getAll(HttpHeaders.TRANSFER_ENCODING);
    List<String> lengths = headers.getAll(HttpHeaders.CONTENT_LENGTH);
    if (!codings.isEmpty()) {
      if (!lengths.isEmpty()) {
        return "both Content-Length and Transfer-Encoding";
      }
      if (version == HttpVersion.HTTP_1_0) {
        return "Transfer-Encoding in an HTTP/1.0 request"; // RFC 9112 §6.1: faulty framing
      }
      if (codings.size() != 1 || !isChunked(codings.get(0))) {
        return "Transfer-Encoding other than chunked";
      }
      return null;
    }
    for (String length : lengths) {
      if (!isDigits(length)) {
        return "invalid Content-Length";
      }
    }
    if (lengths.size() > 1) {
      return "more than one Content-Length";
    }
    return null;
  }

  private static boolean isChunked(String value) {
    int from = 0;
    int to = value.length();
    while (from < to && (value.charAt(from) == ' ' || value.charAt(from) == '\t')) {
      from++;
    }
    while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
      to--;
    }
    return to - from == 7 && value.regionMatches(true, from, "chunked", 0, 7);
  }

  /** 1 to 18 digits: a length no {@code long} overflows on, and nothing a parser could read two ways. */
  private static boolean isDigits(String value) {
    int n = value.length();
    if (n == 0 || n > 18) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }
}
