"""Chapter 08 with snarkjs: the block circuit and witness, written as iden3 .r1cs/.wtns, are checked by
`snarkjs wtns check`; our Groth16 proof of a block verifies in snarkjs; snarkjs proves the same block."""
from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from lumoz_ref import groth16
from lumoz_ref.evm import assemble
from lumoz_ref.evm_circuit import (Account, CircuitConfig, State, Tx, apply_block, build_block_circuit, deploy_code,
                                   prove_block, set_account)
from lumoz_ref.field import R
from lumoz_ref.r1cs import UnsatisfiedConstraint, save_r1cs, save_wtns

pytestmark = pytest.mark.interop

# the smallest useful shape: one transaction, one call of four steps; about 14,000 constraints (a 2^14 domain)
MICRO = CircuitConfig(max_txs=1, max_calls=1, max_steps=4, stack_depth=5, code_size=8, calldata_words=1,
                      account_slots=2, storage_slots=1, account_depth=1, storage_depth=1)


def run(tool: Path, *args, ok: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if ok and proc.returncode != 0:
        raise AssertionError(f"{tool.name} {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture(scope="module")
def micro_block():
    state = State(MICRO.account_depth, MICRO.storage_depth)
    set_account(state, 0xA0, Account(balance=1000))            # index 0
    deploy_code(state, 0xC1, assemble(["PUSH1", 5, "PUSH1", 0, "SSTORE", "STOP"]))  # index 1
    run_ = apply_block(state, [Tx(0xA0, 0xC1, value=3, gas=60_000)])
    circuit = build_block_circuit(MICRO, state, run_, binding=424242)
    circuit.r1cs.check(circuit.witness)
    return circuit


def test_snarkjs_accepts_the_block_witness(snarkjs, micro_block, tmp_path):
    save_r1cs(micro_block.r1cs, tmp_path / "block.r1cs")
    save_wtns(micro_block.witness, tmp_path / "block.wtns")
    out = plain(run(snarkjs, "wtns", "check", tmp_path / "block.r1cs", tmp_path / "block.wtns").stdout)
    assert "WITNESS IS CORRECT" in out, out


def test_snarkjs_rejects_a_mutated_trace_at_our_constraint(snarkjs, micro_block, tmp_path):
    bad = list(micro_block.witness)
    wire = micro_block.r1cs.wire_names.index("call0.row2.stack0.lo")
    bad[wire] = (bad[wire] + 1) % R
    with pytest.raises(UnsatisfiedConstraint) as ours:
        micro_block.r1cs.check(bad)
    save_r1cs(micro_block.r1cs, tmp_path / "block.r1cs")
    save_wtns(bad, tmp_path / "bad.wtns")
    proc = run(snarkjs, "wtns", "check", tmp_path / "block.r1cs", tmp_path / "bad.wtns", ok=False)
    out = plain(proc.stdout + proc.stderr)
    assert proc.returncode != 0 and "WITNESS IS NOT CORRECT" in out, out
    assert f"aborting checking process at constraint {ours.value.index}\n" in out, out


def test_snarkjs_verifies_our_block_proof(snarkjs, micro_block, tmp_path):
    pk, vk = groth16.setup(micro_block.r1cs, seed=5)
    proof = prove_block(pk, micro_block, rng=random.Random(6))
    groth16.save_verifying_key(vk, tmp_path / "vk.json")
    groth16.save_proof(proof, tmp_path / "proof.json")
    groth16.save_public(list(micro_block.public_inputs), tmp_path / "public.json")
    out = plain(run(snarkjs, "groth16", "verify", tmp_path / "vk.json", tmp_path / "public.json", tmp_path / "proof.json").stdout)
    assert "OK!" in out, out
    groth16.save_public([*micro_block.public_inputs[:3], micro_block.public_inputs[3] + 1], tmp_path / "other.json")
    proc = run(snarkjs, "groth16", "verify", tmp_path / "vk.json", tmp_path / "other.json", tmp_path / "proof.json", ok=False)
    assert "OK!" not in plain(proc.stdout)


PTAU_CACHE = Path(__file__).resolve().parents[1] / "interop" / "build" / "ptau"   # gitignored


def power_14_ptau(snarkjs) -> Path:
    "A phase-2-prepared power-14 ptau, made here once (several minutes) and cached; never downloaded."
    final = PTAU_CACHE / "pot14_final.ptau"
    if not final.exists():
        PTAU_CACHE.mkdir(parents=True, exist_ok=True)
        run(snarkjs, "powersoftau", "new", "bn128", 14, PTAU_CACHE / "pot14_0.ptau", timeout=1800)
        run(snarkjs, "powersoftau", "contribute", PTAU_CACHE / "pot14_0.ptau", PTAU_CACHE / "pot14_1.ptau",
            "--name=lumoz_ref test", "-e=lumoz block circuit", timeout=1800)
        run(snarkjs, "powersoftau", "prepare", "phase2", PTAU_CACHE / "pot14_1.ptau", final.with_suffix(".tmp"), timeout=3600)
        final.with_suffix(".tmp").rename(final)
    return final


@pytest.mark.slow
def test_snarkjs_proves_the_block(snarkjs, micro_block, tmp_path):
    """snarkjs's own Groth16 (power-14 ptau made locally, cached under interop/build) proves the block; our verifier accepts it."""
    power = (micro_block.r1cs.n_constraints + micro_block.r1cs.n_public).bit_length()
    assert power <= 14, "keep the micro block under a 2^14 domain"
    save_r1cs(micro_block.r1cs, tmp_path / "block.r1cs")
    save_wtns(micro_block.witness, tmp_path / "block.wtns")
    (tmp_path / "final.ptau").symlink_to(power_14_ptau(snarkjs))
    steps = [("groth16", "setup", "block.r1cs", "final.ptau", "block.zkey"),
             ("zkey", "export", "verificationkey", "block.zkey", "vk.json"),
             ("groth16", "prove", "block.zkey", "block.wtns", "proof.json", "public.json")]
    for step in steps:
        run(snarkjs, *(tmp_path / a if str(a).endswith((".ptau", ".r1cs", ".zkey", ".json", ".wtns")) else a for a in step), timeout=900)
    assert [int(x) for x in json.loads((tmp_path / "public.json").read_text())] == list(micro_block.public_inputs)
    vk = groth16.load_verifying_key(tmp_path / "vk.json")
    proof = groth16.load_proof(tmp_path / "proof.json")
    assert groth16.verify(vk, list(micro_block.public_inputs), proof)
    assert not groth16.verify(vk, [*micro_block.public_inputs[:1], micro_block.public_inputs[1] + 1, *micro_block.public_inputs[2:]], proof)
