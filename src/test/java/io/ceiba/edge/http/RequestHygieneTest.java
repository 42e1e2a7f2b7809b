package io.ceiba.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.config.Cidr;
import io.ceiba.error.ErrorCode;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The head checks of issue 16 (defects 1, 4, 5, 6) and the client address of defect 3, one rule at a time. */
class RequestHygieneTest {

  private static final SocketAddress CLIENT = SocketAddress.inetSocketAddress(40000, "203.0.113.7");
  private static final SocketAddress PROXY = SocketAddress.inetSocketAddress(40000, "10.1.2.3");
  private final RequestHygiene open = new RequestHygiene(TrustedProxies.NONE);
  private final RequestHygiene behindProxy = new RequestHygiene(new TrustedProxies(List.of(Cidr.parse("10.0.0.0/8"))));

  private static MultiMap headers(String... pairs) {
    MultiMap m = HttpHeaders.headers();
    for (int i = 0; i < pairs.length; i += 2) {
      m.add(pairs[i], pairs[i + 1]);
    }
    return m;
  }

  private RequestHygiene.Verdict get(String uri, MultiMap headers) {
    return open.inspect(headers, HttpMethod.GET, uri, HttpVersion.HTTP_1_1, CLIENT, false);
  }

  private static void refused(RequestHygiene.Verdict verdict, String reason) {
    assertThat(verdict.head()).isNull();
    assertThat(verdict.refusal().code()).isEqualTo(ErrorCode.BAD_REQUEST);
    assertThat(verdict.refusal().message()).contains(reason);
  }

  @Test
  void should_accept_only_a_plain_length_or_chunked_alone() {
    assertThat(get("/", headers("Host", "a.test", "Transfer-Encoding", "chunked")).head()).isNotNull();
    assertThat(get("/", headers("Host", "a.test", "Transfer-Encoding", " Chunked\t")).head()).isNotNull();
    assertThat(get("/", headers("Host", "a.test", "Content-Length", "12")).head()).isNotNull();
    for (String coding : List.of("gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked", "xchunked", "", "chunked;q=1")) {
      refused(get("/", headers("Host", "a.test", "Transfer-Encoding", coding)), "Transfer-Encoding");
    }
    refused(get("/", headers("Host", "a.test", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked")), "Transfer-Encoding");
    refused(get("/", headers("Host", "a.test", "Transfer-Encoding", "chunked", "Content-Length", "3")), "both");
    refused(open.inspect(headers("Host", "a.test", "Transfer-Encoding", "chunked"), HttpMethod.POST, "/", HttpVersion.HTTP_1_0,
        CLIENT, false), "HTTP/1.0");
    for (String length : List.of("+4", "-1", "4 ", "0x4", "1e3", "", "9999999999999999999")) {
      refused(get("/", headers("Host", "a.test", "Content-Length", length)), "Content-Length");
    }
  }

  @Test
  void should_refuse_a_connection_header_that_names_framing_or_routing_headers_or_too_many() {
    for (String named : List.of("Content-Length", "transfer-encoding", "HOST", "keep-alive, Host")) {
      refused(get("/", headers("Host", "a.test", "Connection", named)), "may not name");
    }
    refused(get("/", headers("Host", "a.test", "Connection", "a,".repeat(33))), "more than 32");
    refused(get("/", headers("Host", "a.test", "Connection", "x-a, b c")), "malformed");
    RequestHead head = get("/", headers("Host", "a.test", "Connection", "keep-alive, X-Hop, ,Upgrade")).head();
    assertThat(head.connection().names("x-hop")).isTrue();
    assertThat(head.connection().names("X-HOP")).isTrue();
    assertThat(head.connection().names("x-other")).isFalse();
    assertThat(head.connection().upgrade()).isTrue();
  }

  @Test
  void should_refuse_two_hosts_and_let_an_absolute_target_name_the_authority() {
    refused(get("/", headers("Host", "a.test", "Host", "b.test")), "more than one Host");
    refused(get("/", headers()), "missing Host");
    refused(get("/", headers("Host", "a b")), "invalid Host");

    RequestHead absolute = get("http://admin.internal:8080/secret?x=1", headers("Host", "app.local")).head();
    assertThat(absolute.authority().host()).isEqualTo("admin.internal");
    assertThat(absolute.hostHeader()).isEqualTo("admin.internal:8080");
    assertThat(absolute.target()).isEqualTo("/secret?x=1");
    assertThat(get("HTTPS://b.test?q", headers()).head().target()).isEqualTo("/?q");
    assertThat(get("/p", headers("Host", "App.Local:81")).head().hostHeader()).isEqualTo("App.Local:81");

    refused(get("http://user@admin.internal/", headers("Host", "a.test")), "request target");
    refused(get("ftp://a.test/", headers("Host", "a.test")), "request target");
    refused(get("a.test:443", headers("Host", "a.test")), "request target");
    refused(get("*", headers("Host", "a.test")), "asterisk");
    assertThat(open.inspect(headers("Host", "a.test"), HttpMethod.OPTIONS, "*", HttpVersion.HTTP_1_1, CLIENT, false).head()).isNotNull();
    refused(open.inspect(headers("Host", "a.test"), HttpMethod.CONNECT, "a.test:443", HttpVersion.HTTP_1_1, CLIENT, false), "CONNECT");
    // found by EdgeFuzzIT: a CONNECT with a path was forwarded, and Vert.x then read the connection as a tunnel
    refused(open.inspect(headers("Host", "a.test"), HttpMethod.CONNECT, "/x", HttpVersion.HTTP_1_1, CLIENT, false), "CONNECT");
  }

  @Test
  void should_refuse_header_fields_an_origin_could_read_otherwise() {
    // found by EdgeFuzzIT: Netty's decoder lets ": x" through, and the origin's parser choked on it
    refused(get("/", headers("Host", "a.test", "", "empty-name")), "malformed header field");
    // as a decoder may hand them over; Vert.x's own header map refuses to hold them
    refused(get("/", MultiMap.caseInsensitiveMultiMap().add("Host", "a.test").add("Bad Name", "x")), "malformed header field");
    refused(get("/", MultiMap.caseInsensitiveMultiMap().add("Host", "a.test").add("X-Test", "a\u0001b")), "malformed header field");
    assertThat(get("/", headers("Host", "a.test", "X-Latin", "caf\u00e9\tok")).head()).isNotNull();
  }

  @Test
  void should_bound_the_number_of_header_fields() {
    MultiMap many = headers("Host", "a.test");
    for (int i = 0; i < RequestHygiene.MAX_HEADER_FIELDS; i++) {
      many.add("a", "");
    }
    RequestHygiene.Verdict verdict = get("/", many);
    assertThat(verdict.refusal().code()).isEqualTo(ErrorCode.HEADERS_TOO_LARGE);
  }

  @Test
  void should_believe_forwarding_headers_only_from_a_trusted_proxy() {
    MultiMap spoofed = headers("Host", "a.test", "X-Forwarded-For", "6.6.6.6", "X-Real-IP", "6.6.6.6", "X-Forwarded-Proto", "https",
        "X-Forwarded-Host", "evil.test", "Forwarded", "for=6.6.6.6");
    Forwarding direct = open.inspect(spoofed, HttpMethod.GET, "/", HttpVersion.HTTP_1_1, CLIENT, false).head().forwarding();
    assertThat(direct.clientIp()).isEqualTo("203.0.113.7");
    assertThat(direct.forwardedFor()).isEqualTo("203.0.113.7");
    assertThat(direct.proto()).isEqualTo("http");
    assertThat(direct.host()).isEqualTo("a.test");
    assertThat(direct.realIp()).isEmpty();
    assertThat(direct.forwarded()).isEmpty();
    // the same headers from a client that is not in the trusted block, on a node that has one
    assertThat(behindProxy.inspect(spoofed, HttpMethod.GET, "/", HttpVersion.HTTP_1_1, CLIENT, false).head().forwarding().clientIp())
        .isEqualTo("203.0.113.7");

    Forwarding viaProxy = behindProxy.inspect(spoofed, HttpMethod.GET, "/", HttpVersion.HTTP_1_1, PROXY, false).head().forwarding();
    assertThat(viaProxy.clientIp()).isEqualTo("6.6.6.6");
    assertThat(viaProxy.forwardedFor()).isEqualTo("6.6.6.6, 10.1.2.3");
    assertThat(viaProxy.proto()).isEqualTo("https");
    assertThat(viaProxy.host()).isEqualTo("evil.test");
    assertThat(viaProxy.realIp()).containsExactly("6.6.6.6");
    assertThat(viaProxy.forwarded()).containsExactly("for=6.6.6.6");
  }

  @Test
  void should_take_the_rightmost_untrusted_address_as_the_client() {
    assertThat(clientVia("X-Forwarded-For", "1.1.1.1, 2.2.2.2, 10.9.9.9")).isEqualTo("2.2.2.2");
    assertThat(clientVia("X-Forwarded-For", "1.1.1.1, garbage, 10.9.9.9")).isEqualTo("10.9.9.9");
    assertThat(clientVia("X-Forwarded-For", "10.0.0.1, 10.9.9.9")).isEqualTo("10.0.0.1");
    assertThat(clientVia("X-Forwarded-For", "unknown")).isEqualTo("10.1.2.3");
    assertThat(clientVia("X-Forwarded-For", "2001:db8::1")).isEqualTo("2001:db8:0:0:0:0:0:1");
    assertThat(clientVia("X-Forwarded-For", "5.5.5.5:4711")).isEqualTo("5.5.5.5");
    assertThat(clientVia("Forwarded", "for=7.7.7.7;proto=https, for=\"[2001:db8::2]:1\"")).isEqualTo("2001:db8:0:0:0:0:0:2");
    assertThat(clientVia("X-Real-IP", "8.8.4.4")).isEqualTo("8.8.4.4");
    assertThat(clientVia("X-Forwarded-For", "evil.example.com")).as("names are never resolved").isEqualTo("10.1.2.3");
  }

  private String clientVia(String header, String value) {
    return behindProxy.inspect(headers("Host", "a.test", header, value), HttpMethod.GET, "/", HttpVersion.HTTP_1_1, PROXY, false)
        .head().forwarding().clientIp();
  }

  @Test
  void should_know_the_underscore_spellings_of_the_headers_the_edge_owns() {
    for (String alias : List.of("X_Ceiba_Project", "x_ceiba_plan", "X-Ceiba_Key-Id", "X_Forwarded_For", "x_real_ip", "X_Request_Id",
        "X_API_KEY", "x_forwarded_anything")) {
      assertThat(HeaderNames.isEdgeOwnedAlias(alias)).as(alias).isTrue();
    }
    for (String other : List.of("X-Ceiba-Project", "X_Custom", "Accept", "x_forwardedfor")) {
      assertThat(HeaderNames.isEdgeOwnedAlias(other)).as(other).isFalse();
    }
  }
}
