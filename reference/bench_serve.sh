#!/usr/bin/env bash
# Serving benchmark, one invocation: mtrec serve against the Python reference server
# (reference/serve/server.py) on the same MovieLens MMoE run, on loopback only.
#
#   bash reference/bench_serve.sh [--seconds 30] [--soak 300] [--run DIR] [--data-dir DIR]
#                                 [--cores 0,1] [--out DIR] [--mtrec-args "ARGS"]
#                                 [--base-bin PATH] [--routes "infer recommend health"]
#                                 [--no-build] [--perf] [--variant "LABEL ARGS"]...
#
# 1. builds target/release/mtrec and the loadgen example; creates reference/.venv if missing;
# 2. trains the run (configs/movielens_mmoe.toml, 3 epochs) unless DIR already holds one;
# 3. checks that the Python model scores as mtrec (reference/serve/check_scores.py);
# 4. starts the servers on 127.0.0.1 (free ports), all pinned to the same cores (taskset);
# 5. closed loop, 1 / 8 / 64 clients for --seconds each: single-row infer, then recommend
#    for one user over 1,000 candidates (k = 10), against each server; then recommend
#    again with both servers started with --two-tower (item-side first-layer products
#    computed once at start, on both sides; mtrec serve's default for MMoE runs; the
#    first mtrec server runs with --plain); then GET /v2/health/live (no work: the floor
#    of a round trip). Each level runs on mtrec, then at once on python, so that both
#    see the same machine load (it drifts on a shared machine);
#    --mtrec-args "ARGS" are added to both mtrec serve command lines;
# 6. soak: --soak seconds of 8 infer + 8 recommend clients at once on mtrec serve, its
#    RSS sampled every second (start, end, max);
# 7. prints the tables (requests/s, p50 / p99, errors, ratio mtrec / python) and the
#    machine's load; everything is also in OUT/results.jsonl.
#
# --base-bin PATH: an earlier mtrec binary (e.g. a copy of target/release/mtrec from
# before a change) served beside the current one with the same flags (labels mtrec_base,
# mtrec_base_tt); each level then runs base, mtrec, python back to back, and a table of
# current / base ratios is printed: a before/after comparison under the same load.
# --variant "LABEL ARGS" (repeatable): one more server of the current binary, started as
# the first mtrec one plus ARGS (e.g. --variant "nopoll --busy-poll-us 0"), labelled
# mtrec_LABEL; it runs the infer and health levels right after mtrec and before python,
# and a table of each variant against mtrec and python is printed.
# --routes: which of infer, recommend, health to run (default all three).
# --no-build: use target/release/mtrec and the loadgen example as they are (step 1 skipped).
# --perf: at 1 client, also count each server's CPU time and context switches during the
# level (`perf stat -p`), printed per request (OUT/perf.txt): the server's own work per
# request, steadier than requests/s on a loaded machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
secs=30
soak=300
run=/tmp/mtrec-bench-serve-run
data="${MTREC_DATA:-$root/../shared/data}"
cores=0,1
out=""
mtrec_args=""
base_bin=""
build=1
perf=0
routes="infer recommend health"
variants=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) secs="$2"; shift 2 ;;
        --soak) soak="$2"; shift 2 ;;
        --run) run="$2"; shift 2 ;;
        --data-dir) data="$2"; shift 2 ;;
        --cores) cores="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --mtrec-args) mtrec_args="$2"; shift 2 ;;
        --base-bin) base_bin="$2"; shift 2 ;;
        --routes) routes="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --perf) perf=1; shift ;;
        --variant) variants+=("$2"); shift 2 ;;
        *) echo "bench_serve.sh: unknown argument $1 (see the header of this file)" >&2; exit 2 ;;
    esac
done
# absolute: check_scores.py runs in reference/serve, where a relative path would miss
[ -d "$data" ] || { echo "bench_serve.sh: --data-dir $data is not a folder" >&2; exit 2; }
data="$(cd "$data" && pwd)"
out="${out:-$(mktemp -d /tmp/mtrec-bench-serve.XXXXXX)}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
py="$root/reference/.venv/bin/python"

[ "$build" = 1 ] && cargo build --release --quiet --bin mtrec --example loadgen
[ -x "$py" ] || bash reference/setup.sh
mtrec="$root/target/release/mtrec"
loadgen="$root/target/release/examples/loadgen"
if [ ! -f "$run/model.safetensors" ]; then
    "$mtrec" train --config configs/movielens_mmoe.toml --data-dir "$data" --out "$run" \
        --set train.epochs=3 > "$out/train.log"
fi
(cd reference/serve && "$py" check_scores.py --run "$run" --data-dir "$data" --bin "$mtrec") | tee "$out/check_scores.txt"

token="$out/token"
"$py" -c 'import secrets; print(secrets.token_hex(24))' > "$token"
chmod 600 "$token"
# 1,000 candidates: the first 1,000 items of the run's item vocabulary (all in the catalogue).
"$py" -c 'import json, sys
s = json.load(open(sys.argv[1] + "/spec.json"))
v = next(f for f in s["categorical"] if f["name"] == "item_id")["encoder"]["values"]
print("\n".join(v[:1000]))' "$run" > "$out/candidates.txt"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background, waits for "listening on ADDR" on stdout
start() {
    local name="$1"; shift
    taskset -c "$cores" "$@" > "$out/$name.stdout" 2> "$out/$name.stderr" &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 600); do
        if grep -q '^listening on ' "$out/$name.stdout" 2>/dev/null; then
            eval "${name}_addr=\$(sed -n 's/^listening on //p' \"\$out/\$name.stdout\")"
            eval "${name}_pid=$pid"
            return
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$out/$name.stderr" >&2; exit 1; }
        sleep 0.1
    done
    echo "$name did not start" >&2; exit 1
}
# --plain: every pair through the whole network, as the Python server without --two-tower
# (mtrec serve's default for MMoE runs is the two-tower split, the mtrec_tt server below)
start mtrec "$mtrec" serve --run "ml=$run" --data-dir "$data" --addr 127.0.0.1:0 \
    --token-file "$token" --threads 2 --plain $mtrec_args
start python "$py" reference/serve/server.py --run "$run" --name ml --data-dir "$data" \
    --token-file "$token" --port 0 --threads 2
# the same two, recommending with the two-tower split (items' first-layer part computed once)
start mtrec_tt "$mtrec" serve --run "ml=$run" --data-dir "$data" --addr 127.0.0.1:0 \
    --token-file "$token" --threads 2 --two-tower $mtrec_args
start python_tt "$py" reference/serve/server.py --run "$run" --name ml --data-dir "$data" \
    --token-file "$token" --port 0 --threads 2 --two-tower
if [ -n "$base_bin" ]; then
    start mtrec_base "$base_bin" serve --run "ml=$run" --data-dir "$data" --addr 127.0.0.1:0 \
        --token-file "$token" --threads 2 --plain $mtrec_args
    start mtrec_base_tt "$base_bin" serve --run "ml=$run" --data-dir "$data" \
        --addr 127.0.0.1:0 --token-file "$token" --threads 2 --two-tower $mtrec_args
fi

vnames=""
for v in ${variants[@]+"${variants[@]}"}; do
    read -r vlabel vargs <<< "$v"
    # shellcheck disable=SC2086
    start "mtrec_$vlabel" "$mtrec" serve --run "ml=$run" --data-dir "$data" --addr 127.0.0.1:0 \
        --token-file "$token" --threads 2 --plain $mtrec_args $vargs
    vnames="$vnames mtrec_$vlabel"
done

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $load_before"
echo "mtrec serve args: --threads 2 $mtrec_args"
for pass in "infer mtrec python" "recommend mtrec python" "recommend mtrec_tt python_tt" \
    "health mtrec python"; do
    read -r route a b <<< "$pass"
    case " $routes " in *" $route "*) ;; *) continue ;; esac
    names="$a $b"
    case "$route" in infer|health) names="$a$vnames $b" ;; esac
    [ -n "$base_bin" ] && names="${a/mtrec/mtrec_base} $names"
    for clients in 1 8 64; do
        for name in $names; do
            addr="${name}_addr"; pid="${name}_pid"
            counting=0
            if [ "$perf" = 1 ] && [ "$clients" = 1 ]; then
                perf stat -x, -e task-clock,context-switches -p "${!pid}" -o "$out/perf.csv" \
                    -- sleep "$secs" 2>/dev/null &
                counting=$!
            fi
            line="$("$loadgen" --addr "${!addr}" --token-file "$token" --model ml --pid "${!pid}" \
                --route "$route" --user 196 --candidates "$out/candidates.txt" --k 10 \
                --levels "$clients" --seconds "$secs" --json "$results" --label "$name" \
                | tail -n 1)"
            echo "$line" | sed "s/^/$name $route: /"
            if [ "$counting" != 0 ]; then
                wait "$counting" || true
                n="$(echo "$line" | cut -d'|' -f3 | tr -d ' ')"
                ms="$(grep task-clock "$out/perf.csv" | cut -d, -f1)"
                cs="$(grep context-switches "$out/perf.csv" | cut -d, -f1)"
                awk -v n="$n" -v ms="$ms" -v cs="$cs" -v l="$name $route" 'BEGIN {
                    printf "%s, 1 client: server CPU %.1f us / request, %.2f context switches / request\n",
                        l, ms * 1000 / n, cs / n }' | tee -a "$out/perf.txt"
            fi
        done
    done
done
if [ "$soak" != 0 ]; then
    soakers=()
    for route in infer recommend; do
        "$loadgen" --addr "$mtrec_addr" --token-file "$token" --model ml --pid "$mtrec_pid" \
            --route "$route" --user 196 --candidates "$out/candidates.txt" --k 10 \
            --levels none --soak "$soak" --soak-clients 8 --json "$results" --label mtrec &
        soakers+=($!)
    done
    for p in "${soakers[@]}"; do wait "$p"; done
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

"$py" - "$results" "$secs" "$load_before" "$load_after" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
secs, before, after = sys.argv[2:5]
lv = {(r["label"], r["route"], r["clients"]): r for r in rows if r["kind"] == "level"}
print(f"\nclosed loop, {secs} s per level; load average (1/5/15 min) {before} before, {after} after\n")
print("| request | clients | mtrec req/s | python req/s | ratio | mtrec p50 / p99 ms | python p50 / p99 ms | errors mtrec / python |")
print("|---|---:|---:|---:|---:|---|---|---|")
for route, a, b, title in (("infer", "mtrec", "python", "infer, 1 row"),
                           ("recommend", "mtrec", "python", "recommend, 1,000 candidates"),
                           ("recommend", "mtrec_tt", "python_tt", "recommend, two-tower split"),
                           ("health", "mtrec", "python", "GET /v2/health/live (floor)")):
    for c in (1, 8, 64):
        m, p = lv.get((a, route, c)), lv.get((b, route, c))
        if not m or not p:
            continue
        print(f"| {title} | {c} | {m['requests_per_s']:.0f} | {p['requests_per_s']:.0f} | "
              f"{m['requests_per_s'] / max(p['requests_per_s'], 1e-9):.1f}× | "
              f"{m['p50_ms']:.2f} / {m['p99_ms']:.2f} | {p['p50_ms']:.2f} / {p['p99_ms']:.2f} | "
              f"{m['errors']} / {p['errors']} |")
soaks = [r for r in rows if r["kind"] == "soak"]
if soaks:
    print("\n| soak (mtrec serve, at once) | seconds | requests | req/s | p50 / p99 ms | errors | RSS MiB start → end (max) |")
    print("|---|---:|---:|---:|---|---:|---|")
    for r in soaks:
        print(f"| {r['route']}, {r['clients']} clients | {r['seconds']:.0f} | {r['requests']} | "
              f"{r['requests_per_s']:.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} | {r['errors']} | "
              f"{r['rss_start_mib']:.1f} → {r['rss_end_mib']:.1f} ({r['rss_max_mib']:.1f}) |")
base = [(a, route, title) for route, a, title in (
    ("infer", "mtrec", "infer, 1 row"), ("recommend", "mtrec", "recommend, 1,000 candidates"),
    ("recommend", "mtrec_tt", "recommend, two-tower split"), ("health", "mtrec", "GET /v2/health/live"))
    if any(k[0] == a.replace("mtrec", "mtrec_base") and k[1] == route for k in lv)]
if base:
    print("\nbefore / after (--base-bin, the same levels back to back)\n")
    print("| request | clients | base req/s | mtrec req/s | mtrec / base | base / python | mtrec / python | base p50 / p99 ms | mtrec p50 / p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for a, route, title in base:
        py = "python_tt" if a.endswith("_tt") else "python"
        for c in (1, 8, 64):
            m, o, p = lv.get((a, route, c)), lv.get((a.replace("mtrec", "mtrec_base"), route, c)), lv.get((py, route, c))
            if not m or not o or not p:
                continue
            rm, ro, rp = m["requests_per_s"], o["requests_per_s"], max(p["requests_per_s"], 1e-9)
            print(f"| {title} | {c} | {ro:.0f} | {rm:.0f} | {rm / max(ro, 1e-9):.2f}× | {ro / rp:.1f}× | "
                  f"{rm / rp:.1f}× | {o['p50_ms']:.2f} / {o['p99_ms']:.2f} | {m['p50_ms']:.2f} / {m['p99_ms']:.2f} |")
variants = sorted({k[0] for k in lv if k[0].startswith("mtrec_") and k[0] not in
                   ("mtrec_tt", "mtrec_base", "mtrec_base_tt")})
if variants:
    print("\nvariants (--variant: the current binary with more flags), beside mtrec and python\n")
    print("| request | clients | server | req/s | / mtrec | / python | p50 / p99 ms | errors |")
    print("|---|---:|---|---:|---:|---:|---|---:|")
    for route, title in (("infer", "infer, 1 row"), ("health", "GET /v2/health/live")):
        for c in (1, 8, 64):
            m, p = lv.get(("mtrec", route, c)), lv.get(("python", route, c))
            if not m or not p:
                continue
            for name in ["mtrec"] + variants:
                v = lv.get((name, route, c))
                if not v:
                    continue
                r = v["requests_per_s"]
                print(f"| {title} | {c} | {name} | {r:.0f} | {r / max(m['requests_per_s'], 1e-9):.2f}× | "
                      f"{r / max(p['requests_per_s'], 1e-9):.1f}× | {v['p50_ms']:.2f} / {v['p99_ms']:.2f} | {v['errors']} |")
bad = sum(r["errors"] for r in rows)
print(f"\nerrors in all: {bad}")
sys.exit(1 if bad else 0)
EOF
echo "results: $results"
