package io.ceiba.edge.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The edge's own access lines: the layout and fields of the logback path they replace (text pattern of logback.xml,
 * logstash encoder of logback-json.xml), and no way for a value to leave its field or its line.
 */
class AccessLineTest {

  /** 2026-12-07T16:36:18.185Z */
  private static final long MILLIS = 1796661378185L;

  private static void typical(AccessFields f, String path, String host, String error) {
    f.field("request_id", "01a2515c-fb84-7937-9d3e-c2a2892fb684");
    f.field("node", "node1");
    f.field("client", "127.0.0.1");
    f.field("method", "GET");
    f.field("path", path);
    f.field("host", host);
    f.field("service", "api");
    f.field("route", "GET /v1/users/{id}");
    f.field("backend", "http://127.0.0.1:9000");
    f.field("status", 200);
    f.field("bytes_in", 0);
    f.field("bytes_out", 1234);
    f.field("ms", 3);
    f.flag("websocket");
    f.field("error", error);
  }

  private static String line(AccessLine.Format format, ZoneId zone, Consumer<AccessFields> fields) {
    AccessLine line = new AccessLine(format, zone);
    fields.accept(line.begin());
    LineBuffer out = new LineBuffer(16);
    line.end(MILLIS, out);
    return out.toString();
  }

  /** The same fields through logback, as a config with appenders on {@code ceiba.access} gets them. */
  private static ILoggingEvent event(Consumer<AccessFields> fields) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger logger = context.getLogger("ceiba.access.line-test");
    logger.setAdditive(false);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.setContext(context);
    seen.start();
    logger.addAppender(seen);
    try {
      LoggerFields f = new LoggerFields();
      fields.accept(f);
      f.log(logger);
      return seen.list.get(0);
    } finally {
      logger.detachAppender(seen);
    }
  }

  @Test
  void should_print_text_lines_as_the_shipped_pattern_with_the_message_of_the_logback_path() {
    Consumer<AccessFields> fields = f -> typical(f, "/x", "api.test", "client closed before the response");
    String text = line(AccessLine.Format.TEXT, ZoneOffset.UTC, fields);
    String message = event(fields).getFormattedMessage();
    assertThat(text).isEqualTo("2026-12-07T16:36:18.185Z INFO  [" + Thread.currentThread().getName() + "] ceiba.access  - "
        + message + "\n");
    assertThat(message).isEqualTo("request_id=01a2515c-fb84-7937-9d3e-c2a2892fb684 node=node1 client=127.0.0.1 method=GET path=/x"
        + " host=api.test service=api route=\"GET /v1/users/{id}\" backend=http://127.0.0.1:9000 status=200 bytes_in=0"
        + " bytes_out=1234 ms=3 websocket=true error=\"client closed before the response\"");
    assertThat(line(AccessLine.Format.TEXT, ZoneId.of("+02:00"), fields)).startsWith("2026-12-07T18:36:18.185+02:00 INFO  [");
  }

  @Test
  void should_print_json_lines_with_the_fields_of_the_logstash_encoder() {
    Consumer<AccessFields> fields = f -> typical(f, "/a\"b\\c\u0001é\u2028𝄞", "api.test", "x");
    String json = line(AccessLine.Format.JSON, ZoneOffset.UTC, fields);
    assertThat(json).endsWith("}\n").doesNotContain("\u2028").hasLineCount(1);
    JsonObject ours = new JsonObject(json);
    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
    encoder.start();
    JsonObject logstash = new JsonObject(new String(encoder.encode(event(fields)), StandardCharsets.UTF_8));
    assertThat(ours.getString("@timestamp")).isEqualTo("2026-12-07T16:36:18.185Z");
    ours.remove("@timestamp");
    logstash.remove("@timestamp");
    assertThat(logstash.getString("logger_name")).isEqualTo("ceiba.access.line-test"); // the logger of this test
    logstash.put("logger_name", "ceiba.access");
    assertThat(ours.fieldNames()).containsExactlyElementsOf(logstash.fieldNames());
    assertThat(ours).isEqualTo(logstash);
    assertThat(ours.getString("path")).isEqualTo("/a\"b\\c\u0001é\u2028𝄞");
    assertThat(ours.getLong("bytes_out")).isEqualTo(1234);
    assertThat(ours.getBoolean("websocket")).isTrue();
  }

  /** Characters a client may slip into a path, a host, a method or an error message quoting them. */
  private static final String HOSTILE = " =\"\\'{}\n\r\t\u0000\u0001\u001b\u007f\u0085\u009f\u00a0é\u2028\u2029\ufeff\ud800\udc00\udbff"
      + "abcXYZ/?&%.:-_";
  private static final String[] FRAGMENTS = {" status=200", "\nrequest_id=forged", "\" path=\"", "\\\"", "\\n", "{}", "𝄞", "\r\n\r\n"};

  private static String hostile(Random random) {
    StringBuilder s = new StringBuilder();
    for (int i = random.nextInt(24); i > 0; i--) {
      if (random.nextInt(6) == 0) {
        s.append(FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
      } else {
        s.append(HOSTILE.charAt(random.nextInt(HOSTILE.length())));
      }
    }
    return s.toString();
  }

  @Test
  void should_keep_any_value_in_its_field_and_on_its_line() {
    Random random = new Random(22);
    for (int run = 0; run < 5000; run++) {
      Map<String, String> values = new LinkedHashMap<>();
      values.put("request_id", hostile(random));
      values.put("method", hostile(random));
      values.put("path", hostile(random));
      values.put("host", hostile(random));
      values.put("error", hostile(random));
      Consumer<AccessFields> fields = f -> {
        values.forEach(f::field);
        f.field("status", 400);
      };
      String text = line(AccessLine.Format.TEXT, ZoneOffset.UTC, fields);
      String where = "run " + run + ": " + values;
      assertThat(text).as(where).endsWith("\n");
      String body = text.substring(0, text.length() - 1);
      assertThat(body).as(where).doesNotContain("\n", "\r", "\u0085", "\u2028", "\u2029");
      String pairs = body.substring(body.indexOf(" ceiba.access  - ") + " ceiba.access  - ".length());
      Map<String, String> parsed = logfmt(pairs, where);
      Map<String, String> expected = new LinkedHashMap<>(values);
      expected.put("status", "400");
      assertThat(parsed).as(where).containsExactlyEntriesOf(expected);

      String json = line(AccessLine.Format.JSON, ZoneOffset.UTC, fields);
      assertThat(json.substring(0, json.length() - 1)).as(where).doesNotContain("\n", "\r", "\u0085", "\u2028", "\u2029");
      JsonObject object = new JsonObject(json);
      values.forEach((k, v) -> assertThat(object.getString(k)).as(where + " " + k).isEqualTo(v));
      assertThat(object.getInteger("status")).isEqualTo(400);
      assertThat(logfmt(object.getString("message"), where)).as(where).containsExactlyEntriesOf(expected);
    }
  }

  /** A strict logfmt reader: {@code key=value} separated by single spaces, quoted values with the escapes we write. */
  private static Map<String, String> logfmt(String s, String where) {
    Map<String, String> out = new LinkedHashMap<>();
    int i = 0;
    while (i < s.length()) {
      int eq = s.indexOf('=', i);
      assertThat(eq).as(where + ": a key at " + i + " of " + s).isPositive();
      String key = s.substring(i, eq);
      assertThat(key).as(where).matches("[a-z_]+");
      i = eq + 1;
      StringBuilder value = new StringBuilder();
      if (i < s.length() && s.charAt(i) == '"') {
        i++;
        while (s.charAt(i) != '"') {
          char c = s.charAt(i++);
          if (c == '\\') {
            char e = s.charAt(i++);
            switch (e) {
              case 'n' -> value.append('\n');
              case 'r' -> value.append('\r');
              case 't' -> value.append('\t');
              case 'u' -> {
                value.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                i += 4;
              }
              default -> value.append(e);
            }
          } else {
            assertThat(c).as(where + ": raw control character").isGreaterThanOrEqualTo(' ');
            value.append(c);
          }
        }
        i++;
      } else {
        while (i < s.length() && s.charAt(i) != ' ') {
          char c = s.charAt(i++);
          assertThat(c).as(where + ": unquoted").isNotEqualTo('"').isGreaterThan(' ');
          value.append(c);
        }
      }
      assertThat(out.put(key, value.toString())).as(where + ": " + key + " twice").isNull();
      if (i < s.length()) {
        assertThat(s.charAt(i)).as(where + ": a space between pairs").isEqualTo(' ');
        i++;
      }
    }
    return out;
  }

  @Test
  void should_write_numbers_and_plain_values_as_they_are() {
    LineBuffer b = new LineBuffer(1);
    b.decimal(0).append((byte) ' ').decimal(-42).append((byte) ' ').decimal(Long.MAX_VALUE).append((byte) ' ').decimal(Long.MIN_VALUE);
    assertThat(b.toString()).isEqualTo("0 -42 9223372036854775807 -9223372036854775808");
    List<String> plain = new ArrayList<>(List.of("/x", "/a=b", "é", "http://127.0.0.1:9000", "-"));
    for (String v : plain) {
      assertThat(new LineBuffer(1).textValue(v).toString()).isEqualTo(v);
    }
    assertThat(new LineBuffer(1).textValue("").toString()).isEmpty();
  }
}
