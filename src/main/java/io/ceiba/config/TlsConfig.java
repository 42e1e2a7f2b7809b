package io.ceiba.config;

import java.nio.file.Path;
import java.util.List;

/**
 * TLS termination on the edge: a second listener whose certificate is chosen by SNI among several
 * PEM certificate/key pairs (the first pair answers clients that send no SNI).
 */
public record TlsConfig(int port, List<CertificatePair> certificates) {

  public TlsConfig {
    certificates = List.copyOf(certificates);
  }

  /** A PEM certificate chain and its PEM private key. */
  public record CertificatePair(Path cert, Path key) {
  }
}
