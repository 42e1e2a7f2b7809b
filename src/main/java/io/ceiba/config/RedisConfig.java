package io.ceiba.config;

/** Optional Redis: a cache and counter store, never the source of truth. Empty URL: no Redis. */
public record RedisConfig(String url) {

  public static final String DEFAULT_URL = "";

  public boolean enabled() {
    return !url.isEmpty();
  }

  @Override
  public String toString() {
    return "RedisConfig[url=" + url.replaceAll("//[^@/]*@", "//***@") + "]";
  }
}
