package io.ceiba.registry;

/**
 * How the edge and the health checker verify a service's {@code https://} backends (the registry's per-service
 * {@code upstream_tls:} block, like Traefik's serversTransport). Without a block: the JDK's system CAs and the backend's host
 * name. PEM texts are read when the registry is parsed, so a registry that names an unreadable file is refused whole.
 *
 * @param caPem              trusted CAs instead of the system ones; null: system CAs
 * @param serverName         name sent as SNI and checked against the certificate; null: the backend URL's host
 * @param insecureSkipVerify accept any certificate (an explicit opt-out, logged when the registry is applied)
 * @param clientCertPem      client certificate chain for mutual TLS to the backend; null: none
 * @param clientKeyPem       its private key; null exactly when {@code clientCertPem} is
 */
public record UpstreamTls(String caPem, String serverName, boolean insecureSkipVerify, String clientCertPem,
    String clientKeyPem) {

  /** No {@code upstream_tls:} block: verify against the system CAs and the URL's host. */
  public static final UpstreamTls SYSTEM = new UpstreamTls(null, null, false, null, null);

  public boolean clientCertificate() {
    return clientCertPem != null;
  }
}
