#!/usr/bin/env bash
# Runs fault_worker under mpirun with one failing rank and checks that the whole job ends within
# 30 seconds (no hang), with a non-zero status and a message that matches PATTERN.
#   fault_test.sh MODE PATTERN MPIRUN_COMMAND... FAULT_WORKER
set -uo pipefail
mode=$1
pattern=$2
shift 2
start=$SECONDS
out=$(timeout -k 5 30 "$@" "$mode" 2>&1)
rc=$?
elapsed=$((SECONDS - start))
printf '%s\n' "$out" | tail -n 25
echo "fault_test: mode $mode: status $rc after ${elapsed}s"
if ((rc == 0)); then
  echo "fault_test: FAIL: the job exited 0 although rank 1 failed" >&2
  exit 1
fi
if ((rc == 124 || elapsed >= 30)); then
  echo "fault_test: FAIL: the job was still running after 30 s (a hang)" >&2
  exit 1
fi
if ! grep -Eq "$pattern" <<<"$out"; then
  echo "fault_test: FAIL: no message matching '$pattern'" >&2
  exit 1
fi
echo "fault_test: ok"
