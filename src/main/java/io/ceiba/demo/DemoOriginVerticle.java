package io.ceiba.demo;

import io.ceiba.config.DemoOriginConfig;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quick start's backend: answers every path with 200 and the request it saw as JSON (method, path, the headers
 * the edge forwarded, which node's origin answered), {@code /healthz} with 200. It is what the example registry's
 * {@code demo} and {@code api} services route to, so a fresh machine gets an answer through the edge at once; in
 * production nothing starts it (demo_origin.port is 0 with a config file unless set).
 */
public final class DemoOriginVerticle extends AbstractVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(DemoOriginVerticle.class);

  private final DemoOriginConfig config;
  private final String nodeId;

  public DemoOriginVerticle(DemoOriginConfig config, String nodeId) {
    this.config = config;
    this.nodeId = nodeId;
  }

  @Override
  public void start(Promise<Void> started) {
    vertx.createHttpServer()
        .requestHandler(this::answer)
        .listen(config.port(), config.host())
        .onSuccess(s -> LOG.info("node {}: demo origin on http://{}:{}", nodeId, config.host(), s.actualPort()))
        // a demo must not keep the node from starting: a busy port leaves the demo services without a backend
        .onFailure(e -> LOG.warn("node {}: demo origin cannot listen on {}:{} ({}); the registry's services on it answer "
            + "503 no_healthy_backend; set demo_origin.port (CEIBA_DEMO_ORIGIN_PORT) to a free port or 0", nodeId,
            config.host(), config.port(), e.getMessage()))
        .<Void>mapEmpty()
        .otherwiseEmpty()
        .onComplete(started);
  }

  private void answer(HttpServerRequest request) {
    // the body is not echoed: read and dropped, so an upload of any size costs no memory
    request.handler(chunk -> { });
    request.endHandler(v -> {
      if ("/healthz".equals(request.path())) {
        request.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain").end("ok\n");
        return;
      }
      JsonObject headers = new JsonObject();
      request.headers().forEach(h -> headers.put(h.getKey().toLowerCase(Locale.ROOT), h.getValue()));
      JsonObject seen = new JsonObject()
          .put("origin", "ceiba demo origin")
          .put("node", nodeId)
          .put("method", request.method().name())
          .put("path", request.path())
          .put("query", request.query())
          .put("headers", headers);
      request.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(seen.encodePrettily() + "\n");
    });
  }
}
