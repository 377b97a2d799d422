#!/usr/bin/env bash
# Checks the first of the README's two commands as a newcomer uses it: `npm run dev` reaches
# http://127.0.0.1:$HTTP_PORT/readyz (200) and a Ctrl-C (SIGINT to its process group, as a
# terminal sends it) stops it cleanly: exit code 0 within DEV_STOP_SECONDS. Run by .ci/run on its
# fresh clone, where the first `npm run dev` also does the set-up (npm ci, services, migrations).
#
# Environment: HTTP_PORT (default 9464, also passed to the service), DEV_READY_SECONDS (default
# 600: on a fresh clone this includes npm ci and the services), DEV_STOP_SECONDS (default 40).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

PORT="${HTTP_PORT:-9464}"
READY_SECONDS="${DEV_READY_SECONDS:-600}"
STOP_SECONDS="${DEV_STOP_SECONDS:-40}"
LOG="${TMPDIR:-/tmp}/check-dev.$$.log"
URL="http://127.0.0.1:$PORT/readyz"

fail() {
  echo "check-dev: FAILED: $*" >&2
  echo "---- last lines of the npm run dev output ($LOG):" >&2
  tail -n 30 "$LOG" >&2 || true
  [[ -z "${GROUP:-}" ]] || kill -KILL -- "-$GROUP" 2>/dev/null || true
  exit 1
}

if curl -fsS -o /dev/null --max-time 2 "$URL" 2>/dev/null; then
  echo "check-dev: something already answers on $URL; stop it first" >&2
  exit 1
fi

# Its own session and process group, like a terminal's foreground job. -w: setsid's exit status
# is npm's, also when setsid had to fork to get a new session.
HTTP_PORT="$PORT" setsid -w npm run dev >"$LOG" 2>&1 </dev/null &
PID=$!
started=$SECONDS
for _ in $(seq 1 50); do
  GROUP="$(ps -o sid= -p "$PID" 2>/dev/null | tr -d ' ')"
  if [[ "$GROUP" != "$PID" ]]; then GROUP="$(pgrep -P "$PID" | head -n 1)"; fi
  [[ -n "$GROUP" ]] && break
  sleep 0.1
done
[[ -n "$GROUP" ]] || fail "could not find the process group of npm run dev"

until curl -fsS -o /dev/null --max-time 2 "$URL" 2>/dev/null; do
  kill -0 "$PID" 2>/dev/null || fail "npm run dev exited before $URL answered 200"
  ((SECONDS - started < READY_SECONDS)) || fail "$URL did not answer 200 within ${READY_SECONDS}s"
  sleep 0.5
done
echo "check-dev: $URL answered 200 after $((SECONDS - started))s"

stop_started=$SECONDS
kill -INT -- "-$GROUP"
while kill -0 "$PID" 2>/dev/null; do
  ((SECONDS - stop_started < STOP_SECONDS)) || fail "still running ${STOP_SECONDS}s after SIGINT"
  sleep 0.2
done
wait "$PID"
rc=$?
[[ "$rc" -eq 0 ]] || fail "exit code $rc after SIGINT (want 0)"
if pgrep -s "$GROUP" >/dev/null 2>&1; then fail "processes of npm run dev remain after it exited: $(pgrep -s "$GROUP" | tr '\n' ' ')"; fi
echo "check-dev: stopped cleanly on SIGINT (exit code 0) after $((SECONDS - stop_started))s"
rm -f "$LOG"
