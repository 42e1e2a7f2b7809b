package io.ceiba.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bytes over a plain socket, exactly as written: for requests an HTTP client library would normalise or refuse
 * to send (doubled headers, absolute targets, odd framing). Blocking, for the test thread.
 */
public final class RawHttp {

  private static final Pattern STATUS_LINE = Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3}) ");

  private RawHttp() {
  }

  /** What came back: everything read until the server closed or went quiet for the read timeout. */
  public record Reply(String text, boolean closedByServer) {
    /** The status codes of every response in the reply, in order. */
    public java.util.List<Integer> statuses() {
      java.util.List<Integer> out = new java.util.ArrayList<>();
      Matcher m = STATUS_LINE.matcher(text);
      while (m.find()) {
        out.add(Integer.parseInt(m.group(1)));
      }
      return out;
    }

    /** The first status, or -1 when nothing came back. */
    public int status() {
      return statuses().isEmpty() ? -1 : statuses().get(0);
    }

    /** The value of the first response's header {@code name}, or null. */
    public String header(String name) {
      Matcher m = Pattern.compile("(?im)^" + Pattern.quote(name) + ":[ \\t]*([^\\r\\n]*)").matcher(text);
      return m.find() ? m.group(1) : null;
    }
  }

  /** Sends {@code request} from 127.0.0.1 to {@code port} and reads the reply (until closed, or 15 s of silence). */
  public static Reply send(int port, String request) throws IOException {
    return send("127.0.0.1", port, request, Duration.ofSeconds(15));
  }

  /**
   * @param from  the local address to send from (any 127.x address works on Linux: a second client address)
   * @param quiet how long a silence ends the reading
   */
  public static Reply send(String from, int port, String request, Duration quiet) throws IOException {
    try (Socket socket = new Socket()) {
      socket.bind(new InetSocketAddress(from, 0));
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      socket.setSoTimeout((int) quiet.toMillis());
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return read(socket.getInputStream());
    }
  }

  private static Reply read(InputStream in) throws IOException {
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[8192];
    boolean closed = false;
    try {
      int n;
      while ((n = in.read(buffer)) > 0) {
        got.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      }
      closed = true;
    } catch (SocketTimeoutException e) {
      // quiet for a while: take what arrived
    } catch (java.net.SocketException e) {
      closed = true; // reset by the server
    }
    return new Reply(got.toString(), closed);
  }
}
