import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

#: A few tiny context-scale operators (K = 4), fast to verify, none registered.
USER_OPS = textwrap.dedent('''
    import numpy as np
    import axiomcheck as ac

    @ac.context_operator(name="t_uniform", bounds=(0.25, 0.25), register=False)
    def uniform(context):
        return np.full((context.shape[0], 4), 0.25)

    @ac.context_operator(name="t_unnormalized", register=False)
    def unnormalized(context):
        return np.full((context.shape[0], 4), 0.3)

    @ac.context_operator(name="t_chatty", bounds=(0.25, 0.25), register=False)
    def chatty(context):
        print("debug output from inside the operator")
        return np.full((context.shape[0], 4), 0.25)

    @ac.context_operator(name="t_raises", register=False)
    def raises(context):
        raise RuntimeError("boom")

    not_an_operator = 3
''')


@pytest.fixture
def user_ops() -> str:
    """The source of USER_OPS, to write into a pytester project."""
    return USER_OPS


@pytest.fixture
def ops_file(tmp_path: Path) -> Path:
    """`ops.py` in a fresh folder, holding USER_OPS (refer to them as `ops.py:uniform`, ...)."""
    path = tmp_path / "ops.py"
    path.write_text(USER_OPS)
    return path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test in `tmp_path`, with NO_COLOR unset and a plain (non-tty) output."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path
