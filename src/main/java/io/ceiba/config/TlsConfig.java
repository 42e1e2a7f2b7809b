package io.ceiba.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * TLS termination on the edge: a second listener whose certificate is chosen by SNI among several
 * PEM certificate/key pairs (the first pair answers clients that send no SNI).
 *
 * @param watchInterval how often the PEM files are checked for a renewal (SIGHUP checks at once)
 * @param http2         offer HTTP/2 by ALPN ({@code h2}) beside HTTP/1.1
 */
public record TlsConfig(int port, List<CertificatePair> certificates, Duration watchInterval, boolean http2) {

  public static final boolean DEFAULT_HTTP2 = true;

  public static final Duration DEFAULT_WATCH_INTERVAL = Duration.ofSeconds(5);

  public TlsConfig {
    certificates = List.copyOf(certificates);
  }

  /** A PEM certificate chain and its PEM private key. */
  public record CertificatePair(Path cert, Path key) {
  }
}
