package io.ceiba.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bytes over a plain loopback socket, exactly as written: for requests a well-behaved client library would
 * normalise or refuse to send (doubled headers, absolute targets, odd framing, raw upgrades, HTTP/1.0,
 * {@code Expect}, abandoned requests). Blocking, for the test thread. Either one request and its whole reply
 * ({@link #send}), or a connection kept open to write and read in turns.
 */
public final class RawHttp implements AutoCloseable {

  private static final Pattern STATUS_LINE = Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3}) ");

  /** What was read, and whether the server closed (or reset) the connection. */
  public record Reply(String text, boolean closedByServer) {
    /** The status codes of every response in the reply, in order. */
    public List<Integer> statuses() {
      List<Integer> out = new ArrayList<>();
      Matcher m = STATUS_LINE.matcher(text);
      while (m.find()) {
        out.add(Integer.parseInt(m.group(1)));
      }
      return out;
    }

    /** The first status, or -1 when nothing came back. */
    public int status() {
      List<Integer> all = statuses();
      return all.isEmpty() ? -1 : all.get(0);
    }

    /** The value of the first response's header {@code name}, or null. */
    public String header(String name) {
      Matcher m = Pattern.compile("(?im)^" + Pattern.quote(name) + ":[ \\t]*([^\\r\\n]*)").matcher(text);
      return m.find() ? m.group(1) : null;
    }
  }

  private final Socket socket;

  /** Opens a connection from 127.0.0.1 to {@code port}. */
  public RawHttp(int port) throws IOException {
    this("127.0.0.1", port);
  }

  /** @param from the local address to connect from (any 127.x address works on Linux: a second client address) */
  public RawHttp(String from, int port) throws IOException {
    socket = new Socket();
    try {
      socket.bind(new InetSocketAddress(from, 0));
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      socket.setSoTimeout(5000);
    } catch (IOException e) {
      socket.close();
      throw e;
    }
  }

  /** Sends {@code request} from 127.0.0.1 to {@code port} and reads the reply (until closed, or 15 s of silence). */
  public static Reply send(int port, String request) throws IOException {
    return send("127.0.0.1", port, request, Duration.ofSeconds(15));
  }

  /**
   * @param from  the local address to send from
   * @param quiet how long a silence ends the reading
   */
  public static Reply send(String from, int port, String request, Duration quiet) throws IOException {
    try (RawHttp client = new RawHttp(from, port)) {
      return client.write(request).read(null, (int) quiet.toMillis());
    }
  }

  public RawHttp write(String text) throws IOException {
    return write(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  public RawHttp write(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
    return this;
  }

  /**
   * Reads until {@code marker} was seen (null: until the server closes), the server closes, or nothing came for
   * {@code quietMillis}.
   */
  public Reply read(String marker, int quietMillis) throws IOException {
    socket.setSoTimeout(quietMillis);
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[8192];
    try {
      int n;
      while ((n = socket.getInputStream().read(buffer)) > 0) {
        got.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
        if (marker != null && got.indexOf(marker) >= 0) {
          return new Reply(got.toString(), false);
        }
      }
      return new Reply(got.toString(), true);
    } catch (SocketTimeoutException e) {
      return new Reply(got.toString(), false); // quiet for a while: take what arrived
    } catch (java.net.SocketException e) {
      return new Reply(got.toString(), true); // reset by the server
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** One masked text frame, as a browser sends it. */
  public static byte[] maskedTextFrame(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    byte[] mask = {1, 2, 3, 4};
    byte[] frame = new byte[2 + 4 + payload.length];
    frame[0] = (byte) 0x81;
    frame[1] = (byte) (0x80 | payload.length);
    System.arraycopy(mask, 0, frame, 2, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    return frame;
  }
}
