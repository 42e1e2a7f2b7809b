package io.ceiba.testkit;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A client that writes HTTP bytes as they are to a loopback port and reads what comes back, for the requests a
 * well-behaved client library will not send (raw upgrades, HTTP/1.0, {@code Expect}, abandoned requests).
 */
public final class RawHttp implements AutoCloseable {

  /** What was read, and whether the server closed the connection. */
  public record Read(String text, boolean closed) {
  }

  private final Socket socket;

  public RawHttp(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(5000);
  }

  public RawHttp write(String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
    return this;
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
  public Read read(String marker, int quietMillis) throws IOException {
    socket.setSoTimeout(quietMillis);
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[8192];
    try {
      int n;
      while ((n = socket.getInputStream().read(buffer)) > 0) {
        got.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
        if (marker != null && got.indexOf(marker) >= 0) {
          return new Read(got.toString(), false);
        }
      }
      return new Read(got.toString(), true);
    } catch (SocketTimeoutException e) {
      return new Read(got.toString(), false);
    } catch (java.net.SocketException e) {
      return new Read(got.toString(), true); // reset by the server
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
