"""Groth16 interop with the real snarkjs: it accepts the proofs this project makes, from our own circuits and
from circom-compiled ones."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lumoz_ref.r1cs import load_r1cs, load_wtns
from test_groth16 import CIRCUITS, is_large
from lumoz_ref.groth16 import (
    chain_circuit, load_zkey, prove, prove_files, save_proof, save_public, save_verifying_key, setup,
    solidity_calldata, verify_files,
)

pytestmark = pytest.mark.interop


def snarkjs_verifies(snarkjs: Path, folder: Path) -> bool:
    "`snarkjs groth16 verify vk public proof` on the three files of `folder`: True for OK, False for INVALID."
    result = subprocess.run([str(snarkjs), "groth16", "verify", str(folder / "verification_key.json"),
                             str(folder / "public.json"), str(folder / "proof.json")],
                            capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    if result.returncode == 0 and "OK!" in out:
        return True
    if "Invalid proof" in out:
        return False
    raise AssertionError(f"snarkjs did not give a verdict (exit {result.returncode}): {out[-500:]}")


def test_snarkjs_accepts_chain_proof(snarkjs: Path, tmp_path: Path):
    r1cs, witness = chain_circuit(16)
    pk, vk = setup(r1cs)
    proof = prove(pk, r1cs, witness)
    public = r1cs.public_signals(witness)
    save_verifying_key(vk, tmp_path / "verification_key.json")
    save_proof(proof, tmp_path / "proof.json")
    save_public(public, tmp_path / "public.json")
    assert snarkjs_verifies(snarkjs, tmp_path)
    save_public([public[0], public[1] + 1], tmp_path / "public.json")  # snarkjs must disagree with a wrong input
    assert not snarkjs_verifies(snarkjs, tmp_path)


CIRCUIT_PARAMS = [pytest.param(c, marks=pytest.mark.slow) if is_large(c) else c for c in CIRCUITS]


@pytest.mark.parametrize("circuit", CIRCUIT_PARAMS)
def test_circom_circuit_proven_here_verified_by_both(vectors: Path, snarkjs: Path, tmp_path: Path, circuit: str):
    "circom's .r1cs/.wtns → our setup and prover → our verifier and snarkjs's both accept."
    folder = vectors / "groth16" / circuit
    summary = prove_files(folder / f"{circuit}.r1cs", folder / f"{circuit}.wtns", tmp_path)
    expected_public = [int(x) for x in json.loads((folder / "public.json").read_text())]
    assert summary["public_signals"] == expected_public
    assert verify_files(tmp_path / "verification_key.json", tmp_path / "proof.json", tmp_path / "public.json")
    assert snarkjs_verifies(snarkjs, tmp_path)


@pytest.mark.parametrize("circuit", CIRCUIT_PARAMS)
def test_snarkjs_accepts_proof_made_with_its_zkey(vectors: Path, snarkjs: Path, tmp_path: Path, circuit: str):
    "Proving with snarkjs's own .zkey: snarkjs's own verification_key.json accepts the proof."
    folder = vectors / "groth16" / circuit
    pk = load_zkey(folder / f"{circuit}.zkey")
    r1cs, witness = load_r1cs(folder / f"{circuit}.r1cs"), load_wtns(folder / f"{circuit}.wtns")
    (tmp_path / "verification_key.json").write_text((folder / "verification_key.json").read_text())
    save_proof(prove(pk, r1cs, witness), tmp_path / "proof.json")
    save_public(r1cs.public_signals(witness), tmp_path / "public.json")
    assert snarkjs_verifies(snarkjs, tmp_path)


def test_solidity_calldata_of_our_proof_matches_snarkjs(snarkjs: Path, tmp_path: Path):
    "`snarkjs zkey export soliditycalldata public.json proof.json` prints exactly our `solidity_calldata`."
    r1cs, witness = chain_circuit(8)
    pk, _ = setup(r1cs)
    proof, public = prove(pk, r1cs, witness), r1cs.public_signals(witness)
    save_proof(proof, tmp_path / "proof.json")
    save_public(public, tmp_path / "public.json")
    result = subprocess.run([str(snarkjs), "zkey", "export", "soliditycalldata", str(tmp_path / "public.json"),
                             str(tmp_path / "proof.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == solidity_calldata(proof, public)


PROJECT_FIXTURES = Path(__file__).resolve().parents[1] / "data" / "interop"


@pytest.mark.parametrize("name", sorted(d.name for d in PROJECT_FIXTURES.glob("*") if d.is_dir()))
def test_project_circom_fixture_proven_here_verified_by_snarkjs(snarkjs: Path, tmp_path: Path, name: str):
    "The project's own circom fixtures (interop/make_fixtures.sh): our setup + prover, snarkjs's verifier."
    folder = PROJECT_FIXTURES / name
    summary = prove_files(folder / f"{name}.r1cs", folder / f"{name}.wtns", tmp_path)
    assert summary["constraints"] > 0
    assert verify_files(tmp_path / "verification_key.json", tmp_path / "proof.json", tmp_path / "public.json")
    assert snarkjs_verifies(snarkjs, tmp_path)
