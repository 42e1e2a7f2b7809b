package io.ceiba.yaml;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads typed fields out of a {@link YamlNode.Mapping}, recording a {@link Problem} (with file, line and
 * field path) for every wrong value instead of failing at the first, and returning the default so that
 * reading can go on. {@link #finish()} reports keys nobody asked for: a typo never passes silently.
 */
public final class MappingReader {

  private final YamlNode.Mapping node;
  private final String path;
  private final Problems problems;
  private final Set<String> consumed = new HashSet<>();
  /** Where the key naming this mapping stands; problems about the mapping as a whole point there. */
  private final Source keySource;

  private MappingReader(YamlNode.Mapping node, String path, Problems problems) {
    this(node, path, problems, node.source());
  }

  private MappingReader(YamlNode.Mapping node, String path, Problems problems, Source keySource) {
    this.node = node;
    this.path = path;
    this.problems = problems;
    this.keySource = keySource;
  }

  public static MappingReader root(YamlNode.Mapping node, Problems problems) {
    return new MappingReader(node, "", problems);
  }

  public Problems problems() {
    return problems;
  }

  public Source source() {
    return node.source();
  }

  public String path() {
    return path;
  }

  public String pathOf(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  public boolean has(String key) {
    YamlNode.Mapping.Entry e = node.entries().get(key);
    return e != null && !isNull(e.value());
  }

  public Set<String> keys() {
    return node.view().keySet();
  }

  /** Source of the key's value, or of this mapping when absent. */
  public Source sourceOf(String key) {
    YamlNode.Mapping.Entry e = node.entries().get(key);
    return e == null ? node.source() : e.value().source();
  }

  /** Records a problem about {@code key}, or about this whole mapping when {@code key} is null. */
  public void problem(String key, String reason) {
    problems.add(key == null ? keySource : sourceOf(key), key == null ? path : pathOf(key), reason);
  }

  private YamlNode.Scalar scalar(String key) {
    consumed.add(key);
    YamlNode.Mapping.Entry e = node.entries().get(key);
    if (e == null || isNull(e.value())) {
      return null;
    }
    if (e.value() instanceof YamlNode.Scalar s) {
      return s;
    }
    problem(key, "expected a single value, got " + YamlDocument.describe(e.value()));
    return null;
  }

  public String string(String key, String defaultValue) {
    YamlNode.Scalar s = scalar(key);
    return s == null ? defaultValue : s.value();
  }

  public long longValue(String key, long defaultValue, long min, long max) {
    YamlNode.Scalar s = scalar(key);
    if (s == null) {
      return defaultValue;
    }
    long value;
    try {
      value = Long.parseLong(s.value().trim().replace("_", ""));
    } catch (NumberFormatException e) {
      problem(key, "expected a whole number, got '" + s.value() + "'");
      return defaultValue;
    }
    if (value < min || value > max) {
      problem(key, "must be between " + min + " and " + max + ", got " + value);
      return defaultValue;
    }
    return value;
  }

  /**
   * A size in bytes: a whole number, or one with a unit: {@code KiB}, {@code MiB}, {@code GiB} (powers of 1024) or
   * {@code KB}, {@code MB}, {@code GB} (powers of 1000), e.g. {@code 512MiB}.
   */
  public long bytes(String key, long defaultValue, long min, long max) {
    YamlNode.Scalar s = scalar(key);
    if (s == null) {
      return defaultValue;
    }
    java.util.regex.Matcher m = BYTES.matcher(s.value().trim().replace("_", ""));
    if (!m.matches()) {
      problem(key, "expected a size such as 1073741824, 512MiB or 2GB, got '" + s.value() + "'");
      return defaultValue;
    }
    long unit = switch (m.group(2) == null ? "" : m.group(2)) {
      case "KiB" -> 1L << 10;
      case "MiB" -> 1L << 20;
      case "GiB" -> 1L << 30;
      case "KB" -> 1_000L;
      case "MB" -> 1_000_000L;
      case "GB" -> 1_000_000_000L;
      default -> 1L;
    };
    long value;
    try {
      value = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
    } catch (ArithmeticException | NumberFormatException e) {
      value = Long.MAX_VALUE;
    }
    if (value < min || value > max) {
      problem(key, "must be between " + min + " and " + max + " bytes, got '" + s.value() + "'");
      return defaultValue;
    }
    return value;
  }

  private static final java.util.regex.Pattern BYTES = java.util.regex.Pattern.compile("(\\d+)\\s*(KiB|MiB|GiB|KB|MB|GB|B)?");

  public int integer(String key, int defaultValue, int min, int max) {
    return (int) longValue(key, defaultValue, min, max);
  }

  /** A TCP port, 1..65535; {@code allowZero} for "pick any free port". */
  public int port(String key, int defaultValue, boolean allowZero) {
    return integer(key, defaultValue, allowZero ? 0 : 1, 65535);
  }

  public boolean bool(String key, boolean defaultValue) {
    YamlNode.Scalar s = scalar(key);
    if (s == null) {
      return defaultValue;
    }
    switch (s.value().trim().toLowerCase()) {
      case "true", "yes", "on" -> {
        return true;
      }
      case "false", "no", "off" -> {
        return false;
      }
      default -> {
        problem(key, "expected true or false, got '" + s.value() + "'");
        return defaultValue;
      }
    }
  }

  /** A strictly positive duration ({@code 500ms}, {@code 2s}); zero and negatives are refused. */
  public Duration duration(String key, Duration defaultValue) {
    return duration(key, defaultValue, false);
  }

  /** A duration that may be zero ({@code 0s}: "not at all"); negatives are refused. */
  public Duration durationOrZero(String key, Duration defaultValue) {
    return duration(key, defaultValue, true);
  }

  private Duration duration(String key, Duration defaultValue, boolean zeroAllowed) {
    YamlNode.Scalar s = scalar(key);
    if (s == null) {
      return defaultValue;
    }
    try {
      Duration d = Durations.parse(s.value());
      if (d.isZero() && !zeroAllowed) {
        problem(key, "duration must be greater than zero");
        return defaultValue;
      }
      return d;
    } catch (IllegalArgumentException e) {
      problem(key, e.getMessage());
      return defaultValue;
    }
  }

  /** One of {@code allowed} (case-sensitive, as documented). */
  public String oneOf(String key, String defaultValue, Collection<String> allowed) {
    String v = string(key, null);
    if (v == null) {
      return defaultValue;
    }
    if (!allowed.contains(v)) {
      problem(key, "unknown value '" + v + "' (expected one of: " + String.join(", ", allowed) + ")");
      return defaultValue;
    }
    return v;
  }

  /** A list of strings; a single scalar is accepted as a one-item list. */
  public List<String> stringList(String key, List<String> defaultValue) {
    consumed.add(key);
    YamlNode.Mapping.Entry e = node.entries().get(key);
    if (e == null || isNull(e.value())) {
      return defaultValue;
    }
    if (e.value() instanceof YamlNode.Scalar s) {
      return List.of(s.value());
    }
    if (!(e.value() instanceof YamlNode.Sequence seq)) {
      problem(key, "expected a list, got " + YamlDocument.describe(e.value()));
      return defaultValue;
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < seq.items().size(); i++) {
      YamlNode item = seq.items().get(i);
      if (item instanceof YamlNode.Scalar s && s.value() != null) {
        out.add(s.value());
      } else {
        problems.add(item.source(), pathOf(key) + "[" + i + "]", "expected a single value, got " + YamlDocument.describe(item));
      }
    }
    return List.copyOf(out);
  }

  /**
   * A list of strings each turned into a value by {@code parse}; an item it refuses (with an
   * {@link IllegalArgumentException}) is recorded as a problem at that item's own line and left out.
   */
  public <T> List<T> parsedList(String key, java.util.function.Function<String, T> parse) {
    List<String> texts = stringList(key, List.of());
    YamlNode.Mapping.Entry e = node.entries().get(key);
    List<YamlNode> items = e != null && e.value() instanceof YamlNode.Sequence seq ? seq.items() : List.of();
    List<T> out = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      try {
        out.add(parse.apply(texts.get(i)));
      } catch (IllegalArgumentException problem) {
        Source where = i < items.size() ? items.get(i).source() : sourceOf(key);
        problems.add(where, pathOf(key) + (items.isEmpty() ? "" : "[" + i + "]"), problem.getMessage());
      }
    }
    return List.copyOf(out);
  }

  /** The nested mapping at {@code key}; an absent key yields an empty mapping so defaults apply. */
  public MappingReader mapping(String key) {
    consumed.add(key);
    YamlNode.Mapping.Entry e = node.entries().get(key);
    if (e == null || isNull(e.value())) {
      return new MappingReader(new YamlNode.Mapping(e == null ? node.source() : e.value().source()), pathOf(key), problems);
    }
    if (e.value() instanceof YamlNode.Mapping m) {
      return new MappingReader(m, pathOf(key), problems, e.keySource());
    }
    problem(key, "expected a mapping, got " + YamlDocument.describe(e.value()));
    return new MappingReader(new YamlNode.Mapping(e.value().source()), pathOf(key), problems);
  }

  /** A list of mappings, e.g. backends. */
  public List<MappingReader> mappingList(String key) {
    consumed.add(key);
    YamlNode.Mapping.Entry e = node.entries().get(key);
    if (e == null || isNull(e.value())) {
      return List.of();
    }
    if (!(e.value() instanceof YamlNode.Sequence seq)) {
      problem(key, "expected a list, got " + YamlDocument.describe(e.value()));
      return List.of();
    }
    List<MappingReader> out = new ArrayList<>();
    for (int i = 0; i < seq.items().size(); i++) {
      YamlNode item = seq.items().get(i);
      String itemPath = pathOf(key) + "[" + i + "]";
      if (item instanceof YamlNode.Mapping m) {
        out.add(new MappingReader(m, itemPath, problems));
      } else {
        problems.add(item.source(), itemPath, "expected a mapping, got " + YamlDocument.describe(item));
      }
    }
    return out;
  }

  /** Number of items of the list at {@code key}; -1 when absent or not a list. Records nothing. */
  public int sizeOf(String key) {
    YamlNode.Mapping.Entry e = node.entries().get(key);
    return e != null && e.value() instanceof YamlNode.Sequence seq ? seq.items().size() : -1;
  }

  /** Every entry of the mapping at {@code key} as a named mapping (e.g. services by name), in document order. */
  public Map<String, MappingReader> namedMappings(String key) {
    MappingReader parent = mapping(key);
    Map<String, MappingReader> out = new LinkedHashMap<>();
    for (String name : parent.keys()) {
      out.put(name, parent.mapping(name));
    }
    return out;
  }

  /** Records a problem for every key that was never read: unknown keys are typos until proven otherwise. */
  public void finish() {
    Set<String> unknown = new TreeSet<>(node.view().keySet());
    unknown.removeAll(consumed);
    for (String key : unknown) {
      YamlNode.Mapping.Entry e = node.entries().get(key);
      TreeSet<String> known = new TreeSet<>(consumed);
      problems.add(e.keySource(), pathOf(key), "unknown key" + (known.isEmpty() ? "" : " (known keys here: " + String.join(", ", known) + ")"));
    }
  }

  private static boolean isNull(YamlNode n) {
    return n instanceof YamlNode.Scalar s && s.kind() == YamlNode.Scalar.Kind.NULL;
  }
}
