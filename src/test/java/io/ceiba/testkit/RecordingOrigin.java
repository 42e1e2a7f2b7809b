package io.ceiba.testkit;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 origin on a free loopback port that records exactly what reached it: the raw bytes of every
 * request (head and body as framed), parsed only as far as needed to find where each ends and to answer it.
 * It parses on its own, not through Vert.x's HTTP server, so that a malformed or doubled request an edge lets
 * through is seen as such, not normalised or refused on the way. Every request is answered {@code 200} with a
 * {@code Content-Length} body that names it ({@code n=<count> host=<Host> xfh=<X-Forwarded-Host> target=<target>})
 * and {@code Cache-Control: max-age=60}, so a caching edge may keep it. A request it cannot frame is recorded
 * and its connection closed.
 */
public final class RecordingOrigin implements AutoCloseable {

  /** One request as it arrived. */
  public record Received(int n, String method, String target, String version, List<String[]> headers, byte[] body, String raw) {
    /** Every value of {@code name} (case-insensitive), in arrival order. */
    public List<String> all(String name) {
      List<String> values = new ArrayList<>();
      for (String[] h : headers) {
        if (h[0].equalsIgnoreCase(name)) {
          values.add(h[1]);
        }
      }
      return values;
    }

    /** The first value of {@code name}, or null. */
    public String header(String name) {
      List<String> values = all(name);
      return values.isEmpty() ? null : values.get(0);
    }

    public boolean hasHeader(String name) {
      return !all(name).isEmpty();
    }
  }

  private final NetServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger count = new AtomicInteger();
  private final AtomicInteger malformed = new AtomicInteger();

  private RecordingOrigin(Vertx vertx) {
    this.server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0)).connectHandler(this::serve);
  }

  public static RecordingOrigin start(Vertx vertx) {
    RecordingOrigin origin = new RecordingOrigin(vertx);
    try {
      origin.server.listen().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("recording origin did not start", e);
    }
    return origin;
  }

  public String url() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  /** What arrived so far, in order. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /** Requests it could not frame (never one an edge should send). */
  public int malformed() {
    return malformed.get();
  }

  public void clear() {
    received.clear();
  }

  private void serve(NetSocket socket) {
    Buffer[] pending = {Buffer.buffer()};
    // an edge resets an upstream connection to cancel a request whose client went (issue 16 defect 8): a reset
    // is an edge's way to say "never mind", not an error of this origin's to log
    socket.exceptionHandler(e -> { });
    socket.handler(data -> {
      pending[0].appendBuffer(data);
      while (true) {
        int consumed;
        try {
          consumed = takeOne(pending[0], socket);
        } catch (IllegalStateException e) {
          malformed.incrementAndGet();
          received.add(new Received(count.incrementAndGet(), "?", "?", "?", List.of(), new byte[0],
              pending[0].toString(StandardCharsets.ISO_8859_1)));
          socket.close();
          return;
        }
        if (consumed == 0) {
          return;
        }
        pending[0] = pending[0].getBuffer(consumed, pending[0].length());
      }
    });
  }

  /** Answers the first whole request in {@code buffer}; the bytes it took, 0 when none is whole yet. */
  private int takeOne(Buffer buffer, NetSocket socket) {
    String text = buffer.toString(StandardCharsets.ISO_8859_1);
    int headEnd = text.indexOf("\r\n\r\n");
    if (headEnd < 0) {
      return 0;
    }
    String[] lines = text.substring(0, headEnd).split("\r\n", -1);
    String[] start = lines[0].split(" ", -1);
    if (start.length != 3) {
      throw new IllegalStateException("request line " + lines[0]);
    }
    List<String[]> headers = new ArrayList<>();
    long length = 0;
    boolean chunked = false;
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) {
        throw new IllegalStateException("header line " + lines[i]);
      }
      String name = lines[i].substring(0, colon);
      String value = lines[i].substring(colon + 1).trim();
      headers.add(new String[] {name, value});
      if (name.equalsIgnoreCase("content-length")) {
        length = Long.parseLong(value);
      } else if (name.equalsIgnoreCase("transfer-encoding")) {
        chunked = value.toLowerCase(Locale.ROOT).endsWith("chunked");
      }
    }
    int bodyStart = headEnd + 4;
    int end;
    byte[] body;
    if (chunked) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      int at = bodyStart;
      while (true) {
        int lineEnd = text.indexOf("\r\n", at);
        if (lineEnd < 0) {
          return 0;
        }
        String sizeText = text.substring(at, lineEnd);
        int semi = sizeText.indexOf(';');
        int size = Integer.parseInt((semi < 0 ? sizeText : sizeText.substring(0, semi)).trim(), 16);
        at = lineEnd + 2;
        if (size == 0) {
          int trailersEnd = text.indexOf("\r\n", at);
          while (trailersEnd >= 0 && trailersEnd != at) { // trailer lines until an empty one
            at = trailersEnd + 2;
            trailersEnd = text.indexOf("\r\n", at);
          }
          if (trailersEnd < 0) {
            return 0;
          }
          end = trailersEnd + 2;
          break;
        }
        if (text.length() < at + size + 2) {
          return 0;
        }
        out.write(buffer.getBytes(at, at + size), 0, size);
        at += size + 2;
      }
      body = out.toByteArray();
    } else {
      if (text.length() < bodyStart + length) {
        return 0;
      }
      end = (int) (bodyStart + length);
      body = buffer.getBytes(bodyStart, end);
    }
    Received r = new Received(count.incrementAndGet(), start[0], start[1], start[2], List.copyOf(headers), body, text.substring(0, end));
    received.add(r);
    String answer = "n=" + r.n() + " host=" + r.header("host") + " xfh=" + r.header("x-forwarded-host") + " target=" + r.target() + "\n";
    byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
    Buffer answerBytes = Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nContent-Length: "
        + bytes.length + "\r\n\r\n");
    socket.write(r.method().equals("HEAD") ? answerBytes : answerBytes.appendBytes(bytes)); // a HEAD's answer has no body
    return end;
  }

  @Override
  public void close() {
    try {
      server.close().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // the test has its verdict already
    }
  }
}
