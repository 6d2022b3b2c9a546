"""Property tests of lumoz_ref.poly: NTT against the definition, interpolation, division, domains."""
from __future__ import annotations

import galois
import pytest
from hypothesis import given, settings, strategies as st

from lumoz_ref.field import MULTIPLICATIVE_GENERATOR, R, Fr, root_of_unity
from lumoz_ref.poly import (
    Domain, DivisionByZeroPolynomial, DuplicateInterpolationPoint, InvalidTransformSize, NotDivisible,
    Poly, coset_intt, coset_ntt, dft_naive, intt, lagrange_interpolate, ntt,
)

scalars = st.integers(min_value=0, max_value=R - 1)
log_sizes = st.integers(min_value=0, max_value=7)


def vectors_of_power_of_two_length(max_log: int = 7):
    return log_sizes.filter(lambda k: k <= max_log).flatmap(
        lambda k: st.lists(scalars, min_size=1 << k, max_size=1 << k))


polys = st.lists(scalars, max_size=12).map(Poly)
nonzero_polys = polys.filter(bool)


@given(vectors_of_power_of_two_length())
def test_ntt_round_trip(values):
    assert intt(ntt(values)) == values
    assert ntt(intt(values)) == values


@given(vectors_of_power_of_two_length(max_log=5))
def test_ntt_equals_naive_dft_equals_horner(values):
    n = len(values)
    omega = root_of_unity(n)
    points = [pow(omega, i, R) for i in range(n)]
    assert ntt(values) == dft_naive(values, omega) == [Poly(values)(x) for x in points]


@given(vectors_of_power_of_two_length(max_log=5))
def test_intt_matches_galois_interpolation(values):
    gf = galois.GF(R, primitive_element=MULTIPLICATIVE_GENERATOR, verify=False)
    n = len(values)
    omega = root_of_unity(n)
    points = [pow(omega, i, R) for i in range(n)]
    expected = galois.lagrange_poly(gf(points), gf(values)) if n > 1 else galois.Poly(gf(values))
    assert Poly(intt(values)) == Poly([int(c) for c in reversed(expected.coeffs)])  # galois: high to low


@given(vectors_of_power_of_two_length(), st.integers(1, R - 1))
def test_coset_round_trip_and_points(values, shift):
    assert coset_intt(coset_ntt(values, shift), shift) == values
    n = len(values)
    omega = root_of_unity(n)
    some = range(0, n, max(1, n // 4))
    evaluations = coset_ntt(values, shift)
    assert [evaluations[i] for i in some] == [Poly(values)(shift * pow(omega, i, R)) for i in some]


@given(st.lists(st.integers(-3 * R, 3 * R), min_size=8, max_size=8))
def test_ntt_reduces_non_canonical_inputs(values):
    assert ntt(values) == ntt([v % R for v in values])
    assert all(0 <= y < R for y in ntt(values))


@pytest.mark.parametrize("n", [0, 3, 6, 12, 1000])
def test_rejects_non_power_of_two_size(n):
    with pytest.raises(InvalidTransformSize, match="not a power of two"):
        ntt([1] * n)
    with pytest.raises(InvalidTransformSize):
        intt([1] * n)
    with pytest.raises(InvalidTransformSize):
        Domain(n)


def test_rejects_non_int_values():
    for bad in ([1.0, 2.0], [Fr(1), Fr(2)], ["1", "2"]):
        with pytest.raises(TypeError, match="NTT takes ints"):
            ntt(bad)


@given(st.data(), st.integers(min_value=1, max_value=10))
def test_interpolation_through_random_points(data, count):
    xs = data.draw(st.lists(scalars, min_size=count, max_size=count, unique=True))
    ys = data.draw(st.lists(scalars, min_size=count, max_size=count))
    poly = lagrange_interpolate(xs, ys)
    assert poly.degree < count
    assert [poly(x) for x in xs] == ys


@given(st.lists(scalars, min_size=2, max_size=6, unique=True), st.data())
def test_rejects_duplicate_interpolation_point(xs, data):
    duplicate = data.draw(st.sampled_from(xs))
    with pytest.raises(DuplicateInterpolationPoint, match="both"):
        lagrange_interpolate(xs + [duplicate + R], [0] * (len(xs) + 1))


@given(polys, nonzero_polys)
def test_divmod_identity(a, b):
    quotient, remainder = divmod(a, b)
    assert quotient * b + remainder == a
    assert remainder.degree < b.degree


@given(polys, nonzero_polys)
def test_exact_division(a, b):
    assert (a * b) / b == a
    if (a * b + 1) % b:
        with pytest.raises(NotDivisible, match="remainder"):
            (a * b + 1) / b


@given(polys)
def test_rejects_division_by_zero_polynomial(a):
    with pytest.raises(DivisionByZeroPolynomial):
        divmod(a, Poly())
    with pytest.raises(ZeroDivisionError):
        a / 0


@given(polys, polys, scalars)
def test_ring_operations_agree_with_evaluation(a, b, x):
    assert (a + b)(x) == (a(x) + b(x)) % R
    assert (a - b)(x) == (a(x) - b(x)) % R
    assert (a * b)(x) == a(x) * b(x) % R


@given(st.lists(scalars, min_size=60, max_size=90), st.lists(scalars, min_size=60, max_size=90), scalars)
@settings(max_examples=10)
def test_ntt_product_agrees_with_evaluation(a, b, x):
    a, b = Poly(a), Poly(b)  # both long enough to take the NTT path
    assert (a * b)(x) == a(x) * b(x) % R


@given(log_sizes)
def test_vanishing_poly_is_zero_on_domain(log_n):
    domain = Domain(1 << log_n)
    z = domain.vanishing_poly()
    assert z.degree == domain.size
    assert all(z(w) == 0 for w in domain.elements())
    assert z == Poly.vanishing(domain.elements())


@given(st.lists(scalars, max_size=8), scalars)
def test_vanishing_of_points(points, x):
    z = Poly.vanishing(points)
    assert all(z(p) == 0 for p in points)
    if x not in points:
        assert z(x) != 0


@given(log_sizes, scalars)
def test_lagrange_coefficients_at_point(log_n, tau):
    domain = Domain(1 << log_n)
    coefficients = domain.lagrange_coefficients_at(tau)
    if log_n <= 4:
        basis = [domain.interpolate([int(i == j) for j in range(domain.size)]) for i in range(domain.size)]
        assert coefficients == [L(tau) for L in basis]
    assert sum(coefficients) % R == 1
    values = list(range(domain.size))
    assert sum(c * v for c, v in zip(coefficients, values)) % R == domain.interpolate(values)(tau)


def test_lagrange_coefficients_on_the_domain_are_unit_vectors():
    domain = Domain(16)
    for k, w in enumerate(domain.elements()):
        assert domain.lagrange_coefficients_at(w) == [int(i == k) for i in range(16)]
