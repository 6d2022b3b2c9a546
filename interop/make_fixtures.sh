#!/usr/bin/env bash
# Rebuild the circom/snarkjs interop fixtures in data/interop/ from the circuits in data/circuits/.
#
# For every data/circuits/<name>.circom (with <name>.input.json beside it):
#   circom2 (R1CS, wasm witness generator, symbols) -> snarkjs wtns calculate -> snarkjs wtns check,
# then copy <name>.r1cs, <name>.wtns, <name>.sym and input.json to data/interop/<name>/ together with
# snarkjs's own JSON views of them (r1cs export json, wtns export json) and `snarkjs r1cs info`.
# Deterministic (no randomness is involved) and rerunnable; needs only the npm tools in interop/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/interop/node_modules/.bin"
REL="build/fixtures.$$"                  # gitignored scratch space, one per run
BUILD="$ROOT/interop/$REL"
trap 'rm -rf "$BUILD"' EXIT
OUT="${LUMOZ_FIXTURES_OUT:-$ROOT/data/interop}"   # overridable, for the reproducibility test
for tool in circom2 snarkjs; do
    [ -x "$BIN/$tool" ] || { echo "missing $BIN/$tool: run 'make install' first" >&2; exit 1; }
done
mkdir -p "$BUILD" "$OUT"

for src in "$ROOT"/data/circuits/*.circom; do
    name="$(basename "$src" .circom)"
    input="$ROOT/data/circuits/$name.input.json"
    [ -f "$input" ] || { echo "missing $input" >&2; exit 1; }
    echo "== $name"
    # circom2 (wasm) only sees files below its working directory: compile a copy inside interop/.
    cp "$src" "$BUILD/$name.circom"
    (cd "$ROOT/interop" && "$BIN/circom2" "$REL/$name.circom" --r1cs --wasm --sym \
        -o "$REL" -l node_modules > "$REL/$name.circom.log")
    "$BIN/snarkjs" wtns calculate "$BUILD/${name}_js/$name.wasm" "$input" "$BUILD/$name.wtns"
    "$BIN/snarkjs" wtns check "$BUILD/$name.r1cs" "$BUILD/$name.wtns" > "$BUILD/$name.check.log"
    grep -q "WITNESS IS CORRECT" "$BUILD/$name.check.log" || { cat "$BUILD/$name.check.log" >&2; exit 1; }

    dest="$OUT/$name"
    rm -rf "$dest"; mkdir -p "$dest"
    cp "$src" "$dest/$name.circom"
    cp "$input" "$dest/input.json"
    cp "$BUILD/$name.r1cs" "$BUILD/$name.wtns" "$BUILD/$name.sym" "$dest/"
    "$BIN/snarkjs" r1cs export json "$dest/$name.r1cs" "$dest/$name.r1cs.json" > /dev/null
    "$BIN/snarkjs" wtns export json "$dest/$name.wtns" "$dest/$name.wtns.json" > /dev/null
    "$BIN/snarkjs" r1cs info "$dest/$name.r1cs" | sed "s/\x1b\[[0-9;]*m//g" > "$dest/r1cs_info.txt"
    cat "$dest/r1cs_info.txt"
done
