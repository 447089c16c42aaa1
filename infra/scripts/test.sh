#!/usr/bin/env bash
# `npm test` (and `.ci/run`): runs every check and test suite on a fresh clone.
# Installs what is missing, starts PostgreSQL and Redis when they are down, installs npm
# packages, builds, lints, checks formatting, typechecks, then runs vitest from the root.
# Extra arguments go to vitest:   npm test -- api/test/auth.spec.ts
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO_ROOT"

# Tests create their own databases (unique names) through this admin connection.
export TEST_DB_ADMIN_URL="${TEST_DB_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

SUMMARY=()
FAILED=()
TOTAL_START=$SECONDS

print_summary() {
  local line
  echo
  echo "==> summary"
  for line in "${SUMMARY[@]}"; do
    printf '    %s\n' "$line"
  done
  printf '    %-28s %5ss\n' "total" "$((SECONDS - TOTAL_START))"
}

# step MODE NAME CMD... : runs CMD, prints and records its duration.
#   MODE fatal    : stop everything on failure (nothing after it can work)
#   MODE continue : record the failure, run the remaining steps, fail at the end
step() {
  local mode="$1" name="$2"
  shift 2
  local start=$SECONDS rc=0
  printf '\n==> %s\n' "$name"
  # A subshell with errexit on: `cmd || rc=$?` would switch errexit off inside functions.
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  local took=$((SECONDS - start))
  if [[ "$rc" -eq 0 ]]; then
    printf '==> %s: ok (%ss)\n' "$name" "$took"
    SUMMARY+=("$(printf '%-28s %5ss  ok' "$name" "$took")")
    return 0
  fi
  printf '==> %s: FAILED with exit code %s (%ss)\n' "$name" "$rc" "$took" >&2
  SUMMARY+=("$(printf '%-28s %5ss  FAILED (exit %s)' "$name" "$took" "$rc")")
  FAILED+=("$name")
  if [[ "$mode" == "fatal" ]]; then
    print_summary
    exit "$rc"
  fi
}

# steps_concurrently MODE NAME -- CMD... \; NAME -- CMD... : runs the commands at once; the first
# one's output goes straight to the terminal, each other's into a file printed whole once all
# have finished; each is recorded like `step` does (a failure under its own name; MODE as for `step`).
steps_concurrently() {
  local mode="$1"
  shift
  local dir
  dir="$(mktemp -d -t xspectre-steps.XXXXXX)"
  local names=() pids=() n=0 start=$SECONDS
  while [[ $# -gt 0 ]]; do
    local name="$1" cmd=()
    shift 2 # NAME --
    while [[ $# -gt 0 && "$1" != ";" ]]; do
      cmd+=("$1")
      shift
    done
    [[ $# -gt 0 ]] && shift # ;
    names+=("$name")
    printf '\n==> %s (started)\n' "$name"
    (
      set +e
      local t0=$SECONDS rc
      # The first keeps the script's own stdout and stderr (reopening /dev/stdout would truncate a log file).
      if [[ "$n" -eq 0 ]]; then
        (
          set -e
          "${cmd[@]}"
        )
        rc=$?
      else
        (
          set -e
          "${cmd[@]}"
        ) >"$dir/$n.out" 2>&1
        rc=$?
      fi
      echo "$rc $((SECONDS - t0))" >"$dir/$n.rc"
    ) &
    pids+=("$!")
    n=$((n + 1))
  done
  local i rc took fatal_rc=0
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || true
  done
  for i in "${!names[@]}"; do
    read -r rc took <"$dir/$i.rc" || { rc=1 took=$((SECONDS - start)); }
    if [[ "$i" -gt 0 ]]; then
      printf '\n==> %s\n' "${names[$i]}"
      cat "$dir/$i.out"
    fi
    if [[ "$rc" -eq 0 ]]; then
      printf '==> %s: ok (%ss)\n' "${names[$i]}" "$took"
      SUMMARY+=("$(printf '%-28s %5ss  ok' "${names[$i]}" "$took")")
    else
      printf '==> %s: FAILED with exit code %s (%ss)\n' "${names[$i]}" "$rc" "$took" >&2
      SUMMARY+=("$(printf '%-28s %5ss  FAILED (exit %s)' "${names[$i]}" "$took" "$rc")")
      FAILED+=("${names[$i]}")
      fatal_rc="$rc"
    fi
  done
  rm -rf "$dir"
  SUMMARY+=("$(printf '%-28s %5ss  (wall time of the %s above)' "  at once" "$((SECONDS - start))" "${#names[@]}")")
  if [[ "$mode" == "fatal" && "$fatal_rc" -ne 0 ]]; then
    print_summary
    exit "$fatal_rc"
  fi
}

step fatal "apt packages" ensure_apt_packages "${PRODUCT_APT_PACKAGES[@]}" "${LAB_APT_PACKAGES[@]}"
step fatal "apt packages (no services)" ensure_apt_packages_no_start "${LAB_APT_PACKAGES_NO_START[@]}"
step fatal "postgresql" ensure_postgres
step fatal "redis" ensure_redis
step fatal "npm install" npm install --no-audit --no-fund
step fatal "npm run build" npm run build
# The console's end-to-end tests serve its production build (next build also typechecks it).
step fatal "console build" npm run build -w console
# Three independent checks that read the tree and write nothing into it: at once (2 cores; each is
# mostly single-threaded), each one's output printed whole after all have finished.
steps_concurrently continue \
  "npm run lint" -- npm run lint \; \
  "npm run format:check" -- npm run format:check \; \
  "npm run typecheck" -- npm run typecheck
REPORTS="$(mktemp -d -t xspectre-vitest.XXXXXX)"
vitest_run() {
  local report="$1"
  shift
  npx vitest run --reporter=default --reporter=json --outputFile.json="$REPORTS/$report.json" "$@"
}
if [[ $# -gt 0 ]]; then
  step continue "vitest" vitest_run all "$@"
else
  # The lanes in vitest.config.ts: unit, build and integration one after the other, then the lab
  # lane and, in a second vitest process at the same time, the lab-side lane (specs that take no
  # lab lock and mostly wait). The lab lane's output streams; lab-side's is printed when both end.
  step continue "vitest: unit, build, integration" vitest_run first --project unit --project build --project integration
  steps_concurrently continue \
    "vitest: lab" -- vitest_run lab --project lab \; \
    "vitest: lab-side" -- vitest_run lab-side --project lab-side
fi

print_summary
# One plain closing line with the counts (over every vitest run above), whatever the runner printed.
# shellcheck disable=SC2016 # the JS template literal is meant for node, not bash
node -e '
  const fs = require("fs");
  const files = fs.readdirSync(process.argv[1]).filter((f) => f.endsWith(".json"));
  if (files.length === 0) throw new Error("no report");
  const n = { passed: 0, failed: 0, skipped: 0 };
  for (const f of files) {
    const r = JSON.parse(fs.readFileSync(`${process.argv[1]}/${f}`, "utf8"));
    n.passed += r.numPassedTests;
    n.failed += r.numFailedTests;
    n.skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  }
  console.log(`tests: ${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped${files.length < 3 && process.argv[2] === "lanes" ? " (a vitest run left no report)" : ""}`);
' "$REPORTS" "$([[ $# -gt 0 ]] && echo one || echo lanes)" 2>/dev/null || echo "tests: no report (vitest did not finish)"
rm -rf "$REPORTS"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  printf '==> FAILED: %s\n' "$(IFS=','; echo "${FAILED[*]}")" >&2
  exit 1
fi
echo "==> all checks and tests passed"
