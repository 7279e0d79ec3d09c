from helpers import cli


def test_version_prints_the_distribution_version() -> None:
    from orchestrator import __version__

    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"orchestrator {__version__}"
