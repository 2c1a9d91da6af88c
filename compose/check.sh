#!/usr/bin/env bash
# Validates compose/ without a Docker engine (CI has none):
#   a) `docker-compose -f compose/docker-compose.yml config -q` (Debian's docker-compose 1.29; also
#      `docker compose` v2 when that plugin is installed). Missing tool: "skipped", which fails only
#      when CK_REQUIRE_COMPOSE=1.
#   b) the Dockerfile's package lists:
#      - build stage (the lines between `# BEGIN build-packages` and `# END build-packages`) must be
#        exactly `scripts/setup.sh --list` minus TEST_ONLY below (packages only the tests,
#        benchmarks, run scripts and this check use). A library added to setup.sh must therefore
#        be added to the Dockerfile too (or to TEST_ONLY, with a reason).
#      - runtime stage (between `# BEGIN runtime-packages` / `# END runtime-packages`): every
#        package exists in the apt sources (`apt-cache show`, only when they are bookworm's), and
#        when a built binary is found (CLUSTERKIT_BIN, else build/clusterkit) every library
#        `ldd` lists belongs (dpkg -S) to a runtime package or to libc6 (in the base image).
#   c) the compose file's structure (python3 + yaml) and the Dockerfile's essentials; every
#      environment variable either sets must be a setting config/ reads.
# Exit 0 when all checks pass (or were skipped), 1 otherwise. Usage: bash compose/check.sh
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMPOSE_FILE="$ROOT/compose/docker-compose.yml"
DOCKERFILE="$ROOT/compose/Dockerfile"

# Only tests, benchmarks, run scripts and compose/check.sh itself use these; the image does not.
TEST_ONLY="curl jq wrk lmdb-utils procps iproute2 docker-compose openssl clang libfuzzer-14-dev etcd-server etcd-client linux-perf chromium chromium-driver python3-selenium"

failures=0
ok() { echo "ok:   $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
skip() { echo "skipped: $*"; }

# Prints the single-package lines between "# BEGIN <name>" and "# END <name>" of the Dockerfile.
marked_packages() {
  awk -v b="# BEGIN $1" -v e="# END $1" '
    $0 == b { inside = 1; next }
    $0 == e { inside = 0; next }
    inside && $0 ~ /^[ \t]+[a-z0-9][a-z0-9.+-]*[ \t]*\\?[ \t]*$/ { gsub(/[ \t\\]/, ""); print }
  ' "$DOCKERFILE"
}

# ---------------------------------------------------------------------------------------------
# a) compose config
compose_ran=0
if command -v docker-compose >/dev/null 2>&1; then
  # One run with the profile validates every service (node4 included). docker-compose is a
  # Python program that takes seconds to start on a busy machine: keep the calls few.
  if out=$(docker-compose -f "$COMPOSE_FILE" --profile scale config -q 2>&1); then
    ok "docker-compose --profile scale config -q"
  else
    fail "docker-compose --profile scale config -q: $out"
  fi
  compose_ran=1
fi
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  if out=$(docker compose -f "$COMPOSE_FILE" --profile scale config -q 2>&1); then
    ok "docker compose (v2) config -q"
  else
    fail "docker compose (v2) config -q: $out"
  fi
  compose_ran=1
fi
if [ "$compose_ran" -eq 0 ]; then
  if [ "${CK_REQUIRE_COMPOSE:-0}" = "1" ]; then
    fail "docker-compose not installed (CK_REQUIRE_COMPOSE=1): run scripts/setup.sh"
  else
    skip "docker-compose not installed (set CK_REQUIRE_COMPOSE=1 to make this an error)"
  fi
fi

# ---------------------------------------------------------------------------------------------
# b) package lists
if [ ! -f "$DOCKERFILE" ]; then
  fail "missing $DOCKERFILE"
else
  build_pkgs=$(marked_packages build-packages | sort -u)
  runtime_pkgs=$(marked_packages runtime-packages | sort -u)
  [ -n "$build_pkgs" ] || fail "Dockerfile: no packages between # BEGIN/END build-packages"
  [ -n "$runtime_pkgs" ] || fail "Dockerfile: no packages between # BEGIN/END runtime-packages"

  if setup_list=$("${BASH:-bash}" "$ROOT/scripts/setup.sh" --list 2>&1); then
    expected=$(printf '%s\n' $setup_list | grep -vxF -f <(printf '%s\n' $TEST_ONLY) | sort -u)
    missing=$(comm -23 <(echo "$expected") <(echo "$build_pkgs") | tr "\n" " ")
    extra=$(comm -13 <(echo "$expected") <(echo "$build_pkgs") | tr "\n" " ")
    if [ -z "$missing" ] && [ -z "$extra" ]; then
      ok "build stage installs setup.sh's list minus test-only ($(echo "$build_pkgs" | wc -l) packages)"
    else
      [ -z "$missing" ] || fail "build stage lacks (in setup.sh --list, not test-only): $missing"
      [ -z "$extra" ] || fail "build stage has packages setup.sh --list lacks or marks test-only: $extra"
    fi
  else
    fail "scripts/setup.sh --list failed: $setup_list"
  fi

  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  if ! command -v apt-cache >/dev/null 2>&1; then
    skip "runtime packages in bookworm: apt-cache not available"
  elif [ "$codename" != "bookworm" ]; then
    skip "runtime packages in bookworm: this machine's apt sources are '$codename'"
  else
    absent=""
    for p in $runtime_pkgs; do
      apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || absent="$absent $p"
    done
    if [ -z "$absent" ]; then
      ok "runtime packages exist in bookworm: $(echo $runtime_pkgs)"
    else
      fail "runtime packages unknown to apt (bookworm):$absent"
    fi
  fi

  bin=${CLUSTERKIT_BIN:-$ROOT/build/clusterkit}
  if [ -x "$bin" ] && command -v ldd >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    unowned=""
    uncovered=""
    for lib in $(ldd "$bin" | awk '/=> \//{ print $3 }'); do
      owner=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null)
      if [ -z "$owner" ]; then
        unowned="$unowned $lib"
        continue
      fi
      pkg=${owner%%:*}
      pkg=${pkg%%,*}
      [ "$pkg" = "libc6" ] && continue
      echo "$runtime_pkgs" | grep -qxF "$pkg" || uncovered="$uncovered $pkg($(basename "$lib"))"
    done
    [ -z "$unowned" ] || fail "libraries of $bin owned by no Debian package:$unowned"
    if [ -z "$uncovered" ]; then
      ok "every library ldd lists for $bin is in the runtime stage (or libc6)"
    else
      fail "runtime stage lacks packages $bin links:$uncovered"
    fi
  else
    skip "ldd check: no built binary at $bin (set CLUSTERKIT_BIN)"
  fi
fi

# ---------------------------------------------------------------------------------------------
# c) structure of the compose file and the Dockerfile
if ! command -v python3 >/dev/null 2>&1; then
  fail "python3 not installed"
else
  python3 - "$COMPOSE_FILE" "$DOCKERFILE" "$ROOT/config/detail/settings.cpp" <<'PY'
import os, re, sys

compose_path, dockerfile_path, settings_path = sys.argv[1:4]
failures = 0


def ok(msg):
    print("ok:   " + msg)


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


try:
    import yaml
except ImportError:
    print("FAIL: python3-yaml not installed")
    sys.exit(1)

# Env vars config/ reads: the first column of the settings table, plus CONFIG.
known_env = None
if os.path.exists(settings_path):
    known_env = set(re.findall(r'\{"([A-Z][A-Z0-9_]*)", "[a-z_]+\.[a-z_.]+"', open(settings_path).read()))
    known_env.add("CONFIG")
    if len(known_env) < 10:
        fail("could not read the settings table of %s" % settings_path)
        known_env = None


def check_env_names(where, names):
    if known_env is None:
        return
    unknown = sorted(n for n in names if n not in known_env)
    if unknown:
        fail("%s sets variables config/ does not read: %s" % (where, ", ".join(unknown)))


def env_dict(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def port_pairs(svc):
    pairs = set()
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            pairs.add((str(p.get("published")), str(p.get("target"))))
            continue
        parts = str(p).split("/")[0].split(":")
        if len(parts) == 3:      # ip:host:container
            parts = parts[1:]
        if len(parts) == 2:
            pairs.add((parts[0], parts[1]))
        else:
            pairs.add(("", parts[0]))
    return pairs


try:
    doc = yaml.safe_load(open(compose_path))
except Exception as e:  # noqa: BLE001 - any parse error is a failure
    print("FAIL: %s does not parse: %s" % (compose_path, e))
    sys.exit(1)

version = str(doc.get("version", ""))
if version:
    try:
        major, minor = (int(x) for x in (version.split(".") + ["0"])[:2])
    except ValueError:
        major, minor = 0, 0
    if (major, minor) < (3, 9):
        fail("compose version %s: profiles need 3.9 with docker-compose 1.29" % version)

services = doc.get("services") or {}
networks = doc.get("networks") or {}
volumes = doc.get("volumes") or {}
if "clusterkit-net" in networks:
    ok("network clusterkit-net declared")
else:
    fail("top-level networks lacks clusterkit-net")

all_host_ports = []
volume_sources = []
expected_nodes = {n: (str(8079 + n), str(9079 + n), str(9000 + n)) for n in (1, 2, 3, 4)}
for n, (http, kv, raft) in expected_nodes.items():
    name = "node%d" % n
    svc = services.get(name)
    if svc is None:
        fail("service %s missing" % name)
        continue
    problems = []
    profiles = svc.get("profiles") or []
    if n <= 3 and profiles:
        problems.append("has profiles %s (must start by default)" % profiles)
    if n == 4 and not profiles:
        problems.append("must sit under a profile (e.g. scale)")
    nets = svc.get("networks") or []
    if "clusterkit-net" not in (list(nets) if isinstance(nets, (list, dict)) else []):
        problems.append("not on clusterkit-net")
    want = {(http, "8080"), (kv, "9080"), (raft, "9001")}
    got = port_pairs(svc)
    if got != want:
        problems.append("ports %s, want %s" % (sorted(got), sorted(want)))
    all_host_ports += [h for h, _ in got]
    hc = svc.get("healthcheck") or {}
    test = hc.get("test")
    test_text = " ".join(test) if isinstance(test, list) else str(test or "")
    if hc.get("disable") or "8080/ready" not in test_text:
        problems.append("healthcheck must probe :8080/ready")
    if svc.get("restart") != "on-failure":
        problems.append("restart is %r, want on-failure (a removed node exits 0 and stays down)"
                        % svc.get("restart"))
    limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    if not limits.get("memory") or not limits.get("cpus"):
        problems.append("deploy.resources.limits needs cpus and memory")
    data_mounts = []
    for v in svc.get("volumes") or []:
        src, target = (v.get("source"), v.get("target")) if isinstance(v, dict) else (str(v).split(":") + [""])[:2]
        if target == "/data":
            data_mounts.append(src)
    if len(data_mounts) != 1 or data_mounts[0] not in volumes:
        problems.append("needs one named volume (declared at top level) on /data, has %s" % data_mounts)
    else:
        volume_sources.append(data_mounts[0])
    build = svc.get("build") or {}
    if isinstance(build, str):
        build = {"context": build}
    if build.get("context") != ".." or build.get("dockerfile") != "compose/Dockerfile":
        problems.append("build must be context .. with dockerfile compose/Dockerfile")
    env = env_dict(svc)
    check_env_names(name, env)
    if not env.get("NODE_ID"):
        problems.append("no NODE_ID")
    if env.get("RAFT_ADDR") != "%s:9001" % name:
        problems.append("RAFT_ADDR %r, want %s:9001 (resolvable by peers)" % (env.get("RAFT_ADDR"), name))
    if env.get("DATA_DIR", "/data") != "/data" and not env.get("DATA_DIR", "").startswith("/data/"):
        problems.append("DATA_DIR %r is not on the /data volume" % env.get("DATA_DIR"))
    bootstrap = env.get("BOOTSTRAP", "false").lower() in ("true", "1", "yes", "on")
    join = env.get("JOIN_ADDR", "")
    if n == 1 and (not bootstrap or join):
        problems.append("node1 must have BOOTSTRAP=true and no JOIN_ADDR")
    if n > 1 and (bootstrap or "node1:8080" not in join.split(",")):
        problems.append("must join through node1:8080 without BOOTSTRAP")
    if problems:
        fail("%s: %s" % (name, "; ".join(problems)))
    else:
        ok("%s: ports %s->8080 %s->9080 %s->9001, healthcheck /ready, volume, env%s"
           % (name, http, kv, raft, " (profile %s)" % profiles if profiles else ""))

ids = [env_dict(s).get("NODE_ID") for s in services.values()]
if len(ids) != len(set(ids)):
    fail("NODE_IDs are not unique: %s" % ids)
if len(all_host_ports) != len(set(all_host_ports)):
    fail("host ports collide: %s" % sorted(all_host_ports))
if len(volume_sources) != len(set(volume_sources)):
    fail("nodes share a data volume: %s" % volume_sources)

# The Dockerfile's essentials (a line-level reading; no engine here to build it).
try:
    lines = open(dockerfile_path).read().replace("\\\n", " ").splitlines()
except OSError as e:
    print("FAIL: %s" % e)
    sys.exit(1)
instr = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]
froms = [l for l in instr if l.upper().startswith("FROM ")]
last = max(i for i, l in enumerate(instr) if l.upper().startswith("FROM ")) if froms else 0
final = instr[last:]
problems = []
if len(froms) < 2:
    problems.append("not multi-stage")
if not all(re.match(r"FROM\s+debian:(bookworm|12)\b", l, re.I) for l in froms):
    problems.append("every stage must be FROM debian:bookworm*: %s" % froms)
build_text = " ".join(instr[:last])
if "--target clusterkit" not in build_text or "CMAKE_BUILD_TYPE=Release" not in build_text or "-G Ninja" not in build_text:
    problems.append("build stage must run cmake -G Ninja -DCMAKE_BUILD_TYPE=Release and build --target clusterkit")
users = [l.split()[1] for l in final if l.upper().startswith("USER ")]
if not users or users[-1].split(":")[0] in ("root", "0"):
    problems.append("final stage must switch to a non-root USER")
exposed = set()
for l in final:
    if l.upper().startswith("EXPOSE "):
        exposed |= {p.split("/")[0] for p in l.split()[1:]}
if not {"8080", "9080", "9001"} <= exposed:
    problems.append("EXPOSE 8080 9080 9001 (has %s)" % sorted(exposed))
if not any(l.upper().startswith("HEALTHCHECK ") and "/ready" in l for l in final):
    problems.append("HEALTHCHECK on /ready missing")
if not any(l.upper().startswith("VOLUME ") and "/data" in l for l in final):
    problems.append("VOLUME /data missing")
env_names = set()
for l in final:
    if l.upper().startswith("ENV "):
        env_names |= set(re.findall(r"([A-Z][A-Z0-9_]*)=", l))
for needed in ("HTTP_ADDR", "KV_ADDR", "RAFT_ADDR", "DATA_DIR"):
    if needed not in env_names:
        problems.append("ENV %s default missing" % needed)
check_env_names("Dockerfile ENV", env_names)
if problems:
    fail("Dockerfile: " + "; ".join(problems))
else:
    ok("Dockerfile: %d stages on bookworm, Release clusterkit target, non-root, EXPOSE, HEALTHCHECK /ready, VOLUME /data, ENV defaults" % len(froms))
if known_env is not None:
    ok("every environment variable set is one config/ reads (%d known)" % len(known_env))

sys.exit(1 if failures else 0)
PY
  [ $? -eq 0 ] || failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
  echo "compose/check.sh: $failures check(s) failed"
  exit 1
fi
echo "compose/check.sh: all checks passed"
