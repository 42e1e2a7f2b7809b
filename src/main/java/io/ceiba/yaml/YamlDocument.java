package io.ceiba.yaml;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Parses YAML text into a {@link YamlNode} tree that keeps line numbers.
 * vertx-config's YAML store drops positions, and an operator needs "file:line: field: why".
 */
public final class YamlDocument {

  /** Upper bound on document size; a registry or node config is a few KB. */
  public static final int MAX_BYTES = 4 * 1024 * 1024;

  private YamlDocument() {
  }

  /**
   * Parses {@code text}. Syntax errors, duplicate keys, aliases and non-string keys are added to
   * {@code problems}; the result is then null (syntax) or a best-effort tree (the rest).
   * An empty document yields an empty mapping.
   */
  public static YamlNode.Mapping parse(String file, String text, Problems problems) {
    if (text.length() > MAX_BYTES) {
      problems.add(new Source(file, 0), "", "document larger than " + MAX_BYTES + " bytes");
      return null;
    }
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setMaxAliasesForCollections(0);
    options.setNestingDepthLimit(64);
    options.setCodePointLimit(MAX_BYTES);
    Node root;
    try {
      root = new Yaml(options).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      int line = mark == null ? 0 : mark.getLine() + 1;
      String reason = "not valid YAML: " + (e.getProblem() != null ? e.getProblem() : e.getMessage());
      if (e.getContext() != null) {
        reason += " (" + e.getContext() + ")";
      }
      problems.add(new Source(file, line), "", reason.replaceAll("\\s+", " ").trim());
      return null;
    } catch (YAMLException e) {
      problems.add(new Source(file, 0), "", "not valid YAML: " + e.getMessage());
      return null;
    }
    if (root == null) {
      return new YamlNode.Mapping(new Source(file, 1));
    }
    YamlNode node = convert(file, root, "", problems);
    if (node instanceof YamlNode.Mapping mapping) {
      return mapping;
    }
    if (node instanceof YamlNode.Scalar s && s.kind() == YamlNode.Scalar.Kind.NULL) {
      return new YamlNode.Mapping(new Source(file, 1));
    }
    problems.add(node.source(), "", "expected a mapping of keys at the top level, got " + describe(node));
    return null;
  }

  private static YamlNode convert(String file, Node node, String path, Problems problems) {
    Source source = new Source(file, node.getStartMark().getLine() + 1);
    if (node instanceof ScalarNode scalar) {
      return scalar(scalar, source);
    }
    if (node instanceof SequenceNode seq) {
      List<YamlNode> items = new ArrayList<>();
      int i = 0;
      for (Node item : seq.getValue()) {
        items.add(convert(file, item, path + "[" + i++ + "]", problems));
      }
      return new YamlNode.Sequence(List.copyOf(items), source);
    }
    MappingNode map = (MappingNode) node;
    YamlNode.Mapping result = new YamlNode.Mapping(source);
    for (NodeTuple tuple : map.getValue()) {
      Node keyNode = tuple.getKeyNode();
      Source keySource = new Source(file, keyNode.getStartMark().getLine() + 1);
      if (!(keyNode instanceof ScalarNode keyScalar) || keyScalar.getTag().equals(Tag.NULL)) {
        problems.add(keySource, path, "keys must be plain names");
        continue;
      }
      String key = keyScalar.getValue();
      String childPath = path.isEmpty() ? key : path + "." + key;
      if (result.entries().containsKey(key)) {
        problems.add(keySource, childPath, "duplicate key (first at line " + result.entries().get(key).keySource().line() + ")");
        continue;
      }
      result.entries().put(key, new YamlNode.Mapping.Entry(keySource, convert(file, tuple.getValueNode(), childPath, problems)));
    }
    return result;
  }

  private static YamlNode.Scalar scalar(ScalarNode scalar, Source source) {
    Tag tag = scalar.getTag();
    YamlNode.Scalar.Kind kind;
    if (Tag.NULL.equals(tag)) {
      return new YamlNode.Scalar(null, YamlNode.Scalar.Kind.NULL, source);
    } else if (Tag.INT.equals(tag)) {
      kind = YamlNode.Scalar.Kind.INT;
    } else if (Tag.FLOAT.equals(tag)) {
      kind = YamlNode.Scalar.Kind.FLOAT;
    } else if (Tag.BOOL.equals(tag)) {
      kind = YamlNode.Scalar.Kind.BOOL;
    } else {
      kind = YamlNode.Scalar.Kind.STRING;
    }
    return new YamlNode.Scalar(scalar.getValue(), kind, source);
  }

  static String describe(YamlNode node) {
    if (node instanceof YamlNode.Mapping) {
      return "a mapping";
    }
    if (node instanceof YamlNode.Sequence) {
      return "a list";
    }
    YamlNode.Scalar s = (YamlNode.Scalar) node;
    return s.kind() == YamlNode.Scalar.Kind.NULL ? "nothing" : "'" + s.value() + "'";
  }
}
