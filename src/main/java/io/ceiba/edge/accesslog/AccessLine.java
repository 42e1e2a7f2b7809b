package io.ceiba.edge.accesslog;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * Formats access lines straight into bytes, as the shipped logback configs would print a {@code ceiba.access} event:
 * in text {@code <time> INFO  [<thread>] ceiba.access  - key=value …}, in JSON the fields of the logstash encoder
 * ({@code @timestamp}, {@code message} — the same pairs as text —, {@code logger_name}, {@code thread_name},
 * {@code level}, …) followed by each pair as a field of its own. No object per field or per line: the fields of the
 * line under way are kept in arrays, then written out. One per edge instance (not thread-safe).
 */
public final class AccessLine implements AccessFields {

  /** The layout of the node's log lines: {@code CEIBA_LOG_FORMAT=json} picks JSON for every logger. */
  public enum Format {
    TEXT, JSON;

    public static Format fromEnvironment() {
      return "json".equalsIgnoreCase(System.getenv("CEIBA_LOG_FORMAT")) ? JSON : TEXT;
    }
  }

  /** More than any line has (20 at most): a field beyond it is dropped, never an exception on an event loop. */
  static final int MAX_FIELDS = 32;
  private static final byte STRING = 0;
  private static final byte NUMBER = 1;
  private static final byte FLAG = 2;
  private static final byte[] TEXT_LOGGER = " INFO  [".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TEXT_MESSAGE = "] ceiba.access  - ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] JSON_START = "{\"@timestamp\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] JSON_MESSAGE = "\",\"@version\":\"1\",\"message\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] JSON_THREAD = "\",\"logger_name\":\"ceiba.access\",\"thread_name\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] JSON_LEVEL = ",\"level\":\"INFO\",\"level_value\":20000".getBytes(StandardCharsets.US_ASCII);
  private static final DateTimeFormatter SECOND = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.");
  private static final DateTimeFormatter OFFSET = DateTimeFormatter.ofPattern("XXX");

  private final Format format;
  private final ZoneId zone;
  private final String[] keys = new String[MAX_FIELDS];
  private final String[] strings = new String[MAX_FIELDS];
  private final long[] numbers = new long[MAX_FIELDS];
  private final byte[] kinds = new byte[MAX_FIELDS];
  private int count;
  /** JSON: the pairs in text, for the {@code message} field. */
  private final LineBuffer scratch = new LineBuffer(1024);
  /** The second the cached date and time are of, its {@code yyyy-MM-ddTHH:mm:ss.} and its offset ({@code Z}, {@code +01:00}). */
  private long second = Long.MIN_VALUE;
  private byte[] secondText;
  private byte[] offsetText;
  private Thread thread;
  private byte[] threadText;

  public AccessLine(Format format, ZoneId zone) {
    this.format = format;
    this.zone = zone;
  }

  public Format format() {
    return format;
  }

  /** Starts a line: the fields given from now on are its own. */
  public AccessLine begin() {
    for (int i = 0; i < count; i++) {
      strings[i] = null;
    }
    count = 0;
    return this;
  }

  @Override
  public void field(String key, String value) {
    add(key, STRING).strings[count - 1] = value == null ? "-" : value;
  }

  @Override
  public void field(String key, long value) {
    add(key, NUMBER).numbers[count - 1] = value;
  }

  @Override
  public void flag(String key) {
    add(key, FLAG);
  }

  private AccessLine add(String key, byte kind) {
    if (count == MAX_FIELDS) {
      count--; // the last field gives way; MAX_FIELDS is well above what a line has
    }
    keys[count] = key;
    kinds[count++] = kind;
    return this;
  }

  /** Appends the line begun with {@link #begin}, ending in {@code \n}, stamped with {@code epochMillis} and the calling thread. */
  public void end(long epochMillis, LineBuffer out) {
    if (format == Format.JSON) {
      json(epochMillis, out);
    } else {
      timestamp(epochMillis, out);
      out.append(TEXT_LOGGER).append(threadName()).append(TEXT_MESSAGE);
      pairs(out);
      out.append((byte) '\n');
    }
  }

  private void json(long epochMillis, LineBuffer out) {
    out.append(JSON_START);
    timestamp(epochMillis, out);
    out.append(JSON_MESSAGE);
    scratch.reset();
    pairs(scratch);
    out.jsonInside(scratch, 0, scratch.length());
    out.append(JSON_THREAD);
    out.append(threadName()).append(JSON_LEVEL);
    for (int i = 0; i < count; i++) {
      out.append((byte) ',').append((byte) '"').ascii(keys[i]).append((byte) '"').append((byte) ':');
      switch (kinds[i]) {
        case STRING -> out.jsonString(strings[i]);
        case NUMBER -> out.decimal(numbers[i]);
        default -> out.ascii("true");
      }
    }
    out.append((byte) '}').append((byte) '\n');
  }

  /** The pairs as text: {@code key=value} separated by one space; what the JSON {@code message} holds too. */
  private void pairs(LineBuffer out) {
    for (int i = 0; i < count; i++) {
      if (i > 0) {
        out.append((byte) ' ');
      }
      out.ascii(keys[i]).append((byte) '=');
      switch (kinds[i]) {
        case STRING -> out.textValue(strings[i]);
        case NUMBER -> out.decimal(numbers[i]);
        default -> out.ascii("true");
      }
    }
  }

  /** {@code yyyy-MM-ddTHH:mm:ss.SSS} and the offset, in the node's time zone; formatted once a second. */
  private void timestamp(long epochMillis, LineBuffer out) {
    long s = Math.floorDiv(epochMillis, 1000);
    if (s != second) {
      var time = Instant.ofEpochSecond(s).atZone(zone);
      secondText = SECOND.format(time).getBytes(StandardCharsets.US_ASCII);
      offsetText = OFFSET.format(time).getBytes(StandardCharsets.US_ASCII);
      second = s;
    }
    out.append(secondText).digits((int) Math.floorMod(epochMillis, 1000), 3).append(offsetText);
  }

  /** The calling thread's name (an event loop's), escaped for this format once per thread. */
  private byte[] threadName() {
    Thread current = Thread.currentThread();
    if (current != thread) {
      LineBuffer name = new LineBuffer(32);
      if (format == Format.JSON) {
        name.jsonString(current.getName());
      } else {
        name.textValue(current.getName());
      }
      threadText = java.util.Arrays.copyOf(name.array(), name.length());
      thread = current;
    }
    return threadText;
  }
}
