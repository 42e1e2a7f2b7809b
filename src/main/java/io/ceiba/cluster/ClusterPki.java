package io.ceiba.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The X.509 side of the cluster credentials: a cluster CA, node certificates it issues (usable as TLS server and
 * client), a cross-signed CA certificate for a rotation, and PEM files. Keys are EC P-256 (fast handshakes).
 * Bouncy Castle builds and writes the certificates; the JDK's own providers do all the cryptography.
 */
public final class ClusterPki {

  /** A CA: its certificate and private key. */
  public record Ca(X509Certificate cert, PrivateKey key) {
  }

  public static final Duration CA_VALIDITY = Duration.ofDays(3650);
  public static final Duration NODE_VALIDITY = Duration.ofDays(1825);
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();

  private ClusterPki() {
  }

  /** A new self-signed cluster CA named after the cluster. */
  public static Ca newCa(String clusterName) {
    KeyPair pair = ecKeyPair();
    X500Name name = new X500Name("CN=ceiba cluster CA " + safe(clusterName) + " " + Instant.now().getEpochSecond() + ",O=ceiba");
    return new Ca(caCert(name, pair.getPublic(), name, pair.getPrivate()), pair.getPrivate());
  }

  /**
   * {@code next}'s CA certificate issued by {@code previous}: sent behind the node certificates {@code next} issues,
   * it lets nodes that still trust only {@code previous} accept them during a rolling rotation.
   */
  public static X509Certificate crossSign(Ca next, Ca previous) {
    return caCert(X500Name.getInstance(next.cert().getSubjectX500Principal().getEncoded()), next.cert().getPublicKey(),
        X500Name.getInstance(previous.cert().getSubjectX500Principal().getEncoded()), previous.key());
  }

  /** A key and certificate for node {@code nodeId}, issued by {@code ca}: TLS server and client authentication. */
  public static Ca issueNode(Ca ca, String nodeId) {
    KeyPair pair = ecKeyPair();
    Instant now = Instant.now();
    try {
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
          X500Name.getInstance(ca.cert().getSubjectX500Principal().getEncoded()), serial(),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(NODE_VALIDITY)),
          new X500Name("CN=" + safe(nodeId) + ",O=ceiba"), pair.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.cert().getPublicKey()));
      return new Ca(sign(builder, ca.key()), pair.getPrivate());
    } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot issue a certificate for node " + nodeId + ": " + e.getMessage(), e);
    }
  }

  private static X509Certificate caCert(X500Name subject, PublicKey key, X500Name issuer, PrivateKey issuerKey) {
    Instant now = Instant.now();
    try {
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, serial(),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CA_VALIDITY)), subject, key);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(key));
      return sign(builder, issuerKey);
    } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make a CA certificate: " + e.getMessage(), e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(key)));
  }

  private static KeyPair ecKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no EC P-256 key generator in this JDK", e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(128, RANDOM);
  }

  /** Keeps a name usable inside a distinguished name. */
  private static String safe(String text) {
    return text.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  // ---- PEM files ----

  /** Every certificate of a PEM file, in file order. */
  public static List<X509Certificate> readCertificates(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      List<X509Certificate> certs = new ArrayList<>();
      CertificateFactory.getInstance("X.509").generateCertificates(in).forEach(c -> certs.add((X509Certificate) c));
      if (certs.isEmpty()) {
        throw new IllegalArgumentException(file + " holds no certificate");
      }
      return certs;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(file + " is not a PEM certificate file: " + e.getMessage(), e);
    }
  }

  /** The private key of a PEM file (PKCS#8 or an OpenSSL EC/RSA key). */
  public static PrivateKey readKey(Path file) {
    try (Reader reader = Files.newBufferedReader(file); PEMParser parser = new PEMParser(reader)) {
      Object pem = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (pem instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      if (pem instanceof PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
      throw new IllegalArgumentException(file + " holds no unencrypted private key");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  public static String pem(List<X509Certificate> certs) {
    return pemOf(certs.toArray());
  }

  public static String pem(PrivateKey key) {
    try {
      return pemOf(new JcaPKCS8Generator(key, null).generate());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String pemOf(Object... objects) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      for (Object o : objects) {
        writer.writeObject(o);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
