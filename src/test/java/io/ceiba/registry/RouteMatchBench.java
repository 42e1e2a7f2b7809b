package io.ceiba.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What finding a request's route costs the edge per request, in nanoseconds: {@link RequestPaths#normalise} and
 * {@link Routes#match} as {@code RouteStep.byPath} runs them, for a service with 1, 50 and 500 routes (a third each
 * exact paths, templates and prefixes, some with methods), reported as a ratio of the one-route service. Not part of
 * the suite (the name matches neither surefire's nor failsafe's patterns); run it with
 * {@code mvn -o -q test -Dtest=RouteMatchBench -Dsurefire.failIfNoSpecifiedTests=false} and read the figures in
 * {@code target/surefire-reports/io.ceiba.registry.RouteMatchBench-output.txt}.
 */
class RouteMatchBench {

  private static final int ROUNDS = 10;
  private static final int CALLS = 2_000_000;
  private static final Map<String, String> HEADERS = Map.of("accept", "application/json");

  @Test
  void match_cost() {
    int[] sizes = {1, 50, 500};
    Routes[] services = new Routes[sizes.length];
    String[][] targets = new String[sizes.length][];
    for (int s = 0; s < sizes.length; s++) {
      services[s] = service(sizes[s]).routes();
      targets[s] = targets(sizes[s], new Random(s));
      for (String t : targets[s]) {
        assertThat(services[s].match(RequestPaths.normalise(t).path(), "GET", HEADERS::get)).as(t).isNotNull();
      }
    }
    for (int round = 1; round <= ROUNDS; round++) {
      double[] ns = new double[sizes.length];
      for (int s = 0; s < sizes.length; s++) {
        ns[s] = measure(services[s], targets[s]);
      }
      System.out.printf("round %d: 1 route %.0f ns; 50 routes %.0f ns (x%.2f); 500 routes %.0f ns (x%.2f)%n", round, ns[0], ns[1],
          ns[1] / ns[0], ns[2], ns[2] / ns[0]);
    }
  }

  private static double measure(Routes routes, String[] targets) {
    long start = System.nanoTime();
    int sink = 0;
    for (int i = 0; i < CALLS; i++) {
      RequestPaths.Normalised path = RequestPaths.normalise(targets[i & (targets.length - 1)]);
      Route r = routes.match(path.path(), "GET", HEADERS::get);
      sink += r.index();
    }
    return (System.nanoTime() - start) / (double) CALLS + (sink == -1 ? 1 : 0);
  }

  /** {@code n} routes: a third exact paths, a third templates, a third prefixes; every fourth with methods. */
  private static HttpService service(int n) {
    StringBuilder yaml = new StringBuilder(RoutesTest.API).append("    routes:\n");
    if (n == 1) {
      yaml.append("      - { path: /r/, class: read }\n");
    } else {
      for (int i = 0; i < n; i++) {
        String path = switch (i % 3) {
          case 0 -> "/r" + i + "/status";
          case 1 -> "\"/r" + i + "/items/{id}\"";
          default -> "/r" + i + "/files/";
        };
        yaml.append("      - { path: ").append(path).append(i % 4 == 0 ? ", methods: [GET, HEAD]" : "").append(", class: c")
            .append(i % 5).append(" }\n");
      }
    }
    return RegistryParser.parse("bench.yaml", yaml.toString()).http().get("api");
  }

  /** 1024 request targets taking routes all over the list; one in eight needs normalising (dot segments, '//', %XX). */
  private static String[] targets(int n, Random random) {
    List<String> out = new ArrayList<>();
    while (out.size() < 1024) {
      int i = random.nextInt(n);
      String target = n == 1 ? "/r/items/" + random.nextInt(1000) : switch (i % 3) {
        case 0 -> "/r" + i + "/status";
        case 1 -> "/r" + i + "/items/" + random.nextInt(100_000);
        default -> "/r" + i + "/files/a/b/c.txt";
      };
      if (out.size() % 8 == 0) {
        target = target.replaceFirst("/", "/x/../").replace("/r", "//%72");
      }
      out.add(target + (out.size() % 2 == 0 ? "?page=2" : ""));
    }
    return out.toArray(String[]::new);
  }
}
