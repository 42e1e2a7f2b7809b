package io.ceiba.cluster;

import io.ceiba.config.ClusterConfig;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's cluster credentials, loaded from its {@link CredentialsStore} folder: the CAs it trusts, its own
 * certificate chain and key, and the relay tokens. They give mutual TLS 1.3 to the membership transport (JGroups)
 * and to the clustered event bus, and the token of relayed requests. A peer whose certificate no trusted CA issued is
 * refused and logged (at most once per {@link #REFUSAL_LOG_INTERVAL} per address).
 */
public final class ClusterCredentials {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterCredentials.class);
  static final Duration REFUSAL_LOG_INTERVAL = Duration.ofSeconds(10);
  private static final Duration EXPIRY_WARNING = Duration.ofDays(30);
  private static final String TLS = "TLSv1.3";

  private final CredentialsStore store;
  private final String nodeId;
  private final List<X509Certificate> trusted;
  private final List<X509Certificate> chain;
  private final PrivateKey key;
  private final String clusterName;
  private final List<String> relayTokens;
  private final Map<String, Long> lastRefusalLog = new ConcurrentHashMap<>();

  private ClusterCredentials(CredentialsStore store, String nodeId, String clusterName) {
    this.store = store;
    this.nodeId = nodeId;
    this.trusted = ClusterPki.readCertificates(store.caCerts());
    this.chain = ClusterPki.readCertificates(store.certOf(nodeId));
    this.key = ClusterPki.readKey(store.keyOf(nodeId));
    this.relayTokens = RelayKeys.tokens(store.relayKeys(), clusterName);
    this.clusterName = clusterName;
  }

  /**
   * Loads the credentials of {@code nodeId}, first making what is missing (a new CA and relay key when the folder has
   * none, this node's certificate when the CA key is there). Blocking: file I/O and key generation.
   */
  public static ClusterCredentials prepare(ClusterConfig cluster, String nodeId, Path dataDir) {
    CredentialsStore store = new CredentialsStore(cluster.credentialsDir(dataDir));
    boolean fresh = !Files.exists(store.caCerts());
    if (fresh || !Files.exists(store.certOf(nodeId)) || !Files.exists(store.keyOf(nodeId))) {
      List<String> made = store.init(cluster.name(), List.of(nodeId));
      if (fresh) {
        LOG.warn("made new cluster credentials in {} (a new cluster CA): nodes of this cluster on other hosts need ca.pem,"
            + " cluster.key and their own certificate from here (ceiba cluster init --dir {} --nodes NODE,...)", store.dir(), store.dir());
      }
      made.forEach(line -> LOG.info("cluster credentials: made {}", line));
    }
    ClusterCredentials credentials = new ClusterCredentials(store, nodeId, cluster.name());
    credentials.warnOfExpiry();
    return credentials;
  }

  /** Keys that seal stored certificates' private keys (the first seals, any opens), derived from the relay keys. */
  public List<byte[]> sealingKeys() {
    return RelayKeys.derived(store.relayKeys(), "ceiba certificate keys v1:" + clusterName);
  }

  /** The tokens of relayed requests: the first is sent, any is accepted. */
  public List<String> relayTokens() {
    return relayTokens;
  }

  /** Mutual TLS on the clustered event bus: only peers with a certificate of a trusted CA connect either way. */
  public EventBusOptions secure(EventBusOptions bus) {
    PemTrustOptions trust = new PemTrustOptions().addCertPath(store.caCerts().toString());
    return bus.setSsl(true)
        .setClientAuth(ClientAuth.REQUIRED)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(store.certOf(nodeId).toString()).setKeyPath(store.keyOf(nodeId).toString()))
        .setTrustOptions(trust)
        .setEnabledSecureTransportProtocols(Set.of(TLS));
  }

  /** A TLS 1.3 context with this node's key and the trusted CAs, for the membership transport. */
  public SSLContext sslContext() {
    try {
      char[] none = new char[0];
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("node", key, none, chain.toArray(new X509Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, none);

      KeyStore anchors = KeyStore.getInstance("PKCS12");
      anchors.load(null, null);
      for (int i = 0; i < trusted.size(); i++) {
        anchors.setCertificateEntry("ca" + i, trusted.get(i));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(anchors);
      X509ExtendedTrustManager pkix = (X509ExtendedTrustManager) tmf.getTrustManagers()[0];

      SSLContext context = SSLContext.getInstance(TLS);
      context.init(kmf.getKeyManagers(), new TrustManager[] {new LoggingTrustManager(pkix)}, null);
      return context;
    } catch (Exception e) {
      throw new IllegalStateException("cluster credentials in " + store.dir() + " are unusable: " + e.getMessage(), e);
    }
  }

  /** What the log says at start: where the credentials are, who issued this node's certificate, until when. */
  public String describe() {
    X509Certificate own = chain.get(0);
    return store.dir() + " (node certificate " + own.getSubjectX500Principal().getName() + " valid until " + own.getNotAfter().toInstant()
        + ", " + trusted.size() + " trusted CA" + (trusted.size() == 1 ? "" : "s, a rotation is under way") + ")";
  }

  private void warnOfExpiry() {
    Instant soon = Instant.now().plus(EXPIRY_WARNING);
    for (X509Certificate cert : chain) {
      if (cert.getNotAfter().toInstant().isBefore(soon)) {
        LOG.warn("cluster certificate {} of node {} expires {}: rotate the credentials (ceiba cluster init --rotate)",
            cert.getSubjectX500Principal().getName(), nodeId, cert.getNotAfter().toInstant());
      }
    }
  }

  private void refused(String direction, Object peer, X509Certificate[] presented, Exception why) {
    String address = String.valueOf(peer);
    long now = System.nanoTime();
    Long last = lastRefusalLog.get(address);
    if (last != null && now - last < REFUSAL_LOG_INTERVAL.toNanos()) {
      return;
    }
    lastRefusalLog.put(address, now);
    if (lastRefusalLog.size() > 1000) {
      lastRefusalLog.clear();
    }
    String subject = presented == null || presented.length == 0 ? "no certificate" : presented[0].getSubjectX500Principal().getName()
        + " issued by " + presented[0].getIssuerX500Principal().getName();
    LOG.warn("refused a cluster connection {} {}: {} is not from this cluster's CA ({})", direction, address, subject, why.getMessage());
  }

  /** The JDK's PKIX checks, plus a log line naming the address of a refused peer. */
  private final class LoggingTrustManager extends X509ExtendedTrustManager {

    private final X509ExtendedTrustManager pkix;

    LoggingTrustManager(X509ExtendedTrustManager pkix) {
      this.pkix = pkix;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      try {
        pkix.checkClientTrusted(chain, authType, socket);
      } catch (CertificateException e) {
        refused("from", socket == null ? null : socket.getRemoteSocketAddress(), chain, e);
        throw e;
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      try {
        pkix.checkServerTrusted(chain, authType, socket);
      } catch (CertificateException e) {
        refused("to", socket == null ? null : socket.getRemoteSocketAddress(), chain, e);
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      try {
        pkix.checkClientTrusted(chain, authType, engine);
      } catch (CertificateException e) {
        refused("from", engine == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort(), chain, e);
        throw e;
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      try {
        pkix.checkServerTrusted(chain, authType, engine);
      } catch (CertificateException e) {
        refused("to", engine == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort(), chain, e);
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      pkix.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return pkix.getAcceptedIssuers();
    }
  }
}
