# Where a Ceiba JVM's CPU goes, from `perf script -F comm,tid,ip,sym,dso` of `perf record -g` samples (JIT frames named
# through the JVM's perf map). Used by access-bench.sh (PROFILE=1); prints one table row for the target.
#   awk -v target=NAME -v hz=SAMPLES_PER_SECOND -v requests=N -v usage_methods='a|b' -v access_methods='c|d' -f cpu-breakdown.awk
# usage_methods, access_methods: the EdgeVerticle methods where usage recording and the access layer begin.
# Columns, in µs of CPU per request: usage recording, the access layer, the rest of the proxy in Java and in the kernel
# (system calls: the sample's leaf frame is the kernel's), GC, JIT compilers, total.
# a sample: a header line "comm tid" (comm may hold spaces), then one frame per line, leaf first, then a blank line
BEGIN { usage_re = "io\\.ceiba\\.usage\\.|EdgeVerticle\\.(" usage_methods ")\\("
        access_re = "io\\.ceiba\\.access\\.|EdgeVerticle\\.(" access_methods ")\\(|io\\.vertx\\.redis\\." }
/^[^ \t]/ { flush(); tid = $NF; comm = $0; sub(/ *[0-9]+ *$/, "", comm); nf = 0; open = 1; next }
/^[ \t]*$/ { flush(); next }
{ frame[++nf] = $0 }
function flush(   i, c, u, e) {
  if (!open) return
  open = 0; n++; name[tid] = comm; thread[n] = tid
  # the innermost Ceiba (or Redis client) frame says whose work a sample is: code below it runs for it
  c = ""
  for (i = 1; i <= nf && c == ""; i++) {
    if (frame[i] ~ usage_re) c = "usage"
    else if (frame[i] ~ access_re) c = "access"
    else if (frame[i] ~ /io\.ceiba\./) c = "ceiba"
  }
  cls[n] = c
  kernel[n] = frame[1] ~ /kernel\.kallsyms/
  # only the usage verticle's own frames mark its event loop (an edge's hand-off does not); edge frames on the same
  # thread say an edge instance shares that loop
  u = e = 0
  for (i = 1; i <= nf; i++) { if (frame[i] ~ /io\.ceiba\.usage\./) u = 1; else if (frame[i] ~ /io\.ceiba\.edge\./) e = 1 }
  usage_frames[tid] += u; edge_frames[tid] += e; samples[tid]++
}
END {
  flush()
  # the usage verticle's event loop: the thread with the most usage samples; its samples without a Ceiba frame
  # (the Postgres client's socket I/O, epoll, timers) are usage too
  for (t in usage_frames) if (usage_frames[t] > best) { best = usage_frames[t]; loop = t }
  # an event loop the usage verticle shares with an edge instance: its unframed samples are mostly the edge's
  if (loop != "" && edge_frames[loop] > 0.05 * samples[loop]) {
    printf "%s: the usage verticle shares its event loop with an edge instance; only its own frames count as usage\n", target > "/dev/stderr"
    loop = ""
  }
  for (i = 1; i <= n; i++) {
    c = cls[i]; t = thread[i]
    if (c == "" && t == loop) c = "usage"
    else if (c == "ceiba" || c == "") c = (name[t] ~ /^GC/) ? "gc" : (name[t] ~ /Compiler/) ? "jit" : kernel[i] ? "kernel" : "java"
    cnt[c]++
  }
  us = 1e6 / hz / (requests > 0 ? requests : 1)
  printf "| %-20s | %7d | %6.1f | %6.1f | %6.1f | %6.1f | %6.1f | %6.1f | %6.1f |\n", target, n, cnt["usage"] * us, cnt["access"] * us,
    cnt["java"] * us, cnt["kernel"] * us, cnt["gc"] * us, cnt["jit"] * us, n * us
}
