"""Groth16 against snarkjs's vectors and formats, and the protocol's own properties."""
from __future__ import annotations

import functools
import json
import os
import random
from pathlib import Path

import pytest

from lumoz_ref.field import P, R
from lumoz_ref.curve import G1_GENERATOR, G2_GENERATOR, g1_mul, g2_mul
from lumoz_ref.qap import evaluate_qap_at
from lumoz_ref.r1cs import R1CS, UnsatisfiedConstraint, load_r1cs, load_wtns
from lumoz_ref.groth16 import (
    Groth16Error, MalformedKey, MalformedProof, Proof, PublicInputError, ToxicWaste, VerifyingKey,
    benchmark_groth16, chain_circuit, load_zkey, encode_eip197_calldata, load_proof, load_public, load_verifying_key,
    prepare_verifying_key, proof_from_json, proof_to_json, prove, prove_files, public_from_json, public_to_json,
    save_proof, save_public, save_verifying_key, setup, setup_with_toxic_waste, solidity_calldata, verify,
    verify_files, verify_prepared, verifying_key_from_json, verifying_key_to_json,
)

def circuit_names() -> list[str]:
    "The Groth16 circuits of the vectors found where the `vectors` fixture looks (dev names if absent)."
    root = Path(os.environ.get("LUMOZ_VECTORS", Path(__file__).resolve().parents[2] / "shared" / "vectors"))
    found = sorted(d.name for d in (root / "groth16").glob("*") if (d / "variants.json").is_file())
    return found or ["multiplier", "range_check", "square_chain", "multi_public"]


def is_large(circuit: str) -> bool:
    "Circuits with a big .r1cs (the 1000-constraint chain) go to the slow tier where proving is involved."
    root = Path(os.environ.get("LUMOZ_VECTORS", Path(__file__).resolve().parents[2] / "shared" / "vectors"))
    path = root / "groth16" / circuit / f"{circuit}.r1cs"
    return path.is_file() and path.stat().st_size > 100_000


CIRCUITS = circuit_names()
SMALL_CIRCUITS = [c for c in CIRCUITS if not is_large(c)]


@pytest.fixture(scope="module")
def chain4():
    "A 4-step chain, its keys (seeded) and a proof."
    r1cs, witness = chain_circuit(4)
    pk, vk = setup(r1cs, seed=11)
    proof = prove(pk, r1cs, witness, rng=random.Random(12))
    return r1cs, witness, pk, vk, proof


def _verdict(vk: VerifyingKey, public, proof_json) -> bool:
    "What a strict verifier says: True, or False for a wrong proof or any named error for malformed input."
    try:
        return verify(vk, public_from_json(public), proof_from_json(proof_json))
    except Groth16Error:
        return False


# --- the snarkjs vectors -------------------------------------------------------------------------

@pytest.mark.parametrize("circuit", CIRCUITS)
def test_snarkjs_variants_verdicts(vectors: Path, circuit: str):
    "Every valid snarkjs proof verifies; every variant with expected_valid=false is rejected."
    folder = vectors / "groth16" / circuit
    spec = json.loads((folder / "variants.json").read_text())
    vk = load_verifying_key(folder / spec["verification_key"])
    assert int(spec["field_modulus_p"]) == P and int(spec["scalar_modulus_r"]) == R
    wrong = [(v["name"], v["expected_valid"]) for v in spec["variants"]
             if _verdict(vk, v["public"], v["proof"]) != v["expected_valid"]]
    assert not wrong, f"{circuit}: wrong verdicts {wrong}"
    assert any(v["expected_valid"] for v in spec["variants"]) and not all(v["expected_valid"] for v in spec["variants"])


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_noncanonical_variants_raise_named_errors(vectors: Path, circuit: str):
    "Coordinates ≥ p and public inputs ≥ r, which snarkjs reduces or rejects, are named errors here."
    spec = json.loads((vectors / "groth16" / circuit / "variants.json").read_text())
    variants = {v["name"]: v for v in spec["variants"]}
    checked = 0
    for name in ("a_x_coordinate_plus_p", "c_y_coordinate_plus_p", "b_coordinate_plus_p"):
        if name in variants:
            with pytest.raises(MalformedProof, match="not below the field modulus"):
                proof_from_json(variants[name]["proof"])
            checked += 1
    if "public_input_plus_r" in variants:
        with pytest.raises(PublicInputError, match="not a canonical field element"):
            public_from_json(variants["public_input_plus_r"]["public"])
        checked += 1
    for name in ("a_not_on_curve", "b_not_on_twist", "b_g2_coordinate_order_swapped"):
        if name in variants:
            with pytest.raises(MalformedProof):
                proof_from_json(variants[name]["proof"])
            checked += 1
    assert checked > 0, f"{circuit}: none of the malformed-encoding variants is present"


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_solidity_calldata_matches_snarkjs(vectors: Path, circuit: str):
    folder = vectors / "groth16" / circuit
    expected = (folder / "soliditycalldata.txt").read_text().strip()
    assert solidity_calldata(load_proof(folder / "proof.json"), load_public(folder / "public.json")) == expected


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_json_round_trip(vectors: Path, circuit: str, tmp_path: Path):
    "Reading and writing back gives snarkjs's files, field for field."
    folder = vectors / "groth16" / circuit
    vk = load_verifying_key(folder / "verification_key.json")
    proof, public = load_proof(folder / "proof.json"), load_public(folder / "public.json")
    save_verifying_key(vk, tmp_path / "vk.json"); save_proof(proof, tmp_path / "proof.json")
    save_public(public, tmp_path / "public.json")
    original_vk = json.loads((folder / "verification_key.json").read_text())
    assert json.loads((tmp_path / "vk.json").read_text()) == original_vk  # vk_alphabeta_12 included
    assert json.loads((tmp_path / "proof.json").read_text()) == json.loads((folder / "proof.json").read_text())
    assert (tmp_path / "public.json").read_text().strip() == (folder / "public.json").read_text().strip()
    assert verifying_key_from_json(verifying_key_to_json(vk)) == vk
    assert proof_from_json(proof_to_json(proof)) == proof


def test_eip197_calldata_is_a_true_pairing_product(vectors: Path):
    "The 768-byte ecPairing input, decoded independently with py_ecc, multiplies to 1 (and not for a wrong input)."
    from py_ecc import optimized_bn128 as bn128
    folder = vectors / "groth16" / "multiplier"
    vk, proof = load_verifying_key(folder / "verification_key.json"), load_proof(folder / "proof.json")
    public = load_public(folder / "public.json")

    def product_is_one(data: bytes) -> bool:
        words = [int.from_bytes(data[i:i + 32], "big") for i in range(0, len(data), 32)]
        acc = bn128.FQ12.one()
        for k in range(0, len(words), 6):
            x, y, bx1, bx0, by1, by0 = words[k:k + 6]  # EIP-197: G2 imaginary part first
            g1 = (bn128.FQ(x), bn128.FQ(y), bn128.FQ.one())
            g2 = (bn128.FQ2([bx0, bx1]), bn128.FQ2([by0, by1]), bn128.FQ2.one())
            acc *= bn128.pairing(g2, g1, final_exponentiate=False)
        return bn128.final_exponentiate(acc) == bn128.FQ12.one()

    data = encode_eip197_calldata(vk, public, proof)
    assert len(data) == 4 * 192
    assert product_is_one(data)
    assert not product_is_one(encode_eip197_calldata(vk, [public[0] + 1], proof))


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_eip197_calldata_accepted_by_the_precompile(vectors: Path, circuit: str):
    "Chapter 04's ecPairing (EIP-197) returns 1 for every honest snarkjs proof and 0 after a public input changes."
    from lumoz_ref.curve import ec_pairing
    folder = vectors / "groth16" / circuit
    vk, proof = load_verifying_key(folder / "verification_key.json"), load_proof(folder / "proof2.json")
    public = load_public(folder / "public2.json")
    assert ec_pairing(encode_eip197_calldata(vk, public, proof)) == (1).to_bytes(32, "big")
    changed = [(public[0] + 1) % R] + public[1:]
    assert ec_pairing(encode_eip197_calldata(vk, changed, proof)) == bytes(32)


# --- setup, prove, verify ------------------------------------------------------------------------

def test_setup_key_matches_toxic_waste():
    "Each key vector is the generator times the scalar the paper gives, for known toxic waste."
    r1cs, _ = chain_circuit(3)
    tw = ToxicWaste(tau=123456789, alpha=11, beta=13, gamma=17, delta=19)
    pk, vk = setup_with_toxic_waste(r1cs, tw)
    q = evaluate_qap_at(r1cs, tw.tau)
    k = [(tw.beta * a + tw.alpha * b + c) % R for a, b, c in zip(q.a, q.b, q.c)]
    g1 = lambda s: g1_mul(G1_GENERATOR, s % R) if s % R else None
    g2 = lambda s: g2_mul(G2_GENERATOR, s % R) if s % R else None
    ell = r1cs.n_public
    assert vk.alpha_g1 == g1(tw.alpha) and pk.beta_g1 == g1(tw.beta) and pk.delta_g1 == g1(tw.delta)
    assert (vk.beta_g2, vk.gamma_g2, vk.delta_g2) == (g2(tw.beta), g2(tw.gamma), g2(tw.delta))
    assert list(pk.a_query) == [g1(a) for a in q.a]
    assert list(pk.b_g1_query) == [g1(b) for b in q.b] and list(pk.b_g2_query) == [g2(b) for b in q.b]
    assert list(vk.ic) == [g1(x * pow(tw.gamma, -1, R)) for x in k[:ell + 1]]
    assert list(pk.l_query) == [g1(x * pow(tw.delta, -1, R)) for x in k[ell + 1:]]
    assert list(pk.h_query) == [g1(pow(tw.tau, j, R) * q.z * pow(tw.delta, -1, R)) for j in range(q.domain_size - 1)]
    assert "123456789" not in repr(tw)


def test_seeded_setup_is_deterministic_and_unseeded_is_not():
    r1cs, _ = chain_circuit(2)
    assert setup(r1cs, seed=3)[1] == setup(r1cs, seed=3)[1]
    assert setup(r1cs, seed=3)[1] != setup(r1cs, seed=4)[1]
    assert setup(r1cs)[1] != setup(r1cs)[1]


def test_proof_verifies_and_prepared_agrees(chain4):
    r1cs, witness, pk, vk, proof = chain4
    public = r1cs.public_signals(witness)
    assert public == [witness[1], 3]
    assert verify(vk, public, proof)
    pvk = prepare_verifying_key(vk)
    assert verify_prepared(pvk, public, proof)
    assert not verify(vk, [public[0], 4], proof) and not verify_prepared(pvk, [public[0], 4], proof)


def test_blinding_makes_two_proofs_differ(chain4):
    r1cs, witness, pk, vk, _ = chain4
    first, second = prove(pk, r1cs, witness), prove(pk, r1cs, witness)
    assert first.a != second.a and first.b != second.b and first.c != second.c
    public = r1cs.public_signals(witness)
    assert verify(vk, public, first) and verify(vk, public, second)


def test_prove_rejects_unsatisfied_witness(chain4):
    r1cs, witness, pk, _, _ = chain4
    bad = list(witness)
    bad[-1] = (bad[-1] + 1) % R
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk, r1cs, bad)


def test_prove_rejects_key_of_another_circuit(chain4):
    _, _, pk, _, _ = chain4
    other, witness = chain_circuit(5)
    with pytest.raises(MalformedKey, match="proving key is for"):
        prove(pk, other, witness)


def test_toxic_waste_forges_proofs():
    "Why the toxic waste must be destroyed: with it, a proof of any public input verifies."
    r1cs, _ = chain_circuit(3)
    tw = ToxicWaste.sample(random.Random(7))
    _, vk = setup_with_toxic_waste(r1cs, tw)
    q = evaluate_qap_at(r1cs, tw.tau)
    public = [42, 5]  # y = 42 is not 3 steps from x0 = 5
    x = [1] + public
    a, b = 1234, 5678
    k = sum(xi * ((tw.beta * q.a[i] + tw.alpha * q.b[i] + q.c[i]) % R) for i, xi in enumerate(x))
    c = (a * b - tw.alpha * tw.beta - k) * pow(tw.delta, -1, R) % R
    forged = Proof(a=g1_mul(G1_GENERATOR, a), b=g2_mul(G2_GENERATOR, b), c=g1_mul(G1_GENERATOR, c))
    assert verify(vk, public, forged)


# --- malformed input: named errors before any pairing ------------------------------------------

def test_rejects_wrong_public_input_count(chain4):
    _, _, _, vk, proof = chain4
    with pytest.raises(PublicInputError, match="got 1 public inputs, the verifying key expects 2"):
        verify(vk, [3], proof)


@pytest.mark.parametrize("value", [R, R + 3, -1, True, "3", 3.0])
def test_rejects_public_input_not_a_canonical_field_element(chain4, value):
    r1cs, witness, _, vk, proof = chain4
    with pytest.raises(PublicInputError, match="public input 1"):
        verify(vk, [witness[1], value], proof)


@pytest.mark.parametrize("text", ["033", "+33", " 33", "33 ", "0x21", "3.3e1", "", "-1", 33, None])
def test_rejects_non_canonical_decimal(text):
    with pytest.raises(PublicInputError, match=r"public\[0\]"):
        public_from_json([text])
    proof = proof_to_json(Proof(a=G1_GENERATOR, b=G2_GENERATOR, c=G1_GENERATOR))
    proof["pi_a"][1] = text
    with pytest.raises(MalformedProof, match=r"pi_a\[1\]"):
        proof_from_json(proof)


def test_rejects_overlong_decimal():
    with pytest.raises(PublicInputError, match="canonical decimal"):
        public_from_json(["1" * 5000])


def test_rejects_point_off_curve(chain4):
    _, _, _, vk, proof = chain4
    bad = Proof(a=(proof.a[0], (proof.a[1] + 1) % P), b=proof.b, c=proof.c)
    with pytest.raises(MalformedProof, match="proof.A"):
        verify(vk, [0, 3], bad)
    data = proof_to_json(proof)
    data["pi_c"][0] = str((proof.c[0] + 1) % P)
    with pytest.raises(MalformedProof, match="pi_c"):
        proof_from_json(data)


def _twist_point_outside_subgroup(seed: int = 1):
    "A point of the twist E'(F_p²) whose order is not r (found by sampling x; checked with py_ecc)."
    from py_ecc import optimized_bn128 as b
    rng = random.Random(seed)
    while True:
        x = b.FQ2([rng.randrange(P), rng.randrange(P)])
        rhs = x ** 3 + b.b2
        y = _fq2_sqrt(rhs)
        if y is None:
            continue
        point = (x, y, b.FQ2.one())
        if not b.is_inf(b.multiply(point, R)):
            return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))


def _fq2_sqrt(a):
    "A square root in F_p² (p ≡ 3 mod 4), or None."
    from py_ecc import optimized_bn128 as b
    a1 = a ** ((P - 3) // 4)
    alpha = a1 * a1 * a
    x0 = a1 * a
    if alpha == -b.FQ2.one():
        x = b.FQ2([0, 1]) * x0
    else:
        x = (alpha + b.FQ2.one()) ** ((P - 1) // 2) * x0
    return x if x * x == a else None


def test_rejects_g2_point_outside_subgroup(chain4):
    _, _, _, vk, proof = chain4
    outside = _twist_point_outside_subgroup()
    with pytest.raises(MalformedProof, match="proof.B"):
        verify(vk, [0, 3], Proof(a=proof.a, b=outside, c=proof.c))
    data = proof_to_json(Proof(a=proof.a, b=outside, c=proof.c))
    with pytest.raises(MalformedProof, match="pi_b"):
        proof_from_json(data)
    vk_data = verifying_key_to_json(vk)
    vk_data["vk_delta_2"] = data["pi_b"]
    with pytest.raises(MalformedKey, match="vk_delta_2"):
        verifying_key_from_json(vk_data)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.pop("pi_b"), "missing field"),
    (lambda d: d.__setitem__("pi_a", d["pi_a"][:2]), "list of 3"),
    (lambda d: d.__setitem__("pi_a", d["pi_a"][:2] + ["2"]), "z must be 1"),
    (lambda d: d["pi_b"].__setitem__(2, ["1", "1"]), "z must be"),
    (lambda d: d["pi_b"].__setitem__(0, d["pi_b"][0][0]), r"pi_b\[0\]"),
    (lambda d: d.__setitem__("protocol", "plonk"), "protocol"),
    (lambda d: d.__setitem__("curve", "bls12381"), "curve"),
])
def test_rejects_proof_of_wrong_structure(chain4, edit, match):
    data = proof_to_json(chain4[4])
    edit(data)
    with pytest.raises(MalformedProof, match=match):
        proof_from_json(data)
    with pytest.raises(MalformedProof):
        proof_from_json([1, 2, 3])


def test_rejects_verifying_key_whose_alphabeta_disagrees(vectors: Path):
    "vk_alphabeta_12 must be snarkjs's e(alpha, beta): the vectors' value checks, a changed one is rejected."
    data = json.loads((vectors / "groth16" / "range_check" / "verification_key.json").read_text())
    verifying_key_from_json(data)
    original = data["vk_alphabeta_12"]
    data["vk_alphabeta_12"] = [original[1], original[0]]  # well-formed F_p12 element, but not e(alpha, beta)
    with pytest.raises(MalformedKey, match="vk_alphabeta_12 is not e"):
        verifying_key_from_json(data)
    data["vk_alphabeta_12"] = original[0]
    with pytest.raises(MalformedKey, match="vk_alphabeta_12: expected a list of 2"):
        verifying_key_from_json(data)


@pytest.mark.parametrize("field", ["alpha_g1", "beta_g2", "gamma_g2", "delta_g2"])
def test_rejects_verifying_key_with_point_at_infinity(chain4, field):
    "With [gamma]_2 = 0, say, e(L, gamma) = 1 and the public inputs would drop out of the equation."
    import dataclasses
    _, witness, _, vk, proof = chain4
    with pytest.raises(MalformedKey, match=f"vk.{field} is the point at infinity"):
        verify(dataclasses.replace(vk, **{field: None}), [witness[1], 3], proof)


def test_rejects_verifying_key_with_wrong_ic_length(chain4):
    data = verifying_key_to_json(chain4[3])
    data["nPublic"] = 3
    with pytest.raises(MalformedKey, match="nPublic \\+ 1 = 4 points, got 3"):
        verifying_key_from_json(data)
    data["nPublic"] = "2"
    with pytest.raises(MalformedKey, match="nPublic"):
        verifying_key_from_json(data)


def test_point_at_infinity_round_trips_and_is_rejected_as_a_proof(chain4):
    _, witness, _, vk, proof = chain4
    at_infinity = Proof(a=None, b=proof.b, c=proof.c)
    assert proof_from_json(proof_to_json(at_infinity)) == at_infinity
    assert proof_to_json(at_infinity)["pi_a"] == ["0", "1", "0"]
    assert verify(vk, [witness[1], 3], at_infinity) is False


# --- files and the command-line functions --------------------------------------------------------

def test_verify_files_and_prove_files(vectors: Path, tmp_path: Path):
    folder = vectors / "groth16" / "multiplier"
    assert verify_files(folder / "verification_key.json", folder / "proof.json", folder / "public.json")
    summary = prove_files(folder / "multiplier.r1cs", folder / "multiplier.wtns", tmp_path / "out", seed=1)
    assert summary["public_signals"] == [33] and summary["constraints"] == 1
    out = tmp_path / "out"
    assert verify_files(out / "verification_key.json", out / "proof.json", out / "public.json")
    assert not verify_files(out / "verification_key.json", folder / "proof.json", out / "public.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(MalformedProof, match="bad.json: cannot read as JSON"):
        verify_files(out / "verification_key.json", tmp_path / "bad.json", out / "public.json")
    (tmp_path / "public3.json").write_text('["33", "1"]')
    with pytest.raises(PublicInputError, match="public3.json: got 2 public inputs"):
        verify_files(out / "verification_key.json", out / "proof.json", tmp_path / "public3.json")


def test_prove_files_rejects_witness_of_another_circuit(vectors: Path, tmp_path: Path):
    "A .wtns that does not fit the .r1cs is refused before any proof is written (the CLI exits 2 on it)."
    from lumoz_ref.r1cs import R1CSError
    folder = vectors / "groth16"
    with pytest.raises(R1CSError):
        prove_files(folder / "multiplier" / "multiplier.r1cs", folder / "multi_public" / "multi_public.wtns", tmp_path)
    assert not (tmp_path / "proof.json").exists()


def test_prove_files_seeded_is_reproducible(vectors: Path, tmp_path: Path):
    folder = vectors / "groth16" / "multi_public"
    for out in ("one", "two"):
        prove_files(folder / "multi_public.r1cs", folder / "multi_public.wtns", tmp_path / out, seed=7)
    for name in ("verification_key.json", "proof.json", "public.json"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()


def test_chain_circuit_shape():
    r1cs, witness = chain_circuit(5, x0=2, c=1)
    assert len(r1cs.constraints) == 5 and r1cs.n_wires == 7 and r1cs.n_public == 2
    x = 2
    for _ in range(5):
        x = (x * x + 1) % R
    assert r1cs.public_signals(witness) == [x, 2]
    assert r1cs.is_satisfied(witness)
    with pytest.raises(Groth16Error):
        chain_circuit(0)


def test_benchmark_groth16_record():
    r1cs, witness = chain_circuit(8)
    record = benchmark_groth16(r1cs, witness)
    assert record["constraints"] == 8 and record["backend"] == "python"
    assert all(record[k] > 0 for k in ("setup_s", "prove_s", "verify_s", "setup_cpu_s", "prove_cpu_s",
                                       "verify_cpu_s", "peak_rss_mib"))
    with pytest.raises(Groth16Error, match="backend"):
        benchmark_groth16(r1cs, witness, backend="gpu")


def test_benchmark_native_backend_restores_python():
    "The native backend (optional library) proves the same circuit, and the benchmark restores the backend."
    pytest.importorskip("mclbn256", reason="the optional native backend (mclbn256) is not installed")
    from lumoz_ref.curve import get_backend, set_backend
    r1cs, witness = chain_circuit(8)
    assert benchmark_groth16(r1cs, witness, backend="native")["backend"] == "native"
    assert get_backend() == "python"
    pk, vk = setup(r1cs, seed=4)
    set_backend("native")
    try:
        proof = prove(pk, r1cs, witness, rng=random.Random(5))
    finally:
        set_backend("python")
    assert proof == prove(pk, r1cs, witness, rng=random.Random(5))  # same blinding: the same proof in Python
    assert verify(vk, r1cs.public_signals(witness), proof)


# --- snarkjs .zkey ------------------------------------------------------------------------------

@pytest.mark.parametrize("circuit", SMALL_CIRCUITS)
def test_zkey_holds_snarkjs_vk_and_proves(vectors: Path, circuit: str):
    "The key inside a snarkjs .zkey is its verification_key.json, and proofs made with it verify."
    folder = vectors / "groth16" / circuit
    pk = load_zkey(folder / f"{circuit}.zkey")
    assert pk.h_basis == "odd_coset"
    assert pk.vk == load_verifying_key(folder / "verification_key.json")
    r1cs, witness = load_r1cs(folder / f"{circuit}.r1cs"), load_wtns(folder / f"{circuit}.wtns")
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, r1cs.public_signals(witness), proof)
    assert not verify(pk.vk, [(x + 1) % R for x in r1cs.public_signals(witness)], proof)


def test_rejects_malformed_zkey(vectors: Path, tmp_path: Path):
    data = (vectors / "groth16" / "multiplier" / "multiplier.zkey").read_bytes()
    cases = {
        "magic": (b"zkez" + data[4:], "wrong magic b.zkez., expected b.zkey."),
        "truncated": (data[:len(data) - 100], "runs past the end"),
        # alpha_1's x (section 2 starts at byte 40; alpha_1 at offset 84 in it) set to p: not canonical
        "coordinate": (data[:124] + P.to_bytes(32, "little") + data[156:], "alpha_1: stored coordinate is not below p"),
        # alpha_1's y + 1 (still below p): off the curve
        "off_curve": (data[:156] + ((int.from_bytes(data[156:188], "little") + 1) % P).to_bytes(32, "little") + data[188:],
                      "alpha_1"),
    }
    for name, (blob, match) in cases.items():
        path = tmp_path / f"{name}.zkey"
        path.write_bytes(blob)
        with pytest.raises(MalformedKey, match=match):
            load_zkey(path)
    with pytest.raises(MalformedKey, match="cannot read"):
        load_zkey(tmp_path / "absent.zkey")


# --- robustness: arbitrary JSON never crashes the parsers ----------------------------------------

from hypothesis import given, settings, strategies as st

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["0", "1", "2", str(P), str(R), str(P - 1), "01", "-1"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["pi_a", "pi_b", "pi_c", "protocol", "curve", "nPublic", "IC", "vk_alpha_1",
                         "vk_beta_2", "vk_gamma_2", "vk_delta_2", "vk_alphabeta_12"]), children, max_size=8),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_parsers_raise_only_named_errors_on_arbitrary_json(data):
    for parse, error in ((proof_from_json, MalformedProof), (verifying_key_from_json, MalformedKey),
                         (public_from_json, PublicInputError)):
        try:
            parse(data)
        except error:
            pass


@functools.lru_cache(maxsize=1)
def _small_proof():
    r1cs, witness = chain_circuit(2)
    pk, vk = setup(r1cs, seed=1)
    return r1cs, witness, vk, proof_to_json(prove(pk, r1cs, witness, rng=random.Random(1)))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2), st.integers(0, 2), st.sampled_from(["0", "1", "2", str(P - 1), str(P), "21"]))
def test_proof_json_with_one_number_set_is_rejected_unless_unchanged(i, j, value):
    "Setting one number of a valid proof.json to a value: an error or False, unless the value did not change."
    r1cs, witness, vk, original = _small_proof()
    data = json.loads(json.dumps(original))
    key = ["pi_a", "pi_b", "pi_c"][i]
    if key == "pi_b":
        data[key][j][j % 2] = value
    else:
        data[key][j] = value
    try:
        proof = proof_from_json(data)
    except MalformedProof:
        return
    assert verify(vk, r1cs.public_signals(witness), proof) is (data == original)


# --- hostile files -----------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from lumoz_ref.groth16 import MAX_CHAIN_CONSTRAINTS, MAX_JSON_FILE_BYTES  # noqa: E402
from lumoz_ref.r1cs import OutputPathError, WitnessError, save_r1cs, save_wtns  # noqa: E402

JSON_LOADERS = ((load_verifying_key, MalformedKey), (load_proof, MalformedProof), (load_public, PublicInputError))


@settings(max_examples=150, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=64), st.text(alphabet='[]{}",:0123456789eE.-+ tfrunal\\', max_size=64)))
def test_json_loaders_raise_only_their_named_error(tmp_path, content):
    "Any bytes as a snarkjs JSON file: a value, or the loader's own Groth16Error subclass naming the file."
    path = tmp_path / "hostile.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for loader, error in JSON_LOADERS:
        try:
            loader(path)
        except error as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)


def test_json_loaders_refuse_deep_huge_and_endless_files(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "digits.json").write_text("[1" + "0" * 5000 + "]")
    with open(tmp_path / "huge.json", "wb") as f:
        f.truncate(MAX_JSON_FILE_BYTES + 1)
    cases = {"deep.json": "nested too deeply", "digits.json": "cannot read as JSON", "huge.json": "above the cap"}
    for loader, error in JSON_LOADERS:
        for name, message in cases.items():
            with pytest.raises(error, match=message):
                loader(tmp_path / name)
        with pytest.raises(error, match="longer than the cap MAX_JSON_FILE_BYTES"):
            loader("/dev/zero")
    with pytest.raises(MalformedKey, match="wrong magic"):
        load_zkey("/dev/zero")


def test_error_messages_quote_hostile_values_short(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"pi_a": ["1" * 10**6, "2", "1"], "pi_b": [], "pi_c": []}))
    with pytest.raises(MalformedProof, match="canonical decimal") as e:
        load_proof(tmp_path / "p.json")
    assert len(str(e.value)) < 300


def test_prove_files_checks_the_witness_and_the_output_before_the_setup(tmp_path, monkeypatch):
    import lumoz_ref.groth16 as groth16_module
    r1cs, witness = chain_circuit(3)
    save_r1cs(r1cs, tmp_path / "c.r1cs")
    save_wtns(witness, tmp_path / "c.wtns")
    save_wtns(witness[:-1], tmp_path / "short.wtns")
    save_wtns([1, 2, 3, 4, 5], tmp_path / "wrong.wtns")
    (tmp_path / "a_file").write_text("")

    def refuse(*args, **kwargs):
        raise AssertionError("setup ran before the input was checked")
    monkeypatch.setattr(groth16_module, "setup", refuse)
    for wtns, message in (("short.wtns", "has 5 wires, the witness has 4 values"), ("wrong.wtns", "is not satisfied")):
        with pytest.raises(WitnessError, match=message):
            prove_files(tmp_path / "c.r1cs", tmp_path / wtns, tmp_path / "out")
    for out in (tmp_path / "a_file", tmp_path / "missing" / "out"):
        with pytest.raises(OutputPathError):
            prove_files(tmp_path / "c.r1cs", tmp_path / "c.wtns", out)
    with pytest.raises(WitnessError):
        benchmark_groth16(r1cs, witness[:-1])


def test_chain_circuit_is_capped():
    for n in (0, MAX_CHAIN_CONSTRAINTS + 1, 10**12, 2.0, True):
        with pytest.raises(Groth16Error, match="MAX_CHAIN_CONSTRAINTS"):
            chain_circuit(n)


def test_key_vectors_are_checked_once_and_never_shipped(chain4):
    "pk.bases is made once per process and reused; a pickled key carries only its points, checked where it lands."
    import dataclasses
    import pickle
    from lumoz_ref.curve import InvalidPoint
    r1cs, witness, pk, vk, proof = chain4
    bases = pk.bases
    assert prove(pk, r1cs, witness, rng=random.Random(12)) == proof and pk.bases is bases
    copy = pickle.loads(pickle.dumps(pk))
    assert "_bases" not in copy.__dict__ and copy == pk
    assert prove(copy, r1cs, witness, rng=random.Random(12)) == proof
    (x, y), *rest = pk.a_query[1:]
    forged = dataclasses.replace(pk, a_query=(pk.a_query[0], (x, (y + 1) % P), *rest))
    with pytest.raises(InvalidPoint, match=r"points\[1\] .* is not on y²"):
        prove(pickle.loads(pickle.dumps(forged)), r1cs, witness)
