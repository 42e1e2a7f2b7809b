package io.ceiba.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * An API consumer of one node's edge: HTTP/1.1 to 127.0.0.1, the service picked by {@code Host}, the key in
 * {@code X-API-Key}. Blocking, for the test thread.
 */
public final class EdgeClient {

  static {
    // the JDK client refuses to send a Host header unless told so before its first use
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host,connection");
  }

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final int port;

  public EdgeClient(int port) {
    this.port = port;
  }

  /** A GET of {@code path} on the service at {@code host}; without a key when {@code key} is null. */
  public HttpResponse<String> get(String host, String path, String key) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).header("host", host);
    if (key != null) {
      request.header("x-api-key", key);
    }
    return http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends {@code n} keyed GETs one after the other ({@code <pathPrefix>0}, {@code 1}, …) and fails on the first that is not 200. */
  public void expectOk(String host, String key, String pathPrefix, int n) throws IOException, InterruptedException {
    for (int i = 0; i < n; i++) {
      HttpResponse<String> response = get(host, pathPrefix + i, key);
      if (response.statusCode() != 200) {
        throw new AssertionError("request " + (i + 1) + " of " + n + " to " + host + " got " + response.statusCode() + ": " + response.body());
      }
    }
  }
}
