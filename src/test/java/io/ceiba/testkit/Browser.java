package io.ceiba.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium driven through its chromedriver, both Debian's ({@code apt-get install chromium
 * chromium-driver}), found at fixed paths: Selenium is given the driver and the browser, so its Selenium Manager never
 * looks for (or downloads) either. Without them the test is skipped, saying so, unless {@code CEIBA_BROWSER=required}
 * (as {@code .ci/run} sets), which makes it fail.
 */
public final class Browser implements AutoCloseable {

  public static final Path CHROMIUM = Path.of(System.getProperty("ceiba.chromium", "/usr/bin/chromium"));
  public static final Path CHROMEDRIVER = Path.of(System.getProperty("ceiba.chromedriver", "/usr/bin/chromedriver"));
  /** Where screenshots go, for a person to look at after the run. */
  public static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

  private final ChromeDriver driver;

  private Browser(ChromeDriver driver) {
    this.driver = driver;
  }

  private static final String MISSING = "the browser test needs Debian's chromium and chromium-driver (" + CHROMIUM + ", "
      + CHROMEDRIVER + "): apt-get install -y chromium chromium-driver; .ci/run installs them and sets CEIBA_BROWSER=required";

  /**
   * Whether the browser and its driver are installed; fails (an assertion) when they are not and
   * {@code CEIBA_BROWSER=required}, else says on stderr that the browser tests are skipped.
   */
  public static boolean installedOrRequired() {
    boolean installed = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if ("required".equals(System.getenv("CEIBA_BROWSER"))) {
      assertThat(installed).as("CEIBA_BROWSER=required, but " + MISSING).isTrue();
    }
    if (!installed) {
      System.err.println("SKIPPED: " + MISSING);
    }
    return installed;
  }

  /** Skips the calling test, saying why, when the browser or its driver is not installed. */
  public static void assumeInstalled() {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), "skipped: " + MISSING);
  }

  /** A fresh headless browser with its own profile under {@code profileDir}. */
  public static Browser start(Path profileDir) {
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort().build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1440,1000",
        "--no-first-run", "--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profileDir.toAbsolutePath());
    options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
    return new Browser(new ChromeDriver(service, options));
  }

  public WebDriver driver() {
    return driver;
  }

  /** Polls (Selenium's wait, with a deadline) until {@code condition} is true or non-null; read the page only inside it. */
  public <T> T until(Duration timeout, String what, Function<WebDriver, T> condition) {
    // pages redraw while they are read: an element found a moment ago may be gone, which is just "not yet"
    return new WebDriverWait(driver, timeout).withMessage(what).ignoring(StaleElementReferenceException.class).until(condition::apply);
  }

  /** Saves a PNG of the whole page (beyond the window) as {@code target/console-screenshots/<name>.png}. */
  public Path screenshot(String name) {
    try {
      Files.createDirectories(SCREENSHOTS);
      Path file = SCREENSHOTS.resolve(name + ".png");
      @SuppressWarnings("unchecked")
      Map<String, Object> size = (Map<String, Object>) driver.executeCdpCommand("Page.getLayoutMetrics", Map.of()).get("cssContentSize");
      Map<String, Object> clip = Map.of("x", 0, "y", 0, "width", size.get("width"), "height", size.get("height"), "scale", 1);
      String png = (String) driver.executeCdpCommand("Page.captureScreenshot",
          Map.of("format", "png", "captureBeyondViewport", true, "clip", clip)).get("data");
      Files.write(file, java.util.Base64.getDecoder().decode(png));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What the page logged at level SEVERE (script errors, refused by the content security policy, failed loads). */
  public List<String> severeLog() {
    return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).map(LogEntry::getMessage).toList();
  }

  @Override
  public void close() {
    driver.quit();
  }
}
