package io.ceiba.tls;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.util.List;

/** The certificates the node's edge serves, all checked; replaced whole, never one pair at a time. */
public record CertificateSet(List<ServedCertificate> certificates) {

  public CertificateSet {
    certificates = List.copyOf(certificates);
  }

  /** The pairs for the listener: SNI picks among them; the first answers clients that send no SNI. */
  public PemKeyCertOptions keyCertOptions() {
    PemKeyCertOptions pem = new PemKeyCertOptions();
    for (ServedCertificate c : certificates) {
      pem.addCertValue(Buffer.buffer(c.certPem())).addKeyValue(Buffer.buffer(c.keyPem()));
    }
    return pem;
  }

  /** The same, as the options a running listener swaps in; {@code alpn} as the listener was started with. */
  public ServerSSLOptions serverOptions(boolean alpn) {
    ServerSSLOptions options = new ServerSSLOptions().setSni(true).setUseAlpn(alpn).setKeyCertOptions(keyCertOptions());
    if (alpn) {
      options.setApplicationLayerProtocols(List.of("h2", "http/1.1"));
    }
    return options;
  }
}
