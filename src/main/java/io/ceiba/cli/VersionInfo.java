package io.ceiba.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The version baked into the jar at build time ({@code ceiba-version.properties}, filtered by Maven). */
public final class VersionInfo {

  private VersionInfo() {
  }

  public static String version() {
    Properties p = new Properties();
    try (InputStream in = VersionInfo.class.getResourceAsStream("/ceiba-version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // fall through to "unknown": a version string is not worth failing for
    }
    return p.getProperty("version", "unknown");
  }
}
