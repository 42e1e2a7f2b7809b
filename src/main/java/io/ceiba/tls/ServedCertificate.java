package io.ceiba.tls;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * A certificate the edge serves, checked whole: its chain parsed, its key the certificate's, valid now.
 *
 * @param name     what metrics and logs call it: the certificate's first DNS name (or its subject)
 * @param certPem  the chain as PEM, leaf first
 * @param keyPem   the private key as PEM
 * @param leaf     the parsed leaf certificate
 * @param dnsNames its DNS subject alternative names
 * @param source   where it came from (the cert file's path), for log lines
 */
public record ServedCertificate(String name, String certPem, String keyPem, X509Certificate leaf, List<String> dnsNames,
    String source) {

  public ServedCertificate {
    dnsNames = List.copyOf(dnsNames);
  }

  public Instant notAfter() {
    return leaf.getNotAfter().toInstant();
  }

  public String issuer() {
    return leaf.getIssuerX500Principal().getName();
  }
}
