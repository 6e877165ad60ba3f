"""A user's operator may take a built-in's name: it shadows the built-in, and no lookup fails because of it.

The examples of docs/operators.md (which name their operators `ca_mkd` and `dwa`,
like two published schemes axiomcheck ships) run as written in a scratch project.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.library.lookup import builtin, resolve, shadowed, target_name
from axiomcheck.spec.registry import ShadowedBuiltinWarning
from axiomcheck.suites import load

ROOT = Path(__file__).resolve().parents[1]

USER_OPS = textwrap.dedent('''
    import numpy as np
    import axiomcheck as ac

    def softmax(z, axis=-1):
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    @ac.token_operator(name="ca_mkd")
    def ca_mkd(probs, context, *, labels):
        ce = -np.log(probs[np.arange(len(labels)), :, labels])
        return softmax(-ce)

    @ac.importance_operator(name="dwa")
    def dwa(losses, sizes, *, history):
        return softmax(history[:, -1] / history[:, -2] / 2.0)

    @ac.context_operator(name="domain_router", bounds=(0.05, 0.85), lipschitz=1.0)
    def domain_router(context):
        return 0.05 + 0.8 * softmax(np.tanh(context[:, :1]) * np.array([[1.0, 0.5, -0.5, -1.0]]))
''')


def _docs_blocks() -> str:
    """The Python examples of docs/operators.md, in order (the torch ones only when torch is installed)."""
    text = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)
    if importlib.util.find_spec("torch") is None:
        blocks = [b for b in blocks if "torch" not in b]
    return "\n\n".join(blocks)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch project folder; the operators it registers are removed afterwards."""
    monkeypatch.chdir(tmp_path)
    before = {op.name: op for op in ac.operators()}
    modules = set(sys.modules)
    yield tmp_path
    for op in ac.operators():
        if before.get(op.name) is not op:
            ac.unregister(op.name)
    for name in set(sys.modules) - modules:
        if name.startswith("axiomcheck_user_") or name in ("user_ops", "docs_ops"):
            del sys.modules[name]


def test_docs_examples_run_as_written_beside_the_builtins(scratch):
    (scratch / "docs_ops.py").write_text(_docs_blocks(), encoding="utf-8")
    with pytest.warns(ShadowedBuiltinWarning) as caught:
        mod = resolve("docs_ops.py:ca_mkd").fn.__module__
    assert sorted(re.findall(r"operator '(\w+)'", str(w.message))[0] for w in caught) == ["ca_mkd", "dwa"]
    ops = sys.modules[mod]
    assert ac.get("ca_mkd") is ops.ca_mkd and ac.get("dwa") is ops.dwa  # the bare names mean the user's
    assert builtin("ca_mkd").fn.__module__.startswith("axiomcheck.library")
    assert ac.get("axiomcheck:dwa") is builtin("dwa") is not ops.dwa
    # the docs' example calls: the operator in training code, as its function is called
    w = ops.ca_mkd(ops.p, np.zeros((2, 3)), labels=np.array([3, 7]))
    assert w.shape == (2, 4) and np.allclose(w.sum(axis=1), 1.0)
    assert ops.meta_net(np.zeros((2, 3)), params=ops.ckpt_epoch_1).shape == (2, 4)


def test_lookups_of_other_names_work_when_a_user_took_builtin_names(scratch):
    (scratch / "user_ops.py").write_text(USER_OPS, encoding="utf-8")
    with pytest.warns(ShadowedBuiltinWarning):
        router = resolve("user_ops:domain_router")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once: not again on later lookups
        assert ac.verify("domain_router", max_examples=0, axioms=["context.normalization"]).passed
        assert resolve("uniform_context").scale == "context"
        with pytest.raises(KeyError, match="did you mean domain_router"):
            ac.verify("domain_rooter")
        assert ac.get("domain_router") is router
        assert shadowed("ca_mkd") and not shadowed("domain_router")
        # how each is named on a command line: the shadowed built-in by its qualified name
        assert target_name(builtin("ca_mkd")) == "axiomcheck:ca_mkd"
        assert target_name(ac.get("ca_mkd")) == "user_ops:ca_mkd"
        assert target_name(builtin("entropy_exp")) == "entropy_exp"
        listed = {op.name: op for op in ac.operators()}
        assert listed["ca_mkd"] is ac.get("ca_mkd") and "entropy_exp" in listed


def test_the_shipped_suites_mean_the_builtins(scratch):
    (scratch / "user_ops.py").write_text(USER_OPS, encoding="utf-8")
    with pytest.warns(ShadowedBuiltinWarning):
        resolve("user_ops:ca_mkd")
    suite = load(ROOT / "axiomcheck" / "suites" / "builtin" / "published.toml")
    by_id = {it.id: it.operator for it in suite.items}
    assert by_id["ca_mkd"] is builtin("ca_mkd") and by_id["dwa"] is builtin("dwa")


def test_unregister_uncovers_the_builtin_and_two_user_operators_still_clash(scratch):
    (scratch / "user_ops.py").write_text(USER_OPS, encoding="utf-8")
    with pytest.warns(ShadowedBuiltinWarning):
        mine = resolve("user_ops:ca_mkd")
    other = ac.token_operator(lambda probs, context: probs[..., 0], name="ca_mkd", register=False)
    with pytest.raises(ac.SpecError, match="already registered"):
        ac.register(other)
    ac.unregister("ca_mkd")
    assert ac.get("ca_mkd") is builtin("ca_mkd") is not mine
    assert not shadowed("ca_mkd")


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_fresh_process_that_registers_builtin_names_first_can_look_up_anything(tmp_path):
    """The library loads lazily, after the user's module registered `ca_mkd` and `dwa`."""
    (tmp_path / "user_ops.py").write_text(USER_OPS, encoding="utf-8")
    code = textwrap.dedent('''
        import warnings
        warnings.simplefilter("always")
        import user_ops, axiomcheck as ac
        from axiomcheck.errors import UnknownOperatorError
        print("verify", ac.verify("domain_router", max_examples=0, axioms=["context.normalization"]).passed)
        try:
            ac.verify("domain_rooter")
        except UnknownOperatorError as exc:
            print("misspelled", type(exc).__name__)
        print("builtin", ac.get("axiomcheck:ca_mkd").fn.__module__)
    ''')
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "verify True" in done.stdout and "misspelled UnknownOperatorError" in done.stdout
    assert "builtin axiomcheck.library.published_token" in done.stdout
    assert done.stderr.count("ShadowedBuiltinWarning") == 2  # once for each name


def test_the_pytest_fixture_looks_up_names_beside_a_shadowing_module(pytester):
    pytester.makepyfile(user_ops=USER_OPS)
    pytester.makepyfile(test_names='''
        import pytest
        import user_ops  # registers ca_mkd and dwa before anything reads the registry

        def test_other_name(axiomcheck):
            assert axiomcheck("domain_router", max_examples=0, axioms=["context.normalization"]).passed

        def test_builtin_name(axiomcheck):
            assert axiomcheck("uniform_context", max_examples=0, axioms=["context.normalization"]).passed

        def test_misspelled(axiomcheck):
            with pytest.raises(KeyError, match="did you mean"):
                axiomcheck("domain_rooter")
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=3)


def test_a_bare_name_in_a_suite_means_the_same_operator_in_every_item(scratch):
    """A suite naming `user_ops.py:ca_mkd` in its second item and the bare `ca_mkd` in its first and third:
    the first item got the built-in (the user's file was not imported yet) and the third the user's.
    Every target the items name is imported first, so the bare name means the user's one everywhere."""
    (scratch / "user_ops.py").write_text(USER_OPS, encoding="utf-8")
    (scratch / "mixed.toml").write_text(textwrap.dedent('''
        [suite]
        name = "mixed"
        [[item]]
        id = "first"
        operator = "ca_mkd"
        [[item]]
        id = "by_file"
        operator = "user_ops.py:ca_mkd"
        [[item]]
        id = "third"
        operator = "ca_mkd"
        [[item]]
        id = "builtin"
        operator = "axiomcheck:ca_mkd"
    '''), encoding="utf-8")
    with pytest.warns(ShadowedBuiltinWarning):
        suite = load(scratch / "mixed.toml")
    ops = {item.id: item.operator for item in suite.items}
    assert ops["first"] is ops["by_file"] is ops["third"]
    assert ops["builtin"] is not ops["first"] and ops["builtin"].fn.__module__.startswith("axiomcheck.library")
