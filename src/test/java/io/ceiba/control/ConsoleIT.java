package io.ceiba.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.Browser;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.EdgeClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;

/**
 * The console in a real headless Chromium against three real clustered nodes (edge, auth, usage, health, control)
 * sharing one database: sign in, three nodes, a backend going down in every node's column once its origin stops, a
 * plan, a project and a key made and revoked through the forms, its usage appearing, live traffic, and a registry
 * validated, applied, diffed and rolled back. Each page is saved under {@code target/console-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleIT {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final Vertx vertx = Vertx.vertx();
  private final List<CeibaNode> nodes = new ArrayList<>();
  private final List<TestNodes.Spec> specs = new ArrayList<>();
  private Origin api;
  private Origin web;
  private ControlClient control;
  private Browser browser;
  private WebDriver page;
  private String consoleUrl;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    if (!Browser.installedOrRequired()) {
      // each test then reports itself skipped (assumeInstalled), rather than the class vanishing from the counts
      return;
    }
    api = Origin.start(vertx, "api");
    web = Origin.start(vertx, "web");
    String registry = "version: 1\nhttp:\n"
        + "  api:\n    hosts: [api.test]\n    backends: [{ url: \"" + api.url() + "\" }]\n    access: { policy: api-key }\n"
        + "  web:\n    hosts: [web.test]\n    backends: [{ url: \"" + web.url() + "\" }]\n"
        + "    health: { path: /healthz, interval: 300ms, timeout: 200ms, unhealthy_after: 1 }\n";
    String shared = "roles: [edge, auth, usage, health, control]\npostgres: { url: \"" + TestPostgres.newDatabase() + "\" }\n";
    for (TestNodes.Spec spec : TestNodes.writeCluster(dir, 3, registry, shared)) {
      specs.add(spec);
      nodes.add(TestNodes.start(spec));
    }
    control = new ControlClient(vertx, specs.get(0).controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node1 ready and seeing 3 nodes", () -> control.get("/ready")
        .compose(ready -> control.json("/v1/cluster").map(view -> ready.statusCode() == 200 && view.getJsonArray("nodes").size() == 3)))
        .await(70, TimeUnit.SECONDS);
    consoleUrl = "http://127.0.0.1:" + specs.get(0).controlPort() + "/console/";
    browser = Browser.start(dir.resolve("chromium-profile"));
    page = browser.driver();
  }

  @BeforeEach
  void needsTheBrowser() {
    Browser.assumeInstalled();
  }

  @AfterAll
  void stop() throws Exception {
    try (Browser closing = browser; Origin a = api; Origin w = web) {
      nodes.forEach(TestNodes::stopQuietly);
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  @Order(1)
  void should_serve_the_console_under_a_strict_policy_and_answer_its_data_only_with_the_token() throws Exception {
    var index = control.get("/console/").await(5, TimeUnit.SECONDS);
    assertThat(index.statusCode()).isEqualTo(200);
    String policy = index.getHeader("content-security-policy");
    assertThat(policy).contains("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'").doesNotContain("unsafe");
    assertThat(index.getHeader("x-content-type-options")).isEqualTo("nosniff");
    assertThat(index.bodyAsString()).contains("<script type=\"module\" src=\"js/main.js\"></script>").doesNotContain("<script>");
    var redirected = control.get("/console").await(5, TimeUnit.SECONDS);
    assertThat(redirected.followedRedirects()).singleElement().asString().endsWith("/console/");
    assertThat(redirected.bodyAsString()).contains("<title>Ceiba console</title>");
    assertThat(control.get("/console/js/missing.js").await(5, TimeUnit.SECONDS).statusCode()).isEqualTo(404);
    assertThat(new ControlClient(vertx, specs.get(0).controlPort(), null).get("/v1/cluster/status").await(5, TimeUnit.SECONDS)
        .statusCode()).isEqualTo(401);

    JsonObject status = control.json("/v1/cluster/status").await(5, TimeUnit.SECONDS);
    assertThat(status.getJsonArray("nodes")).hasSize(3);
    for (Object o : status.getJsonArray("nodes")) {
      JsonObject n = (JsonObject) o;
      assertThat(n.getString("version")).as(n.encode()).isNotBlank();
      assertThat(n.getJsonObject("ready").getJsonArray("checks")).as(n.encode()).isNotEmpty();
      assertThat(n.getJsonObject("traffic").getJsonObject("services")).as(n.encode()).isNotNull();
    }
    var badLimit = control.get("/v1/registry/history?limit=0").await(5, TimeUnit.SECONDS);
    assertThat(badLimit.statusCode()).isEqualTo(400);
    assertThat(badLimit.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("limit");
  }

  @Test
  @Order(2)
  void should_sign_in_and_show_the_three_nodes() {
    page.get(consoleUrl);
    signIn("not-the-token");
    browser.until(WAIT, "the wrong token refused", d -> d.findElement(By.id("login-error")).getText().contains("not the admin token"));
    signIn(TestNodes.TOKEN);
    browser.until(WAIT, "three ready nodes on the cluster page", d -> {
      List<WebElement> rows = d.findElements(By.cssSelector("#nodes tbody tr"));
      return rows.size() == 3 && rows.stream().allMatch(r -> r.findElement(By.cssSelector("td.ready")).getText().startsWith("ready"));
    });
    // the page redraws every few seconds: read it inside waits, which take a vanished element as "try again"
    List<String> ids = browser.until(WAIT, "node ids", d -> d.findElements(By.cssSelector("#nodes tbody tr")).stream()
        .map(r -> r.getDomAttribute("data-node")).toList());
    assertThat(ids).containsExactly("node1", "node2", "node3");
    assertThat(browser.<String>until(WAIT, "node1's row", d -> d.findElement(By.cssSelector("#nodes tbody tr[data-node=node1]")).getText())).contains("(this node)", "auth, control, edge, health, usage");
    browser.screenshot("1-cluster");
  }

  @Test
  @Order(3)
  void should_show_a_backend_down_in_every_node_column_once_its_origin_stops() throws Exception {
    go("health");
    String cells = "#matrix tr[data-service=web] td[data-observer]";
    browser.until(WAIT, "web's backend up as seen by the three nodes", d -> {
      List<WebElement> seen = d.findElements(By.cssSelector(cells));
      return seen.size() == 3 && seen.stream().allMatch(c -> "true".equals(c.getDomAttribute("data-up")));
    });
    web.close();
    browser.until(WAIT, "web's backend down as seen by the three nodes", d -> {
      List<WebElement> seen = d.findElements(By.cssSelector(cells));
      return seen.size() == 3 && seen.stream().allMatch(c -> "false".equals(c.getDomAttribute("data-up")));
    });
    List<String> observers = browser.until(WAIT, "observers", d -> d.findElements(By.cssSelector(cells)).stream()
        .map(c -> c.getDomAttribute("data-observer")).toList());
    assertThat(observers).containsExactly("node1", "node2", "node3");
    assertThat(browser.<String>until(WAIT, "the last error", d -> d.findElement(By.cssSelector(cells + " .error-text")).getText())).isNotBlank();
    // the api service's backend is still up
    assertThat(browser.<Integer>until(WAIT, "api's cells", d -> d.findElements(By.cssSelector("#matrix tr[data-service=api] td[data-up=true]")).size()))
        .isEqualTo(3);
    browser.screenshot("2-health");
  }

  @Test
  @Order(4)
  void should_create_a_key_through_the_forms_see_its_usage_and_revoke_it() throws Exception {
    go("access");
    browser.until(WAIT, "the plan form", d -> d.findElement(By.id("plan-form")));
    type("#plan-form input[name=name]", "starter");
    type("#plan-form input[name=rate]", "100");
    type("#plan-form input[name=per]", "1s");
    type("#plan-form input[name=services]", "api");
    page.findElement(By.cssSelector("#plan-form button[type=submit]")).click();
    browser.until(WAIT, "plan starter listed", d -> !d.findElements(By.cssSelector("#plans tr[data-plan=starter]")).isEmpty());

    type("#project-form input[name=name]", "acme");
    page.findElement(By.cssSelector("#project-form button[type=submit]")).click();
    browser.until(WAIT, "project acme opened", d -> d.findElement(By.id("project")).getText().contains("acme (prj_"));
    page.findElement(By.cssSelector("#subscribe-form button[type=submit]")).click();
    browser.until(WAIT, "subscribed to starter", d -> d.findElement(By.id("subscriptions")).getText().contains("starter"));

    type("#key-form input[name=name]", "ci");
    page.findElement(By.cssSelector("#key-form button[type=submit]")).click();
    String key = browser.until(WAIT, "the new key shown once", d -> {
      List<WebElement> secret = d.findElements(By.id("new-key-secret"));
      return secret.isEmpty() || secret.get(0).getText().isBlank() ? null : secret.get(0).getText();
    });
    assertThat(key).startsWith("ck_");
    browser.screenshot("3-access-new-key");

    EdgeClient edge = new EdgeClient(specs.get(1).edgePort());
    edge.expectOk("api.test", key, "/console-", 6);
    browser.until(WAIT, "6 requests in the project's usage", d -> {
      List<WebElement> total = d.findElements(By.id("usage-total"));
      return !total.isEmpty() && Long.parseLong(total.get(0).getDomAttribute("data-total")) >= 6;
    });
    assertThat(browser.<String>until(WAIT, "usage by service", d -> d.findElement(By.id("usage-services")).getText())).contains("api");
    browser.screenshot("4-access-usage");

    WebElement revoke = page.findElement(By.cssSelector("#keys tr[data-state=active] button.revoke"));
    revoke.click();
    assertThat(revoke.getText()).isEqualTo("Confirm revoke");
    revoke.click();
    browser.until(WAIT, "the key listed as revoked", d -> !d.findElements(By.cssSelector("#keys tr[data-state=revoked]")).isEmpty());
    assertThat(page.findElements(By.id("new-key-secret"))).as("the secret is gone once the list is drawn again").isEmpty();
    Eventually.until(vertx, WAIT, "the revoked key refused at the edge (403 key_revoked)",
        () -> vertx.executeBlocking(() -> edge.get("api.test", "/after-revoke", key).statusCode() == 403)).await(40, TimeUnit.SECONDS);
    browser.screenshot("5-access-revoked");
    JsonObject acme = control.json("/v1/projects").await(5, TimeUnit.SECONDS).getJsonArray("projects").getJsonObject(0);
    assertThat(acme.getString("name")).isEqualTo("acme");
    assertThat(acme.getLong("active_keys")).isZero();
    assertThat(acme.getJsonArray("plans")).containsExactly("starter");
  }

  @Test
  @Order(5)
  void should_show_live_traffic_per_service_and_node_with_charts() throws Exception {
    EdgeClient edge = new EdgeClient(specs.get(0).edgePort());
    for (int i = 0; i < 5; i++) {
      // its origin is stopped: answered by the edge with an error
      edge.get("web.test", "/down-" + i, null);
    }
    go("traffic");
    browser.until(WAIT, "the first sample drawn", d -> !d.findElements(By.cssSelector("#traffic tr[data-service=web]")).isEmpty());
    for (int i = 0; i < 20; i++) {
      edge.get("web.test", "/live-" + i, null);
    }
    browser.until(WAIT, "a live rate of web's requests on node1", d -> {
      List<WebElement> row = d.findElements(By.cssSelector("#traffic tr[data-service=web][data-node=node1] td"));
      return row.size() == 8 && !row.get(2).getText().equals("0.00") && !row.get(2).getText().equals("…");
    });
    browser.until(WAIT, "api's requests counted on node2", d -> {
      List<WebElement> cell = d.findElements(By.cssSelector("#traffic tr[data-service=api][data-node=node2] td.requests"));
      return !cell.isEmpty() && Long.parseLong(cell.get(0).getText()) >= 6;
    });
    browser.until(WAIT, "web's errors counted on node1", d -> {
      List<WebElement> row = d.findElements(By.cssSelector("#traffic tr[data-service=web][data-node=node1] td"));
      return row.size() == 8 && Long.parseLong(row.get(7).getText()) >= 25;
    });
    browser.until(WAIT, "a line on a chart", d -> !d.findElements(By.cssSelector("svg.chart polyline")).isEmpty());
    assertThat(browser.<String>until(WAIT, "decisions", d -> d.findElement(By.id("decisions")).getText())).contains("key_revoked", "valid_key");
    browser.screenshot("6-traffic");
  }

  @Test
  @Order(6)
  void should_validate_apply_diff_and_roll_back_the_registry() throws Exception {
    go("registry");
    WebElement editor = browser.until(WAIT, "the registry editor", d -> d.findElement(By.id("registry-yaml")));
    String v1 = editor.getDomProperty("value");
    assertThat(v1).startsWith("version: 1");

    setEditor(v1.replace("version: 1", "version: 2").replace("interval: 300ms", "interval: 400ms"));
    page.findElement(By.id("validate")).click();
    browser.until(WAIT, "version 2 valid", d -> d.findElement(By.id("registry-valid")).getText().contains("valid: version 2"));
    setEditor("version: 3\nhttp:\n  nope: { hosts: [] }\n");
    page.findElement(By.id("validate")).click();
    browser.until(WAIT, "an invalid registry's problems", d -> d.findElement(By.cssSelector("#registry-result .error")).getText()
        .contains("invalid_registry"));

    setEditor(v1.replace("version: 1", "version: 2").replace("interval: 300ms", "interval: 400ms"));
    page.findElement(By.id("apply")).click();
    browser.until(WAIT, "version 2 applied everywhere", d -> d.findElement(By.id("registry-outcome")).getText()
        .contains("version 2: applied on every node"));
    setEditor(page.findElement(By.id("registry-yaml")).getDomProperty("value").replace("version: 2", "version: 3")
        .replace("  web:\n", "  extra:\n    hosts: [extra.test]\n    backends: [{ url: \"" + api.url() + "\" }]\n  web:\n"));
    page.findElement(By.id("apply")).click();
    browser.until(WAIT, "version 3 applied everywhere", d -> d.findElement(By.id("registry-outcome")).getText()
        .contains("version 3: applied on every node"));

    page.findElement(By.cssSelector("#history tr[data-version='3'] button.show-diff")).click();
    String diff = browser.until(WAIT, "the diff of 3 against 2", d -> d.findElement(By.cssSelector("pre.diff")).getText());
    assertThat(diff).contains("- version: 2", "+ version: 3", "+   extra:");
    browser.screenshot("7-registry-diff");

    page.findElement(By.cssSelector("#history tr[data-version='2'] button.rollback")).click();
    browser.until(WAIT, "rolled back to 2 as version 4", d -> d.findElement(By.id("registry-outcome")).getText()
        .contains("version 4 (a copy of version 2): applied on every node"));
    assertThat(page.findElement(By.id("registry-yaml")).getDomProperty("value")).startsWith("version: 4").doesNotContain("extra");
    browser.screenshot("8-registry-rolled-back");
    var history = control.json("/v1/registry/history?limit=2").await(5, TimeUnit.SECONDS).getJsonArray("versions");
    assertThat(history.stream().map(v -> ((JsonObject) v).getLong("version"))).containsExactly(4L, 3L);
    assertThat(history.getJsonObject(0).getString("yaml")).startsWith("version: 4");
    assertThat(history.getJsonObject(0).getString("applied_by")).isEqualTo("node1");

    // nothing the page loaded was refused by its policy, and no script failed
    assertThat(browser.severeLog()).noneMatch(m -> m.contains("Content Security Policy") || m.contains("Uncaught"));
  }

  private void signIn(String token) {
    WebElement field = browser.until(WAIT, "the sign-in form", d -> d.findElement(By.id("token")));
    field.clear();
    field.sendKeys(token);
    page.findElement(By.id("login-submit")).click();
  }

  private void go(String name) {
    page.findElement(By.cssSelector("nav a[data-page=" + name + "]")).click();
    browser.until(WAIT, "page " + name, d -> name.equals(d.findElement(By.id("page")).getDomAttribute("data-page")));
  }

  private void type(String css, String text) {
    WebElement field = page.findElement(By.cssSelector(css));
    field.clear();
    field.sendKeys(text);
  }

  private void setEditor(String yaml) {
    ((JavascriptExecutor) page).executeScript("arguments[0].value = arguments[1]", page.findElement(By.id("registry-yaml")), yaml);
  }
}
