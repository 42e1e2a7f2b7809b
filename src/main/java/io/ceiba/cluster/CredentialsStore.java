package io.ceiba.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The folder of a cluster's credentials, and what {@code ceiba cluster init} and a node's first start do to it:
 * <pre>
 *   ca.pem              the CAs nodes trust (two during a rotation; the first is the current one)
 *   ca.key              the current CA's key: needed only to issue node certificates, keep it off the nodes
 *   NODE.pem, NODE.key  a node's certificate chain (its certificate, then during a rotation the cross-signed CA) and key
 *   cluster.key         relay keys, one per line (base64url, 32 bytes); the first signs, every line is accepted
 * </pre>
 * Every change writes whole files through a rename and holds a lock on {@code .lock}, so nodes of one host that
 * start together make one CA, not three.
 */
public final class CredentialsStore {

  private static final Logger LOG = LoggerFactory.getLogger(CredentialsStore.class);
  public static final String CA_CERTS = "ca.pem";
  public static final String CA_KEY = "ca.key";
  public static final String RETIRED_CA_KEY = "ca-retired.key";
  public static final String RELAY_KEYS = "cluster.key";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;

  public CredentialsStore(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  public Path dir() {
    return dir;
  }

  public Path caCerts() {
    return dir.resolve(CA_CERTS);
  }

  public Path certOf(String nodeId) {
    return dir.resolve(nodeId + ".pem");
  }

  public Path keyOf(String nodeId) {
    return dir.resolve(nodeId + ".key");
  }

  public Path relayKeys() {
    return dir.resolve(RELAY_KEYS);
  }

  /**
   * Makes what is missing for {@code nodes}: a CA and relay key when the folder has none, a certificate per node
   * that has none (which needs {@code ca.key} here). Existing files are kept.
   *
   * @return what was made, one line each (empty when nothing was missing)
   */
  public List<String> init(String clusterName, List<String> nodes) {
    return locked(() -> {
      List<String> made = new ArrayList<>();
      if (!Files.exists(caCerts())) {
        ClusterPki.Ca ca = ClusterPki.newCa(clusterName);
        writeSecret(dir.resolve(CA_KEY), ClusterPki.pem(ca.key()));
        write(caCerts(), ClusterPki.pem(List.of(ca.cert())));
        made.add("cluster CA " + caCerts() + " (its key " + dir.resolve(CA_KEY) + ")");
      }
      if (!Files.exists(relayKeys())) {
        writeSecret(relayKeys(), newRelayKey() + "\n");
        made.add("relay key " + relayKeys());
      }
      for (String node : nodes) {
        if (!Files.exists(certOf(node)) || !Files.exists(keyOf(node))) {
          issue(node, currentCa(), List.of());
          made.add("certificate of node " + node + ": " + certOf(node) + ", " + keyOf(node));
        }
      }
      return made;
    });
  }

  /**
   * Starts a rotation that needs no cluster stop: a new CA (the old one's key is kept as {@code ca-retired.key}),
   * cross-signed by the old one; every node certificate here issued again by the new CA and sent with the
   * cross-signed certificate, so nodes that trust only the old CA accept it; {@code ca.pem} trusts both; a new relay
   * key accepted (not yet used). Then copy the files to the nodes and restart them one by one.
   */
  public List<String> rotate(String clusterName) {
    return locked(() -> {
      ClusterPki.Ca old = currentCa();
      List<X509Certificate> trusted = ClusterPki.readCertificates(caCerts());
      ClusterPki.Ca next = ClusterPki.newCa(clusterName);
      X509Certificate cross = ClusterPki.crossSign(next, old);
      List<String> made = new ArrayList<>();
      Files.move(dir.resolve(CA_KEY), dir.resolve(RETIRED_CA_KEY), StandardCopyOption.REPLACE_EXISTING);
      writeSecret(dir.resolve(CA_KEY), ClusterPki.pem(next.key()));
      write(caCerts(), ClusterPki.pem(List.of(next.cert(), trusted.get(0))));
      made.add("new cluster CA, trusted with the old one in " + caCerts() + "; the old key is " + dir.resolve(RETIRED_CA_KEY));
      for (String node : nodes()) {
        issue(node, next, List.of(cross));
        made.add("certificate of node " + node + " issued by the new CA (with the cross-signed CA)");
      }
      List<String> keys = RelayKeys.readLines(relayKeys());
      writeSecret(relayKeys(), keys.get(0) + "\n" + newRelayKey() + "\n");
      made.add("new relay key accepted in " + relayKeys() + " (signing starts with --finish-rotation)");
      return made;
    });
  }

  /**
   * Ends a rotation once every node runs the files of {@link #rotate}: only the new CA is trusted, node certificates
   * lose the cross-signed one, and the new relay key signs (the old one stays accepted until the next rotation).
   * Copy the files to the nodes and restart them one by one again.
   */
  public List<String> finishRotation() {
    return locked(() -> {
      List<X509Certificate> trusted = ClusterPki.readCertificates(caCerts());
      List<String> made = new ArrayList<>();
      if (trusted.size() < 2) {
        made.add("no rotation to finish: " + caCerts() + " trusts one CA");
        return made;
      }
      write(caCerts(), ClusterPki.pem(List.of(trusted.get(0))));
      made.add("only the new CA is trusted in " + caCerts());
      for (String node : nodes()) {
        List<X509Certificate> chain = ClusterPki.readCertificates(certOf(node));
        write(certOf(node), ClusterPki.pem(List.of(chain.get(0))));
      }
      made.add("node certificates without the cross-signed CA");
      List<String> keys = RelayKeys.readLines(relayKeys());
      if (keys.size() > 1) {
        writeSecret(relayKeys(), keys.get(keys.size() - 1) + "\n" + keys.get(0) + "\n");
        made.add("the new relay key signs, the old one is still accepted, in " + relayKeys());
      }
      return made;
    });
  }

  /** Nodes with a certificate and key here. */
  public List<String> nodes() {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString())
          .filter(name -> name.endsWith(".pem") && !name.equals(CA_CERTS))
          .map(name -> name.substring(0, name.length() - ".pem".length()))
          .filter(node -> Files.exists(keyOf(node)))
          .sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ClusterPki.Ca currentCa() {
    Path key = dir.resolve(CA_KEY);
    if (!Files.exists(key)) {
      throw new IllegalStateException("no CA key " + key + ": node certificates are issued where the cluster CA's key is"
          + " (run `ceiba cluster init --dir DIR --nodes NODE` there and copy NODE.pem and NODE.key here)");
    }
    return new ClusterPki.Ca(ClusterPki.readCertificates(caCerts()).get(0), ClusterPki.readKey(key));
  }

  private void issue(String node, ClusterPki.Ca ca, List<X509Certificate> behind) throws IOException {
    ClusterPki.Ca issued = ClusterPki.issueNode(ca, node);
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(issued.cert());
    chain.addAll(behind);
    writeSecret(keyOf(node), ClusterPki.pem(issued.key()));
    write(certOf(node), ClusterPki.pem(chain));
  }

  static String newRelayKey() {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key);
  }

  private interface Work<T> {
    T run() throws IOException;
  }

  /** Runs {@code work} holding the folder's lock (other processes wait; this JVM's callers take turns). */
  private <T> T locked(Work<T> work) {
    synchronized (CredentialsStore.class) {
      try {
        Files.createDirectories(dir);
        try (FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.lock()) {
          return work.run();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cluster credentials in " + dir + ": " + e.getMessage(), e);
      }
    }
  }

  private static void write(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Writes a file only its owner may read. */
  private static void writeSecret(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    LOG.debug("wrote {}", file);
  }
}
