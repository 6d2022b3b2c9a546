"""Property tests of lumoz_ref.field, cross-checked against the independent `galois` library."""
from __future__ import annotations

import functools

import galois
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from lumoz_ref.field import (
    MULTIPLICATIVE_GENERATOR, P, R, TWO_ADICITY, Fq, Fr, InverseOfZero, NonCanonicalElement,
    NoSuchRootOfUnity, NotASquare, batch_inverse, inv_mod, root_of_unity,
)

FIELDS = [Fr, Fq]
GENERATOR = {R: MULTIPLICATIVE_GENERATOR, P: 3}  # 3 generates Fp* (checked in test_generators_generate)


@functools.cache
def galois_field(modulus: int):
    "galois.GF for a BN254 prime; the generator is given because galois' own search takes ~87 s."
    return galois.GF(modulus, primitive_element=GENERATOR[modulus], verify=False)


def elements(field):
    return st.integers(min_value=0, max_value=field.modulus - 1).map(field)


def any_ints(field):
    "Ints around and beyond the field: negatives, multiples of the modulus, huge values."
    q = field.modulus
    return st.one_of(st.integers(), st.integers(-3 * q, 3 * q), st.sampled_from([0, 1, q - 1, q, q + 1, -1, -q]))


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_field_axioms(field, data):
    a, b, c = (data.draw(elements(field)) for _ in range(3))
    zero, one = field(0), field(1)
    assert a + b == b + a and a * b == b * a
    assert (a + b) + c == a + (b + c) and (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c
    assert a + zero == a and a * one == a and a + (-a) == zero
    assert a - b == a + (-b)
    if a:
        assert a * a.inverse() == one and b / a * a == b


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_matches_galois(field, data):
    gf = galois_field(field.modulus)
    x, y = data.draw(any_ints(field)), data.draw(any_ints(field))
    q = field.modulus
    a, b, ga, gb = field(x), field(y), gf(x % q), gf(y % q)
    assert int(a + b) == int(ga + gb) and int(a - b) == int(ga - gb) and int(a * b) == int(ga * gb)
    exponent = data.draw(st.integers(0, 2 * q))
    assert int(a ** exponent) == int(ga ** exponent)
    if a:
        assert int(a.inverse()) == int(ga ** -1) and int(b / a) == int(gb / ga)
        assert a.legendre() == (1 if ga.is_square() else -1)
    else:
        assert a.legendre() == 0


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_int_arithmetic_reduces(field, data):
    x, y = data.draw(any_ints(field)), data.draw(any_ints(field))
    q = field.modulus
    assert field(x) == x % q
    assert int(field(x) + y) == (x + y) % q == int(y + field(x))
    assert int(field(x) - y) == (x - y) % q and int(y - field(x)) == (y - x) % q
    assert int(field(x) * y) == x * y % q


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_sqrt_of_square(field, data):
    a = data.draw(elements(field))
    root = (a * a).sqrt()
    assert root * root == a * a
    assert root in (a, -a)
    assert int(root) <= (field.modulus - 1) // 2  # the documented choice: the smaller canonical int


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_rejects_sqrt_of_non_residue(field, data):
    a = data.draw(elements(field).filter(bool))
    non_residue = a * a * field.non_residue  # a square times a non-residue is a non-residue
    assert non_residue.legendre() == -1
    with pytest.raises(NotASquare, match="not a square"):
        non_residue.sqrt()


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_bytes_round_trip(field, data):
    a = data.draw(elements(field))
    encoded = a.to_bytes()
    assert len(encoded) == 32 and int.from_bytes(encoded, "big") == int(a)
    assert field.from_bytes(encoded) == a


@pytest.mark.parametrize("field", FIELDS)
@given(value=st.integers(min_value=0, max_value=2**256 - 1))
def test_rejects_non_canonical_bytes(field, value):
    encoded = value.to_bytes(32, "big")
    if value < field.modulus:
        assert int(field.from_bytes(encoded)) == value
    else:
        with pytest.raises(NonCanonicalElement, match=">= the modulus"):
            field.from_bytes(encoded)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_rejects_wrong_length_bytes(field, length):
    with pytest.raises(NonCanonicalElement, match=f"{length} bytes"):
        field.from_bytes(b"\x00" * length)


@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_strict_rejects_out_of_range(field, data):
    q = field.modulus
    value = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=q)))
    with pytest.raises(NonCanonicalElement, match="not in"):
        field(value, strict=True)
    inside = data.draw(st.integers(0, q - 1))
    assert int(field(inside, strict=True)) == inside


def test_rejects_mixing_fields():
    for operation in (lambda: Fr(1) + Fq(1), lambda: Fq(1) * Fr(1), lambda: Fr(1) == Fq(1), lambda: Fr(Fq(2))):
        with pytest.raises(TypeError, match="cannot mix"):
            operation()


def test_rejects_inverse_of_zero():
    for field in FIELDS:
        for operation in (lambda: field(0).inverse(), lambda: field(1) / 0, lambda: field(0) ** -1):
            with pytest.raises(ZeroDivisionError, match="no inverse"):
                operation()
    with pytest.raises(InverseOfZero):
        inv_mod(R, R)


@given(st.lists(st.integers(1, R - 1), max_size=40))
def test_batch_inverse_matches_single_inverses(values):
    assert batch_inverse(values) == [inv_mod(v) for v in values]


@given(st.lists(st.integers(1, P - 1), min_size=1, max_size=10), st.data())
def test_batch_inverse_names_the_zero(values, data):
    position = data.draw(st.integers(0, len(values)))
    with pytest.raises(InverseOfZero, match=rf"values\[{position}\]"):
        batch_inverse(values[:position] + [P] + values[position:], P)


@pytest.mark.parametrize("log_n", range(TWO_ADICITY + 1))
def test_roots_of_unity_are_primitive(log_n):
    n = 1 << log_n
    omega = root_of_unity(n)
    assert pow(omega, n, R) == 1
    if n > 1:
        assert pow(omega, n // 2, R) == R - 1  # order exactly n
    assert int(Fr.root_of_unity(n)) == omega
    assert omega == int(galois_field(R).primitive_root_of_unity(n)) or n == 1


@pytest.mark.parametrize("n", [0, -4, 3, 12, 2**28 + 1, 2**29, 2**40])
def test_rejects_bad_root_of_unity_order(n):
    with pytest.raises(NoSuchRootOfUnity):
        root_of_unity(n)
    with pytest.raises(NoSuchRootOfUnity):
        Fr.root_of_unity(n)
    with pytest.raises(NoSuchRootOfUnity):
        Fq.root_of_unity(4)


def test_two_adicity_and_non_residues():
    assert sympy.factorint(R - 1)[2] == TWO_ADICITY and (P - 1) % 4 == 2
    for field in FIELDS:
        q = field.modulus
        assert (q - 1) % 2**field.two_adicity == 0 and ((q - 1) >> field.two_adicity) % 2 == 1
        assert field(field.non_residue).legendre() == -1


def test_generators_generate():
    """5 generates Fr* and 3 generates Fp*: g^((q-1)/f) != 1 for every prime f | q-1 (sympy factors
    r-1 in ~1.3 s, so this is not a slow test)."""
    for modulus, generator in GENERATOR.items():
        factors = sympy.factorint(modulus - 1)
        assert all(pow(generator, (modulus - 1) // f, modulus) != 1 for f in factors)
        assert galois_field(modulus).primitive_element == generator


@pytest.mark.interop
def test_roots_of_unity_match_snarkjs(snarkjs):
    """snarkjs computes its FFT domains with ffjavascript's wasm BN254 field: its 2^k-th roots of unity
    (`Fr.w[k]`) must be ours, or QAP evaluations and zkey files would not line up."""
    import json
    import subprocess

    node_modules = snarkjs.parent.parent  # interop/node_modules/.bin/snarkjs -> interop/node_modules
    script = (
        "const {buildBn128} = require('ffjavascript');"
        "buildBn128(true).then(curve => {"
        "  const roots = []; for (let k = 0; k <= curve.Fr.s; k++) roots.push(curve.Fr.toString(curve.Fr.w[k]));"
        "  console.log(JSON.stringify({s: curve.Fr.s, roots})); curve.terminate(); });"
    )
    completed = subprocess.run(["node", "-e", script], cwd=node_modules.parent, capture_output=True,
                               text=True, timeout=120, check=True)
    reported = json.loads(completed.stdout.strip().splitlines()[-1])
    assert reported["s"] == TWO_ADICITY
    assert [int(w) for w in reported["roots"]] == [root_of_unity(1 << k) for k in range(TWO_ADICITY + 1)]


def test_accepts_integer_like_values_and_rejects_floats():
    from gmpy2 import mpz

    assert Fr(mpz(R + 5)) == 5 and Fq(mpz(7), strict=True) == 7
    with pytest.raises(NonCanonicalElement):
        Fr(mpz(R), strict=True)
    for bad in (1.0, "1", b"\x01", None):
        with pytest.raises(TypeError, match="takes an int"):
            Fr(bad)
