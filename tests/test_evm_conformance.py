"""The EVM subset against the legacy ethereum/tests VM tests and the Cancun state tests (vectors README §1)."""
from __future__ import annotations

import json

import pytest

from lumoz_ref.evm import (CANCUN_LIKE, DEFAULT_MEMORY_LIMIT, FRONTIER_LIKE, ConformanceError, ConformanceReport,
                           VectorFormatError, run_conformance)


@pytest.fixture(scope="module")
def vmtests_report(vectors) -> ConformanceReport:
    return run_conformance(vectors / "evm" / "vmtests_dev.json")


def test_vmtests_no_failures(vmtests_report):
    assert vmtests_report.failed == (), [(f.name, f.reason) for f in vmtests_report.failed[:10]]
    assert vmtests_report.errors == () and vmtests_report.ok


def test_vmtests_coverage_at_least_90_percent(vmtests_report):
    assert vmtests_report.total == 491
    assert vmtests_report.run_fraction >= 0.90, vmtests_report.summary_line()


def test_vmtests_skips_are_explained(vmtests_report):
    for skip in vmtests_report.skipped:
        assert skip.reason.startswith(("step budget", "needs deferred opcodes")), skip
        assert skip.name.startswith("vmPerformance/") or skip.unsupported_opcodes, skip


def test_summary_line_and_json(vmtests_report):
    line = vmtests_report.summary_line()
    n, m, k = (int(part.split()[0]) for part in line.split(", "))
    assert line == f"{n} passed, {m} failed, {k} skipped"
    assert n + m + k == vmtests_report.total
    data = json.loads(json.dumps(vmtests_report.to_dict()))
    assert (data["passed"], data["failed"], data["skipped"], data["errors"]) == (n, m, k, 0)
    assert data["schedule"] == FRONTIER_LIKE.name


def test_runner_detects_a_wrong_expectation(vectors, tmp_path):
    """The comparison can fail: corrupt the expected gas of two vectors and see exactly those fail."""
    document = json.loads((vectors / "evm" / "vmtests_dev.json").read_text())
    chosen = [v for v in document["vectors"] if not v["expected"]["exception"]][:2]
    chosen[0]["expected"]["gas_left"] = hex(int(chosen[0]["expected"]["gas_left"], 16) + 1)
    chosen[1]["expected"]["post_storage"] = {"0x1234": "0x1"}
    document["vectors"] = chosen
    path = tmp_path / "corrupted.json"
    path.write_text(json.dumps(document))
    report = run_conformance(path)
    assert report.summary_line() == "0 passed, 2 failed, 0 skipped"
    assert report.failed[0].reason.startswith("gas_left")
    assert report.failed[1].reason.startswith("post_storage")


@pytest.fixture(scope="module")
def statetests_report(vectors) -> ConformanceReport:
    return run_conformance(vectors / "evm" / "statetests_cancun_dev.json")


def test_cancun_statetests_no_failures(statetests_report):
    assert statetests_report.schedule == CANCUN_LIKE.name
    assert statetests_report.failed == (), [(f.name, f.reason) for f in statetests_report.failed[:10]]
    assert statetests_report.errors == () and statetests_report.ok


def test_cancun_statetests_coverage_at_least_90_percent(statetests_report):
    assert statetests_report.total == 456
    assert statetests_report.run_fraction >= 0.90, statetests_report.summary_line()
    assert all(s.reason.startswith(("step budget", "needs deferred opcodes")) for s in statetests_report.skipped)


def test_rejects_file_without_vectors(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{}")
    with pytest.raises(VectorFormatError, match="not a vector file"):
        run_conformance(path)


def _one_vector_file(vectors, tmp_path, file: str, name: str):
    document = json.loads((vectors / "evm" / file).read_text())
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"vectors": [v for v in document["vectors"] if v["name"] == name]}))
    return path


@pytest.mark.parametrize("file, name, peak", [
    ("vmtests_dev.json", "vmSha3Test/sha3_bigOffset2", 2**24 + 32),
    ("statetests_cancun_dev.json", "vmIOandFlowOperations/msize_d5g0v0_Cancun", 11 * 2**20 + 32),
], ids=["vmtests-peak", "statetests-peak"])
def test_memory_limit_changes_no_result_below_the_largest_vector(vectors, tmp_path, file, name, peak):
    """The two vectors with the most memory pass with the limit at their peak and fail one byte below it; every
    other vector uses less, and the default limit is above both, so the limit changes no verdict."""
    path = _one_vector_file(vectors, tmp_path, file, name)
    assert run_conformance(path, memory_limit=peak).passed == (name,)
    below = run_conformance(path, memory_limit=peak - 1)
    assert [f.name for f in below.failed] == [name], below.to_dict()
    assert peak < DEFAULT_MEMORY_LIMIT


def test_malformed_vector_among_real_ones_is_an_error_not_a_verdict(vectors, tmp_path):
    document = json.loads((vectors / "evm" / "vmtests_dev.json").read_text())
    chosen = [v for v in document["vectors"] if not v["expected"]["exception"]][:3]
    chosen[1]["gas"] = int(chosen[1]["gas"], 16)  # a JSON number where the schema has a "0x…" string
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"vectors": chosen}))
    report = run_conformance(path)
    assert report.passed == (chosen[0]["name"], chosen[2]["name"]) and report.failed == ()
    assert report.errors == (ConformanceError(chosen[1]["name"], f"vector.gas: expected a 0x-hex quantity, got int "
                                                                 f"{chosen[1]['gas']}"),)
    assert not report.ok and report.to_dict()["errors"] == 1
