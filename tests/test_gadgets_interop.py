"""Chapter 06 against the installed circomlibjs: Poseidon constants for all sixteen widths, and hashes on fresh inputs."""
from __future__ import annotations

import json
import random
import re
import shutil
import subprocess

from pathlib import Path

import pytest

from lumoz_ref.field import R
from lumoz_ref.r1cs import R1CS
from lumoz_ref.gadgets import (cond_swap, is_zero, less_than, mimc7_gadget, mimc7_multi_hash, mimc_sponge_gadget,
                               mimc_sponge_multi_hash, poseidon, poseidon_gadget, poseidon_params, to_bits)


pytestmark = pytest.mark.interop
INTEROP = Path(__file__).resolve().parents[1] / "interop"
CIRCOMLIBJS = INTEROP / "node_modules" / "circomlibjs"


@pytest.fixture(scope="module")
def circomlibjs():
    if not (CIRCOMLIBJS / "package.json").is_file():
        pytest.fail(f"{CIRCOMLIBJS} missing: run `make install` (npm ci in interop/) first")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; the interop tests need Node.js")
    return CIRCOMLIBJS


def test_poseidon_constants_equal_circomlibjs_tables(circomlibjs):
    """The Grain-LFSR regeneration gives circomlibjs's round constants and MDS matrices for t = 2..17."""
    tables = json.loads((circomlibjs / "src" / "poseidon_constants.json").read_text())
    assert len(tables["C"]) == len(tables["M"]) == 16
    for t in range(2, 18):
        params = poseidon_params(t)
        assert list(params.round_constants) == [int(c, 16) for c in tables["C"][t - 2]], f"round constants, t = {t}"
        assert [list(row) for row in params.mds] == [[int(m, 16) for m in row] for row in tables["M"][t - 2]], f"MDS, t = {t}"


NODE_SCRIPT = r"""
import { buildPoseidon, buildMimc7, buildMimcSponge } from "circomlibjs";
const cases = JSON.parse(process.argv[1]);
const poseidon = await buildPoseidon(), mimc7 = await buildMimc7(), sponge = await buildMimcSponge();
const F = poseidon.F, s = (x) => F.toObject(x).toString();
const out = cases.map((c) => {
  if (c.fn === "poseidon") return s(poseidon(c.inputs.map(BigInt), BigInt(c.init)));
  if (c.fn === "mimc7") return s(mimc7.multiHash(c.inputs.map(BigInt), BigInt(c.key)));
  const r = sponge.multiHash(c.inputs.map(BigInt), BigInt(c.key), c.n);
  return (c.n === 1 ? [r] : r).map(s);
});
console.log(JSON.stringify(out));
"""


def test_hashes_equal_circomlibjs_on_fresh_inputs(circomlibjs):
    """Differential: all sixteen Poseidon widths (the vectors cover 2..6), MiMC7 and MiMCSponge on seeded inputs."""
    rng = random.Random(606)
    element = lambda: rng.choice([0, 1, R - 1, rng.randrange(R)])
    cases = [{"fn": "poseidon", "inputs": [element() for _ in range(n)], "init": element()} for n in range(1, 17)]
    cases += [{"fn": "mimc7", "inputs": [element() for _ in range(rng.randint(1, 3))], "key": element()} for _ in range(3)]
    cases += [{"fn": "sponge", "inputs": [element() for _ in range(rng.randint(1, 3))], "key": element(), "n": rng.randint(1, 3)}
              for _ in range(3)]
    payload = json.dumps([{k: [str(x) for x in v] if k == "inputs" else str(v) if k in ("init", "key") else v
                           for k, v in c.items()} for c in cases])
    done = subprocess.run(["node", "--input-type=module", "-e", NODE_SCRIPT, payload], cwd=INTEROP,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    assert len(expected) == len(cases)
    for case, want in zip(cases, expected):
        if case["fn"] == "poseidon":
            assert poseidon(case["inputs"], case["init"]) == int(want), case
        elif case["fn"] == "mimc7":
            assert mimc7_multi_hash(case["inputs"], case["key"]) == int(want), case
        else:
            assert mimc_sponge_multi_hash(case["inputs"], case["key"], case["n"]) == [int(x) for x in want], case


# --- constraint counts against circom compiling circomlib -----------------------------------------------------

def _ours(build, n_inputs: int) -> int:
    """Non-linear constraints (A and B both non-empty) that `build` adds; linear ones are free after circom --O2."""
    cs = R1CS("count")
    build(cs, *[cs.private_input(f"x{i}") for i in range(n_inputs)])
    return sum(1 for a, b, _ in cs.constraints if a and b)


CIRCOMLIB_TWINS = [
    ("poseidon.circom", "Poseidon(1)", lambda cs, *x: poseidon_gadget(cs, x), 1),
    ("poseidon.circom", "Poseidon(2)", lambda cs, *x: poseidon_gadget(cs, x), 2),
    ("poseidon.circom", "Poseidon(3)", lambda cs, *x: poseidon_gadget(cs, x), 3),
    ("poseidon.circom", "Poseidon(4)", lambda cs, *x: poseidon_gadget(cs, x), 4),
    ("poseidon.circom", "Poseidon(5)", lambda cs, *x: poseidon_gadget(cs, x), 5),
    ("mimc.circom", "MiMC7(91)", lambda cs, x, k: mimc7_gadget(cs, x, k), 2),
    ("mimcsponge.circom", "MiMCFeistel(220)", lambda cs, l, r, k: mimc_sponge_gadget(cs, l, r, k), 3),
    ("bitify.circom", "Num2Bits(32)", lambda cs, x: to_bits(cs, x, 32), 1),
    ("comparators.circom", "LessThan(32)", lambda cs, a, b: less_than(cs, a, b, 32, assume_in_range=True), 2),
    ("comparators.circom", "IsZero()", lambda cs, x: is_zero(cs, x), 1),
    ("switcher.circom", "Switcher()", lambda cs, s, a, b: cond_swap(cs, s, a, b), 3),
]


@pytest.mark.parametrize("include, template, build, n_inputs", CIRCOMLIB_TWINS, ids=[t[1] for t in CIRCOMLIB_TWINS])
def test_non_linear_constraints_equal_circomlib(include, template, build, n_inputs, circom):
    """Each gadget costs exactly the multiplications of its circomlib template, as compiled by circom."""
    build_dir = INTEROP / "build" / "test_gadgets"
    build_dir.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\W", "_", template)
    source = build_dir / f"{name}.circom"
    source.write_text(f'pragma circom 2.0.0;\ninclude "circomlib/circuits/{include}";\ncomponent main = {template};\n')
    done = subprocess.run([str(circom), str(source.relative_to(INTEROP)), "--r1cs", "-l", "node_modules",
                           "-o", str(build_dir.relative_to(INTEROP))], cwd=INTEROP, capture_output=True, text=True,
                          timeout=300)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert done.returncode == 0, output
    theirs = int(re.search(r"non-linear constraints: (\d+)", output).group(1))
    assert _ours(build, n_inputs) == theirs
