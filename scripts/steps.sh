# Budgeted steps for the scripts run on a lent machine (device-check.sh, scaling.sh), sourced by them.
# The sourcing script sets BUDGET (seconds) and OUT (the output folder) first; sourcing creates
# OUT, starts the clock (START) and an empty log ($OUT/log.txt). Every step has a time limit cut to what is left of BUDGET, and a failed step does not stop the
# others; STEPS collects one JSON object per step for the script's summary.

mkdir -p "$OUT"
LOG=$OUT/log.txt
: > "$LOG"
START=$(date +%s)
STEPS=""

elapsed() { echo $(( $(date +%s) - START )); }
log() { echo "[$(elapsed)s] $*" | tee -a "$LOG" >&2; }

# step NAME LIMIT_SECONDS COMMAND...: runs with a timeout cut to the time left; records status.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$(( BUDGET - $(elapsed) - 5 ))
  if [ "$left" -lt 10 ]; then
    log "SKIP $name (out of time)"
    STEPS="$STEPS{\"step\":\"$name\",\"status\":\"skipped\",\"seconds\":0},"
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  log "START $name (limit ${limit}s): $*"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" >> "$LOG" 2>&1
  rc=$?
  local secs=$(( $(date +%s) - t0 ))
  local status=ok
  [ $rc -ne 0 ] && status="failed"
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && status="timeout"
  log "END $name: $status (rc $rc, ${secs}s)"
  STEPS="$STEPS{\"step\":\"$name\",\"status\":\"$status\",\"rc\":$rc,\"seconds\":$secs},"
  return $rc
}

# step_to FILE NAME LIMIT COMMAND...: as step, stdout to FILE (stderr to the log).
step_to() {
  local file=$1
  shift
  local name=$1 limit=$2
  shift 2
  step "$name" "$limit" bash -c '"$@" > "'"$file"'"' _ "$@"
}

json_or_null() { if [ -s "$1" ]; then cat "$1"; else echo null; fi; }
