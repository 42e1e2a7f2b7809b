package io.ceiba.control;

import io.ceiba.cli.VersionInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /v1/openapi.json}: the OpenAPI 3.1 description of {@code /v1}, a resource of the jar with this build's
 * version in {@code info.version}. It is served without the admin token: it holds no secret, and tools (gateways,
 * client generators) read it before they are given one.
 */
final class OpenApiDocument {

  static final String RESOURCE = "/openapi/ceiba-v1.json";

  private final Future<Buffer> document;

  OpenApiDocument(Vertx vertx) {
    // read once, off the event loop; every request gets the same bytes
    this.document = vertx.executeBlocking(OpenApiDocument::load);
  }

  static Buffer load() {
    try (InputStream in = OpenApiDocument.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the jar has no " + RESOURCE);
      }
      JsonObject spec = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      spec.getJsonObject("info").put("version", VersionInfo.version());
      return spec.toBuffer();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void handle(RoutingContext ctx) {
    document.onSuccess(body -> ctx.response().putHeader("content-type", "application/json").end(body))
        .onFailure(ctx::fail);
  }
}
