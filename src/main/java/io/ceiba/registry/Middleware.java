package io.ceiba.registry;

/** Request rewrites an edge applies before routing upstream. */
public enum Middleware {
  /** 308 from {@code www.host} to {@code host}. */
  STRIP_WWW("strip-www"),
  /** 308 from http to https. */
  HTTPS_REDIRECT("https-redirect");

  private final String yamlName;

  Middleware(String yamlName) {
    this.yamlName = yamlName;
  }

  public String yamlName() {
    return yamlName;
  }
}
