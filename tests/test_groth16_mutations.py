"""Mutation test: single-field and single-point changes to valid proofs and public inputs are never accepted.

Every mutant goes through the same path as a file would (snarkjs JSON → parse → verify) and must end in
`False` or a named `Groth16Error`; any other exception is a crash and fails the test."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from lumoz_ref.field import P, R
from lumoz_ref.curve import G1_GENERATOR, G2_GENERATOR, g1_mul, g1_neg, g2_mul
from lumoz_ref.groth16 import (
    Groth16Error, Proof, chain_circuit, g1_to_json, g2_to_json, load_proof, load_public, load_verifying_key,
    prepare_verifying_key, proof_from_json, proof_to_json, prove, public_from_json, public_to_json, setup,
    verify_prepared,
)
from test_groth16 import CIRCUITS, _twist_point_outside_subgroup
MUTANTS_PER_CHUNK = 500  # 4 chunks: 2000 mutants in all
COORDINATES = [("pi_a", (0,)), ("pi_a", (1,)), ("pi_c", (0,)), ("pi_c", (1,)),
               ("pi_b", (0, 0)), ("pi_b", (0, 1)), ("pi_b", (1, 0)), ("pi_b", (1, 1))]


def _get(data, key, path):
    node = data[key]
    for i in path[:-1]:
        node = node[i]
    return node, path[-1]


def mutate_field(rng: random.Random, proof: dict, public: list) -> tuple[str, dict, list]:
    "Change one number of the JSON: a coordinate, a projective z, or a public signal."
    proof, public = copy.deepcopy(proof), list(public)
    if rng.random() < 0.3 and public:
        i = rng.randrange(len(public))
        x = int(public[i])
        op, new = rng.choice([("+1", x + 1), ("-1", (x - 1) % R), ("+r", x + R), ("random", rng.randrange(R)),
                              ("zero", 0), ("r-1", R - 1), ("bit", x ^ (1 << rng.randrange(254)))])
        if new == x:
            new = x + 1
        public[i] = str(new)
        return f"public[{i}] {op}", proof, public
    key, path = rng.choice(COORDINATES)
    node, last = _get(proof, key, path)
    x = int(node[last])
    op, new = rng.choice([("+1", x + 1), ("-1", (x - 1) % P), ("+p", x + P), ("random", rng.randrange(P)),
                          ("zero", 0), ("bit", x ^ (1 << rng.randrange(254))), ("p-1", P - 1)])
    if new == x:
        new = x + 1
    node[last] = str(new)
    if rng.random() < 0.05:  # or the projective z of the point
        key = rng.choice(["pi_a", "pi_c"])
        proof[key][2] = rng.choice(["0", "2", str(P + 1)])
        return f"{key}.z", proof, public
    return f"{key}{list(path)} {op}", proof, public


def mutate_point(rng: random.Random, proof: dict, public: list, outside: tuple) -> tuple[str, dict, list]:
    "Replace one whole point by another valid encoding: a random point, its negation, infinity, a swap."
    proof = copy.deepcopy(proof)
    parsed = proof_from_json(proof)
    choice = rng.randrange(7)
    if choice == 0:
        key = rng.choice(["pi_a", "pi_c"])
        proof[key] = g1_to_json(g1_mul(G1_GENERATOR, rng.randrange(1, R)))
        return f"{key} random", proof, public
    if choice == 1:
        proof["pi_b"] = g2_to_json(g2_mul(G2_GENERATOR, rng.randrange(1, R)))
        return "pi_b random", proof, public
    if choice == 2:
        key = rng.choice(["pi_a", "pi_c"])
        proof[key] = g1_to_json(g1_neg(parsed.a if key == "pi_a" else parsed.c))
        return f"{key} negated", proof, public
    if choice == 3:
        key = rng.choice(["pi_a", "pi_b", "pi_c"])
        proof[key] = g2_to_json(None) if key == "pi_b" else g1_to_json(None)
        return f"{key} infinity", proof, public
    if choice == 4:
        proof["pi_a"], proof["pi_c"] = proof["pi_c"], proof["pi_a"]
        return "swap A and C", proof, public
    if choice == 5:
        proof["pi_b"] = g2_to_json(outside)
        return "pi_b outside the subgroup", proof, public
    (x0, x1), (y0, y1) = parsed.b  # G2 coordinates given imaginary-first (EVM order) inside snarkjs JSON
    proof["pi_b"] = [[str(x1), str(x0)], [str(y1), str(y0)], ["1", "0"]]
    return "pi_b imaginary-first", proof, public


@pytest.fixture(scope="module")
def bases(vectors: Path):
    "Valid (prepared vk, proof JSON, public JSON) triples: snarkjs's proofs and one made here."
    out = []
    for circuit in CIRCUITS:
        folder = vectors / "groth16" / circuit
        pvk = prepare_verifying_key(load_verifying_key(folder / "verification_key.json"))
        for name in ("proof", "proof2"):
            proof = json.loads((folder / f"{name}.json").read_text())
            public = json.loads((folder / f"{name.replace('proof', 'public')}.json").read_text())
            out.append((pvk, proof, public))
    r1cs, witness = chain_circuit(8)
    pk, vk = setup(r1cs, seed=1)
    proof = prove(pk, r1cs, witness, rng=random.Random(2))
    out.append((prepare_verifying_key(vk), proof_to_json(proof), public_to_json(r1cs.public_signals(witness))))
    for pvk, proof, public in out:  # the bases themselves are valid
        assert verify_prepared(pvk, public_from_json(public), proof_from_json(proof))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(4))
def test_no_mutant_is_accepted(bases, chunk: int):
    rng = random.Random(1000 + chunk)
    outside = _twist_point_outside_subgroup(seed=chunk)
    accepted, outcomes = [], {"false": 0, "error": 0}
    for _ in range(MUTANTS_PER_CHUNK):
        pvk, proof, public = rng.choice(bases)
        if rng.random() < 0.6:
            what, mutant, mutant_public = mutate_field(rng, proof, public)
        else:
            what, mutant, mutant_public = mutate_point(rng, proof, public, outside)
        assert (mutant, mutant_public) != (proof, public), what
        try:
            verdict = verify_prepared(pvk, public_from_json(mutant_public), proof_from_json(mutant))
        except Groth16Error:
            outcomes["error"] += 1
            continue
        if verdict is False:
            outcomes["false"] += 1
        else:
            accepted.append(what)
    print(f"chunk {chunk}: {outcomes}")
    assert not accepted, f"accepted mutants: {accepted}"
    assert outcomes["false"] > 50 and outcomes["error"] > 50, outcomes  # both paths were exercised
