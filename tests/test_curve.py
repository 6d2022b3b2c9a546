"""Cross-checks of lumoz_ref.curve against py_ecc, and property tests of the group law, MSM and pairing."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st
from py_ecc import bn128, optimized_bn128 as ob

from lumoz_ref import curve as C
from lumoz_ref.field import P, R

scalars = st.integers(min_value=0, max_value=R - 1)
any_ints = st.integers(min_value=-(2**300), max_value=2**300)
FAST = settings(max_examples=25, deadline=None)
SLOW = settings(max_examples=4, deadline=None)


def py_ecc_g1(k: int):
    return C.from_py_ecc(ob.multiply(ob.G1, k % R)) if k % R else None


def py_ecc_g2(k: int):
    return C.from_py_ecc(ob.multiply(ob.G2, k % R)) if k % R else None


def twist_point_outside_g2(seed: int):
    """A point of E'(F_p²) outside G2, checked independently with py_ecc."""
    point = C.random_twist_point(random.Random(seed))
    q = C.to_py_ecc(point)
    assert bn128.is_on_curve(q, bn128.b2)
    assert bn128.multiply(q, R) is not None                # not in the r-torsion
    return point


# --- group law and scalar multiplication -------------------------------------------------------------

@FAST
@given(scalars, scalars, scalars)
def test_g1_group_law(a, b, c):
    A, B, Cc = (C.g1_mul(C.G1_GENERATOR, k) for k in (a, b, c))
    assert C.g1_add(A, B) == C.g1_add(B, A)
    assert C.g1_add(C.g1_add(A, B), Cc) == C.g1_add(A, C.g1_add(B, Cc))
    assert C.g1_add(A, None) == A
    assert C.g1_add(A, C.g1_neg(A)) is None
    assert C.g1_add(A, B) == py_ecc_g1(a + b)
    assert C.g1_double(A) == py_ecc_g1(2 * a)


@FAST
@given(any_ints)
def test_g1_mul_matches_py_ecc(k):
    assert C.g1_mul(C.G1_GENERATOR, k) == py_ecc_g1(k)


@SLOW
@given(scalars, scalars)
def test_g2_group_law_and_mul_match_py_ecc(a, b):
    A, B = C.g2_mul(C.G2_GENERATOR, a), C.g2_mul(C.G2_GENERATOR, b)
    assert A == py_ecc_g2(a) and B == py_ecc_g2(b)
    assert C.g2_add(A, B) == C.g2_add(B, A) == py_ecc_g2(a + b)
    assert C.g2_add(A, C.g2_neg(A)) is None
    assert C.g2_double(A) == py_ecc_g2(2 * a)


def test_py_ecc_round_trip():
    for k in (1, 2, 12345):
        assert C.to_py_ecc(C.g1_mul(C.G1_GENERATOR, k)) == bn128.multiply(bn128.G1, k)
        assert C.to_py_ecc(C.g2_mul(C.G2_GENERATOR, k)) == bn128.multiply(bn128.G2, k)
        assert C.from_py_ecc(ob.multiply(ob.G2, k)) == C.g2_mul(C.G2_GENERATOR, k)
    assert C.to_py_ecc(None) is None and C.from_py_ecc(ob.Z1) is None


# --- validation ---------------------------------------------------------------------------------------

def test_rejects_g2_point_outside_subgroup():
    for seed in range(3):
        q = twist_point_outside_g2(seed)
        assert C.is_on_curve_g2(q)
        with pytest.raises(C.NotInSubgroup, match="Q2 is on the twist but not in"):
            C.validate_g2(q, "Q2")
        with pytest.raises(C.NotInSubgroup):
            C.pairing_check([(C.G1_GENERATOR, q)])
        with pytest.raises(C.NotInSubgroup):
            C.g2_from_evm_bytes(C.g2_to_evm_bytes(q))
        cleared = C.from_py_ecc(bn128.multiply(C.to_py_ecc(q), C.TWIST_COFACTOR))
        assert C.validate_g2(cleared) == cleared               # [h]Q is in G2
        assert bn128.multiply(C.to_py_ecc(cleared), R) is None


def test_subgroup_check_agrees_with_multiplication_by_r():
    points = [twist_point_outside_g2(10 + i) for i in range(2)] + [C.g2_mul(C.G2_GENERATOR, 99)]
    for q in points:
        fast = C._g2_in_subgroup(C._g2_coords(q))
        slow = bn128.multiply(C.to_py_ecc(q), R) is None
        assert fast == slow


@FAST
@given(st.integers(min_value=0, max_value=1), st.integers(min_value=0, max_value=3 * P))
def test_rejects_g1_coordinate_not_below_p(which, extra):
    pt = list(C.g1_mul(C.G1_GENERATOR, 7))
    pt[which] += P + extra                                    # same value mod p, not canonical
    with pytest.raises(C.CoordinateOutOfRange, match="[xy] = .* is not in"):
        C.validate_g1(tuple(pt), "A")
    with pytest.raises(C.CoordinateOutOfRange):
        C.g1_add(tuple(pt), None)


@pytest.mark.parametrize("coordinate", ["x.c0", "x.c1", "y.c0", "y.c1"])
def test_rejects_g2_coordinate_not_below_p(coordinate):
    (x0, x1), (y0, y1) = C.G2_GENERATOR
    values = {"x.c0": x0, "x.c1": x1, "y.c0": y0, "y.c1": y1}
    values[coordinate] += P
    q = ((values["x.c0"], values["x.c1"]), (values["y.c0"], values["y.c1"]))
    with pytest.raises(C.CoordinateOutOfRange, match=f"B.{coordinate}"):
        C.validate_g2(q, "B")


def test_rejects_negative_coordinate():
    with pytest.raises(C.CoordinateOutOfRange):
        C.validate_g1((1, -2))


def test_rejects_point_off_curve():
    with pytest.raises(C.InvalidPoint, match="not on y² = x³ \\+ 3"):
        C.validate_g1((1, 3))
    (x, y) = C.G2_GENERATOR
    with pytest.raises(C.InvalidPoint, match="not on the twist"):
        C.validate_g2((x, (y[0], (y[1] + 1) % P)))
    assert issubclass(C.InvalidPoint, C.CurveError) and issubclass(C.CurveError, ValueError)


# --- MSM and fixed-base multiplication ----------------------------------------------------------------

@FAST
@given(st.lists(st.tuples(scalars, any_ints), min_size=0, max_size=12), st.sampled_from([None, 2, 5, 9]))
def test_msm_g1_matches_naive_and_py_ecc(terms, window):
    points = [C.g1_mul(C.G1_GENERATOR, a) for a, _ in terms]
    ks = [k for _, k in terms]
    fast = C.msm_g1(points, ks, window=window)
    assert fast == C.msm_naive_g1(points, ks)
    acc = None
    for a, k in terms:
        acc = ob.add(acc, ob.multiply(ob.G1, a * k % R)) if acc is not None else ob.multiply(ob.G1, a * k % R)
    assert fast == (C.from_py_ecc(acc) if acc is not None else None)


def test_msm_g1_edge_cases():
    g = C.G1_GENERATOR
    assert C.msm_g1([g, g, g], [1, 1, R - 2]) is None             # cancels to infinity
    assert C.msm_g1([g] * 40, [3] * 40) == C.g1_mul(g, 120)        # many equal points in one bucket
    assert C.msm_g1([g, C.g1_neg(g)], [5, 5]) is None
    with pytest.raises(C.InvalidPoint, match="points\\[0\\]"):
        C.msm_g1([(1, 3)], [1])


@SLOW
@given(st.lists(st.tuples(scalars, scalars), min_size=1, max_size=5), st.sampled_from([None, 3]))
def test_msm_g2_matches_py_ecc(terms, window):
    points = [C.g2_mul(C.G2_GENERATOR, a) for a, _ in terms]
    want = py_ecc_g2(sum(a * k for a, k in terms))
    assert C.msm_g2(points, [k for _, k in terms], window=window) == want


def test_msm_larger_random_instance():
    rng = random.Random(42)
    n = 300
    secrets = [rng.randrange(R) for _ in range(n)]
    ks = [rng.randrange(R) for _ in range(n)]
    points = C.batch_mul_g1(C.G1_GENERATOR, secrets)
    want = py_ecc_g1(sum(a * k for a, k in zip(secrets, ks)))
    assert C.msm_g1(points, ks) == want
    assert C.msm_g1(points, ks, window=4) == want
    q_points = C.batch_mul_g2(C.G2_GENERATOR, secrets[:64])
    assert C.msm_g2(q_points, ks[:64]) == py_ecc_g2(sum(a * k for a, k in zip(secrets[:64], ks[:64])))


@FAST
@given(st.lists(any_ints, max_size=20), st.sampled_from([None, 3, 8]))
def test_batch_mul_g1_matches_py_ecc(ks, window):
    assert C.batch_mul_g1(C.G1_GENERATOR, ks, window=window) == [py_ecc_g1(k) for k in ks]


def test_batch_mul_g2_matches_py_ecc():
    ks = [0, 1, R - 1, 2**255 + 3] + [random.Random(1).randrange(R) for _ in range(6)]
    assert C.batch_mul_g2(C.G2_GENERATOR, ks) == [py_ecc_g2(k) for k in ks]


# --- pairing -------------------------------------------------------------------------------------------

@SLOW
@given(st.integers(min_value=1, max_value=R - 1), st.integers(min_value=1, max_value=R - 1))
def test_pairing_bilinear_and_equal_to_py_ecc(a, b):
    e = C.pairing(C.g1_mul(C.G1_GENERATOR, a), C.g2_mul(C.G2_GENERATOR, b))
    assert e == C.pairing(C.g1_mul(C.G1_GENERATOR, a * b), C.G2_GENERATOR)
    assert e == C.pairing(C.G1_GENERATOR, C.g2_mul(C.G2_GENERATOR, a * b))
    assert C.gt_to_py_ecc(e) == ob.pairing(ob.multiply(ob.G2, b), ob.multiply(ob.G1, a))


def test_pairing_is_non_degenerate_and_of_order_r():
    e = C.pairing(C.G1_GENERATOR, C.G2_GENERATOR)
    assert e != C.GT_ONE
    assert C.gt_to_py_ecc(e) ** R == ob.FQ12.one()


@SLOW
@given(st.lists(st.tuples(scalars, scalars), min_size=1, max_size=4))
def test_pairing_check_groth16_shape(terms):
    """∏ e(a_i·G1, b_i·G2) = 1 exactly when Σ a_i·b_i ≡ 0: close the sum with one more pair."""
    pairs = [(C.g1_mul(C.G1_GENERATOR, a), C.g2_mul(C.G2_GENERATOR, b)) for a, b in terms]
    total = sum(a * b for a, b in terms) % R
    closing = (C.g1_mul(C.G1_GENERATOR, -total), C.G2_GENERATOR)
    assert C.pairing_check(pairs + [closing])
    assert not C.pairing_check(pairs + [(C.g1_mul(C.G1_GENERATOR, -total + 1), C.G2_GENERATOR)])
    shared = C.final_exponentiation(C.miller_loop(pairs))
    product = C.GT_ONE
    for p1, q2 in pairs:
        product = C.gt_mul(product, C.pairing(p1, q2))
    assert shared == product


def test_pairing_with_infinity_is_one():
    assert C.pairing(None, C.G2_GENERATOR) == C.GT_ONE == C.pairing(C.G1_GENERATOR, None)
    assert C.pairing_check([(None, C.G2_GENERATOR), (C.G1_GENERATOR, None)])


# --- EVM encodings ---------------------------------------------------------------------------------

def test_evm_encoding_round_trip_and_order():
    q = C.g2_mul(C.G2_GENERATOR, 5)
    data = C.g2_to_evm_bytes(q)
    (x0, x1), (y0, y1) = q
    assert data == b"".join(v.to_bytes(32, "big") for v in (x1, x0, y1, y0))
    assert C.g2_from_evm_bytes(data) == q
    assert C.g1_from_evm_bytes(C.g1_to_evm_bytes(C.G1_GENERATOR)) == C.G1_GENERATOR
    with pytest.raises(ValueError, match="expected 64 bytes"):
        C.g1_from_evm_bytes(bytes(63))


@pytest.mark.parametrize("kind", ["small_signed", "all_equal", "powers_of_two", "near_r"])
def test_msm_with_repeated_points_and_structured_scalars(kind):
    """Repeated points put equal and opposite points in one bucket: the batched additions' special cases."""
    rng = random.Random(kind)
    base = C.batch_mul_g1(C.G1_GENERATOR, list(range(1, 9)))
    points = [base[rng.randrange(8)] for _ in range(200)]
    ks = {"small_signed": [rng.randrange(-3, 4) for _ in points],
          "all_equal": [123456789123456789] * len(points),
          "powers_of_two": [2 ** rng.randrange(254) for _ in points],
          "near_r": [R - rng.randrange(1, 3) for _ in points]}[kind]
    want = C.msm_naive_g1(points, ks)
    assert C.msm_g1(points, ks) == want
    assert C.msm_g1(points, ks, window=3) == want


@pytest.mark.parametrize("small_order", [10069, 5864401])
def test_rejects_g2_point_of_small_order(small_order):
    """h = 2p − r has the small prime factors 10069 and 5864401: points of those orders (alone, or hidden
    in a G2 point) are what a small-subgroup attack would feed a verifier."""
    assert C.TWIST_COFACTOR % small_order == 0
    t = C.to_py_ecc(C.random_twist_point(random.Random(small_order)))
    small = C.from_py_ecc(bn128.multiply(t, C.TWIST_COFACTOR // small_order * R))
    assert small is not None and bn128.multiply(C.to_py_ecc(small), small_order) is None
    for q in (small, C.g2_add(small, C.G2_GENERATOR)):
        with pytest.raises(C.NotInSubgroup):
            C.validate_g2(q)
        with pytest.raises(C.PrecompileError, match="not in the order-r subgroup"):
            C.ec_pairing(C.g1_to_evm_bytes(C.G1_GENERATOR) + C.g2_to_evm_bytes(q))



@pytest.mark.parametrize("group", ["g1", "g2"])
@settings(max_examples=20, deadline=None)
@given(kinds=st.lists(st.sampled_from(["sum", "double", "cancel"]), min_size=1, max_size=12),
       ks=st.lists(scalars.filter(bool), min_size=24, max_size=24))
def test_batch_addition_with_doubles_and_cancellations_anywhere(group, kinds, ks):
    """One batch mixing a + b, a + a and a + (−a) in any order: the shared inversion must skip the
    pairs it cannot invert (x2 = x1) without shifting the others', and each sum must be py_ecc's."""
    to_point, batch, coords, out = {
        "g1": (py_ecc_g1, C._g1_add_batch, C._g1_coords, C._g1_out),
        "g2": (py_ecc_g2, C._g2_add_batch, C._g2_coords, C._g2_out)}[group]
    pairs = []
    for i, kind in enumerate(kinds):
        a, b = ks[2 * i], ks[2 * i + 1]
        if kind == "sum" and (a - b) % R and (a + b) % R:
            pairs.append((a, b))
        else:
            pairs.append((a, a if kind == "double" else R - a))
    got = batch([coords(to_point(a)) for a, _ in pairs], [coords(to_point(b)) for _, b in pairs])
    assert [None if g is None else out(g) for g in got] == [to_point(a + b) for a, b in pairs]
