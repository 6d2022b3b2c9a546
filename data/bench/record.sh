#!/usr/bin/env bash
# Re-measure the figures the book quotes. Each data/bench/X.json is the JSON a benchmark command printed,
# with when and how it was recorded added under "recorded" (the command, the date, the load average).
# Run from the repository root on an otherwise idle machine: bash data/bench/record.sh [name ...]
# (groth16_workers.json and block_workers.json are recorded with chapter 05a's commands, below.)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
OUT=data/bench

# record NAME DESCRIPTION COMMAND...: run COMMAND (it prints JSON), add the "recorded" facts (DESCRIPTION
# is the command line a reader would type), write $OUT/NAME.json
record() {
  local name=$1 description=$2; shift 2
  echo "recording $name: $description" >&2
  "$@" | "$BIN/python" -c '
import datetime, json, os, sys
record = json.loads(sys.stdin.read())
record = record if isinstance(record, dict) else {"results": record}
record["recorded"] = {"command": sys.argv[1], "date": datetime.date.today().isoformat(),
                      "load_average": [round(x, 2) for x in os.getloadavg()]}
json.dump(record, sys.stdout, indent=1); print()' "$description" > "$OUT/$name.json.tmp"
  mv "$OUT/$name.json.tmp" "$OUT/$name.json"
}

# A list of groth16 records, one per size and backend (chapter 05 and the home page).
groth16_sizes() {
  local first=1
  echo "["
  for backend in python native; do
    for n in 1024 4096 16384; do
      [ $first = 1 ] || echo ","
      first=0
      "$BIN/lumoz-ref" bench groth16 --constraints "$n" --backend "$backend" --json
    done
  done
  echo "]"
}

# The wall time of `lumoz-ref demo` (the home page), with the machine's facts.
demo_time() {
  "$BIN/python" -c '
import json, subprocess, sys, time
from lumoz_ref.bench import machine_facts
start = time.perf_counter()
subprocess.run([sys.argv[1], "demo"], check=True, stdout=subprocess.DEVNULL)
print(json.dumps({"benchmark": "demo", "command": "lumoz-ref demo",
                  "wall_s": round(time.perf_counter() - start, 1), "machine": machine_facts()}))' \
    "$BIN/lumoz-ref"
}

# Chapter 05a: chapter 05's prove, two pure-Python workers and snarkjs's CLI on the same chain circuit.
groth16_workers() {
  echo "["
  "$BIN/lumoz-ref" bench groth16 --constraints 4096 --workers 2 --json
  echo ","
  "$BIN/lumoz-ref" bench groth16 --constraints 16384 --workers 2 --json
  echo "]"
}

# Chapter 05a: chapter 11's dispute circuit (DISPUTE_CIRCUIT, a block of four transactions:
# dispute_example_block) proven by chapter 05's prove and on two workers, native backend.
dispute_workers() { "$BIN/lumoz-ref" bench block --workers 2 --backend native --circuit dispute --json; }

# Chapter 10: the execution gas of snarkjs's Solidity verifier in py-evm (tests/test_l1_evm.py measures it
# and, with LUMOZ_BENCH_OUT set, writes it instead of comparing it with the record).
l1_verifier_gas() {
  local out; out=$(mktemp -d)
  LUMOZ_BENCH_OUT=$out "$BIN/pytest" -q -p no:cacheprovider tests/test_l1_evm.py >&2
  "$BIN/python" -c 'import json, sys
from lumoz_ref.bench import machine_facts
record = json.load(open(sys.argv[1])); record["machine"] = machine_facts(); print(json.dumps(record))' \
    "$out/l1_verifier_gas.json"
  rm -rf "$out"
}

curve() { "$BIN/python" -c 'import json; from lumoz_ref.bench import bench_curve; print(json.dumps(bench_curve()))'; }

wanted=${*:-"curve groth16 block demo"}
for name in $wanted; do
  case $name in
    curve)   record curve "python -c 'lumoz_ref.bench.bench_curve()'" curve ;;         # chapter 04
    groth16) record groth16 "lumoz-ref bench groth16 --constraints N --backend B --json \
(N = 1024, 4096, 16384; B = python, native)" groth16_sizes ;;                    # chapter 05, home page
    block)   record block "lumoz-ref bench block --json" "$BIN/lumoz-ref" bench block --json ;;  # ch. 08
    demo)    record demo "time lumoz-ref demo" demo_time ;;                      # the home page
    groth16_workers) record groth16_workers "lumoz-ref bench groth16 --constraints N --workers 2 --json \
(N = 4096, 16384; snarkjs timed in the same run)" groth16_workers ;;            # chapter 05a
    l1_verifier_gas) record l1_verifier_gas "pytest tests/test_l1_evm.py (LUMOZ_BENCH_OUT set)" \
      l1_verifier_gas ;;                                                         # chapter 10
    block_workers)   record block_workers "lumoz-ref bench block --workers 2 --backend native --circuit dispute --json" \
      dispute_workers ;;                                                         # chapter 05a
    *) echo "unknown record $name" >&2; exit 2 ;;
  esac
done
