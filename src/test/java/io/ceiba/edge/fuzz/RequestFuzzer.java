package io.ceiba.edge.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Makes malformed and borderline HTTP/1.x request bytes: request lines (methods, targets, versions), header
 * names and values, framing (Content-Length, Transfer-Encoding, chunks), line endings and pipelines of up to four
 * requests. Most inputs are near a valid request to the routed host, so that the edge's later steps run too.
 * The same seed gives the same inputs.
 */
final class RequestFuzzer {

  /** The routed host; requests to it reach the recording origin. */
  static final String HOST = "app.fuzz";

  /**
   * One input.
   *
   * @param bytes     what is written on one connection
   * @param complete  how many requests the generator meant to be whole (the edge may read them otherwise)
   * @param methods   the method of each request meant, in order (a HEAD's answer has no body)
   * @param describe  what was chosen, for a failure message
   */
  record Input(byte[] bytes, int complete, List<String> methods, String describe) {
  }

  private static final String[] METHODS = {"GET", "GET", "GET", "POST", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH",
      "TRACE", "CONNECT", "get", "G\u00c9T", "FOO", "GET\u0000", "", "G T", "PRI"};
  private static final String[] TARGETS = {"/", "/a?b=c", "/x/../y", "//double", "/%00", "/%", "/\u00ff\u00fe", "/a b",
      "http://" + HOST + "/abs", "https://" + HOST + ":8443/abs?q", "http://admin.internal/secret", "http://user@" + HOST + "/",
      "HTTP://" + HOST, "*", HOST + ":443", "?q", "a", "", "/#frag", "ftp://" + HOST + "/", "http:///nohost", "/\t/",
      "/" + "a".repeat(9000)};
  private static final String[] VERSIONS = {"HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0",
      "HTTP/1.2", "http/1.1", "HTTP/1.1 ", "HTTP/11", "", "HTTP/1.1\u0000"};
  private static final String[] HOSTS = {HOST, HOST, HOST, HOST + ":8080", "APP.FUZZ", HOST + ".", "unknown.fuzz", "", " " + HOST,
      HOST + " x", "user@" + HOST, "[::1]", "127.0.0.1", HOST + ":99999", HOST + ":", "\u00e1pp.fuzz"};
  private static final String[] CONNECTION = {"keep-alive", "close", "Upgrade", "x-hop", "keep-alive, x-hop", "Content-Length",
      "Transfer-Encoding", "Host", "a,".repeat(40), "a b", ",", "x-forwarded-for", "X-Request-Id", "te", "keep-alive,,close"};
  private static final String[] CODINGS = {"chunked", "chunked", "gzip", "chunked, gzip", "gzip, chunked", " chunked",
      "chunked ", "Chunked", "identity", "", "chunked;x=1", "xchunked", "chunked\u000b"};
  private static final String[] LENGTHS = {"0", "5", "+5", "-1", "05", "5, 5", "99999999999999999999", "0x5", " 5", "5 5", ""};
  private static final String[] OTHER_HEADERS = {"Expect: 100-continue", "Expect: nonsense", "Upgrade: websocket", "Upgrade: h2c",
      "X_Ceiba_Project: prj_victim", "X-Ceiba-Project: forged", "X-Ceiba-Peer: guess", "X-Forwarded-For: 6.6.6.6",
      "X_Forwarded_For: 6.6.6.6", "Forwarded: for=6.6.6.6", "X-Real-IP: 6.6.6.6", "X-Request-Id: fuzz-id",
      "X-Request-Id: a b", "X-Request-Id: " + "r".repeat(300), "Cookie: a=b", "Authorization: Bearer x", "X-API-Key: k",
      "Cache-Control: no-cache", "Accept: */*", "Host : " + HOST, "Foo\t: bar", "Bad Name: x", ": empty-name", "NoColon",
      "Folded: a\r\n continued", "Nul: a\u0000b", "High: \u00ff\u00fe", "Long: " + "v".repeat(20000), "Empty:",
      "Te: trailers", "Proxy-Connection: keep-alive", "Keep-Alive: timeout=5", "Trailer: X-T", "Content-Type: text/plain"};

  private final Random random;

  RequestFuzzer(long seed) {
    this.random = new Random(seed);
  }

  private <T> T pick(T[] options) {
    return options[random.nextInt(options.length)];
  }

  private boolean chance(int percent) {
    return random.nextInt(100) < percent;
  }

  Input next() {
    int count = chance(70) ? 1 : 2 + random.nextInt(3);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> methods = new ArrayList<>();
    StringBuilder describe = new StringBuilder();
    int complete = 0;
    boolean truncated = false;
    for (int i = 0; i < count && !truncated; i++) {
      boolean plain = i > 0 && chance(50); // a well-formed request pipelined behind a strange one
      Request r = plain ? plainRequest() : request();
      truncated = r.truncated;
      if (!truncated) {
        complete++;
      }
      methods.add(r.method);
      out.writeBytes(r.text.getBytes(StandardCharsets.ISO_8859_1));
      describe.append(i == 0 ? "" : " | ").append(r.describe);
    }
    return new Input(out.toByteArray(), complete, methods, describe.toString());
  }

  private record Request(String text, String method, boolean truncated, String describe) {
  }

  private Request plainRequest() {
    return new Request("GET /plain HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n", "GET", false, "plain GET");
  }

  private Request request() {
    String method = chance(80) ? pick(new String[] {"GET", "POST", "HEAD"}) : pick(METHODS);
    String target = chance(70) ? "/f" + random.nextInt(1000) : pick(TARGETS);
    String version = chance(85) ? "HTTP/1.1" : pick(VERSIONS);
    String eol = chance(95) ? "\r\n" : pick(new String[] {"\n", "\r", "\r\r\n"});
    StringBuilder d = new StringBuilder(method + " " + abbreviate(target) + " " + version);
    StringBuilder head = new StringBuilder(method).append(' ').append(target).append(version.isEmpty() ? "" : " " + version).append(eol);
    if (chance(90)) {
      String host = chance(80) ? HOST : pick(HOSTS);
      head.append("Host: ").append(host).append(eol);
      d.append(" host=").append(host);
    }
    if (chance(8)) {
      String second = pick(HOSTS);
      head.append("Host: ").append(second).append(eol);
      d.append(" host2=").append(second);
    }
    if (chance(25)) {
      String c = pick(CONNECTION);
      head.append("Connection: ").append(c).append(eol);
      d.append(" connection=").append(abbreviate(c));
    }
    int extra = chance(50) ? random.nextInt(4) : 0;
    for (int i = 0; i < extra; i++) {
      String h = pick(OTHER_HEADERS);
      head.append(h).append(eol);
      d.append(" [").append(abbreviate(h)).append(']');
    }
    if (chance(3)) {
      int many = 200 + random.nextInt(200);
      for (int i = 0; i < many; i++) {
        head.append("h").append(i).append(": v").append(eol);
      }
      d.append(" +").append(many).append(" headers");
    }
    String body = "";
    boolean truncated = false;
    int framing = random.nextInt(100);
    if (framing < 45) {
      // no body
    } else if (framing < 65) {
      String content = "x".repeat(random.nextInt(20));
      String length = chance(80) ? Integer.toString(content.length()) : pick(LENGTHS);
      head.append("Content-Length: ").append(length).append(eol);
      body = content;
      d.append(" cl=").append(length).append(" body=").append(content.length());
      if (chance(5)) {
        head.append("Content-Length: ").append(pick(LENGTHS)).append(eol);
        d.append(" cl2");
      }
      if (length.equals(Integer.toString(content.length())) && content.length() > 0 && chance(10)) {
        body = content.substring(0, content.length() - 1);
        truncated = true;
        d.append(" truncated");
      }
    } else if (framing < 90) {
      String coding = chance(60) ? "chunked" : pick(CODINGS);
      head.append("Transfer-Encoding: ").append(coding).append(eol);
      if (chance(10)) {
        head.append(chance(50) ? "Content-Length: 3" : "Transfer-Encoding: chunked").append(eol);
        d.append(" +second-framing");
      }
      body = chunks();
      d.append(" te=").append(coding);
      if (chance(8)) {
        body = body.substring(0, body.length() / 2);
        truncated = true;
        d.append(" truncated");
      }
    } else {
      // bytes that look like a request, as a body nothing declared: the classic smuggling payload
      body = "GET /smuggled HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n";
      head.append(pick(new String[] {"Transfer-Encoding: gzip", "Content-Length: 0", "Transfer-Encoding: identity", "X-Pad: 1"}))
          .append(eol);
      d.append(" +smuggled-body");
    }
    head.append(eol);
    if (chance(3)) {
      truncated = true;
      int cut = random.nextInt(head.length());
      return new Request(head.substring(0, cut), method, true, d + " head-cut@" + cut);
    }
    return new Request(head + body, method, truncated, d.toString());
  }

  private String chunks() {
    StringBuilder b = new StringBuilder();
    int n = random.nextInt(3);
    for (int i = 0; i < n; i++) {
      int size = 1 + random.nextInt(10);
      String sizeText = chance(90) ? Integer.toHexString(size) : pick(new String[] {"zz", "-1", "ffffffffffffffff", Integer.toHexString(size)
          + ";ext=1", " " + Integer.toHexString(size), "0x" + size});
      b.append(sizeText).append("\r\n").append("c".repeat(size)).append("\r\n");
    }
    b.append("0\r\n");
    if (chance(10)) {
      b.append("X-Trailer: t\r\n");
    }
    return b.append("\r\n").toString();
  }

  private static String abbreviate(String s) {
    String printable = s.replace("\r", "\\r").replace("\n", "\\n").replace("\u0000", "\\0");
    return printable.length() > 40 ? printable.substring(0, 37) + "..." : printable;
  }
}
