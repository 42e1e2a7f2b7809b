package io.ceiba.edge.accesslog;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte array that access lines are written into as UTF-8, with the two escapings a value needs: as a
 * {@code key=value} text value and as a JSON string. Either way a value stays on its line and in its field, whatever a
 * client put in it: line breaks (CR, LF, NEL, U+2028/9) and every other control character come out as escapes.
 * Not thread-safe: one per writer (an edge instance's event loop).
 */
public final class LineBuffer {

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private byte[] bytes;
  private int length;

  public LineBuffer(int capacity) {
    this.bytes = new byte[Math.max(16, capacity)];
  }

  public int length() {
    return length;
  }

  /** The array behind this buffer (valid up to {@link #length()}); a {@link #reset} or more bytes may replace it. */
  public byte[] array() {
    return bytes;
  }

  public void reset() {
    length = 0;
  }

  /** Hands the array over (the caller owns it now) and starts afresh on a new one of the same capacity. */
  public byte[] takeArray() {
    byte[] taken = bytes;
    bytes = new byte[taken.length];
    length = 0;
    return taken;
  }

  @Override
  public String toString() {
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
    }
  }

  public LineBuffer append(byte b) {
    ensure(1);
    bytes[length++] = b;
    return this;
  }

  public LineBuffer append(byte[] b) {
    ensure(b.length);
    System.arraycopy(b, 0, bytes, length, b.length);
    length += b.length;
    return this;
  }

  /** Appends bytes of another buffer. */
  public LineBuffer append(LineBuffer other, int from, int to) {
    ensure(to - from);
    System.arraycopy(other.bytes, from, bytes, length, to - from);
    length += to - from;
    return this;
  }

  /** A string known to be printable ASCII (keys, constants): no escaping. */
  public LineBuffer ascii(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      bytes[length++] = (byte) s.charAt(i);
    }
    return this;
  }

  public LineBuffer decimal(long v) {
    if (v == Long.MIN_VALUE) {
      return ascii(Long.toString(v));
    }
    ensure(20);
    if (v < 0) {
      bytes[length++] = '-';
      v = -v;
    }
    int digits = 1;
    for (long x = v; x >= 10; x /= 10) {
      digits++;
    }
    for (int i = length + digits - 1; i >= length; i--) {
      bytes[i] = (byte) ('0' + v % 10);
      v /= 10;
    }
    length += digits;
    return this;
  }

  /** {@code d} as exactly {@code width} digits, zero-padded (0 <= d < 10^width). */
  public LineBuffer digits(int d, int width) {
    ensure(width);
    for (int i = length + width - 1; i >= length; i--) {
      bytes[i] = (byte) ('0' + d % 10);
      d /= 10;
    }
    length += width;
    return this;
  }

  /**
   * A value of a {@code key=value} pair: as it is when it has no space, quote or character that needs an escape (the
   * usual case, the same bytes as before), else quoted with {@code \" \\ \n \r \t \\uXXXX} escapes, so it can neither end
   * its field nor its line.
   */
  public LineBuffer textValue(String s) {
    int n = s.length();
    int start = length;
    ensure(3 * n); // the longest a plain char comes out: 3 UTF-8 bytes
    for (int i = 0; i < n; i++) { // one pass: copied as it is until a char says it needs quotes
      char c = s.charAt(i);
      if (c > ' ' && c < 0x7f && c != '"') {
        bytes[length++] = (byte) c;
      } else if (c >= 0x80 && !needsEscape(c)) {
        codePoint(c);
      } else {
        length = start;
        append((byte) '"');
        escaped(s);
        return append((byte) '"');
      }
    }
    return this;
  }

  /** A JSON string, quotes included. */
  public LineBuffer jsonString(String s) {
    append((byte) '"');
    escaped(s);
    return append((byte) '"');
  }

  /** Bytes of {@code other} (UTF-8 text without control characters) as the inside of a JSON string. */
  public LineBuffer jsonInside(LineBuffer other, int from, int to) {
    ensure(2 * (to - from));
    for (int i = from; i < to; i++) {
      byte b = other.bytes[i];
      if (b == '"' || b == '\\') {
        bytes[length++] = '\\';
      }
      bytes[length++] = b;
    }
    return this;
  }

  /** Control characters (C0, DEL, C1), the Unicode line and paragraph separators, and surrogates (checked for pairs). */
  private static boolean needsEscape(char c) {
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029' || Character.isSurrogate(c);
  }

  /** The escaped inside of a quoted value; the same escapes serve text and JSON. */
  private void escaped(String s) {
    int n = s.length();
    ensure(6 * n); // the longest a char can come out: \\uXXXX
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7f) {
        if (c == '"' || c == '\\') {
          bytes[length++] = '\\';
        }
        bytes[length++] = (byte) c;
      } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        bytes[length++] = (byte) (0xf0 | cp >> 18);
        bytes[length++] = (byte) (0x80 | (cp >> 12 & 0x3f));
        bytes[length++] = (byte) (0x80 | (cp >> 6 & 0x3f));
        bytes[length++] = (byte) (0x80 | (cp & 0x3f));
      } else if (needsEscape(c)) {
        controlEscape(c);
      } else {
        codePoint(c);
      }
    }
  }

  private void controlEscape(char c) {
    ensure(6);
    bytes[length++] = '\\';
    switch (c) {
      case '\n' -> bytes[length++] = 'n';
      case '\r' -> bytes[length++] = 'r';
      case '\t' -> bytes[length++] = 't';
      default -> {
        bytes[length++] = 'u';
        bytes[length++] = HEX[c >> 12 & 0xf];
        bytes[length++] = HEX[c >> 8 & 0xf];
        bytes[length++] = HEX[c >> 4 & 0xf];
        bytes[length++] = HEX[c & 0xf];
      }
    }
  }

  /** A char of the BMP outside ASCII and not a surrogate, as UTF-8 (2 or 3 bytes). */
  private void codePoint(char c) {
    ensure(3);
    if (c < 0x800) {
      bytes[length++] = (byte) (0xc0 | c >> 6);
    } else {
      bytes[length++] = (byte) (0xe0 | c >> 12);
      bytes[length++] = (byte) (0x80 | (c >> 6 & 0x3f));
    }
    bytes[length++] = (byte) (0x80 | (c & 0x3f));
  }
}
