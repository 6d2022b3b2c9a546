"""The BN254 precompiles 0x06–0x08 against geth's and revm's vectors (dev split) and EIP-196/197 rules."""
from __future__ import annotations

import json

import pytest

from lumoz_ref import curve as C
from lumoz_ref.field import P, R

CALLS = {"ecAdd": C.ec_add, "ecMul": C.ec_mul, "ecPairing": C.ec_pairing}
GAS = {"ecAdd": C.ec_add_gas, "ecMul": C.ec_mul_gas, "ecPairing": C.ec_pairing_gas}


@pytest.fixture(scope="module")
def precompile_vectors(vectors):
    entries = json.loads((vectors / "bn254_precompiles" / "bn254_precompiles_dev.json").read_text())["vectors"]
    assert entries, "no precompile vectors found"
    return entries


@pytest.mark.parametrize("name", sorted(CALLS))
def test_success_vectors_give_expected_output(precompile_vectors, name):
    cases = [v for v in precompile_vectors if v["precompile"] == name and v["expected_error"] is None]
    assert cases, f"no success vectors for {name}"
    wrong = []
    for v in cases:
        data = bytes.fromhex(v["input"][2:])
        try:
            out = CALLS[name](data)
        except C.PrecompileError as e:
            wrong.append(f"{v['name']}: raised {e}")
            continue
        if "0x" + out.hex() != v["expected"]:
            wrong.append(f"{v['name']}: got 0x{out.hex()}, expected {v['expected']}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_failure_vectors_raise(precompile_vectors, name):
    cases = [v for v in precompile_vectors if v["precompile"] == name and v["expected_error"] is not None]
    assert cases, f"no failure vectors for {name}"
    accepted = []
    for v in cases:
        try:
            out = CALLS[name](bytes.fromhex(v["input"][2:]))
        except C.PrecompileError:
            continue
        accepted.append(f"{v['name']} ({v['expected_error']}): returned 0x{out.hex()}")
    assert not accepted, "\n".join(accepted)


def test_gas_matches_vectors(precompile_vectors):
    priced = [v for v in precompile_vectors if v["gas"] is not None]
    assert priced
    wrong = [v["name"] for v in priced if GAS[v["precompile"]](bytes.fromhex(v["input"][2:])) != int(v["gas"])]
    assert not wrong, wrong


# --- rules of EIP-196/197 beyond the vectors -------------------------------------------------------------

def word(v: int) -> bytes:
    return v.to_bytes(32, "big")


def test_short_input_is_padded_and_excess_ignored():
    g = C.g1_to_evm_bytes(C.G1_GENERATOR)
    assert C.ec_add(g) == g                                # second point padded to (0, 0)
    assert C.ec_add(g + g + b"\xff" * 40) == C.ec_add(g + g)
    assert C.ec_mul(g + word(3) + b"\x01" * 7) == C.g1_to_evm_bytes(C.g1_mul(C.G1_GENERATOR, 3))


def test_truncated_point_is_checked_after_padding():
    g = C.g1_to_evm_bytes(C.G1_GENERATOR)
    with pytest.raises(C.PrecompileError):
        C.ec_mul(g[:63])                                   # y = 2 becomes 0x..0200 after padding: off curve


def test_ec_mul_full_256_bit_scalar():
    g = C.g1_to_evm_bytes(C.G1_GENERATOR)
    k = 2**256 - 1
    assert C.ec_mul(g + word(k)) == C.g1_to_evm_bytes(C.g1_mul(C.G1_GENERATOR, k % R))
    assert C.ec_mul(g + word(R)) == bytes(64)


def test_rejects_coordinate_equal_to_p():
    with pytest.raises(C.PrecompileError, match="not in \\[0, p\\)"):
        C.ec_add(word(P) + word(0))


def test_pairing_rejects_g2_outside_subgroup():
    import random
    q = C.random_twist_point(random.Random(3))
    assert C.is_on_curve_g2(q)
    data = C.g1_to_evm_bytes(C.G1_GENERATOR) + C.g2_to_evm_bytes(q)
    with pytest.raises(C.PrecompileError, match="not in the order-r subgroup"):
        C.ec_pairing(data)


def test_pairing_rejects_real_part_first_g2():
    (x0, x1), (y0, y1) = C.G2_GENERATOR
    data = C.g1_to_evm_bytes(C.G1_GENERATOR) + word(x0) + word(x1) + word(y0) + word(y1)
    with pytest.raises(C.PrecompileError):
        C.ec_pairing(data)


def test_pairing_empty_input_and_gas():
    assert C.ec_pairing(b"") == word(1)
    assert C.ec_pairing_gas(b"") == 45000
    assert C.ec_pairing_gas(bytes(192 * 3)) == 45000 + 3 * 34000
    assert C.ec_add_gas(b"") == 150 and C.ec_mul_gas(b"") == 6000


def test_pairing_of_infinities_is_true():
    assert C.ec_pairing(bytes(192 * 2)) == word(1)


# --- properties against py_ecc -----------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402
from py_ecc import optimized_bn128 as ob  # noqa: E402


def py_ecc_bytes(point) -> bytes:
    if point is None or ob.is_inf(point):
        return bytes(64)
    x, y = ob.normalize(point)
    return word(x.n) + word(y.n)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=R - 1), st.integers(min_value=0, max_value=R - 1),
       st.integers(min_value=0, max_value=2**256 - 1))
def test_ec_add_and_ec_mul_match_py_ecc(a, b, k):
    pa, pb = ob.multiply(ob.G1, a), ob.multiply(ob.G1, b)
    assert C.ec_add(py_ecc_bytes(pa) + py_ecc_bytes(pb)) == py_ecc_bytes(ob.add(pa, pb))
    assert C.ec_mul(py_ecc_bytes(pa) + word(k)) == py_ecc_bytes(ob.multiply(pa, k % R))


@settings(max_examples=4, deadline=None)
@given(st.integers(min_value=1, max_value=R - 1), st.integers(min_value=1, max_value=R - 1))
def test_ec_pairing_accepts_exactly_the_balanced_products(a, b):
    p1, q1 = C.g1_mul(C.G1_GENERATOR, a), C.g2_mul(C.G2_GENERATOR, b)
    balanced = C.g1_to_evm_bytes(p1) + C.g2_to_evm_bytes(q1) + \
        C.g1_to_evm_bytes(C.g1_mul(C.G1_GENERATOR, -a * b)) + C.g2_to_evm_bytes(C.G2_GENERATOR)
    assert C.ec_pairing(balanced) == word(1)
    unbalanced = balanced[:192] + C.g1_to_evm_bytes(C.g1_mul(C.G1_GENERATOR, -a * b + 1)) + balanced[256:]
    assert C.ec_pairing(unbalanced) == word(0)
