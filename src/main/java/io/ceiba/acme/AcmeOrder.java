package io.ceiba.acme;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.Writer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One certificate order over ACME with HTTP-01, start to end: the account (its key kept in {@code data_dir/acme}),
 * the order for the names, each challenge published to every edge and triggered, the CSR with a fresh EC key, the
 * issued chain. Blocking throughout: run it on a worker.
 */
final class AcmeOrder {

  private static final Logger LOG = LoggerFactory.getLogger(AcmeOrder.class);
  /** How long the CA may take to validate a challenge or to issue. */
  static final Duration CA_WAIT = Duration.ofSeconds(90);

  /** Publishes a challenge to every edge of the cluster and returns once they answer it; or withdraws it. */
  interface ChallengePublisher {
    void publish(String token, String keyAuthorization) throws IOException;

    void withdraw(String token);
  }

  /** What the CA issued: the chain and its private key, both PEM. */
  record Issued(String certPem, String keyPem, X509Certificate leaf) {
  }

  private final URI directory;
  private final AcmeTrust trust;
  private final String email;
  private final Path accountKeyFile;

  AcmeOrder(URI directory, AcmeTrust trust, String email, Path accountKeyFile) {
    this.directory = directory;
    this.trust = trust;
    this.email = email;
    this.accountKeyFile = accountKeyFile;
  }

  Issued run(List<String> names, ChallengePublisher challenges) throws IOException, AcmeException, InterruptedException {
    if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
      Security.addProvider(new BouncyCastleProvider()); // acme4j signs the CSR through it
    }
    Session session = new Session(directory, trust);
    AccountBuilder builder = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey());
    if (!email.isEmpty()) {
      builder.addEmail(email);
    }
    Account account = builder.create(session);
    Order order = account.newOrder().domains(names).create();
    for (Authorization authorization : order.getAuthorizations()) {
      if (authorization.getStatus() == Status.VALID) {
        continue; // proven recently, the CA reuses it
      }
      Http01Challenge challenge = authorization.findChallenge(Http01Challenge.class).orElseThrow(() -> new AcmeException(
          "the CA offers no HTTP-01 challenge for " + authorization.getIdentifier().getDomain()));
      challenges.publish(challenge.getToken(), challenge.getAuthorization());
      try {
        challenge.trigger();
        Status status = authorization.waitForCompletion(CA_WAIT);
        if (status != Status.VALID) {
          throw new AcmeException("the CA did not accept the HTTP-01 challenge for " + authorization.getIdentifier().getDomain()
              + ": " + challenge.getError().map(Object::toString).orElse(status.toString()));
        }
      } finally {
        challenges.withdraw(challenge.getToken());
      }
    }
    KeyPair domainKey = KeyPairUtils.createECKeyPair("secp256r1");
    order.execute(domainKey);
    Status status = order.waitForCompletion(CA_WAIT);
    if (status != Status.VALID) {
      throw new AcmeException("the order for " + names + " ended " + status + order.getError().map(p -> ": " + p).orElse(""));
    }
    StringWriter chain = new StringWriter();
    order.getCertificate().writeCertificate(chain);
    X509Certificate leaf = order.getCertificate().getCertificate();
    LOG.info("ACME: certificate for {} issued by {}, valid until {}", names, leaf.getIssuerX500Principal().getName(),
        leaf.getNotAfter().toInstant());
    return new Issued(chain.toString(), pkcs8(domainKey), leaf);
  }

  /** The account's key pair, made at the first order and kept (readable by the node's user only). */
  private KeyPair accountKey() throws IOException {
    if (Files.isRegularFile(accountKeyFile)) {
      try (Reader in = Files.newBufferedReader(accountKeyFile)) {
        return KeyPairUtils.readKeyPair(in);
      }
    }
    Files.createDirectories(accountKeyFile.getParent());
    KeyPair key = KeyPairUtils.createKeyPair(2048);
    Path tmp = accountKeyFile.resolveSibling(accountKeyFile.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (Writer out = Files.newBufferedWriter(tmp)) {
      KeyPairUtils.writeKeyPair(key, out);
    }
    Files.move(tmp, accountKeyFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return key;
  }

  private static String pkcs8(KeyPair key) throws IOException {
    byte[] der = key.getPrivate().getEncoded();
    if (der == null) {
      throw new IOException("the new private key has no PKCS#8 encoding");
    }
    return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END PRIVATE KEY-----\n";
  }
}
