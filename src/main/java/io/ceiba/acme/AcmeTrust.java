package io.ceiba.acme;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * The ACME provider for any directory URL, trusting the system CAs plus, for a private ACME server (smallstep, a
 * company CA, Pebble in tests), the CA certificates of {@code acme.ca}. Host names are verified either way.
 */
final class AcmeTrust extends GenericAcmeProvider {

  private final SSLContext sslContext;

  private AcmeTrust(SSLContext sslContext) {
    this.sslContext = sslContext;
  }

  /** The provider for {@code extraCa} (null: the system CAs only). Blocking: reads the file. */
  static AcmeTrust of(Path extraCa) throws IOException, GeneralSecurityException {
    if (extraCa == null) {
      return new AcmeTrust(null);
    }
    Collection<? extends Certificate> cas;
    try (InputStream in = Files.newInputStream(extraCa)) {
      cas = CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
    if (cas.isEmpty()) {
      throw new IOException("acme.ca " + extraCa + " holds no PEM certificate");
    }
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (Certificate ca : cas) {
      store.setCertificateEntry("acme-ca-" + i++, ca);
    }
    List<TrustManager> managers = new ArrayList<>();
    managers.add(new CombinedTrustManager(trustManager(store), trustManager(null)));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, managers.toArray(new TrustManager[0]), null);
    return new AcmeTrust(context);
  }

  private static X509TrustManager trustManager(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store); // null: the JDK's CAs
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }

  @Override
  protected HttpConnector createHttpConnector(NetworkSettings settings) {
    if (sslContext == null) {
      return super.createHttpConnector(settings);
    }
    return new HttpConnector(settings) {
      @Override
      public HttpClient.Builder createClientBuilder() {
        return super.createClientBuilder().sslContext(sslContext);
      }
    };
  }
}
