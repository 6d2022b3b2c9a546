"""The optional native backend (MCL through PyPI `mclbn256`) against the Python path."""
from __future__ import annotations

import random

import pytest

pytest.importorskip("mclbn256", reason="optional native backend: `pip install mclbn256` to test it")

from lumoz_ref import curve as C  # noqa: E402
from lumoz_ref.field import R  # noqa: E402


@pytest.fixture
def native():
    C.set_backend("native")
    try:
        yield
    finally:
        C.set_backend("python")


def on_both_backends(f):
    C.set_backend("native")
    try:
        native_result = f()
    finally:
        C.set_backend("python")
    return native_result, f()


def test_msm_g1_native_equals_python():
    rng = random.Random(1)
    points = C.batch_mul_g1(C.G1_GENERATOR, [rng.randrange(R) for _ in range(300)]) + [None]
    ks = [rng.randrange(R) for _ in range(298)] + [0, R + 5, -7]
    native, python = on_both_backends(lambda: C.msm_g1(points, ks))
    assert native == python is not None


def test_msm_g2_native_equals_python():
    rng = random.Random(2)
    points = C.batch_mul_g2(C.G2_GENERATOR, [rng.randrange(R) for _ in range(40)])
    ks = [rng.randrange(R) for _ in range(40)]
    native, python = on_both_backends(lambda: C.msm_g2(points, ks))
    assert native == python is not None
    cancelling = on_both_backends(lambda: C.msm_g2([points[0], points[0]], [1, R - 1]))
    assert cancelling == (None, None)


def test_pairing_check_native_equals_python():
    rng = random.Random(3)
    for _ in range(4):
        a, b, c = (rng.randrange(1, R) for _ in range(3))
        pairs = [(C.g1_mul(C.G1_GENERATOR, a), C.g2_mul(C.G2_GENERATOR, b)),
                 (C.g1_mul(C.G1_GENERATOR, -a * b * pow(c, -1, R)), C.g2_mul(C.G2_GENERATOR, c))]
        assert on_both_backends(lambda: C.pairing_check(pairs)) == (True, True)
        broken = [pairs[0], (C.g1_mul(C.G1_GENERATOR, 1), pairs[1][1])]
        assert on_both_backends(lambda: C.pairing_check(broken)) == (False, False)


def test_native_backend_still_validates(native):
    with pytest.raises(C.InvalidPoint):
        C.msm_g1([(1, 3)], [1])
    with pytest.raises(C.NotInSubgroup):
        C.pairing_check([(C.G1_GENERATOR, C.random_twist_point(random.Random(5)))])
    assert C.ec_pairing(b"") == (1).to_bytes(32, "big")


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        C.set_backend("gpu")
    assert C.get_backend() == "python"


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_native_msm_in_chunks_equals_python(monkeypatch, chunk):
    "Long MSMs go to MCL in chunks (its mulVec crashed on 2^18 points); the chunked sum is the same point."
    monkeypatch.setattr(C, "MCL_MSM_CHUNK", chunk)
    rng = random.Random(chunk)
    g1 = C.batch_mul_g1(C.G1_GENERATOR, [rng.randrange(1, R) for _ in range(50)])
    g2 = C.batch_mul_g2(C.G2_GENERATOR, [rng.randrange(1, R) for _ in range(20)])
    ks = [rng.randrange(R) for _ in range(50)]
    assert on_both_backends(lambda: (C.msm_g1(g1, ks), C.msm_g2(g2, ks[:20]))) == 2 * ((C.msm_g1(g1, ks), C.msm_g2(g2, ks[:20])),)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_checked_bases_on_mcl_equal_python(monkeypatch, chunk):
    """MSMBases keep MCL's form of every point, infinity included, and the native MSM takes every scalar,
    zeros included; read chunk by chunk from one array, the sum is the Python path's."""
    monkeypatch.setattr(C, "MCL_MSM_CHUNK", chunk)
    rng = random.Random(chunk)
    g1 = C.batch_mul_g1(C.G1_GENERATOR, [rng.randrange(1, R) for _ in range(60)]) + [None, None]
    g2 = C.batch_mul_g2(C.G2_GENERATOR, [rng.randrange(1, R) for _ in range(20)]) + [None]
    ks = [rng.choice([0, 0, 1, R - 1, rng.randrange(R)]) for _ in range(61)] + [5]  # infinity × 5
    b1, b2 = C.msm_bases_g1(g1), C.msm_bases_g2(g2)
    want = (C.msm_g1(g1, ks), C.msm_g2(g2, ks[:21]))
    for scalars in (ks, [0] * 62, [-k for k in ks]):
        got = on_both_backends(lambda: (C.msm_g1(b1, scalars), C.msm_g2(b2, scalars[:21])))
        assert got[0] == got[1] == (C.msm_g1(g1, scalars), C.msm_g2(g2, scalars[:21]))
    assert want[0] is not None and want[1] is not None
    assert on_both_backends(lambda: C.msm_g1(b1, [0] * 62)) == (None, None)
