#!/usr/bin/env bash
# Checks the observability artefacts against each other and against the code:
#   1. promtool check rules  helm/dialer-webhooks/files/alert-rules.yml
#   2. promtool test rules   test/promtool/alerts.test.yml (alert unit tests)
#   3. the Grafana dashboard is valid JSON with well-formed targets, and every metric and label
#      the dashboard and the rules use exists in src/metrics/metrics.ts (or prom-client's
#      default metrics)
#   4. with an argument (a /metrics URL or a file holding a scrape): promtool check metrics
#
# Usage: bash scripts/check-observability.sh [http://host:9464/metrics | scrape.txt]
#
# promtool comes from Debian's `prometheus` package. When it is not on PATH, only the promtool
# binary is unpacked from that package (into /usr/local/bin as root, else .cache/promtool/bin):
# installing the whole package would also install and try to start a Prometheus server.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RULES=helm/dialer-webhooks/files/alert-rules.yml
RULES_TEST=test/promtool/alerts.test.yml
DASHBOARD=helm/dialer-webhooks/files/grafana-dashboard.json
METRICS_TS=src/metrics/metrics.ts
NODE="$ROOT/node_modules/.bin/node"
LOCAL_PROMTOOL_DIR="$ROOT/.cache/promtool/bin"

# prom-client's default metrics name three gauges nodejs_active_*_total, which promtool's linter
# flags ("non-counter metrics should not have _total suffix"). The names are prom-client's.
KNOWN_DEFAULT_METRIC_LINTS='^(nodejs_active_handles_total|nodejs_active_requests_total|nodejs_active_resources_total) '

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'check-observability: %s\n' "$*" >&2
  exit 1
}

[[ -x "$NODE" ]] || die "$NODE not found: run npm ci first"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

find_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    command -v promtool
  elif [[ -x "$LOCAL_PROMTOOL_DIR/promtool" ]]; then
    printf '%s' "$LOCAL_PROMTOOL_DIR/promtool"
  else
    return 1
  fi
}

install_promtool() {
  command -v apt-get >/dev/null 2>&1 || die "promtool is missing and apt-get is not available: install promtool (Prometheus 2.x) by hand"
  local work="$TMP/promtool" target
  mkdir -p "$work"
  say "promtool not found: unpacking it from Debian's prometheus package"
  if ! (cd "$work" && apt-get download prometheus >"$work/apt.log" 2>&1); then
    [[ "$(id -u)" -eq 0 ]] || die "apt-get download prometheus failed and refreshing the package lists needs root: run 'sudo apt-get update' and retry (log: $(cat "$work/apt.log"))"
    say "apt-get update (the package lists do not know prometheus yet)"
    apt-get update -q >"$work/apt-update.log" 2>&1 || die "apt-get update failed: $(tail -n 5 "$work/apt-update.log")"
    (cd "$work" && apt-get download prometheus >"$work/apt.log" 2>&1) || die "apt-get download prometheus failed: $(tail -n 5 "$work/apt.log")"
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root" || die "could not unpack $(ls "$work"/prometheus_*.deb)"
  [[ -x "$work/root/usr/bin/promtool" ]] || die "the prometheus package holds no usr/bin/promtool"
  if [[ -w /usr/local/bin ]]; then
    target=/usr/local/bin
  else
    target="$LOCAL_PROMTOOL_DIR"
    mkdir -p "$target"
  fi
  install -m 0755 "$work/root/usr/bin/promtool" "$target/promtool"
  say "installed $("$target/promtool" --version 2>&1 | head -n 1) at $target/promtool"
}

PROMTOOL="$(find_promtool)" || {
  install_promtool
  PROMTOOL="$(find_promtool)" || die "promtool still not found after installing it"
}

say "promtool check rules $RULES"
"$PROMTOOL" check rules "$RULES"

say "promtool test rules $RULES_TEST"
"$PROMTOOL" test rules "$RULES_TEST"

say "dashboard and rules use only metrics and labels that exist"
"$NODE" --input-type=module - "$ROOT" "$DASHBOARD" "$RULES" "$METRICS_TS" <<'JS'
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [root, dashboardPath, rulesPath, metricsPath] = process.argv.slice(2);
const problems = [];
const problem = (where, text) => problems.push(`${where}: ${text}`);

// Every series name and label the service can export, from the real metric definitions.
const { createMetrics, ATTEMPT_RESULTS, DELIVERY_OUTCOMES, CONSUMER_NAMES } = await import(pathToFileURL(join(root, metricsPath)).href);
const { registry } = createMetrics({ perEndpoint: true });
const series = new Map(); // series name -> Set of label names
for (const family of await registry.getMetricsAsJSON()) {
  const labels = new Set(registry.getSingleMetric(family.name).labelNames ?? []);
  if (family.type === 'histogram') {
    series.set(`${family.name}_bucket`, new Set([...labels, 'le']));
    series.set(`${family.name}_sum`, labels);
    series.set(`${family.name}_count`, labels);
  } else if (family.type === 'summary') {
    series.set(family.name, new Set([...labels, 'quantile']));
    series.set(`${family.name}_sum`, labels);
    series.set(`${family.name}_count`, labels);
  } else {
    series.set(family.name, labels);
  }
}
// Labels Prometheus adds to every scraped series (static, Kubernetes and Prometheus Operator).
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'service', 'endpoint', 'node'];
series.set('up', new Set());
const KNOWN_VALUES = { result: ATTEMPT_RESULTS, outcome: DELIVERY_OUTCOMES, consumer: CONSUMER_NAMES };

const OURS = /\b((?:webhooks|process|nodejs)_[a-zA-Z0-9_]+|up)\b(\s*\{([^}]*)\})?/g;
const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const LABEL_REPLACE_DST = /label_replace\s*\([\s\S]*?,\s*"([a-zA-Z_][a-zA-Z0-9_]*)"/g;

function checkExpr(where, expr) {
  if (typeof expr !== 'string' || expr.trim() === '') {
    problem(where, 'empty expression');
    return;
  }
  const used = new Set(TARGET_LABELS);
  for (const m of expr.matchAll(LABEL_REPLACE_DST)) used.add(m[1]);
  let named = 0;
  for (const m of expr.matchAll(OURS)) {
    const [, name, , matchers] = m;
    // `up` only as a selector; as a word in a string it is not a metric.
    if (name === 'up' && m[2] === undefined && !/\bup\s*(==|!=|>|<)/.test(expr)) continue;
    const labels = series.get(name);
    if (labels === undefined) {
      problem(where, `unknown metric ${name} (not defined in ${metricsPath} nor a prom-client default metric)`);
      continue;
    }
    named += 1;
    for (const l of labels) used.add(l);
    for (const mm of (matchers ?? '').matchAll(MATCHER)) {
      const [, label, op, value] = mm;
      if (!labels.has(label) && !TARGET_LABELS.includes(label) && label !== '__name__') {
        problem(where, `${name} has no label ${label}`);
      }
      const known = KNOWN_VALUES[label];
      // Values of the enumerated labels: plain words or a|b alternation, each must be known.
      if (known && !value.includes('$') && /^[a-z0-9_|]+$/.test(value) && (op === '=' || op === '=~' || op === '!=' || op === '!~')) {
        for (const v of value.split('|')) if (!known.includes(v)) problem(where, `${name}{${label}} never has the value "${v}" (known: ${known.join(', ')})`);
      }
    }
  }
  if (named === 0) problem(where, 'uses none of the service\'s metrics');
  for (const m of expr.matchAll(GROUPING)) {
    for (const label of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!used.has(label)) problem(where, `groups by ${label}, which none of its metrics has`);
    }
  }
}

// The dashboard.
let dashboard;
try {
  dashboard = JSON.parse(readFileSync(join(root, dashboardPath), 'utf8'));
} catch (err) {
  console.error(`${dashboardPath}: not valid JSON: ${err.message}`);
  process.exit(1);
}
if (dashboard.uid !== 'dialer-webhooks') problem(dashboardPath, `uid is ${JSON.stringify(dashboard.uid)}, expected "dialer-webhooks"`);
if (!(dashboard.schemaVersion >= 36)) problem(dashboardPath, `schemaVersion ${dashboard.schemaVersion} is too old`);
const dsVar = (dashboard.templating?.list ?? []).find((v) => v.type === 'datasource' && v.name === 'datasource');
if (!dsVar || dsVar.query !== 'prometheus') problem(dashboardPath, 'no Prometheus datasource variable named "datasource"');
for (const v of dashboard.templating?.list ?? []) {
  if (v.type === 'query') checkExpr(`${dashboardPath} variable ${v.name}`, typeof v.query === 'string' ? v.query : v.query?.query);
}
const panels = [];
const collect = (list) => {
  for (const p of list ?? []) {
    panels.push(p);
    collect(p.panels);
  }
};
collect(dashboard.panels);
const ids = new Set();
let targets = 0;
for (const p of panels) {
  const where = `${dashboardPath} panel ${JSON.stringify(p.title)}`;
  if (typeof p.id !== 'number' || ids.has(p.id)) problem(where, `missing or duplicate id ${p.id}`);
  ids.add(p.id);
  const g = p.gridPos;
  if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x + g.w > 24) problem(where, `bad gridPos ${JSON.stringify(g)}`);
  if (p.type === 'row') continue;
  if (!p.title) problem(where, 'no title');
  if (p.datasource?.uid !== '${datasource}') problem(where, 'datasource is not ${datasource}');
  if (!Array.isArray(p.targets) || p.targets.length === 0) problem(where, 'no targets');
  const refIds = new Set();
  for (const t of p.targets ?? []) {
    targets += 1;
    if (!t.refId || refIds.has(t.refId)) problem(where, `missing or duplicate refId ${t.refId}`);
    refIds.add(t.refId);
    if (t.datasource && t.datasource.uid !== '${datasource}') problem(where, `target ${t.refId} datasource is not \${datasource}`);
    checkExpr(`${where} target ${t.refId}`, t.expr);
  }
}

// The alert rules: the file is ours, so a small reader of `expr:` entries is enough.
const rulesText = readFileSync(join(root, rulesPath), 'utf8');
const lines = rulesText.split('\n');
let alerts = 0;
let current = null;
for (let i = 0; i < lines.length; i++) {
  const alert = /^\s*- alert:\s*(\S+)/.exec(lines[i]);
  if (alert) {
    current = alert[1];
    alerts += 1;
  }
  const expr = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
  if (!expr) continue;
  let text = expr[2];
  if (text === '|' || text === '>' || text === '|-' || text === '>-') {
    text = '';
    const indent = expr[1].length;
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > indent)) text += `${lines[++i]}\n`;
  }
  checkExpr(`${rulesPath} ${current ?? 'record'}`, text);
}
const runbook = readFileSync(join(root, 'docs/runbook.md'), 'utf8');
for (const m of rulesText.matchAll(/runbook_url:\s*(\S+)/g)) {
  const anchor = m[1].split('#')[1];
  const headings = [...runbook.matchAll(/^#{1,6}\s+(.+)$/gm)].map((h) => h[1].trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-'));
  if (!anchor || !headings.includes(anchor)) problem(rulesPath, `runbook_url ${m[1]} has no matching heading in docs/runbook.md`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(`  ${p}`);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`dashboard: ${panels.filter((p) => p.type !== 'row').length} panels, ${targets} targets; rules: ${alerts} alerts; all metric and label names exist`);
JS

if [[ $# -ge 1 ]]; then
  source="$1"
  scrape="$TMP/scrape.txt"
  if [[ "$source" =~ ^https?:// ]]; then
    say "scraping $source"
    "$NODE" --input-type=module -e '
      const res = await fetch(process.argv[1], { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) { console.error(`GET ${process.argv[1]}: HTTP ${res.status}`); process.exit(1); }
      process.stdout.write(await res.text());' "$source" >"$scrape"
  else
    [[ -f "$source" ]] || die "$source is neither an http(s) URL nor a file"
    cp "$source" "$scrape"
  fi
  say "promtool check metrics ($source)"
  set +e
  lint="$("$PROMTOOL" check metrics <"$scrape" 2>&1)"
  status=$?
  set -e
  # Exit 3 means lint problems only; anything else non-zero means the scrape could not be parsed.
  if [[ $status -ne 0 && $status -ne 3 ]]; then
    printf '%s\n' "$lint" >&2
    die "promtool check metrics could not read the scrape (exit $status)"
  fi
  remaining="$(printf '%s\n' "$lint" | grep -Ev "$KNOWN_DEFAULT_METRIC_LINTS" | grep -v '^\s*$' || true)"
  if [[ -n "$remaining" ]]; then
    printf '%s\n' "$remaining" >&2
    die "promtool check metrics found problems"
  fi
  grep -q '^webhooks_build_info{' "$scrape" || die "the scrape has no webhooks_build_info: is $source dialer-webhooks?"
  say "scrape ok ($(grep -c '^[a-z]' "$scrape") samples)"
fi

say "observability checks passed"
