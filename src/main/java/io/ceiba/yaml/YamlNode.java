package io.ceiba.yaml;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML value that remembers where it was written, so that validation can name file and line.
 * Built by {@link YamlDocument#parse}; overrides (environment, CLI) are put in with their own {@link Source}.
 */
public sealed interface YamlNode {

  Source source();

  /** A scalar; {@code value} is null for YAML null ({@code ~}, {@code null}, or nothing). */
  record Scalar(String value, Kind kind, Source source) implements YamlNode {
    /** What YAML resolved the plain scalar to; quoted scalars are always {@code STRING}. */
    public enum Kind { STRING, INT, FLOAT, BOOL, NULL }

    public static Scalar override(String value, String origin) {
      return new Scalar(value, Kind.STRING, Source.override(origin));
    }
  }

  record Sequence(List<YamlNode> items, Source source) implements YamlNode {
  }

  /** A mapping with its keys in document order; each entry keeps the line of its key. */
  record Mapping(LinkedHashMap<String, Entry> entries, Source source) implements YamlNode {

    public record Entry(Source keySource, YamlNode value) {
    }

    public Mapping(Source source) {
      this(new LinkedHashMap<>(), source);
    }

    /**
     * Puts {@code value} at a dotted path (e.g. {@code edge.port}), creating the mappings on the way.
     * Used for environment and CLI overrides, which win over the file.
     */
    public void putPath(String dottedPath, YamlNode value) {
      String[] parts = dottedPath.split("\\.");
      Mapping current = this;
      for (int i = 0; i < parts.length - 1; i++) {
        Entry entry = current.entries.get(parts[i]);
        if (entry == null || !(entry.value() instanceof Mapping)) {
          Mapping child = new Mapping(value.source());
          current.entries.put(parts[i], new Entry(value.source(), child));
          current = child;
        } else {
          current = (Mapping) entry.value();
        }
      }
      current.entries.put(parts[parts.length - 1], new Entry(value.source(), value));
    }

    public Map<String, Entry> view() {
      return java.util.Collections.unmodifiableMap(entries);
    }
  }
}
