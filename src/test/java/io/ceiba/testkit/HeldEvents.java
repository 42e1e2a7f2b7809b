package io.ceiba.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Checks that an edge streams server-sent events rather than buffering them: the origin's {@code /sse-held} sends
 * its first event and holds the rest; that first event must reach the client before the test lets the origin send
 * the others. A proxy that buffers the whole response shows the client nothing until the end, and fails here.
 */
public final class HeldEvents {

  private HeldEvents() {
  }

  /** GET {@code /sse-held} from {@code origin}, through the edge at {@code edgePort} with {@code Host: host}. */
  public static void assertStreamed(Vertx vertx, int edgePort, String host, Origin origin) throws Exception {
    HttpClient client = vertx.createHttpClient();
    try {
      StringBuffer received = new StringBuffer();
      boolean[] ended = {false};
      int[] status = {0};
      int heldBefore = origin.heldStreams();
      client.request(new RequestOptions().setMethod(HttpMethod.GET).setServer(SocketAddress.inetSocketAddress(edgePort, "127.0.0.1"))
              .setHost(host).setPort(80).setURI("/sse-held"))
          .compose(request -> request.send())
          .onSuccess(response -> {
            status[0] = response.statusCode();
            response.handler(chunk -> received.append(chunk.toString()));
            response.endHandler(v -> ended[0] = true);
          });
      // not awaited on its own: a buffering proxy may hold back the response head as well as the body
      Eventually.until(vertx, Duration.ofSeconds(10), "the first event at the client while the origin holds the rest",
          () -> io.vertx.core.Future.succeededFuture(received.toString().contains("data: event-0\n\n"))).await(15, TimeUnit.SECONDS);
      assertThat(status[0]).isEqualTo(200);
      assertThat(origin.heldStreams()).as("the origin still holds the last events").isEqualTo(heldBefore + 1);
      assertThat(received.toString()).isEqualTo("data: event-0\n\n");
      assertThat(ended[0]).isFalse();

      assertThat(origin.releaseHeldEvents()).isEqualTo(heldBefore + 1);
      Eventually.until(vertx, Duration.ofSeconds(10), "the stream's end", () -> io.vertx.core.Future.succeededFuture(ended[0]))
          .await(15, TimeUnit.SECONDS);
      assertThat(received.toString()).isEqualTo("data: event-0\n\ndata: event-1\n\ndata: event-2\n\n");
    } finally {
      client.close();
    }
  }
}
