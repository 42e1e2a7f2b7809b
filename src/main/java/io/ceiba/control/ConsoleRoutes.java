package io.ceiba.control;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The web console at {@code /console/} of a node with the {@code control} role: static files from the jar
 * ({@code console/} on the class path), no data. The page asks for the admin token and keeps it in a variable of its
 * own script (never stored, gone on reload), sending it as {@code Authorization: Bearer} to {@code /v1}; a browser
 * never adds that header by itself, so another site cannot make it write anything (no CSRF), and the strict policy
 * below lets nothing but the console's own files run or load.
 */
final class ConsoleRoutes {

  static final String PATH = "/console/";
  static final String POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  private ConsoleRoutes() {
  }

  static void mount(Router router) {
    // a regular expression: a plain "/console" route would match "/console/" too, and redirect it to itself
    router.getWithRegex("/console").handler(ctx -> ctx.response().setStatusCode(301).putHeader("location", PATH).end());
    router.route(PATH + "*").handler(ConsoleRoutes::secure).handler(StaticHandler.create("console")
        .setCachingEnabled(false)
        .setDirectoryListing(false)
        .setIncludeHidden(false)
        .setDefaultContentEncoding("UTF-8"));
  }

  private static void secure(RoutingContext ctx) {
    ctx.response()
        .putHeader("content-security-policy", POLICY)
        .putHeader("x-content-type-options", "nosniff")
        .putHeader("referrer-policy", "no-referrer")
        .putHeader("x-frame-options", "DENY")
        .putHeader("cross-origin-opener-policy", "same-origin")
        .putHeader("cache-control", "no-cache");
    ctx.next();
  }
}
