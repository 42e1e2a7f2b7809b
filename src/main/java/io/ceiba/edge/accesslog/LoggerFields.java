package io.ceiba.edge.accesslog;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import net.logstash.logback.argument.StructuredArgument;
import org.slf4j.Logger;

/**
 * An access line as one logback event, for a logback config that sends {@code ceiba.access} somewhere of its own
 * (appenders on that logger, or to the root's by additivity): the fields are structured arguments, {@code key=value}
 * in the message (escaped as {@link LineBuffer#textValue} does) and fields of their own for the logstash encoder. The
 * slower path, an object per field: the shipped configs leave the logger without appenders, and the edge writes the
 * lines itself ({@link AccessLine}, {@link AccessLogWriter}).
 */
public final class LoggerFields implements AccessFields {

  /** {@code {} {} …} for n arguments: the message's pattern, made once per field count. */
  private static final String[] PATTERNS = new String[AccessLine.MAX_FIELDS + 1];

  static {
    for (int n = 0; n < PATTERNS.length; n++) {
      PATTERNS[n] = String.join(" ", Collections.nCopies(n, "{}"));
    }
  }

  private final List<Object> fields = new ArrayList<>(24);

  @Override
  public void field(String key, String value) {
    add(new Pair(key, value == null ? "-" : value));
  }

  @Override
  public void field(String key, long value) {
    add(new Pair(key, value));
  }

  @Override
  public void flag(String key) {
    add(new Pair(key, Boolean.TRUE));
  }

  private void add(Pair pair) {
    if (fields.size() < AccessLine.MAX_FIELDS) {
      fields.add(pair);
    }
  }

  public void log(Logger logger) {
    logger.info(PATTERNS[fields.size()], fields.toArray());
  }

  /** One field: {@code key=value} as text, {@code "key": value} in JSON (string, number or boolean). */
  private record Pair(String key, Object value) implements StructuredArgument {

    @Override
    public void writeTo(JsonGenerator generator) throws IOException {
      generator.writeFieldName(key);
      if (value instanceof String s) {
        generator.writeString(s);
      } else if (value instanceof Long n) {
        generator.writeNumber(n);
      } else {
        generator.writeBoolean((Boolean) value);
      }
    }

    @Override
    public String toString() {
      LineBuffer text = new LineBuffer(key.length() + 32).ascii(key).append((byte) '=');
      if (value instanceof String s) {
        text.textValue(s);
      } else {
        text.ascii(value.toString());
      }
      return text.toString();
    }
  }
}
