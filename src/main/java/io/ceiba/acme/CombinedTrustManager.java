package io.ceiba.acme;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.stream.Stream;
import javax.net.ssl.X509TrustManager;

/** Trusts a server certificate that the first or the second trust manager trusts (a private CA, then the system's). */
final class CombinedTrustManager implements X509TrustManager {

  private final X509TrustManager first;
  private final X509TrustManager second;

  CombinedTrustManager(X509TrustManager first, X509TrustManager second) {
    this.first = first;
    this.second = second;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    try {
      first.checkServerTrusted(chain, authType);
    } catch (CertificateException e) {
      second.checkServerTrusted(chain, authType);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("an ACME client does not accept client certificates");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return Stream.concat(Arrays.stream(first.getAcceptedIssuers()), Arrays.stream(second.getAcceptedIssuers()))
        .toArray(X509Certificate[]::new);
  }
}
