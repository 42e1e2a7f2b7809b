package io.ceiba.edge;

import io.ceiba.registry.UpstreamTls;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;

/**
 * The Vert.x form of a service's {@link UpstreamTls}, built once per registry version and set on each TLS request
 * to one of its backends (requests, WebSocket upgrades and health checks alike), so a connection is verified the
 * same way whichever path opens it.
 */
public final class UpstreamTlsOptions {

  private final ClientSSLOptions ssl;
  private final String serverName;

  private UpstreamTlsOptions(ClientSSLOptions ssl, String serverName) {
    this.ssl = ssl;
    this.serverName = serverName;
  }

  public static UpstreamTlsOptions of(UpstreamTls tls) {
    ClientSSLOptions ssl = new ClientSSLOptions()
        // "HTTPS": the certificate must name the host the request is aimed at (RFC 2818), not only chain to a CA
        .setHostnameVerificationAlgorithm(tls.insecureSkipVerify() ? "" : "HTTPS")
        .setTrustAll(tls.insecureSkipVerify());
    if (tls.caPem() != null) {
      ssl.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(tls.caPem())));
    }
    if (tls.clientCertificate()) {
      ssl.setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(tls.clientCertPem()))
          .addKeyValue(Buffer.buffer(tls.clientKeyPem())));
    }
    return new UpstreamTlsOptions(ssl, tls.serverName());
  }

  /**
   * Aims {@code options} at a TLS backend: the connection goes to {@code host:port}; with a server name, SNI and the
   * certificate check use that name instead of the URL's host.
   */
  public <T extends RequestOptions> T aim(T options, String host, int port) {
    options.setSsl(true).setSslOptions(ssl);
    if (serverName == null) {
      options.setHost(host).setPort(port);
    } else {
      options.setServer(SocketAddress.inetSocketAddress(port, host)).setHost(serverName).setPort(port);
    }
    return options;
  }
}
