"""Chapter 02 interop: circom-compiled circuits load and check; files written here satisfy snarkjs."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lumoz_ref.field import R
from lumoz_ref.r1cs import R1CS, R1CSFormatError, UnsatisfiedConstraint, load_r1cs, load_wtns, save_r1cs, save_wtns

from test_r1cs import random_circuit

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "data" / "interop"
VECTOR_CIRCUITS = ["multiplier", "range_check", "square_chain", "multi_public"]
FIXTURE_CIRCUITS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def run(tool: Path, *args, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=300)
    if ok and proc.returncode != 0:
        raise AssertionError(f"{tool.name} {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def assert_matches_snarkjs_json(r1cs: R1CS, witness: list[int], folder: Path, name: str) -> None:
    """Compare our reading of <name>.r1cs / .wtns with snarkjs's own JSON export of the same files."""
    j = json.loads((folder / f"{name}.r1cs.json").read_text())
    assert int(j["prime"]) == R
    assert (r1cs.n_wires, r1cs.n_public_outputs, r1cs.n_public_inputs, r1cs.n_private_inputs, r1cs.n_constraints) == \
           (j["nVars"], j["nOutputs"], j["nPubInputs"], j["nPrvInputs"], j["nConstraints"])
    assert r1cs.n_labels == j["nLabels"]
    assert r1cs.wire_to_label == j["map"]
    expected = [tuple({int(k): int(v) for k, v in row.items()} for row in c) for c in j["constraints"]]
    assert r1cs.constraints == expected
    assert witness == [int(v) for v in json.loads((folder / f"{name}.wtns.json").read_text())]


@pytest.mark.parametrize("name", VECTOR_CIRCUITS)
def test_circom_vectors_load_and_check(vectors, name):
    folder = vectors / "groth16" / name
    r1cs = load_r1cs(folder / f"{name}.r1cs", folder / f"{name}.sym")
    witness = load_wtns(folder / f"{name}.wtns")
    r1cs.check(witness)
    assert_matches_snarkjs_json(r1cs, witness, folder, name)
    public = [int(v) for v in json.loads((folder / "public.json").read_text())]
    assert r1cs.public_signals(witness) == public


@pytest.mark.parametrize("name", FIXTURE_CIRCUITS)
def test_project_fixtures_load_and_check(name):
    folder = FIXTURES / name
    r1cs = load_r1cs(folder / f"{name}.r1cs", folder / f"{name}.sym")
    witness = load_wtns(folder / f"{name}.wtns")
    r1cs.check(witness)
    assert_matches_snarkjs_json(r1cs, witness, folder, name)
    inputs = json.loads((folder / "input.json").read_text())
    by_name = dict(zip(r1cs.wire_names, witness))
    for signal, value in inputs.items():       # the inputs sit on the wires the .sym file names
        assert by_name[signal] == int(value) % R


def test_fixture_table_is_current():
    readme = (FIXTURES / "README.md").read_text()
    for name in FIXTURE_CIRCUITS:
        r1cs = load_r1cs(FIXTURES / name / f"{name}.r1cs")
        row = f"| {r1cs.n_wires} | {r1cs.n_constraints} | {r1cs.n_public_outputs} | {r1cs.n_public_inputs} | {r1cs.n_private_inputs} |"
        assert re.search(rf"\| `{name}` \|.*{re.escape(row)}", readme), name


def sample_circuit() -> R1CS:
    """A built system with every wire kind, declared out of iden3 order."""
    r = R1CS("sample")
    x = r.private_input("x")
    k = r.public_input("k")
    inv = r.private("x_inverse", lambda w: pow(w[x], -1, R) if w[x] else 0)
    r.constrain(x, inv, 1, "x_nonzero")
    out = r.public_output("out")
    r.constrain(k + 2 * x, inv, out, "out")
    j = r.public_input("j")
    r.assert_equal(r.mul(j, j, "j_squared"), r.mul(k, 3, "three_k") + 1 - x, "relation")
    return r


@pytest.mark.interop
def test_written_r1cs_passes_snarkjs_info_and_export(snarkjs, tmp_path):
    r = sample_circuit()
    save_r1cs(r, tmp_path / "s.r1cs")
    info = plain(run(snarkjs, "r1cs", "info", tmp_path / "s.r1cs").stdout)
    for label, value in [("Wires", r.n_wires), ("Constraints", r.n_constraints), ("Private Inputs", r.n_private_inputs),
                         ("Public Inputs", r.n_public_inputs), ("Outputs", r.n_public_outputs)]:
        assert f"# of {label}: {value}\n" in info, info
    run(snarkjs, "r1cs", "export", "json", tmp_path / "s.r1cs", tmp_path / "s.json")
    exported = json.loads((tmp_path / "s.json").read_text())
    assert [tuple({int(k): int(v) for k, v in row.items()} for row in c) for c in exported["constraints"]] == r.constraints


@pytest.mark.interop
def test_written_files_pass_snarkjs_wtns_check(snarkjs, tmp_path):
    r = sample_circuit()
    x, k, j = 6, 7, 4                        # j² = 3k + 1 − x
    w = r.compute_witness({"x": x, "k": k, "j": j})
    r.check(w)
    save_r1cs(r, tmp_path / "s.r1cs")
    save_wtns(w, tmp_path / "s.wtns")
    out = plain(run(snarkjs, "wtns", "check", tmp_path / "s.r1cs", tmp_path / "s.wtns").stdout)
    assert "WITNESS IS CORRECT" in out, out


@pytest.mark.interop
def test_rejected_witness_fails_at_the_same_constraint_as_snarkjs(snarkjs, tmp_path):
    name = "bit_range"
    r1cs = load_r1cs(FIXTURES / name / f"{name}.r1cs")
    witness = load_wtns(FIXTURES / name / f"{name}.wtns")
    bad = list(witness)
    bad[r1cs.n_wires - 1] = (bad[r1cs.n_wires - 1] + 1) % R     # the last intermediate signal
    with pytest.raises(UnsatisfiedConstraint) as ours:
        r1cs.check(bad)
    save_r1cs(r1cs, tmp_path / "c.r1cs")                       # our writer, re-read by snarkjs
    save_wtns(bad, tmp_path / "bad.wtns")
    proc = run(snarkjs, "wtns", "check", tmp_path / "c.r1cs", tmp_path / "bad.wtns", ok=False)
    out = plain(proc.stdout + proc.stderr)
    assert proc.returncode != 0 and "WITNESS IS NOT CORRECT" in out, out
    assert f"aborting checking process at constraint {ours.value.index}\n" in out, out


@pytest.mark.interop
@pytest.mark.slow
def test_make_fixtures_is_reproducible(tmp_path):
    """Rerunning interop/make_fixtures.sh reproduces the committed fixtures byte for byte."""
    env = dict(os.environ, LUMOZ_FIXTURES_OUT=str(tmp_path))
    proc = subprocess.run(["bash", str(REPO / "interop" / "make_fixtures.sh")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in FIXTURE_CIRCUITS:
        for committed in sorted((FIXTURES / name).iterdir()):
            assert (tmp_path / name / committed.name).read_bytes() == committed.read_bytes(), committed


@pytest.mark.interop
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_built_circuits_agree_with_snarkjs(snarkjs, tmp_path, data):
    """Random builder circuits: snarkjs accepts the witness, and rejects a mutated one at our constraint index."""
    r, inputs, _, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    save_r1cs(r, tmp_path / "c.r1cs")
    save_wtns(w, tmp_path / "c.wtns")
    assert "WITNESS IS CORRECT" in plain(run(snarkjs, "wtns", "check", tmp_path / "c.r1cs", tmp_path / "c.wtns").stdout)
    bad = list(w)
    i = data.draw(st.integers(min_value=1, max_value=r.n_wires - 1))
    bad[i] = (bad[i] + 1) % R
    save_wtns(bad, tmp_path / "bad.wtns")
    proc = run(snarkjs, "wtns", "check", tmp_path / "c.r1cs", tmp_path / "bad.wtns", ok=False)
    out = plain(proc.stdout + proc.stderr)
    try:
        r.check(bad)
    except UnsatisfiedConstraint as e:
        assert f"aborting checking process at constraint {e.index}\n" in out, out
    else:
        assert "WITNESS IS CORRECT" in out, out


@pytest.mark.interop
def test_rejects_circuit_compiled_for_another_prime(circom, tmp_path):
    """circom's own output over BLS12-381's scalar field is refused with the prime named."""
    build = REPO / "interop" / "build" / f"other_prime.{os.getpid()}"
    build.mkdir(parents=True, exist_ok=True)
    try:
        (build / "mul.circom").write_text("pragma circom 2.0.0;\ntemplate M() { signal input a; signal input b; "
                                          "signal output c; c <== a * b; }\ncomponent main = M();\n")
        rel = build.relative_to(REPO / "interop")
        proc = subprocess.run([str(circom), str(rel / "mul.circom"), "--r1cs", "-p", "bls12381", "-o", str(rel)],
                              cwd=REPO / "interop", capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        bls12_381_r = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
        with pytest.raises(R1CSFormatError, match=rf"wrong prime {bls12_381_r}: .*section 1 \(header\)"):
            load_r1cs(build / "mul.r1cs")
    finally:
        shutil.rmtree(build, ignore_errors=True)
