package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RequestPathsTest {

  private static String path(String target) {
    RequestPaths.Normalised n = RequestPaths.normalise(target);
    return n.refused() ? "refused: " + n.problem() : n.path();
  }

  @Test
  void should_resolve_dot_segments_literal_and_encoded_so_no_rule_is_skipped() {
    assertThat(path("/v1/../admin")).isEqualTo("/admin");
    assertThat(path("/v1/%2e%2e/admin")).isEqualTo("/admin");
    assertThat(path("/v1/%2E%2e/admin")).isEqualTo("/admin");
    assertThat(path("/v1/.%2e/admin")).isEqualTo("/admin");
    assertThat(path("/v1/./users/./7")).isEqualTo("/v1/users/7");
    assertThat(path("/v1/users/..")).isEqualTo("/v1/");
    assertThat(path("/v1/users/.")).isEqualTo("/v1/users/");
    assertThat(path("/v1/.hidden/..x")).isEqualTo("/v1/.hidden/..x"); // not dot segments
  }

  @Test
  void should_merge_duplicate_slashes_and_decode_unreserved_characters_only() {
    assertThat(path("//v1///users//7")).isEqualTo("/v1/users/7");
    assertThat(path("/%61dmin")).isEqualTo("/admin");
    assertThat(path("/v1/a%7eb%2D")).isEqualTo("/v1/a~b-");
    assertThat(path("/v1/a%20b%c3%a9")).isEqualTo("/v1/a%20b%C3%A9"); // reserved and non-ASCII stay encoded, hex upper-cased
    assertThat(RequestPaths.normalise("/v1//x?a=%2e%2e/..&b").target()).isEqualTo("/v1/x?a=%2e%2e/..&b"); // the query is left alone
    RequestPaths.Normalised plain = RequestPaths.normalise("/v1/users/7?x=1");
    assertThat(plain.path()).isEqualTo("/v1/users/7");
    assertThat(plain.target()).isEqualTo("/v1/users/7?x=1");
  }

  @Test
  void should_refuse_what_a_backend_could_read_as_another_path() {
    assertThat(path("/../admin")).startsWith("refused: '..' climbs above");
    assertThat(path("/v1/%2e%2e/%2e%2e/admin")).startsWith("refused: '..' climbs above");
    assertThat(path("/v1/public%2F..%2Fadmin")).startsWith("refused: encoded '/'");
    assertThat(path("/v1/public%2f..%2fadmin")).startsWith("refused: encoded '/'");
    assertThat(path("/v1/public%5C..%5Cadmin")).startsWith("refused: encoded '\\'");
    assertThat(path("/v1\\..\\admin")).startsWith("refused: '\\'");
    assertThat(path("/v1/%00")).startsWith("refused: encoded control");
    assertThat(path("/v1/%zz")).startsWith("refused: '%' not followed");
    assertThat(path("/v1/%2")).startsWith("refused: '%' not followed");
  }

  /**
   * The class of defect, not examples: for many generated paths made of slashes, dots, encoded dots and slashes,
   * backslashes and names, a path the edge accepts is in the normal form (no dot segment, no '//', no encoded
   * unreserved character; normalising it again changes nothing), and what a backend that percent-decodes and resolves
   * dot segments itself makes of the original request is exactly what the edge matched routes against.
   */
  @Test
  void should_match_what_a_decoding_backend_serves_for_any_generated_path() {
    String[] pieces = {"/", "/", "//", ".", "..", "%2e", "%2E", "%2e%2e", ".%2e", "%2f", "%2F", "%5c", "\\", "admin", "v1", "%61",
        "a", "%41", "%20", "%7e", "~", "-", "%", "%g1", "%c3%a9", "users", "?", "x=..", "%00"};
    Random random = new Random(21);
    int accepted = 0;
    int refused = 0;
    for (int n = 0; n < 200_000; n++) {
      StringBuilder target = new StringBuilder("/");
      int length = 1 + random.nextInt(10);
      for (int i = 0; i < length; i++) {
        target.append(pieces[random.nextInt(pieces.length)]);
      }
      String raw = target.toString();
      RequestPaths.Normalised normal = RequestPaths.normalise(raw);
      if (normal.refused()) {
        refused++;
        continue;
      }
      accepted++;
      String p = normal.path();
      assertThat(p).as(raw).startsWith("/").doesNotContain("//").doesNotContain("\\");
      assertThat(("/" + p + "/").contains("/./") || ("/" + p + "/").contains("/../")).as(raw).isFalse();
      assertThat(RequestPaths.normalise(normal.target()).target()).as(raw).isEqualTo(normal.target());
      assertThat(RequestPaths.normalise(p).path()).as(raw).isEqualTo(p);
      String rawPath = raw.indexOf('?') >= 0 ? raw.substring(0, raw.indexOf('?')) : raw;
      assertThat(backendView(rawPath)).as(raw).isEqualTo(backendView(p)).isEqualTo(decode(p));
    }
    assertThat(accepted).isGreaterThan(10_000);
    assertThat(refused).isGreaterThan(10_000);
  }

  /** A backend's reading: percent-decode once, '\' as '/', resolve dot segments (clamped at the root), merge slashes. */
  private static String backendView(String rawPath) {
    String decoded = decode(rawPath).replace('\\', '/');
    Deque<String> stack = new ArrayDeque<>();
    String[] parts = decoded.split("/", -1);
    boolean trailing = false;
    for (int i = 1; i < parts.length; i++) {
      String s = parts[i];
      trailing = s.isEmpty() || s.equals(".") || s.equals("..");
      if (s.equals("..")) {
        stack.pollLast();
      } else if (!s.isEmpty() && !s.equals(".")) {
        stack.addLast(s);
      }
    }
    return "/" + String.join("/", stack) + (trailing && !stack.isEmpty() ? "/" : "");
  }

  private static String decode(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' && i + 2 < s.length() && RequestPaths.hexPair(s, i + 1) >= 0) {
        out.write(RequestPaths.hexPair(s, i + 1));
        i += 2;
      } else {
        out.write(c);
      }
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }
}
