"""Mistakes caught when an operator is built, and said once.

A function whose signature cannot be called the way its scale calls it is
refused by its decorator (`SpecError`, with a "did you mean" for a misspelled
keyword input); a `module:attr` reference with a typo suggests the close names;
an operator that fails on every call has its error read once, not once per
check.  Signatures that cannot be read, or that take anything, are never refused.
"""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.errors import TargetError
from axiomcheck.frontends import cli
from axiomcheck.library.lookup import resolve
from tests.helpers import context, softmax, task, token

FAST = dict(max_examples=10, sweep_size=32)


def uniform(probs, *rest, **kw):
    return np.full(np.shape(probs)[:2], 1.0 / np.shape(probs)[1])


# ============================================================================= refused when built


def test_a_token_function_of_probs_alone_is_refused_when_built():
    def probs_only(probs):
        return uniform(probs)

    with pytest.raises(ac.SpecError, match=r"takes 1 positional input \(probs\) but the token scale calls it "
                                           r"with 2: fn\(probs\[B,K,V\], context\[B,D\]\)"):
        ac.token_operator(probs_only, register=False)


def test_a_misspelled_keyword_input_gets_a_did_you_mean():
    def ca(probs, context, *, label):
        return uniform(probs)

    with pytest.raises(ac.SpecError, match=r"requires an argument 'label' that the token scale does not give "
                                           r"\(did you mean 'labels'\?\)"):
        ac.token_operator(ca, register=False)


def test_a_keyword_input_of_another_scale_is_named_as_such():
    def reads_history(probs, context, *, history):
        return uniform(probs)

    with pytest.raises(ac.SpecError, match="requires 'history', a keyword input of the task, unified, importance "
                                           "scales, not of token"):
        ac.token_operator(reads_history, register=False)


def test_a_keyword_input_in_a_positional_place_is_refused():
    def swapped(probs, labels):
        return uniform(probs)

    with pytest.raises(ac.SpecError, match="takes 'labels' as positional input 2, where the token scale passes "
                                           "'context'"):
        ac.token_operator(swapped, register=False)


def test_an_argument_nobody_fills_is_refused_and_told_how_to_bind_it():
    def tempered(losses, sizes, *, temperature):
        return softmax(-losses / temperature)

    with pytest.raises(ac.SpecError, match="requires an argument 'temperature'.*functools.partial"):
        ac.task_operator(tempered, register=False)
    # bound, it is an operator like any other: called on every check (its verdicts are its own)
    op = ac.task_operator(functools.partial(tempered, temperature=2.0), name="tempered", register=False)
    assert "error" not in ac.verify(op, **FAST).statuses().values()


def test_the_check_runs_on_every_way_of_building_an_operator():
    def probs_only(probs):
        return uniform(probs)

    op = token(uniform, name="ok")
    with pytest.raises(ac.SpecError, match="takes 1 positional input"):
        op.replace(fn=probs_only)
    with pytest.raises(ac.SpecError, match="takes 1 positional input"):
        ac.Operator(name="direct", scale="token", fn=probs_only)


# ============================================================================= never refused


class CallableWeights:
    def __call__(self, probs, context, *, labels):
        return uniform(probs)


def learned(losses, sizes, *, params):
    return softmax(-losses * params)


@pytest.mark.parametrize("build", [
    lambda: token(lambda *args, **kwargs: uniform(args[0]), name="star"),
    lambda: token(CallableWeights(), name="callable_object"),
    lambda: task(functools.partial(learned, params=1.0), name="partial"),
    lambda: task(learned, name="learned", params=[1.0, 2.0]),
    lambda: token(lambda probs, context, *, labels, student=None, scale=1.0: uniform(probs), name="defaults"),
    lambda: context(lambda context, teachers=4: np.full((len(context), teachers), 1.0 / teachers), name="k"),
    lambda: ac.importance_operator(lambda losses, sizes, *, history, step: np.full(sizes.shape, 1 / 3),
                                   name="importance", register=False),
], ids=["star_args", "callable_object", "partial", "params", "defaults", "teachers", "importance"])
def test_signatures_that_can_be_called_are_accepted(build):
    op = build()
    assert isinstance(op, ac.Operator)


def test_an_unreadable_signature_is_never_refused():
    op = context(np.tanh, name="tanh_ufunc")  # a numpy ufunc: inspect cannot read its signature
    assert op.fn is np.tanh


def test_a_jitted_jax_function_is_accepted_and_checked():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")

    @jax.jit
    def gate(context):
        return jax.nn.softmax(jnp.tanh(context[:, :1]) * jnp.arange(4.0), axis=-1)

    op = context(gate, name="jitted_gate")
    assert ac.verify(op, axioms=["context.normalization"], **FAST).passed


def test_a_torch_module_is_read_by_its_forward():
    torch = pytest.importorskip("torch")

    class Gate(torch.nn.Module):
        def forward(self, context):
            return torch.softmax(context[:, :1] * torch.arange(4.0, dtype=context.dtype), dim=-1)

    class Wrong(torch.nn.Module):
        def forward(self, context, *, featurs):
            return context

    assert context(Gate(), name="gate").framework == "torch"
    with pytest.raises(ac.SpecError, match="did you mean 'features'"):
        context(Wrong(), name="wrong")


# ============================================================================= references with a typo


@pytest.fixture()
def ops_module(tmp_path, monkeypatch):
    (tmp_path / "myweights.py").write_text(
        "import numpy as np\nimport axiomcheck as ac\n\n"
        "@ac.context_operator(name='my_router_sig', register=False)\n"
        "def my_router(context):\n    return np.full((len(context), 4), 0.25)\n\n"
        "@ac.context_operator(name='my_gate_sig', register=False)\n"
        "def my_gate(context):\n    return np.full((len(context), 4), 0.25)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def test_a_typo_in_module_attr_suggests_the_close_names(ops_module):
    with pytest.raises(TargetError, match=r"'myweights' has no attribute 'my_ruoter'; did you mean 'my_router'"):
        resolve("myweights:my_ruoter")
    with pytest.raises(TargetError, match=r"'myweights.py' has no attribute 'my_rooter'; did you mean 'my_router'"):
        resolve("myweights.py:my_rooter")
    with pytest.raises(TargetError, match="its operators are my_gate, my_router"):
        resolve("myweights:zzz")


# ============================================================================= one error, once


def boom(context):
    raise RuntimeError("boom on every call")


def test_an_operator_that_fails_every_call_has_its_error_read_once(capsys):
    report = ac.verify(context(boom, name="boom"), **FAST)
    first, *rest = report.results
    assert "RuntimeError: boom on every call" in first.message
    assert all(r.status == "error" and "boom on every call" not in r.message for r in rest)

    out = io.StringIO()
    ac.print_report(report, out, fancy=False)
    assert out.getvalue().count("boom on every call") == 1


def test_the_verify_command_prints_the_error_once(ops_module, capsys):
    (ops_module / "boomer.py").write_text(
        "import axiomcheck as ac\n\n@ac.context_operator(name='boomer_sig', register=False)\n"
        "def boomer(context):\n    raise RuntimeError('boom on every call')\n", encoding="utf-8")
    code = cli.main(["verify", "boomer:boomer", "--max-examples", "5", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 1
    # the table's row of the first check, and its details; every other check points at it
    assert out.count("boom on every call") == 2, out
    assert "the same error on context.positivity, context.boundedness" in out

