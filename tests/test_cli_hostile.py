"""The command line on hostile input: every bad file, path or argument ends in exit 2 with one line on stderr.

The contract (chapter 99): exit 0 success, 1 only for a proof that does not verify (or failing vectors), 2 for bad
input or usage, with exactly one line `error: ...` on stderr and never a traceback. The files are written to
tmp_path; the commands run in-process through typer's CliRunner, and once through the console entry point."""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

import lumoz_ref.groth16 as groth16
from lumoz_ref.cli import app
from lumoz_ref.field import P, R
from lumoz_ref.groth16 import MAX_JSON_FILE_BYTES, chain_circuit, prove, save_proof, save_public, save_verifying_key, setup
from lumoz_ref.r1cs import save_r1cs, save_wtns

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_bad_input(result, *fragments: str) -> str:
    "Exit 2, exactly one stderr line starting with 'error: ', no traceback, nothing raised; returns the line."
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    "A 3-step chain as .r1cs/.wtns, its snarkjs files (seeded setup) and the files of a 5-step chain."
    folder = tmp_path_factory.mktemp("good")
    r1cs, witness = chain_circuit(3)
    pk, vk = setup(r1cs, seed=3)
    proof = prove(pk, r1cs, witness, rng=random.Random(4))
    save_r1cs(r1cs, folder / "c.r1cs"); save_wtns(witness, folder / "c.wtns")
    save_verifying_key(vk, folder / "vk.json"); save_proof(proof, folder / "proof.json")
    save_public(r1cs.public_signals(witness), folder / "public.json")
    other, other_witness = chain_circuit(5)
    save_wtns(other_witness, folder / "other.wtns")
    return {name: folder / name for name in ("c.r1cs", "c.wtns", "vk.json", "proof.json", "public.json", "other.wtns")}


@pytest.fixture
def no_setup(monkeypatch):
    "Make the trusted setup fail loudly: the input checks must refuse bad input before it runs."
    def refuse(*args, **kwargs):
        raise AssertionError("the set-up ran on input that should have been refused before it")
    monkeypatch.setattr(groth16, "setup", refuse)


def unwritable_directory(tmp_path: Path) -> Path:
    "A directory in which nothing can be created, as root (sysfs) or as anyone else (mode 0o500)."
    if os.geteuid() == 0:
        return Path("/sys")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked


# --- groth16 verify --------------------------------------------------------------------------------

def test_verify_good_files_and_a_wrong_public_input_are_exit_0_and_1(files, tmp_path):
    result = invoke("groth16", "verify", files["vk.json"], files["proof.json"], files["public.json"])
    assert result.exit_code == 0 and result.stdout.strip() == "OK" and result.stderr == ""
    public = json.loads(files["public.json"].read_text())
    (tmp_path / "public.json").write_text(json.dumps([str((int(public[0]) + 1) % R), public[1]]))
    result = invoke("groth16", "verify", files["vk.json"], files["proof.json"], tmp_path / "public.json")
    assert result.exit_code == 1 and result.stdout.strip() == "INVALID" and result.stderr == ""


def _vk_with(files, **fields) -> str:
    data = json.loads(files["vk.json"].read_text())
    data.update(fields)
    return json.dumps(data)


HOSTILE_VK = {
    "nested_100k_deep": (lambda f: "[" * 100_000, "nested too deeply"),
    "not_utf8": (lambda f: b'{"protocol": "groth16\xff"}', "not UTF-8"),
    "not_json": (lambda f: "{nPublic: 1", "cannot read as JSON"),
    "a_list": (lambda f: "[]", "expected a JSON object"),
    "missing_fields": (lambda f: '{"protocol": "groth16"}', "missing field(s)"),
    "integer_of_5000_digits": (lambda f: '{"nPublic": 1' + "0" * 5000 + "}", "cannot read as JSON"),
    "nan_public_count": (lambda f: _vk_with(f, nPublic=float("nan")), "nPublic"),
    "coordinate_equal_to_p": (lambda f: _vk_with(f, vk_alpha_1=[str(P), "2", "1"]), "not below the field modulus p"),
    "coordinate_of_90_digits": (lambda f: _vk_with(f, vk_alpha_1=["9" * 90, "2", "1"]), "canonical decimal"),
    "point_off_the_curve": (lambda f: _vk_with(f, vk_alpha_1=["1", "3", "1"]), "vk_alpha_1"),
    "ic_not_a_list": (lambda f: _vk_with(f, IC={"0": 1}), "verification_key.IC"),
    "ic_of_wrong_length": (lambda f: _vk_with(f, IC=[]), "verification_key.IC"),
    "wrong_curve": (lambda f: _vk_with(f, curve="bls12381"), "curve"),
    "long_string_in_a_point": (lambda f: _vk_with(f, vk_alpha_1=["1" * 10**6, "2", "1"]), "canonical decimal"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_VK))
def test_verify_rejects_hostile_verification_key(files, tmp_path, case):
    make, fragment = HOSTILE_VK[case]
    content = make(files)
    path = tmp_path / "vk.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    line = assert_bad_input(invoke("groth16", "verify", path, files["proof.json"], files["public.json"]),
                            "MalformedKey", fragment)
    assert len(line) <= 600  # a hostile value is quoted short


def test_verify_rejects_unreadable_paths(files, tmp_path):
    good = files["proof.json"], files["public.json"]
    assert_bad_input(invoke("groth16", "verify", "/dev/zero", *good), "longer than the cap MAX_JSON_FILE_BYTES")
    assert_bad_input(invoke("groth16", "verify", tmp_path, *good), "Is a directory")
    assert_bad_input(invoke("groth16", "verify", tmp_path / "absent.json", *good), "No such file")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(MAX_JSON_FILE_BYTES + 1)  # sparse: refused from its size, never read
    assert_bad_input(invoke("groth16", "verify", huge, *good), "above the cap MAX_JSON_FILE_BYTES")


def test_verify_rejects_hostile_proof_and_public_files(files, tmp_path):
    proof = json.loads(files["proof.json"].read_text())
    cases = {
        "off_curve": ({**proof, "pi_a": ["1", "3", "1"]}, "MalformedProof", "pi_a"),
        "x_at_p": ({**proof, "pi_c": [str(P), proof["pi_c"][1], "1"]}, "MalformedProof", "not below the field modulus"),
        "b_shape": ({**proof, "pi_b": proof["pi_b"][:2]}, "MalformedProof", "pi_b"),
    }
    for name, (data, error, fragment) in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        assert_bad_input(invoke("groth16", "verify", files["vk.json"], tmp_path / f"{name}.json", files["public.json"]),
                         error, fragment)
    public = json.loads(files["public.json"].read_text())
    for name, data, fragment in (("at_r", [str(R), public[1]], "not a canonical field element"),
                                 ("count", public[:1], "got 1 public inputs, the verifying key expects 2"),
                                 ("object", {"y": public[0]}, "expected a JSON list")):
        (tmp_path / f"public_{name}.json").write_text(json.dumps(data))
        assert_bad_input(invoke("groth16", "verify", files["vk.json"], files["proof.json"], tmp_path / f"public_{name}.json"),
                         "PublicInputError", fragment)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                           max_leaves=12)


def _replace_somewhere(value, replacement, path: list[int]):
    "`value` with one node (chosen by the integers in `path`) replaced by `replacement`."
    if not path or not isinstance(value, (list, dict)) or not value:
        return replacement
    keys = list(range(len(value))) if isinstance(value, list) else list(value)
    key = keys[path[0] % len(keys)]
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[key] = _replace_somewhere(value[key], replacement, path[1:])
    return copy


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["vk.json", "proof.json", "public.json"]), replacement=json_values,
       path=st.lists(st.integers(min_value=0, max_value=50), max_size=5))
def test_verify_on_mutated_json_is_a_verdict_or_one_line(files, tmp_path, which, replacement, path):
    "Any node of any of the three files replaced by any JSON value: exit 0/1 with a verdict, or exit 2 with one line."
    paths = {name: files[name] for name in ("vk.json", "proof.json", "public.json")}
    mutated = _replace_somewhere(json.loads(files[which].read_text()), replacement, path)
    paths[which] = tmp_path / f"mutated_{which}"
    paths[which].write_text(json.dumps(mutated))
    result = invoke("groth16", "verify", paths["vk.json"], paths["proof.json"], paths["public.json"])
    if result.exit_code == 2:
        assert_bad_input(result)
    else:
        assert result.exit_code in (0, 1) and result.stderr == "", (result.exit_code, result.stderr)
        assert result.stdout.strip() == ("OK" if result.exit_code == 0 else "INVALID")


# --- groth16 prove ---------------------------------------------------------------------------------

def test_prove_rejects_hostile_circuit_and_witness_before_the_setup(files, tmp_path, no_setup):
    out = tmp_path / "out"
    data = files["c.r1cs"].read_bytes()
    at = 12 + 12 + 4 + 32  # the header's wire count
    (tmp_path / "wires.r1cs").write_bytes(data[:at] + struct.pack("<I", 2**32 - 1) + data[at + 4:])
    (tmp_path / "short.r1cs").write_bytes(data[:-9])
    wtns = files["c.wtns"].read_bytes()
    (tmp_path / "at_r.wtns").write_bytes(wtns[:-32] + R.to_bytes(32, "little"))
    cases = [(("/dev/zero", files["c.wtns"]), ("R1CSFormatError", "wrong magic")),
             ((tmp_path / "wires.r1cs", files["c.wtns"]), ("R1CSFormatError", "declares 4294967295 wires")),
             ((tmp_path / "short.r1cs", files["c.wtns"]), ("R1CSFormatError", "truncated")),
             ((tmp_path, files["c.wtns"]), ("R1CSFormatError", "Is a directory")),
             ((files["c.r1cs"], files["other.wtns"]), ("WitnessError", "has 5 wires, the witness has 7 values")),
             ((files["c.r1cs"], tmp_path / "at_r.wtns"), ("R1CSFormatError", "not below the prime r")),
             ((files["c.r1cs"], files["c.r1cs"]), ("R1CSFormatError", "wrong magic"))]
    for (circuit, witness), fragments in cases:
        assert_bad_input(invoke("groth16", "prove", circuit, witness, "--out", out), *fragments)
    assert not out.exists()


def test_prove_rejects_unusable_out_before_the_setup(files, tmp_path, no_setup):
    (tmp_path / "a_file").write_text("")
    for out, fragment in ((tmp_path / "a_file", "exists and is not a directory"),
                          (tmp_path / "missing" / "out", "does not exist"),
                          (tmp_path / "a_file" / "out", "Not a directory"),
                          (unwritable_directory(tmp_path) / "out", "")):
        assert_bad_input(invoke("groth16", "prove", files["c.r1cs"], files["c.wtns"], "--out", out),
                         "OutputPathError", fragment)


def test_prove_writes_the_files_and_a_directory_in_the_way_is_one_line(files, tmp_path):
    result = invoke("groth16", "prove", files["c.r1cs"], files["c.wtns"], "--out", tmp_path / "out", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    assert invoke("groth16", "verify", *(tmp_path / "out" / n for n in ("verification_key.json", "proof.json",
                                                                          "public.json"))).exit_code == 0
    (tmp_path / "blocked").mkdir(); (tmp_path / "blocked" / "proof.json").mkdir()
    assert_bad_input(invoke("groth16", "prove", files["c.r1cs"], files["c.wtns"], "--out", tmp_path / "blocked"),
                     "OutputPathError", "proof.json")


# --- bench -----------------------------------------------------------------------------------------

def test_bench_chain_rejects_unusable_out_and_a_huge_chain(tmp_path):
    (tmp_path / "a_file").write_text("")
    for out, fragment in ((tmp_path / "a_file", "exists and is not a directory"),
                          (tmp_path / "missing" / "out", "does not exist"),
                          (unwritable_directory(tmp_path) / "out", "")):
        assert_bad_input(invoke("bench", "chain", "--constraints", "4", "--out", out), "OutputPathError", fragment)
    assert_bad_input(invoke("bench", "chain", "--constraints", str(10**12), "--out", tmp_path / "big"),
                     "Groth16Error", "MAX_CHAIN_CONSTRAINTS")
    result = invoke("bench", "chain", "--constraints", "4", "--out", tmp_path / "ok")
    assert result.exit_code == 0 and (tmp_path / "ok" / "chain.r1cs").is_file(), result.stderr


def test_bench_groth16_rejects_hostile_files_before_the_setup(files, tmp_path, no_setup):
    assert_bad_input(invoke("bench", "groth16", "--r1cs", "/dev/zero", "--wtns", files["c.wtns"]), "R1CSFormatError")
    assert_bad_input(invoke("bench", "groth16", "--r1cs", files["c.r1cs"], "--wtns", files["other.wtns"]),
                     "WitnessError")
    assert_bad_input(invoke("bench", "groth16", "--constraints", "0"), "--constraints")


# --- usage -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["groth16", "verify", "vk.json"], ["nosuch"], ["bench", "chain", "--constraints", "x",
                                  "--out", "o"], ["run"], ["groth16"], ["evm", "conformance", "--nope", "x"]])
def test_usage_errors_are_one_line(args):
    assert_bad_input(invoke(*args))


# --- run and evm conformance -----------------------------------------------------------------------

def test_run_rejects_hostile_scenario_files_in_one_line(tmp_path):
    good = (REPO / "data" / "scenarios" / "honest.toml").read_text()
    cases = {
        "not_toml.toml": "[scenario\nname = ",
        "bad_field.toml": good.replace("[l2]", "[l2]\nunknown_key = 1", 1),
        "deep.toml": "a = " + "[" * 30_000,
        "not_utf8.toml": b"\xff\xfe[scenario]",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        assert_bad_input(invoke("run", tmp_path / name, "--json"), "ScenarioError", name)
    for path in (tmp_path / "absent.toml", tmp_path, "/dev/zero"):
        assert_bad_input(invoke("run", path, "--json"), "ScenarioError")


def test_evm_conformance_rejects_hostile_vector_files_in_one_line(tmp_path):
    cases = {"not_json.json": b"{", "a_list.json": b"[]", "not_utf8.json": b"\xff\xfe{}"}  # deep JSON: below
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        assert_bad_input(invoke("evm", "conformance", tmp_path / name), name)
    for path in (tmp_path / "absent.json", tmp_path, "/dev/zero"):
        assert_bad_input(invoke("evm", "conformance", path))


def test_evm_conformance_malformed_vector_is_exit_2_and_names_are_not_markup(tmp_path):
    "A vector that breaks the schema is reported (its name printed as text, not rich markup) and the exit is 2."
    (tmp_path / "v.json").write_text(json.dumps({"vectors": [{"name": "[/] bad [bold]", "code": "zz"}]}))
    result = invoke("evm", "conformance", tmp_path / "v.json")
    assert_bad_input(result, "1 malformed vector(s)", "[/] bad [bold]")
    assert "MALFORMED [/] bad [bold]" in result.stdout and "0 passed, 0 failed" in result.stdout


# --- the real entry point, in a process whose recursion limit a library has raised ---------------------

ENTRY = "import sys, py_ecc; assert sys.getrecursionlimit() >= 100000; from lumoz_ref.cli import main; main()"


def run_entry_point(*args) -> subprocess.CompletedProcess:
    "The console entry point in a fresh process that has imported py_ecc (which raises the recursion limit to 100,000)."
    return subprocess.run([sys.executable, "-c", ENTRY, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["groth16 verify", "evm conformance"])
def test_json_nested_100k_deep_is_one_line_not_a_crash(tmp_path, files, command):
    "A C parser guarded only by the recursion limit would overflow the stack here (SIGSEGV) instead of raising."
    (tmp_path / "deep.json").write_text("[" * 100_000)
    extra = [files["proof.json"], files["public.json"]] if command == "groth16 verify" else []
    done = run_entry_point(*command.split(), tmp_path / "deep.json", *extra)
    assert done.returncode == 2 and "Traceback" not in done.stderr, (done.returncode, done.stderr[-500:])
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: "), done.stderr


def test_console_entry_point_usage_error_is_one_line():
    done = run_entry_point("groth16", "verify", "vk.json")
    assert done.returncode == 2 and done.stderr.startswith("error: Missing argument"), done.stderr
    assert len(done.stderr.splitlines()) == 1
