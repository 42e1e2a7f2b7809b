package io.ceiba.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The access log as an operator gets it from the fat jar with the shipped logging config: every line on stdout, whole,
 * in text and in JSON, none lost when SIGTERM comes right after the last response, and a hostile path kept inside its
 * field (the edge's own writer; in-process tests see the lines through logback instead).
 */
class JarAccessLogIT {

  private static final int REQUESTS = 300;
  private static final Pattern TEXT_LINE = Pattern.compile(
      "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(?:Z|[+-]\\d\\d:\\d\\d) INFO  \\[vert\\.x-eventloop-thread-\\d+] ceiba\\.access  - "
          + "request_id=\\S+ node=jar1 client=127\\.0\\.0\\.1 method=GET path=(\\S+) host=app\\.test service=\\S+ .*status=(\\d+) .*$");

  @TempDir
  Path dir;
  private final Vertx client = Vertx.vertx();
  private Origin origin;

  @AfterEach
  void close() throws Exception {
    if (origin != null) {
      origin.close();
    }
    client.close().await(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"text", "json"})
  void should_write_every_line_whole_to_stdout_and_lose_none_on_sigterm(String format) throws Exception {
    origin = Origin.start(client, "origin");
    Path registry = Registries.write(dir.resolve("registry.yaml"), "version: 1\nhttp:\n  app:\n    hosts: [app.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    health: { enabled: false }\n");
    TestNodes.Spec spec = TestNodes.write(dir, "jar1", null, null, registry, "roles: [edge, control]\n", ", access_log: true");
    EdgeClient edge = new EdgeClient(spec.edgePort());
    try (JarProcess jar = JarProcess.start(dir, Map.of("CEIBA_LOG_FORMAT", format), "--config", spec.configFile().toString())) {
      ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
      Eventually.until(client, Duration.ofSeconds(45), "the node ready",
          () -> control.get("/ready").map(r -> r.statusCode() == 200).otherwise(false)).await(50, TimeUnit.SECONDS);
      String hostile = hostileRequest(spec.edgePort());
      for (int i = 0; i < REQUESTS; i++) {
        HttpResponse<String> response = edge.get("app.test", "/r" + i, null);
        assertThat(response.statusCode()).isEqualTo(200);
      }
      assertThat(jar.terminate(60)).as(jar.output()).isZero();

      List<String> lines = jar.output().lines().filter(l -> l.contains("ceiba.access")).toList();
      int[] seen = new int[REQUESTS];
      int hostileLines = 0;
      for (String line : lines) {
        String path;
        if (format.equals("json")) {
          JsonObject json = new JsonObject(line);
          assertThat(json.getString("logger_name")).isEqualTo("ceiba.access");
          assertThat(json.getString("node")).isEqualTo("jar1");
          assertThat(json.getInteger("status")).isNotNull();
          assertThat(json.getString("message")).startsWith("request_id=" + json.getString("request_id") + " node=jar1 ");
          path = json.getString("path");
          if (path.startsWith("/q")) {
            assertThat(path).isEqualTo("/q\"x\u0001\u007f");
          }
        } else {
          Matcher m = TEXT_LINE.matcher(line);
          assertThat(m.matches()).as("a whole access line: " + line).isTrue();
          path = m.group(1);
          if (path.startsWith("\"/q")) {
            assertThat(path).isEqualTo("\"/q\\\"x\\u0001\\u007f\"");
            assertThat(line).contains(" status=" + hostile + " ");
          }
        }
        if (path.startsWith("/r")) {
          seen[Integer.parseInt(path.substring(2))]++;
        } else if (path.contains("/q")) {
          hostileLines++;
        }
      }
      assertThat(seen).as("one line per request, none lost on SIGTERM").containsOnly(1);
      assertThat(hostileLines).isEqualTo(1);
    }
  }

  /** A request whose path holds a quote and control characters; answers the status it got, as text. */
  private static String hostileRequest(int port) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      OutputStream out = socket.getOutputStream();
      out.write("GET /q\"x\u0001\u007f HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      String head = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return head.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3);
    }
  }
}
