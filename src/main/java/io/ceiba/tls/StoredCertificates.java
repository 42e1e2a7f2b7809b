package io.ceiba.tls;

import io.ceiba.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

/**
 * The {@code certificates} table: certificates stored once for the whole cluster, private keys sealed. Nodes with a
 * database answer {@link Addresses#TLS_STORED_LIST} over the (mutually authenticated) event bus, so edge nodes
 * without one get the sealed rows too; only holders of the cluster credentials can open the keys.
 */
public final class StoredCertificates {

  private final Pool pool;

  public StoredCertificates(Pool pool) {
    this.pool = pool;
  }

  /** Answers the cluster's requests for the stored rows (sealed keys included) from this node's database. */
  public void serve(Vertx vertx) {
    vertx.eventBus().<Object>consumer(Addresses.TLS_STORED_LIST, msg -> rows(true)
        .onSuccess(msg::reply)
        .onFailure(e -> msg.fail(503, "certificates not readable: " + e.getMessage())));
  }

  /**
   * Checks the pair as a reload would (chain, the key is the certificate's, valid now), seals the key, stores both and
   * tells every edge. Fails with {@link CertificateChecks.Refused} for a bad pair, nothing stored.
   */
  public Future<ServedCertificate> store(Vertx vertx, CertificateVault vault, String name, String certPem, String keyPem) {
    return vertx.executeBlocking(() -> {
      ServedCertificate checked = CertificateChecks.check(vertx, certPem, keyPem, "certificate " + name, Instant.now());
      return new Sealed(checked, vault.seal(name, keyPem));
    }).compose(sealed -> put(sealed.certificate(), name, sealed.key()).map(v -> {
      vertx.eventBus().publish(Addresses.TLS_STORED_CHANGED, new JsonObject().put("name", name));
      return sealed.certificate();
    }));
  }

  private record Sealed(ServedCertificate certificate, String key) {
  }

  public Future<Void> put(ServedCertificate certificate, String name, String keySealed) {
    return pool.preparedQuery("""
            insert into certificates (name, cert_pem, key_sealed, dns_names, issuer, not_after, updated_at)
            values ($1, $2, $3, $4, $5, $6, now())
            on conflict (name) do update set cert_pem = excluded.cert_pem, key_sealed = excluded.key_sealed,
              dns_names = excluded.dns_names, issuer = excluded.issuer, not_after = excluded.not_after, updated_at = now()""")
        .execute(Tuple.of(name, certificate.certPem(), keySealed, certificate.dnsNames().toArray(new String[0]),
            certificate.issuer(), certificate.notAfter().atOffset(ZoneOffset.UTC)))
        .mapEmpty();
  }

  /** Whether a row was there to delete. */
  public Future<Boolean> delete(String name) {
    return pool.preparedQuery("delete from certificates where name = $1").execute(Tuple.of(name))
        .map(rows -> rows.rowCount() > 0);
  }

  /** Every stored certificate as JSON; with {@code sealed}, the certificate PEM and sealed key as well. */
  public Future<JsonArray> rows(boolean sealed) {
    return pool.query("select name, cert_pem, key_sealed, dns_names, issuer, not_after, updated_at from certificates order by name")
        .execute().map(rows -> {
          JsonArray out = new JsonArray();
          for (Row row : rows) {
            JsonObject json = new JsonObject().put("name", row.getString("name"))
                .put("dns_names", new JsonArray(List.of(row.getArrayOfStrings("dns_names"))))
                .put("issuer", row.getString("issuer"))
                .put("not_after", row.getOffsetDateTime("not_after").toInstant().toString())
                .put("updated_at", row.getOffsetDateTime("updated_at").toInstant().toString());
            if (sealed) {
              json.put("cert", row.getString("cert_pem")).put("key_sealed", row.getString("key_sealed"));
            }
            out.add(json);
          }
          return out;
        });
  }
}
