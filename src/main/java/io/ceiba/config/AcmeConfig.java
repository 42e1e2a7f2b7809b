package io.ceiba.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Certificates ordered over ACME (RFC 8555) for the hosts of services marked {@code tls: { acme: true }} in the
 * registry. Off unless a directory is set. The nodes with role {@code control} order (one at a time cluster-wide),
 * every edge answers the HTTP-01 challenges, and the certificate is stored once and served by every edge.
 *
 * @param directory     the CA's directory URL (Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory), or
 *                      empty for off
 * @param email         the account's contact, optional
 * @param ca            a CA certificate (PEM) to trust for the directory's HTTPS besides the system ones, for a private
 *                      ACME server; null for none
 * @param checkInterval how often the certificates are checked for renewal
 * @param renewAt       the fraction of a certificate's lifetime after which it is renewed (2/3 by default)
 * @param retryAfter    the first wait after a failed order; it doubles after each further failure, up to checkInterval
 */
public record AcmeConfig(String directory, String email, Path ca, Duration checkInterval, double renewAt, Duration retryAfter) {

  public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofHours(1);
  public static final double DEFAULT_RENEW_AT = 2.0 / 3;
  public static final Duration DEFAULT_RETRY_AFTER = Duration.ofMinutes(1);

  public static AcmeConfig off() {
    return new AcmeConfig("", "", null, DEFAULT_CHECK_INTERVAL, DEFAULT_RENEW_AT, DEFAULT_RETRY_AFTER);
  }

  public boolean enabled() {
    return !directory.isEmpty();
  }
}
