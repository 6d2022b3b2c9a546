"""Chapter 03 (lumoz_ref.qap): QAP divisibility, the fast paths against the teaching version, snarkjs's rows."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lumoz_ref.field import R
from lumoz_ref.poly import Domain, Poly
from lumoz_ref.qap import (QAPError, QAPRemainderError, compute_h, divide_exactly, evaluate_qap_at,
                           numerator_on_coset, qap_domain_size, qap_rows, r1cs_to_qap, witness_evaluations)
from lumoz_ref.r1cs import R1CS, UnsatisfiedConstraint, load_r1cs, load_wtns

from test_r1cs import random_circuit

field = st.integers(min_value=0, max_value=R - 1)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dot(witness, values):
    return sum(w * v for w, v in zip(witness, values)) % R


def identity_at(r1cs, witness, h, tau) -> bool:
    """(Σ w_i A_i(τ))(Σ w_i B_i(τ)) − Σ w_i C_i(τ) == h(τ)·Z(τ)."""
    e = evaluate_qap_at(r1cs, tau)
    return (dot(witness, e.a) * dot(witness, e.b) - dot(witness, e.c)) % R == Poly(h)(tau) * e.z % R


@settings(max_examples=60, **SETTINGS)
@given(st.data())
def test_h_times_z_is_the_numerator_for_satisfied_witnesses(data):
    r, inputs, _, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    qap = r1cs_to_qap(r)
    h = compute_h(r, w)
    assert len(h) == qap_domain_size(r) - 1
    a, b, c = (sum((wi * p for wi, p in zip(w, polys)), Poly()) for polys in (qap.a, qap.b, qap.c))
    assert Poly(h) * qap.z == a * b - c
    assert Poly(h) == divide_exactly(qap, w)
    assert identity_at(r, w, h, data.draw(field))


@settings(max_examples=60, **SETTINGS)
@given(st.data())
def test_unsatisfied_witness_leaves_a_remainder(data):
    r, inputs, _, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    i = data.draw(st.integers(min_value=1, max_value=r.n_wires - 1))
    bad = list(w)
    bad[i] = (bad[i] + data.draw(st.integers(min_value=1, max_value=R - 1))) % R
    if r.is_satisfied(bad):
        assert divide_exactly(r1cs_to_qap(r), bad) == Poly(compute_h(r, bad))
        return
    with pytest.raises(QAPRemainderError) as e:
        divide_exactly(r1cs_to_qap(r), bad)
    # the remainder carries the defects: on the domain it equals A·B − C row by row
    omega = Domain(qap_domain_size(r)).omega
    a, b, c = witness_evaluations(r, bad)
    for j in range(qap_domain_size(r)):
        assert e.value.remainder(pow(omega, j, R)) == (a[j] * b[j] - c[j]) % R
    with pytest.raises(UnsatisfiedConstraint):
        compute_h(r, bad)
    # unchecked, the coset quotient is not a polynomial of degree ≤ n − 2 (or at least fails the identity)
    try:
        h = compute_h(r, bad, check=False)
    except QAPRemainderError:
        return
    assert not identity_at(r, bad, h, data.draw(field))


@settings(max_examples=40, **SETTINGS)
@given(st.data(), field)
def test_evaluate_qap_at_agrees_with_the_polynomials(data, tau):
    r, _, _, _ = random_circuit(data)
    qap = r1cs_to_qap(r)
    points = [tau, pow(Domain(qap.domain_size).omega, data.draw(st.integers(0, qap.domain_size - 1)), R)]
    for t in points:                                   # a random point, and a point of the domain (Z = 0)
        e = evaluate_qap_at(r, t)
        assert e.a == tuple(p(t) for p in qap.a)
        assert e.b == tuple(p(t) for p in qap.b)
        assert e.c == tuple(p(t) for p in qap.c)
        assert e.z == qap.z(t) and e.domain_size == qap.domain_size
    assert evaluate_qap_at(r, points[1]).z == 0


@settings(max_examples=30, **SETTINGS)
@given(st.data())
def test_witness_evaluations_are_the_polynomials_on_the_domain(data):
    r, inputs, _, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    qap = r1cs_to_qap(r)
    omega = Domain(qap.domain_size).omega
    evals = witness_evaluations(r, w)
    for polys, values in zip((qap.a, qap.b, qap.c), evals):
        combined = sum((wi * p for wi, p in zip(w, polys)), Poly())
        assert values == [combined(pow(omega, j, R)) for j in range(qap.domain_size)]


@settings(max_examples=20, **SETTINGS)
@given(st.data(), st.integers(min_value=2, max_value=R - 1))
def test_h_does_not_depend_on_the_coset(data, shift):
    r, inputs, _, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    n = qap_domain_size(r)
    if pow(shift, n, R) == 1:
        with pytest.raises(QAPError, match="lies in the domain"):
            compute_h(r, w, shift=shift)
    else:
        assert compute_h(r, w, shift=shift) == compute_h(r, w)


def test_domain_counts_constraints_and_public_rows():
    r = R1CS()
    a, b = r.public_input("a"), r.private_input("b")
    out = r.public_output("out")
    r.constrain(a, b, out)
    assert qap_domain_size(r) == 4                      # 1 constraint + rows for wires 0, 1, 2
    assert qap_rows(r)[1:] == [({0: 1}, {}, {}), ({1: 1}, {}, {}), ({2: 1}, {}, {})]
    r.constrain(a, a, r.private("sq", lambda w: w[a] * w[a]))
    assert qap_domain_size(r) == 8                      # 5 rows


def test_public_input_in_no_constraint_still_has_an_independent_polynomial():
    r = R1CS()
    unused = r.public_input("unused")
    x = r.private_input("x")
    r.mul(x, x)
    qap = r1cs_to_qap(r)
    i = r.wire_index(unused)
    assert qap.a[i] != Poly() and qap.b[i] == Poly() and qap.c[i] == Poly()
    # the row that carries it belongs to no other wire
    omega = Domain(qap.domain_size).omega
    row = r.n_constraints + i
    assert [p(pow(omega, row, R)) for p in qap.a] == [int(k == i) for k in range(r.n_wires)]


def test_rejects_bad_tau_and_witness_length():
    r = R1CS()
    x = r.private_input("x")
    r.mul(x, x)
    with pytest.raises(QAPError, match="tau must be a field element"):
        evaluate_qap_at(r, -1)
    with pytest.raises(QAPError, match="has 3 wires"):
        divide_exactly(r1cs_to_qap(r), [1, 2])


VECTOR_CIRCUITS = ["multiplier", "range_check", "square_chain", "multi_public"]


def read_zkey_coefficients(path) -> tuple[int, set]:
    """Domain size and the (matrix, row, wire, coefficient) entries of a snarkjs Groth16 .zkey (sections 2, 4).

    snarkjs stores each coefficient c as c·2^512 mod r (so that a Montgomery multiplication yields c in Montgomery
    form); 0 is matrix A, 1 is matrix B (C is not stored)."""
    data = path.read_bytes()
    assert data[:4] == b"zkey"
    sections, pos = {}, 12
    for _ in range(struct.unpack_from("<I", data, 8)[0]):
        kind, size = struct.unpack_from("<IQ", data, pos)
        sections[kind] = pos + 12
        pos += 12 + size
    p = sections[2]
    n8q = struct.unpack_from("<I", data, p)[0]
    p += 4 + n8q
    n8r = struct.unpack_from("<I", data, p)[0]
    p += 4 + n8r
    _, _, domain_size = struct.unpack_from("<III", data, p)
    p = sections[4]
    unscale = pow(pow(2, 512, R), -1, R)
    entries = set()
    for k in range(struct.unpack_from("<I", data, p)[0]):
        q = p + 4 + 44 * k
        matrix, row, wire = struct.unpack_from("<III", data, q)
        entries.add((matrix, row, wire, int.from_bytes(data[q + 12:q + 44], "little") * unscale % R))
    return domain_size, entries


@pytest.mark.parametrize("name", VECTOR_CIRCUITS)
def test_rows_and_domain_match_snarkjs_zkey(vectors, name):
    folder = vectors / "groth16" / name
    r = load_r1cs(folder / f"{name}.r1cs")
    domain_size, entries = read_zkey_coefficients(folder / f"{name}.zkey")
    assert qap_domain_size(r) == domain_size
    ours = {(matrix, row, wire, c) for row, sides in enumerate(qap_rows(r))
            for matrix, terms in enumerate(sides[:2]) for wire, c in terms.items()}
    assert ours == entries


@pytest.mark.parametrize("name", VECTOR_CIRCUITS)
def test_h_of_circom_vectors(vectors, name):
    folder = vectors / "groth16" / name
    r, w = load_r1cs(folder / f"{name}.r1cs"), load_wtns(folder / f"{name}.wtns")
    h = compute_h(r, w)
    assert len(h) == qap_domain_size(r) - 1
    for tau in (2, 3**100 % R, R - 1):
        assert identity_at(r, w, h, tau)
    # snarkjs's own coset ω_2n·H: Z = ω_2n^n − 1 = −2 there, and h = (A·B − C)/(−2) pointwise
    shift = Domain(2 * qap_domain_size(r)).omega
    numerator = numerator_on_coset(r, w, shift)
    h_poly = Poly(h)
    assert [h_poly(shift * pow(Domain(qap_domain_size(r)).omega, j, R) % R) * (R - 2) % R for j in range(4)] == numerator[:4]
