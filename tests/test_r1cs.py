"""Chapter 02 (lumoz_ref.r1cs): property tests of the builder and robustness of the file readers."""
from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from lumoz_ref.field import P, R
from lumoz_ref.r1cs import (R1CS, CircuitDefinitionError, LinearCombination, R1CSFormatError, UnsatisfiedConstraint,
                            Variable, WitnessError, load_r1cs, load_wtns, save_r1cs, save_wtns)

REPO = Path(__file__).resolve().parents[1]
field = st.integers(min_value=0, max_value=R - 1)
small = st.integers(min_value=-5, max_value=5)


def random_circuit(data) -> tuple[R1CS, dict, dict, dict]:
    """A random system with all wire kinds declared in random order, and an independent model of its values.

    Returns (r1cs, inputs, model {Variable: value}, defining constraint index of each `mul` result)."""
    r = R1CS("random")
    model: dict[Variable, int] = {}
    inputs: dict[str, int] = {}
    defined_by: dict[Variable, int] = {}
    n_inputs = 0

    def lc():
        vs = list(model)
        picks = data.draw(st.lists(st.sampled_from(vs), min_size=1, max_size=3)) if vs else []
        coefs = [data.draw(small) for _ in picks]
        const = data.draw(small)
        expr = sum((c * v for c, v in zip(coefs, picks)), LinearCombination({})) + const
        return expr, (sum(c * model[v] for c, v in zip(coefs, picks)) + const) % R

    for step in range(data.draw(st.integers(min_value=2, max_value=12))):
        op = data.draw(st.sampled_from(["public_input", "private_input", "mul", "output", "square_hint"]
                                       if n_inputs < 5 else ["mul", "output", "square_hint"]))
        if not model or op in ("public_input", "private_input"):
            kind = "public_input" if op == "public_input" else "private_input"
            v = getattr(r, kind)(f"in{step}")
            inputs[v.name] = model[v] = data.draw(field)
            n_inputs += 1
        elif op == "mul":
            (ea, va), (eb, vb) = lc(), lc()
            t = r.mul(ea, eb, label=f"mul{step}")
            model[t] = va * vb % R
            defined_by[t] = r.n_constraints - 1
        elif op == "output":
            e, v = lc()
            out = r.public_output(f"out{step}")
            r.assert_equal(out, e, label=f"out{step}")
            model[out] = v
        else:
            src = data.draw(st.sampled_from(list(model)))
            sq = r.private(f"sq{step}", lambda w, src=src: w[src] * w[src])
            r.constrain(src, src, sq, label=f"sq{step}")
            model[sq] = model[src] ** 2 % R
    return r, inputs, model, defined_by


def first_violated(r1cs: R1CS, witness: list[int]) -> int | None:
    """Index of the first violated constraint, by dense inner products (independent of R1CS.check)."""
    n = r1cs.n_wires
    for j, rows in enumerate(r1cs.constraints):
        a, b, c = (sum(row.get(i, 0) * witness[i] for i in range(n)) % R for row in rows)
        if a * b % R != c:
            return j
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_builder_witness_matches_model_and_satisfies(data):
    r, inputs, model, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    for v, value in model.items():
        assert w[r.wire_index(v)] == value, v
    r.check(w)
    assert r.is_satisfied(w)
    kinds = [r.n_public_outputs, r.n_public_inputs, r.n_private_inputs]
    names = r.wire_names
    assert names[0] == "one"
    assert all(nm.startswith("out") for nm in names[1:1 + kinds[0]])
    assert set(names[1 + kinds[0]:1 + kinds[0] + kinds[1] + kinds[2]]) == set(inputs)
    assert r.public_signals(w) == w[1:1 + r.n_public]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_witness_is_rejected_at_the_right_constraint(data):
    r, inputs, model, defined_by = random_circuit(data)
    w = r.compute_witness(inputs)
    i = data.draw(st.integers(min_value=1, max_value=r.n_wires - 1))
    bad = list(w)
    bad[i] = (w[i] + data.draw(st.integers(min_value=1, max_value=R - 1))) % R
    expected = first_violated(r, bad)
    event("rejected" if expected is not None else "still satisfied (wire unused or multiplied by 0)")
    if expected is None:
        assert r.is_satisfied(bad)
    else:
        with pytest.raises(UnsatisfiedConstraint) as e:
            r.check(bad)
        assert e.value.index == expected
        assert e.value.label == r.labels[expected]
        assert f"constraint {expected} '{r.labels[expected]}'" in str(e.value)
    # a product wire breaks at the latest at the constraint that defines it
    for v, j in defined_by.items():
        if r.wire_index(v) == i:
            assert expected is not None and expected <= j


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_builder_files_round_trip(tmp_path_factory, data):
    r, inputs, _, _ = random_circuit(data)
    w = r.compute_witness(inputs)
    tmp = tmp_path_factory.mktemp("rt")
    save_r1cs(r, tmp / "c.r1cs")
    save_wtns(w, tmp / "c.wtns")
    loaded = load_r1cs(tmp / "c.r1cs")
    assert loaded.constraints == r.constraints
    assert (loaded.n_wires, loaded.n_public_outputs, loaded.n_public_inputs, loaded.n_private_inputs) == \
           (r.n_wires, r.n_public_outputs, r.n_public_inputs, r.n_private_inputs)
    assert load_wtns(tmp / "c.wtns") == w
    loaded.check(w)


def cubic() -> R1CS:
    r = R1CS("cubic")
    y = r.public_output("y")
    x = r.private_input("x")
    r.assert_equal(y, r.mul(r.mul(x, x, "x_squared"), x, "x_cubed") + x + 5, "y_is_cubic")
    return r


def test_rejects_inputs_that_are_not_field_elements():
    r = cubic()
    for bad in (R, -1, 2**300, "3", 3.0, True):
        with pytest.raises(WitnessError, match="input 'x'"):
            r.compute_witness({"x": bad})


def test_rejects_missing_and_extra_inputs():
    r = cubic()
    with pytest.raises(WitnessError, match=r"missing input\(s\) \['x'\]"):
        r.compute_witness({})
    with pytest.raises(WitnessError, match=r"unknown input\(s\) \['q'\]"):
        r.compute_witness({"x": 1, "q": 2})


def test_rejects_witness_of_wrong_shape():
    r = cubic()
    w = r.compute_witness({"x": 3})
    with pytest.raises(WitnessError, match="has 5 wires"):
        r.check(w + [0])
    with pytest.raises(WitnessError, match="constant 1"):
        r.check([0] + w[1:])
    with pytest.raises(WitnessError, match="not a field element"):
        r.check(w[:-1] + [R])


def test_rejects_undetermined_signal():
    r = R1CS("loose")
    a, b = r.private("a"), r.private("b")
    r.constrain(a, b, 1)
    with pytest.raises(CircuitDefinitionError, match=r"\['a', 'b'\] get no value"):
        r.compute_witness({})


def test_rejects_nonlinear_product_and_duplicate_names():
    r = R1CS()
    x, y = r.private_input("x"), r.public_input("y")
    with pytest.raises(CircuitDefinitionError, match="not linear"):
        x * y
    with pytest.raises(CircuitDefinitionError, match="already an input or output"):
        r.public_output("x")


def test_hint_failure_names_the_signal():
    r = R1CS()
    x = r.private_input("x")
    r.private("boom", lambda w: 1 // 0 + w[x])
    with pytest.raises(WitnessError, match="hint of 'boom' failed"):
        r.compute_witness({"x": 1})


def test_signal_solved_from_a_side():
    r = R1CS()
    x = r.private_input("x")
    q = r.private("q")            # determined by q * x = 6 (q on side A, B known)
    r.constrain(q + 1, x, 6 + x)
    w = r.compute_witness({"x": 3})
    r.check(w)
    assert w[r.wire_index(q)] == 2
    with pytest.raises(WitnessError, match="other factor is 0"):
        r.compute_witness({"x": 0})


def _small_files(tmp_path: Path) -> tuple[bytes, bytes]:
    r = cubic()
    save_r1cs(r, tmp_path / "c.r1cs")
    save_wtns(r.compute_witness({"x": 3}), tmp_path / "c.wtns")
    return (tmp_path / "c.r1cs").read_bytes(), (tmp_path / "c.wtns").read_bytes()


def test_rejects_every_truncation(tmp_path):
    r1cs_bytes, wtns_bytes = _small_files(tmp_path)
    for data, loader in ((r1cs_bytes, load_r1cs), (wtns_bytes, load_wtns)):
        for cut in range(len(data)):
            (tmp_path / "t").write_bytes(data[:cut])
            with pytest.raises(R1CSFormatError):
                loader(tmp_path / "t")


def test_corrupted_bytes_raise_only_format_errors(tmp_path):
    r1cs_bytes, wtns_bytes = _small_files(tmp_path)
    rng = random.Random(2024)
    for data, loader in ((r1cs_bytes, load_r1cs), (wtns_bytes, load_wtns)):
        for _ in range(300):
            bad = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
            (tmp_path / "t").write_bytes(bytes(bad))
            try:
                loader(tmp_path / "t")       # may still be a valid file (e.g. a changed coefficient)
            except R1CSFormatError:
                pass


def test_rejects_wrong_magic_version_and_prime(tmp_path):
    data, wtns = _small_files(tmp_path)
    cases = {
        "magic": (b"r1cz" + data[4:], "wrong magic b'r1cz'"),
        "version": (data[:4] + struct.pack("<I", 2) + data[8:], "unsupported version 2"),
        "trailing": (data + b"\0", "1 unexpected bytes"),
    }
    header_at = data.index(R.to_bytes(32, "little"))
    cases["prime"] = (data[:header_at] + P.to_bytes(32, "little") + data[header_at + 32:], "wrong prime")
    # a custom-gates section (circom's PLONK extension) appended to the section table
    custom = data[:8] + struct.pack("<I", 4) + data[12:] + struct.pack("<IQ", 4, 4) + struct.pack("<I", 0)
    cases["custom"] = (custom, "custom gates")
    for name, (bad, message) in cases.items():
        (tmp_path / name).write_bytes(bad)
        with pytest.raises(R1CSFormatError, match=message):
            load_r1cs(tmp_path / name)
    with pytest.raises(R1CSFormatError, match=r"section 1 \(header\).*offset"):
        load_r1cs(tmp_path / "prime")


def test_rejects_value_not_below_r_in_wtns(tmp_path):
    _, wtns = _small_files(tmp_path)
    bad = wtns[:-32] + R.to_bytes(32, "little")
    (tmp_path / "w").write_bytes(bad)
    with pytest.raises(R1CSFormatError, match="witness value 4 .* not below the prime r"):
        load_wtns(tmp_path / "w")


def test_rejects_wire_index_out_of_range(tmp_path):
    r = R1CS.from_rows([({4: 1}, {}, {})], n_wires=5, n_public_outputs=0, n_public_inputs=0, n_private_inputs=0)
    save_r1cs(r, tmp_path / "c.r1cs")
    data = bytearray((tmp_path / "c.r1cs").read_bytes())
    # the first term's wire sits after the file header (12), section 1 (12 + 64), section 2's header (12), a term count
    at = 12 + 12 + 64 + 12 + 4
    assert struct.unpack_from("<I", data, at) == (4,)
    data[at:at + 4] = struct.pack("<I", 5)
    (tmp_path / "c.r1cs").write_bytes(bytes(data))
    with pytest.raises(R1CSFormatError, match="wire index 5 out of range"):
        load_r1cs(tmp_path / "c.r1cs")


def test_save_wtns_rejects_values_out_of_range(tmp_path):
    with pytest.raises(WitnessError, match="witness value 1"):
        save_wtns([1, R], tmp_path / "w.wtns")


def test_from_rows_rejects_bad_rows():
    with pytest.raises(CircuitDefinitionError, match="needs a wire in"):
        R1CS.from_rows([({3: 1}, {}, {})], n_wires=3, n_public_outputs=0, n_public_inputs=0, n_private_inputs=0)
    with pytest.raises(CircuitDefinitionError, match="coefficient in"):
        R1CS.from_rows([({1: R}, {}, {})], n_wires=3, n_public_outputs=0, n_public_inputs=0, n_private_inputs=0)
    with pytest.raises(CircuitDefinitionError, match="cannot hold"):
        R1CS.from_rows([], n_wires=2, n_public_outputs=1, n_public_inputs=1, n_private_inputs=0)


# --- hostile files: caps, declared sizes, mutations ----------------------------------------------

from lumoz_ref.r1cs import (MAX_CIRCUIT_FILE_BYTES, OutputPathError, output_directory, read_file_bytes,  # noqa: E402
                            write_file_bytes)


def _layout(data: bytes) -> dict[str, int]:
    "Offsets of the framing fields in a file written by save_r1cs (sections 1, 2, 3 in that order)."
    rows_size = struct.unpack_from("<Q", data, 92)[0]
    return {"wires": 60, "constraints": 84, "section2": 88, "section3": 100 + rows_size}


def _with_u32(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + struct.pack("<I", value) + data[at + 4:]


def _peak_bytes_of(action) -> int:
    "The peak of memory allocated while `action` runs (tracemalloc)."
    import tracemalloc
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_header_sizes_the_file_cannot_hold_are_refused_before_allocating(tmp_path):
    data, wtns = _small_files(tmp_path)
    at = _layout(data)
    s3 = at["section3"]
    without_map = data[:8] + struct.pack("<I", 2) + data[12:s3]
    cases = {
        "wires": (_with_u32(data, at["wires"], 2**32 - 1), "declares 4294967295 wires, the wire-to-label map has 40 bytes"),
        "wires_without_map": (_with_u32(without_map, at["wires"], 2**32 - 1), r"section 3 \(wire-to-label map\) is missing"),
        "constraints": (_with_u32(data, at["constraints"], 2**32 - 1), "declares 4294967295 constraints"),
        "section_size": (data[:16] + struct.pack("<Q", 2**64 - 1) + data[24:], "declares 18446744073709551615 bytes"),
        "n8": (_with_u32(data, 24, 2**32 - 1), "field elements of 4294967295 bytes"),
        "wtns_length": (_with_u32(wtns, 12 + 12 + 4 + 32, 2**32 - 1), "announces 4294967295 values"),
    }
    for name, (bad, message) in cases.items():
        (tmp_path / name).write_bytes(bad)
        loader = load_wtns if name.startswith("wtns") else load_r1cs

        def refuse():
            with pytest.raises(R1CSFormatError, match=message):
                loader(tmp_path / name)
        assert _peak_bytes_of(refuse) < 2_000_000, name  # the file is 548 bytes; a declared size would be gigabytes


def test_mutated_framing_is_always_refused(tmp_path):
    "Magic, version, section table, n8, prime, wire and constraint counts: any change to one byte is an error."
    r = R1CS.from_rows([({1: 2, 3: 5}, {2: 1}, {0: 7, 4: 1}), ({}, {}, {1: 1, 4: R - 1})], n_wires=5,
                       n_public_outputs=1, n_public_inputs=1, n_private_inputs=1)
    save_r1cs(r, tmp_path / "c.r1cs")
    data = (tmp_path / "c.r1cs").read_bytes()
    at = _layout(data)
    framing = [*range(0, 64), *range(at["constraints"], at["section2"] + 12), *range(at["section3"], at["section3"] + 12)]
    rng = random.Random(7)
    for offset in framing:
        for _ in range(3):
            bad = bytearray(data)
            bad[offset] = (bad[offset] + rng.randrange(1, 256)) % 256
            (tmp_path / "m").write_bytes(bytes(bad))
            with pytest.raises(R1CSFormatError):
                load_r1cs(tmp_path / "m")


def _system(r: R1CS) -> tuple:
    return (r.n_wires, r.n_public_outputs, r.n_public_inputs, r.n_private_inputs, r.constraints, r.wire_to_label)


@settings(max_examples=300, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(min_value=0),
                                 st.integers(min_value=0, max_value=255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(min_value=0)))
def test_mutations_parse_to_a_consistent_system_or_a_format_error(tmp_path, edits, cut):
    "Random byte edits and truncations of a valid .r1cs: R1CSFormatError, or a system that re-saves to itself."
    original = cubic()
    save_r1cs(original, tmp_path / "c.r1cs")
    bad = bytearray((tmp_path / "c.r1cs").read_bytes())
    for kind, position, value in edits:
        i = position % (len(bad) + 1)
        if kind == "insert": bad[i:i] = bytes([value])
        elif kind == "delete" and i < len(bad): del bad[i]
        elif kind == "set" and i < len(bad): bad[i] = value
    if cut is not None:
        del bad[cut % (len(bad) + 1):]
    (tmp_path / "m.r1cs").write_bytes(bytes(bad))
    try:
        loaded = load_r1cs(tmp_path / "m.r1cs")
    except R1CSFormatError:
        event("refused")
        return
    event("parsed")
    save_r1cs(loaded, tmp_path / "again.r1cs")
    assert _system(load_r1cs(tmp_path / "again.r1cs")) == _system(loaded)
    if bytes(bad) == (tmp_path / "c.r1cs").read_bytes():
        assert loaded.constraints == original.constraints


def test_read_file_bytes_is_bounded(tmp_path):
    huge = tmp_path / "huge.r1cs"
    with open(huge, "wb") as f:
        f.write(b"r1cs")
        f.truncate(MAX_CIRCUIT_FILE_BYTES + 1)  # sparse: refused from its size alone
    assert _peak_bytes_of(lambda: pytest.raises(R1CSFormatError, load_r1cs, huge)) < 2_000_000
    with pytest.raises(R1CSFormatError, match="above the cap MAX_CIRCUIT_FILE_BYTES"):
        load_r1cs(huge)
    assert _peak_bytes_of(lambda: pytest.raises(R1CSFormatError, load_wtns, "/dev/zero")) < 2_000_000
    with pytest.raises(R1CSFormatError, match="longer than the cap MAX_CIRCUIT_FILE_BYTES = 5000"):
        read_file_bytes("/dev/zero", 5000)
    for path, message in ((tmp_path, "Is a directory"), (tmp_path / "absent", "No such file")):
        with pytest.raises(R1CSFormatError, match=message):
            load_r1cs(path)
    os.mkfifo(tmp_path / "fifo")  # no writer: the open must not block
    with pytest.raises(R1CSFormatError, match="truncated"):
        load_r1cs(tmp_path / "fifo")
    (tmp_path / "c.sym").write_bytes(b"1,1,0,main.\xff\n")
    save_r1cs(cubic(), tmp_path / "c.r1cs")
    with pytest.raises(R1CSFormatError, match="not UTF-8"):
        load_r1cs(tmp_path / "c.r1cs", tmp_path / "c.sym")


def test_output_paths_are_checked(tmp_path):
    (tmp_path / "a_file").write_text("")
    assert output_directory(tmp_path / "out") == tmp_path / "out" and (tmp_path / "out").is_dir()
    assert output_directory(tmp_path / "out") == tmp_path / "out"
    cases = [(tmp_path / "a_file", "exists and is not a directory"), (tmp_path / "no" / "out", "does not exist"),
             (tmp_path / "a_file" / "out", "Not a directory")]
    if os.geteuid() == 0:
        cases.append((Path("/sys/lumoz-out"), "cannot create"))  # root may write anywhere, but not into sysfs
    else:
        (tmp_path / "locked").mkdir(mode=0o500)
        cases.append((tmp_path / "locked" / "out", "Permission denied"))
    for path, message in cases:
        with pytest.raises(OutputPathError, match=message):
            output_directory(path)
    for path in (tmp_path / "out", tmp_path / "no" / "c.r1cs"):
        with pytest.raises(OutputPathError, match="cannot write"):
            save_r1cs(cubic(), path)
        with pytest.raises(OutputPathError, match="cannot write"):
            write_file_bytes(path, b"")
