package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ceiba.testkit.TestCertificates;
import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.Problem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry's per-service {@code upstream_tls:} block: what it accepts, and every way it is refused with file and line. */
class UpstreamTlsRegistryTest {

  @TempDir
  Path dir;

  private static String service(String backendUrl, String tlsBlock) {
    return "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n    backends: [{ url: \"" + backendUrl + "\" }]\n" + tlsBlock;
  }

  private List<Problem> problems(String yaml) {
    try {
      RegistryParser.parse("r.yaml", yaml, dir);
    } catch (InvalidDocumentException e) {
      return e.problems();
    }
    throw new AssertionError("expected the registry to be rejected");
  }

  @Test
  void should_verify_with_the_system_cas_when_a_service_says_nothing() {
    Registry r = RegistryParser.parse("r.yaml", service("https://api.internal:8443", ""), dir);
    assertThat(r.http().get("api").upstreamTls()).isEqualTo(UpstreamTls.SYSTEM);
    assertThat(UpstreamTls.SYSTEM.insecureSkipVerify()).isFalse();
  }

  @Test
  void should_read_a_ca_from_a_path_relative_to_the_registry_folder_and_inline() throws Exception {
    Path[] pair = TestCertificates.selfSigned(dir, "origin.test");
    String pem = Files.readString(pair[0]);
    Registry fromFile = RegistryParser.parse("r.yaml", service("https://127.0.0.1:8443",
        "    upstream_tls: { ca: origin.test.pem, server_name: origin.test, cert: origin.test.pem, key: origin.test.key }\n"), dir);
    UpstreamTls tls = fromFile.http().get("api").upstreamTls();
    assertThat(tls.caPem()).isEqualTo(pem);
    assertThat(tls.serverName()).isEqualTo("origin.test");
    assertThat(tls.clientCertificate()).isTrue();

    String inline = "    upstream_tls:\n      ca: |\n" + pem.lines().map(l -> "        " + l + "\n").reduce("", String::concat);
    Registry fromText = RegistryParser.parse("r.yaml", service("https://127.0.0.1:8443", inline), null);
    assertThat(fromText.http().get("api").upstreamTls().caPem()).isEqualTo(pem.strip());
  }

  @Test
  void should_refuse_every_unusable_block_with_its_line() throws Exception {
    Files.writeString(dir.resolve("junk.pem"), "not a certificate\n");
    TestCertificates.selfSigned(dir, "origin.test");
    assertThat(problems(service("http://127.0.0.1:8080", "    upstream_tls: { insecure_skip_verify: true }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("applies to https:// backends"));
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { ca: missing.pem }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("file not found").contains("missing.pem"));
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { ca: junk.pem }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("junk.pem"));
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { ca: origin.test.pem, insecure_skip_verify: true }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("contradicts"));
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { cert: origin.test.pem }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("needs both cert and key"));
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { key: origin.test.pem }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("no PEM private key"));
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { server_name: \"bad name\" }\n")))
        .extracting(Problem::line).containsOnly(6);
    assertThat(problems(service("https://127.0.0.1:8443", "    upstream_tls: { verify: false }\n")))
        .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("unknown key"));
  }

  @Test
  void should_refuse_a_relative_path_when_there_is_no_registry_folder() {
    assertThatThrownBy(() -> RegistryParser.parse("r.yaml", service("https://127.0.0.1:8443", "    upstream_tls: { ca: ca.pem }\n"), null))
        .isInstanceOfSatisfying(InvalidDocumentException.class, e -> assertThat(e.problems())
            .extracting(Problem::reason).anySatisfy(m -> assertThat(m).contains("absolute path or inline PEM")));
  }
}
