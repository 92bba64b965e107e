"""The conftest hook behind "zero skips in CI": under ZCONSOLE_REQUIRE_SERVICES=1 a skipped test
fails with its skip reason; without the variable skips stay skips. Run in an inner pytest."""

from __future__ import annotations

import pytest

# The inner session loads the real hooks from tests/conftest.py, nothing else of it.
INNER_CONFTEST = (
    "from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport\n"
)

SKIPPING = """
import pytest


def test_bare_skip():
    pytest.skip("chattr +i is not available here")


@pytest.mark.skipif(True, reason="no redis-server on this laptop")
def test_skipif_marker():
    pass


@pytest.fixture
def server():
    pytest.skip("postgres binaries not found")


def test_skip_in_a_fixture(server):
    pass


@pytest.mark.xfail(reason="known bug", strict=True)
def test_expected_failure():
    assert False


def test_passing():
    pass
"""

MODULE_SKIP = """
import pytest

pytest.skip("docker engine missing", allow_module_level=True)


def test_never_collected():
    pass
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # Only pytest itself inside: the installed plugins (asyncio, timeout, snapshots) would warn
    # about their unset options, and this suite turns warnings into errors.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_skipping=SKIPPING, test_module_skip=MODULE_SKIP)
    return pytester


def test_without_the_variable_skips_stay_skips(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZCONSOLE_REQUIRE_SERVICES", raising=False)
    result = inner.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    result.stdout.fnmatch_lines(["*chattr +i is not available here*"])


def test_under_require_services_every_skip_fails_with_its_reason(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCONSOLE_REQUIRE_SERVICES", "1")
    result = inner.runpytest("-rfE", "test_skipping.py")
    # A skipif marker and a skip in a fixture happen at setup: pytest reports those failures
    # as errors. An xfail is not a skip.
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)
    text = result.stdout.str()
    for reason in (
        "chattr +i is not available here",
        "no redis-server on this laptop",
        "postgres binaries not found",
    ):
        assert f"allows no skip; this one said: Skipped: {reason}" in text, reason
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_under_require_services_a_module_level_skip_fails_the_collection(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZCONSOLE_REQUIRE_SERVICES", "1")
    result = inner.runpytest("test_module_skip.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*allows no skip; this one said: Skipped: docker engine missing"])
    assert result.ret == pytest.ExitCode.INTERRUPTED
