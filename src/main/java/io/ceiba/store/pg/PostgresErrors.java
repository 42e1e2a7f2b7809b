package io.ceiba.store.pg;

import io.vertx.core.VertxException;
import javax.net.ssl.SSLException;

/**
 * One line for an operator out of a failed connection or statement: the innermost cause's message, and for a failed
 * TLS handshake also the server and the TLS settings that were used, since the JDK's own words ("unable to find valid
 * certification path to requested target") do not say which file or mode to look at. The Vert.x client reports every
 * failed handshake as a bare "SSL handshake failed" (5.0.10 drops the cause when the server closes the connection):
 * the likely causes are listed then, and pgjdbc's attempt (schema migrations) logs the precise one.
 */
public final class PostgresErrors {

  private static final String VERTX_HANDSHAKE_FAILED = "SSL handshake failed";

  private PostgresErrors() {
  }

  public static String describe(Throwable failure, PostgresUrl url) {
    Throwable innermost = innermost(failure);
    String root = firstLine(innermost);
    if (innermost instanceof VertxException && VERTX_HANDSHAKE_FAILED.equals(innermost.getMessage())) {
      root = VERTX_HANDSHAKE_FAILED + " (the server's certificate is not issued by a CA of sslrootcert, or does not name"
          + " the host under verify-full, or the server refused the client certificate)";
    } else if (!causedByTls(failure)) {
      return root;
    }
    String trust = url.sslmode().startsWith("verify-")
        ? ", sslrootcert=" + url.rootCertificate().map(Object::toString).orElse("the JVM's CA store") : "";
    return "TLS handshake with PostgreSQL at " + url.host() + ":" + url.port() + " failed (sslmode=" + url.sslmode() + trust
        + "): " + root;
  }

  private static boolean causedByTls(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException) {
        return true;
      }
    }
    return false;
  }

  private static Throwable innermost(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private static String firstLine(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
  }
}
