"""Chapter 06: hashes against circomlibjs outputs, every gadget against its native twin, the sparse Merkle tree."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from lumoz_ref.field import R, NonCanonicalElement
from lumoz_ref.r1cs import R1CS, UnsatisfiedConstraint
from lumoz_ref.gadgets import (
    KeyOutOfRange, MalformedProof, MerkleProof, SparseMerkleTree, UnsupportedArity, UnsupportedBitWidth,
    ValueOutOfRange, assert_boolean, assert_range, bits_of, cond_swap, cond_swap_native, empty_subtree_roots,
    fits_in_bits, greater_equal, greater_equal_native, greater_than, greater_than_native, is_boolean, is_equal,
    is_equal_native, is_zero, is_zero_native, less_equal, less_equal_native, less_than, less_than_native,
    materialize, merkle_node, merkle_root, merkle_root_gadget, mimc7, mimc7_gadget, mimc7_multi_hash,
    mimc7_multi_hash_gadget, mimc_sponge, mimc_sponge_gadget, mimc_sponge_multi_hash, mimc_sponge_multi_hash_gadget,
    mux, mux_native, poseidon, poseidon_gadget, poseidon_permutation, select, select_native, smt_membership_gadget,
    smt_update_gadget, to_bits, verify_proof, verify_update, witness_value,
)

FAST = settings(max_examples=25, deadline=None)
field = st.integers(0, R - 1)
small_or_edge = st.one_of(st.integers(0, 300), st.sampled_from([R - 1, R - 2, 1 << 32, (1 << 32) - 1]), field)


def _load(vectors, name: str) -> list[dict]:
    data = json.loads((vectors / "hashes" / f"{name}_dev.json").read_text())
    assert data["vectors"], f"{name}: empty vector file"
    return data["vectors"]


# --- hashes against circomlibjs -------------------------------------------------------------------------------

def test_poseidon_matches_circomlibjs(vectors):
    cases = _load(vectors, "poseidon")
    assert {case["t"] for case in cases} == {2, 3, 4, 5, 6}
    assert any("init_state" in case for case in cases)
    for case in cases:
        got = poseidon([int(x) for x in case["inputs"]], int(case.get("init_state", 0)))
        assert got == int(case["expected"]), case["name"]


def test_mimc7_matches_circomlibjs(vectors):
    cases = _load(vectors, "mimc7")
    assert {case["fn"] for case in cases} == {"hash", "multiHash"}
    for case in cases:
        if case["fn"] == "hash":
            got = mimc7(int(case["x"]), int(case["k"]))
        else:
            got = mimc7_multi_hash([int(x) for x in case["inputs"]], int(case.get("key", 0)))
        assert got == int(case["expected"]), case["name"]


def test_mimcsponge_matches_circomlibjs(vectors):
    cases = _load(vectors, "mimcsponge")
    assert {case["fn"] for case in cases} == {"hash", "multiHash"}
    for case in cases:
        if case["fn"] == "hash":
            got = mimc_sponge(int(case["xL"]), int(case["xR"]), int(case["k"]))
            assert got == (int(case["expected"]["xL"]), int(case["expected"]["xR"])), case["name"]
        else:
            got = mimc_sponge_multi_hash([int(x) for x in case["inputs"]], int(case.get("key", 0)),
                                         case.get("num_outputs", 1))
            expected = case["expected"] if isinstance(case["expected"], list) else [case["expected"]]
            assert got == [int(x) for x in expected], case["name"]


def test_hash_gadgets_match_vectors(vectors):
    """A sample of each family through the R1CS gadgets (one circuit per case)."""
    for case in _load(vectors, "poseidon")[::7]:
        inputs = [int(x) for x in case["inputs"]]
        cs = R1CS("poseidon")
        xs = [cs.private_input(f"x{i}") for i in range(len(inputs))]
        init = cs.private_input("init")
        out = poseidon_gadget(cs, xs, init)
        w = cs.compute_witness({**{f"x{i}": v for i, v in enumerate(inputs)}, "init": int(case.get("init_state", 0))})
        cs.check(w)
        assert witness_value(cs, w, out) == int(case["expected"]), case["name"]
    for case in [c for c in _load(vectors, "mimcsponge") if c["fn"] == "multiHash"][:3]:
        inputs = [int(x) for x in case["inputs"]]
        cs = R1CS("sponge")
        xs = [cs.private_input(f"x{i}") for i in range(len(inputs))]
        outs = mimc_sponge_multi_hash_gadget(cs, xs, int(case["key"]), case["num_outputs"])
        w = cs.compute_witness({f"x{i}": v for i, v in enumerate(inputs)})
        cs.check(w)
        assert [witness_value(cs, w, o) for o in outs] == [int(x) for x in case["expected"]], case["name"]


# --- natives: the readable and the fast Poseidon agree; bad input is refused ----------------------------------

@FAST
@given(st.integers(2, 17).flatmap(lambda t: st.lists(field, min_size=t, max_size=t)))
def test_poseidon_fast_equals_readable_permutation(state):
    assert poseidon(state[1:], state[0]) == poseidon_permutation(state)[0]


@FAST
@given(field, field)
def test_merkle_node_is_readable_poseidon_of_the_pair(left, right):
    assert merkle_node(left, right) == poseidon_permutation([0, left, right])[0] == poseidon([left, right])


def test_rejects_non_canonical_hash_inputs():
    with pytest.raises(NonCanonicalElement, match=r"inputs\[1\]"):
        poseidon([1, R])
    with pytest.raises(NonCanonicalElement):
        mimc7(-1, 0)
    with pytest.raises(NonCanonicalElement):
        mimc_sponge(0, 0, R)


def test_rejects_unsupported_poseidon_arity():
    with pytest.raises(UnsupportedArity):
        poseidon([])
    with pytest.raises(UnsupportedArity):
        poseidon([0] * 17)
    with pytest.raises(UnsupportedArity):
        poseidon_gadget(R1CS(), [0] * 17)


# --- gadgets against their native twins -----------------------------------------------------------------------

def _build(gadget, values: dict[str, int]):
    """A circuit with the values as private inputs and the gadget's result as a public output wire."""
    cs = R1CS("test")
    wires = {name: cs.private_input(name) for name in values}
    result = gadget(cs, **wires)
    results = result if isinstance(result, tuple) else (result,)
    outs = []
    for i, expr in enumerate(results):
        out = cs.public_output(f"out{i}")
        cs.assert_equal(out, expr, label=f"out{i}")
        outs.append(out)
    return cs, outs


def _run(gadget, values: dict[str, int]):
    cs, outs = _build(gadget, values)
    w = cs.compute_witness(values)
    return cs, w, tuple(witness_value(cs, w, o) for o in outs)


def _assert_tampering_detected(cs: R1CS, w: list[int], free: frozenset[str] = frozenset(), sample: int | None = None,
                               rng: random.Random = random.Random(0)):
    """Changing any output or intermediate wire (all but the inputs and `free` ones) breaks a constraint."""
    first_computed = 1 + cs.n_public_outputs
    candidates = [i for i in range(1, len(w))
                  if (i < first_computed or i >= 1 + cs.n_public + cs.n_private_inputs)
                  and cs.wire_names[i] not in free]
    assert candidates
    if sample is not None and len(candidates) > sample:
        candidates = rng.sample(candidates, sample)
    for i in candidates:
        tampered = list(w)
        tampered[i] = (tampered[i] + 1) % R
        assert not cs.is_satisfied(tampered), f"wire {i} ({cs.wire_names[i]}) can change unnoticed"


@FAST
@given(st.integers(0, 1), small_or_edge)
def test_assert_boolean_accepts_exactly_bits(bit, other):
    for value, ok in ((bit, True), (other, is_boolean(other))):
        cs = R1CS("b")
        x = cs.private_input("x")
        assert_boolean(cs, x)
        assert cs.is_satisfied(cs.compute_witness({"x": value})) is ok


@FAST
@given(st.integers(1, 253).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, (1 << n) - 1))))
def test_to_bits_matches_bits_of(n_and_x):
    n, x = n_and_x
    cs = R1CS("bits")
    xv = cs.private_input("x")
    bits = to_bits(cs, xv, n)
    w = cs.compute_witness({"x": x})
    cs.check(w)
    assert [witness_value(cs, w, b) for b in bits] == bits_of(x, n)
    _assert_tampering_detected(cs, w, sample=20)


@FAST
@given(st.integers(1, 64), small_or_edge)
def test_assert_range_agrees_with_fits_in_bits(n, x):
    cs = R1CS("range")
    assert_range(cs, cs.private_input("x"), n)
    assert cs.is_satisfied(cs.compute_witness({"x": x})) is fits_in_bits(x, n)


def test_rejects_bit_widths_without_unique_decomposition():
    cs = R1CS()
    x = cs.private_input("x")
    for n in (0, 254, 300):
        with pytest.raises(UnsupportedBitWidth):
            to_bits(cs, x, n)
    with pytest.raises(UnsupportedBitWidth):
        less_than(cs, x, x, 253)


COMPARATORS = [(less_than, less_than_native), (less_equal, less_equal_native),
               (greater_than, greater_than_native), (greater_equal, greater_equal_native)]


@FAST
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, (1 << n) - 1), st.integers(0, (1 << n) - 1))),
       st.sampled_from(COMPARATORS), st.booleans())
def test_comparators_match_native(nab, pair, equal):
    n, a, b = nab
    b = a if equal else b
    gadget, native = pair
    cs, w, (got,) = _run(lambda cs, a, b: gadget(cs, a, b, n), {"a": a, "b": b})
    cs.check(w)
    assert got == native(a, b, n)
    _assert_tampering_detected(cs, w, sample=15)


@FAST
@given(st.integers(1, 32), st.integers(0, 2 ** 40), st.sampled_from([R - 1, R - 2 ** 31, 2 ** 252]))
def test_less_than_rejects_inputs_wider_than_n_bits(n, small, big):
    """The checked comparator has no honest witness when an input does not fit; the failure names the range check."""
    for a, b, which in ((big, small % (1 << n), "lt.a range"), (small % (1 << n), big, "lt.b range")):
        cs, _ = _build(lambda cs, a, b: less_than(cs, a, b, n), {"a": a, "b": b})
        with pytest.raises(UnsatisfiedConstraint, match=which):
            cs.check(cs.compute_witness({"a": a, "b": b}))
    with pytest.raises(ValueOutOfRange):
        less_than_native(big, 0, n)


def test_unchecked_comparator_is_fooled_by_wrapped_input():
    """Why the default range-checks: LessThan(8) without checks 'proves' −1 < 0."""
    cs, w, (got,) = _run(lambda cs, a, b: less_than(cs, a, b, 8, assume_in_range=True), {"a": R - 1, "b": 0})
    assert cs.is_satisfied(w) and got == 1


@FAST
@given(small_or_edge, small_or_edge, st.booleans())
def test_is_zero_and_is_equal_match_native(a, b, equal):
    b = a if equal else b
    cs, w, (got,) = _run(lambda cs, x: is_zero(cs, x), {"x": a})
    cs.check(w)
    assert got == is_zero_native(a)
    # is_zero.inv is free when x = 0 (any inverse satisfies x·inv = 1 − out); the output never is
    _assert_tampering_detected(cs, w, free=frozenset({"is_zero.inv"}) if a == 0 else frozenset())
    cs, w, (got,) = _run(lambda cs, a, b: is_equal(cs, a, b), {"a": a, "b": b})
    cs.check(w)
    assert got == is_equal_native(a, b)
    _assert_tampering_detected(cs, w, free=frozenset({"is_zero.inv"}) if a == b else frozenset())


@FAST
@given(st.integers(0, 1), field, field)
def test_select_and_cond_swap_match_native(s, a, b):
    cs, w, got = _run(lambda cs, s, a, b: select(cs, s, a, b), {"s": s, "a": a, "b": b})
    cs.check(w)
    assert got == (select_native(s, a, b),)
    _assert_tampering_detected(cs, w)
    cs, w, got = _run(lambda cs, s, a, b: cond_swap(cs, s, a, b), {"s": s, "a": a, "b": b})
    cs.check(w)
    assert got == cond_swap_native(s, a, b)
    _assert_tampering_detected(cs, w)


@FAST
@given(st.integers(0, 4).flatmap(lambda k: st.tuples(st.integers(0, (1 << k) - 1), st.lists(field, min_size=1 << k, max_size=1 << k))))
def test_mux_matches_native(index_and_options):
    index, options = index_and_options
    k = len(options).bit_length() - 1

    def gadget(cs, i):
        bits = to_bits(cs, i, k) if k else []
        return mux(cs, bits, options)

    cs, w, (got,) = _run(gadget, {"i": index})
    cs.check(w)
    assert got == mux_native(index, options)
    _assert_tampering_detected(cs, w)


@settings(max_examples=6, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.lists(field, min_size=n, max_size=n)), field)
def test_poseidon_gadget_matches_native(inputs, init):
    names = {f"x{i}": v for i, v in enumerate(inputs)}
    cs, w, (got,) = _run(lambda cs, **xs: poseidon_gadget(cs, list(xs.values()), init), names)
    cs.check(w)
    assert got == poseidon(inputs, init)
    _assert_tampering_detected(cs, w, sample=25)


@settings(max_examples=4, deadline=None)
@given(field, field, field)
def test_mimc_gadgets_match_native(x, k, y):
    cs, w, got = _run(lambda cs, x, k: mimc7_gadget(cs, x, k), {"x": x, "k": k})
    cs.check(w)
    assert got == (mimc7(x, k),)
    _assert_tampering_detected(cs, w, sample=20)
    cs, w, got = _run(lambda cs, x, y, k: mimc_sponge_gadget(cs, x, y, k), {"x": x, "y": y, "k": k})
    cs.check(w)
    assert got == mimc_sponge(x, y, k)
    _assert_tampering_detected(cs, w, sample=20)
    cs, w, got = _run(lambda cs, x, y, k: mimc7_multi_hash_gadget(cs, [x, y], k), {"x": x, "y": y, "k": k})
    assert cs.is_satisfied(w) and got == (mimc7_multi_hash([x, y], k),)
    cs, w, got = _run(lambda cs, x, y: tuple(mimc_sponge_multi_hash_gadget(cs, [x, y], k, 2)), {"x": x, "y": y})
    assert cs.is_satisfied(w) and list(got) == mimc_sponge_multi_hash([x, y], k, 2)


# --- the sparse Merkle tree -----------------------------------------------------------------------------------

def _dense_root(leaves: list[int]) -> int:
    """Root of the full binary tree over `leaves`, computed level by level: an independent reference."""
    level = list(leaves)
    while len(level) > 1:
        level = [merkle_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


ops = st.lists(st.tuples(st.integers(0, 15), st.one_of(st.just(0), st.integers(1, 10), field)), max_size=12)


@FAST
@given(ops)
def test_smt_root_equals_dense_tree_and_proofs_verify(operations):
    tree, model = SparseMerkleTree(4), {}
    for key, value in operations:
        update = tree.update(key, value)
        assert update.old_value == model.get(key, 0)
        model[key] = value
        assert verify_update(update)
        assert tree.root == _dense_root([model.get(k, 0) for k in range(16)])
    for key in range(16):
        proof = tree.prove(key)
        assert tree.get(key) == model.get(key, 0)
        assert verify_proof(tree.root, key, tree.get(key), proof)       # inclusion, or non-inclusion when 0
        assert not verify_proof(tree.root, key, (tree.get(key) + 1) % R, proof)
        assert not verify_proof(tree.root, key ^ 1, tree.get(key), proof)  # path bits are not key ^ 1's
    assert tree.items() == sorted((k, v) for k, v in model.items() if v)
    assert len(tree) == len(tree.items())


def test_smt_deleting_everything_restores_the_empty_root():
    tree = SparseMerkleTree(16)
    rng = random.Random(1)
    keys = rng.sample(range(1 << 16), 20)
    for k in keys:
        tree.set(k, rng.randrange(1, R))
    assert tree.root != empty_subtree_roots(16)[16]
    for k in keys:
        tree.set(k, 0)
    assert tree.root == empty_subtree_roots(16)[16] and tree._nodes == {}


def test_smt_copy_is_independent():
    tree = SparseMerkleTree(8)
    tree.set(1, 5)
    snapshot = tree.copy()
    tree.set(1, 6)
    assert snapshot.get(1) == 5 and snapshot.root != tree.root


def test_tampered_sibling_fails_verification():
    tree = SparseMerkleTree(8)
    tree.set(9, 90)
    tree.set(10, 100)
    proof = tree.prove(9)
    for i in range(proof.depth):
        siblings = list(proof.siblings)
        siblings[i] = (siblings[i] + 1) % R
        assert not verify_proof(tree.root, 9, 90, MerkleProof(tuple(siblings), proof.path_bits))


def test_update_with_swapped_roots_fails():
    tree = SparseMerkleTree(8)
    update = tree.update(3, 7)
    forged = type(update)(update.key, update.old_value, update.new_value, update.new_root, update.old_root, update.proof)
    assert not verify_update(forged)


def test_rejects_keys_outside_the_tree():
    tree = SparseMerkleTree(8)
    for key in (-1, 256, R):
        with pytest.raises(KeyOutOfRange):
            tree.get(key)
        with pytest.raises(KeyOutOfRange):
            verify_proof(tree.root, key, 0, tree.prove(0))
    with pytest.raises(UnsupportedBitWidth):
        SparseMerkleTree(254)


def test_rejects_malformed_proofs():
    with pytest.raises(MalformedProof):
        MerkleProof((1, 2), (0,))
    with pytest.raises(MalformedProof):
        MerkleProof((1,), (2,))
    with pytest.raises(MalformedProof):
        MerkleProof((R,), (0,))
    with pytest.raises(MalformedProof):
        MerkleProof((), ())


def test_smt_at_maximum_depth_takes_keys_up_to_2_pow_253():
    tree = SparseMerkleTree(253)
    key = (1 << 253) - 1
    update = tree.update(key, 42)
    assert verify_update(update) and merkle_root(42, tree.prove(key)) == tree.root


# --- the tree in the circuit ----------------------------------------------------------------------------------

def _smt_circuit(depth: int, gadget: str):
    cs = R1CS(f"smt {gadget}")
    root = cs.public_input("root")
    key, old_value = cs.private_input("key"), cs.private_input("old_value")
    siblings = [cs.private_input(f"s{i}") for i in range(depth)]
    if gadget == "membership":
        smt_membership_gadget(cs, root, key, old_value, siblings)
        return cs, None
    new_value = cs.private_input("new_value")
    new_root = materialize(cs, smt_update_gadget(cs, root, key, old_value, new_value, siblings), "new_root")
    return cs, new_root


def _inputs(root: int, key: int, old_value: int, proof: MerkleProof, **extra) -> dict[str, int]:
    return {"root": root, "key": key, "old_value": old_value,
            **{f"s{i}": s for i, s in enumerate(proof.siblings)}, **extra}


@settings(max_examples=4, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(1, R - 1)), max_size=6), st.integers(0, 63), field)
def test_smt_gadgets_match_native(contents, key, new_value):
    tree = SparseMerkleTree(6)
    for k, v in contents:
        tree.set(k, v)
    proof, value = tree.prove(key), tree.get(key)
    cs, _ = _smt_circuit(6, "membership")
    assert cs.is_satisfied(cs.compute_witness(_inputs(tree.root, key, value, proof)))
    assert not cs.is_satisfied(cs.compute_witness(_inputs(tree.root, key, (value + 1) % R, proof)))
    assert not cs.is_satisfied(cs.compute_witness(_inputs(tree.root, key ^ 1, value, proof))) or tree.get(key ^ 1) == value
    update = tree.update(key, new_value)
    cs, new_root = _smt_circuit(6, "update")
    w = cs.compute_witness(_inputs(update.old_root, key, update.old_value, proof, new_value=new_value))
    cs.check(w)
    assert witness_value(cs, w, new_root) == update.new_root == tree.root
    _assert_tampering_detected(cs, w, sample=30)


def test_merkle_root_gadget_matches_native_path():
    tree = SparseMerkleTree(5)
    tree.set(19, 1900)
    proof = tree.prove(19)
    cs = R1CS("path")
    leaf = cs.private_input("leaf")
    bits = [cs.private_input(f"b{i}") for i in range(5)]
    siblings = [cs.private_input(f"s{i}") for i in range(5)]
    root = merkle_root_gadget(cs, leaf, bits, siblings)
    w = cs.compute_witness({"leaf": 1900, **{f"b{i}": b for i, b in enumerate(proof.path_bits)},
                            **{f"s{i}": s for i, s in enumerate(proof.siblings)}})
    cs.check(w)
    assert witness_value(cs, w, root) == merkle_root(1900, proof) == tree.root
    with pytest.raises(MalformedProof):
        merkle_root_gadget(cs, leaf, bits[:4], siblings)


def test_comparators_at_the_widest_supported_width():
    top = (1 << 252) - 1
    for a, b in [(0, top), (top, 0), (1 << 251, 1 << 251), (top, top - 1)]:
        for gadget, native in COMPARATORS:
            cs, w, (got,) = _run(lambda cs, a, b: gadget(cs, a, b, 252), {"a": a, "b": b})
            cs.check(w)
            assert got == native(a, b, 252)


def test_smt_update_gadget_at_depth_32_chains_two_updates():
    """Two updates in one circuit, the second starting from the first's new root, as chapter 08 chains them."""
    tree = SparseMerkleTree(32)
    rng = random.Random(32)
    for _ in range(10):
        tree.set(rng.randrange(1 << 32), rng.randrange(1, R))
    k1, k2 = rng.randrange(1 << 32), rng.randrange(1 << 32)
    u1 = tree.update(k1, 111)
    u2 = tree.update(k2, 222)
    cs = R1CS("two updates")
    final_root = cs.public_output("final_root")
    root = cs.public_input("root")
    mid = root
    for j in (1, 2):
        key, old, new = (cs.private_input(f"{n}{j}") for n in ("key", "old", "new"))
        siblings = [cs.private_input(f"s{j}_{i}") for i in range(32)]
        mid = smt_update_gadget(cs, mid, key, old, new, siblings)
    cs.assert_equal(final_root, mid)
    values = {"root": u1.old_root}
    for j, u in ((1, u1), (2, u2)):
        values.update({f"key{j}": u.key, f"old{j}": u.old_value, f"new{j}": u.new_value,
                       **{f"s{j}_{i}": s for i, s in enumerate(u.proof.siblings)}})
    w = cs.compute_witness(values)
    cs.check(w)
    assert cs.public_signals(w) == [tree.root, u1.old_root]
    values["new1"] = 112        # a different intermediate state makes the second update's old root wrong
    assert not cs.is_satisfied(cs.compute_witness(values))
