package io.ceiba.tls;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.X509KeyManager;

/**
 * Turns a PEM certificate chain and key into a {@link ServedCertificate}, or says in one sentence why not: no
 * certificate, a key that does not parse, a key that is not the certificate's, not yet valid, expired. A pair that
 * fails any check is never served, so a bad renewal cannot take the listener down.
 */
public final class CertificateChecks {

  private static final byte[] PROBE = "ceiba certificate key check".getBytes(StandardCharsets.US_ASCII);

  private CertificateChecks() {
  }

  /** Why a pair is refused. */
  public static final class Refused extends Exception {
    public Refused(String why) {
      super(why);
    }
  }

  /**
   * @param vertx  parses the key the way the TLS listener will (PKCS#8, PKCS#1 RSA, EC)
   * @param source the cert file's path (or another name of where it came from), for the messages
   */
  public static ServedCertificate check(Vertx vertx, String certPem, String keyPem, String source, Instant now) throws Refused {
    List<X509Certificate> chain = chain(certPem, source);
    X509Certificate leaf = chain.get(0);
    PrivateKey key = privateKey(vertx, certPem, keyPem, source);
    if (!belongTogether(key, leaf.getPublicKey())) {
      throw new Refused(source + ": the private key is not the certificate's (a cert and key of different pairs?)");
    }
    if (now.isBefore(leaf.getNotBefore().toInstant())) {
      throw new Refused(source + ": not valid before " + leaf.getNotBefore().toInstant());
    }
    if (!now.isBefore(leaf.getNotAfter().toInstant())) {
      throw new Refused(source + ": expired at " + leaf.getNotAfter().toInstant());
    }
    List<String> dnsNames = dnsNames(leaf);
    String name = dnsNames.isEmpty() ? leaf.getSubjectX500Principal().getName() : dnsNames.get(0);
    return new ServedCertificate(name, certPem, keyPem, leaf, dnsNames, source);
  }

  private static List<X509Certificate> chain(String certPem, String source) throws Refused {
    try {
      Collection<? extends Certificate> parsed = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(certPem.getBytes(StandardCharsets.US_ASCII)));
      List<X509Certificate> chain = new ArrayList<>();
      parsed.forEach(c -> chain.add((X509Certificate) c));
      if (chain.isEmpty()) {
        throw new Refused(source + ": no certificate in it");
      }
      return chain;
    } catch (CertificateException e) {
      throw new Refused(source + ": not a PEM certificate chain (" + e.getMessage() + ")");
    }
  }

  /** The key as the listener would load it: through Vert.x's own PEM reader, into a key store. */
  private static PrivateKey privateKey(Vertx vertx, String certPem, String keyPem, String source) throws Refused {
    try {
      PemKeyCertOptions pem = new PemKeyCertOptions().addCertValue(Buffer.buffer(certPem)).addKeyValue(Buffer.buffer(keyPem));
      KeyStore store = pem.loadKeyStore(vertx);
      X509KeyManager keys = (X509KeyManager) pem.getKeyManagerFactory(vertx).getKeyManagers()[0];
      PrivateKey key = keys.getPrivateKey(store.aliases().nextElement());
      if (key == null) {
        throw new Refused(source + ": no private key loaded");
      }
      return key;
    } catch (Refused e) {
      throw e;
    } catch (Exception e) {
      throw new Refused(source + ": the key does not load (" + e.getMessage() + ")");
    }
  }

  /** Signs with the private key and verifies with the certificate's public key: works for RSA and EC alike. */
  private static boolean belongTogether(PrivateKey key, PublicKey certificateKey) {
    String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256with" + key.getAlgorithm();
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(PROBE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificateKey);
      verifier.update(PROBE);
      return verifier.verify(signature);
    } catch (Exception e) {
      return false;
    }
  }

  private static List<String> dnsNames(X509Certificate leaf) {
    List<String> names = new ArrayList<>();
    try {
      Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
      if (alternatives != null) {
        for (List<?> entry : alternatives) {
          if (Integer.valueOf(2).equals(entry.get(0))) { // 2: dNSName (RFC 5280)
            names.add(String.valueOf(entry.get(1)));
          }
        }
      }
    } catch (CertificateException e) {
      // unreadable SAN extension: the certificate is still served, named by its subject
    }
    return names;
  }
}
