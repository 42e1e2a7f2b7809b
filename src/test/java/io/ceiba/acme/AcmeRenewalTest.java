package io.ceiba.acme;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.cluster.ClusterPki;
import io.ceiba.testkit.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When an ACME certificate is ordered again: missing, names changed, past its renewal time; and what it is called. */
class AcmeRenewalTest {

  @TempDir
  Path dir;

  @Test
  void should_renew_after_the_configured_fraction_of_the_lifetime() {
    Instant from = Instant.parse("2026-01-01T00:00:00Z");
    Instant to = from.plus(Duration.ofDays(90));
    assertThat(AcmeVerticle.renewalTime(from, to, 2.0 / 3)).isEqualTo(from.plus(Duration.ofDays(60)));
    assertThat(AcmeVerticle.renewalTime(from, to, 0.5)).isEqualTo(from.plus(Duration.ofDays(45)));
  }

  @Test
  void should_order_when_missing_unreadable_renamed_or_due_and_not_otherwise() throws Exception {
    ClusterPki.Ca ca = ClusterPki.newCa("acme-unit");
    // valid from an hour ago for two days (TestCertificates.issued)
    Path[] pair = TestCertificates.issued(dir, ca, "shop", "acme.test", "www.acme.test");
    String pem = Files.readString(pair[0]);
    X509Certificate leaf = ClusterPki.readCertificates(pair[0]).get(0);
    Instant now = Instant.now();
    List<String> names = List.of("acme.test", "www.acme.test");

    assertThat(AcmeVerticle.dueBecause(null, names, now, 2.0 / 3)).isEqualTo("no certificate yet");
    assertThat(AcmeVerticle.dueBecause("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", names, now, 2.0 / 3))
        .contains("does not parse");
    assertThat(AcmeVerticle.dueBecause(pem, names, now, 2.0 / 3)).as("fresh, same names").isNull();
    assertThat(AcmeVerticle.dueBecause(pem, List.of("acme.test", "new.acme.test"), now, 2.0 / 3)).contains("names changed");
    assertThat(AcmeVerticle.dueBecause(pem, names, leaf.getNotAfter().toInstant().minusSeconds(60), 2.0 / 3))
        .isEqualTo("past the renewal time");
    assertThat(AcmeVerticle.dueBecause(pem, names, now, 0.01)).as("a small fraction: due at once").isEqualTo("past the renewal time");
  }

  @Test
  void should_name_the_certificate_within_the_store_rules() {
    assertThat(AcmeVerticle.certificateName("shop")).isEqualTo("acme-shop");
    assertThat(AcmeVerticle.certificateName("Shop Front/EU")).isEqualTo("acme-shop-front-eu");
    assertThat(AcmeVerticle.certificateName("x".repeat(100))).hasSize(63).matches("[a-z0-9][a-z0-9._-]{0,62}");
  }
}
