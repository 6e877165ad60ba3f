"""Declared worlds (`world=` on the decorators) and the diagnosis of a forgotten world size.

An operator declares the sizes it needs; verify(), the command line, suites and
the pytest fixture use them unless told otherwise, and an explicit size always
wins.  An operator checked in a world it does not fit gets one clear error that
names the size it seems to need, instead of the same broadcast error on every check.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.engine import diagnose
from axiomcheck.frontends import cli
from tests.helpers import context, token

FAST = dict(max_examples=5, sweep_size=16)
NEED16 = textwrap.dedent('''
    import numpy as np
    import axiomcheck as ac

    _W = np.random.default_rng(0).normal(size=(16, 4))

    @ac.context_operator(name="need16", bounds=(0.05, 0.85), world={"context_dim": 16}, register=False)
    def need16(context):
        z = np.tanh(context @ _W)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return 0.05 + 0.8 * e / e.sum(axis=1, keepdims=True)

    @ac.context_operator(name="forgot16", bounds=(0.05, 0.85), register=False)
    def forgot16(context):
        return need16.fn(context)
''')


def gate16(context: np.ndarray) -> np.ndarray:
    """Softmax weights of a fixed 16 -> 4 projection: needs exactly 16 context features."""
    w = np.random.default_rng(0).normal(size=(16, 4))
    z = np.tanh(context @ w)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return 0.05 + 0.8 * e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def need16_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "worldops.py"
    path.write_text(NEED16)
    return path


# ============================================================================= declaring


@pytest.mark.parametrize("world, said", [
    ({"contex_dim": 16}, "did you mean 'context_dim'"),
    ({"context_dim": 0}, "context_dim must be an integer ≥ 1"),
    ({"teachers": 2.5}, "teachers must be an integer ≥ 1"),
    (16, "world must be a mapping"),
])
def test_a_bad_world_declaration_is_refused_when_the_operator_is_built(world, said):
    with pytest.raises(ac.SpecError, match="operator 'bad'") as err:
        context(gate16, name="bad", world=world)
    assert said in str(err.value)


def test_a_declared_world_is_kept_in_field_order_and_reported():
    op = context(gate16, name="g", world={"tasks": 2, "context_dim": 16})
    assert op.world == (("context_dim", 16), ("tasks", 2))
    assert op.declared_world == {"context_dim": 16, "tasks": 2}
    report = ac.verify(op, **FAST)
    assert report.world["context_dim"] == 16 and report.world["tasks"] == 2
    assert report.spec["world"] == {"context_dim": 16, "tasks": 2}


# ============================================================================= verify()


def test_verify_uses_the_declared_world_and_an_explicit_size_overrides_it():
    declared = context(gate16, name="g16", bounds=(0.05, 0.85), world={"context_dim": 16})
    report = ac.verify(declared, **FAST)
    assert report.passed, [r.message for r in report.failing()]
    assert report.world["context_dim"] == 16
    # the same function without the declaration fails everywhere: the world decides
    assert not ac.verify(context(gate16, name="g3", bounds=(0.05, 0.85)), **FAST).passed
    # an explicit size wins over the declaration
    overridden = ac.verify(declared, context_dim=5, **FAST)
    assert overridden.world["context_dim"] == 5
    assert {r.status for r in overridden.results} == {"error"}


def test_the_reproduce_line_replays_the_declared_world():
    op = context(gate16, name="g16", world={"context_dim": 16})
    report = ac.verify(op, **FAST)
    assert "context_dim=16" in report.results[0].reproduce


def test_verify_ensemble_uses_the_declared_world():
    @ac.token_operator(name="tok16", world={"context_dim": 16}, register=False)
    def tok16(probs, context):
        return gate16(context)

    report = ac.verify_ensemble(tok16, sweep_size=8)
    assert report.world["context_dim"] == 16
    assert all(r.status != "error" for r in report.results), [r.message for r in report.results]


def test_a_composition_needs_what_each_part_declares():
    ctx = context(gate16, name="c16", world={"context_dim": 16})
    tok = token(lambda probs, context: np.full(probs.shape[:2], 0.25), name="t_flat", world={"vocab": 8})
    both = ac.compose(tok, ctx)
    assert both.declared_world == {"vocab": 8, "context_dim": 16}
    other = token(lambda probs, context: np.full(probs.shape[:2], 0.25), name="t_5", world={"context_dim": 5})
    with pytest.raises(ac.SpecError, match="context_dim=5 and context_dim=16"):
        ac.compose(other, ctx)


# ============================================================================= the diagnosis


def test_a_forgotten_context_dim_gives_one_clear_error():
    report = ac.verify(context(gate16, name="forgot"), **FAST)
    first, *rest = report.results
    assert first.status == "error"
    assert first.message.startswith(
        "could not be checked: the operator seems to need context_dim=16: declare world={'context_dim': 16} "
        "or pass --context-dim 16; with context_dim=3: must return weights, but raised ValueError")
    assert rest and all(r.status == "error" for r in rest)
    assert {r.message for r in rest} == {
        f"not run: the operator seems to need context_dim=16 (see {first.axiom})"}


def test_the_diagnosis_probes_every_world_size():
    """A token operator built for a vocabulary of 32 (a fixed [V] table): vocab, not context_dim."""
    table = np.linspace(0.0, 1.0, 32)

    def vocab32(probs, context):
        score = probs @ table  # [B, K]
        e = np.exp(score - score.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    report = ac.verify(token(vocab32, name="v32"), **FAST)
    assert "seems to need vocab=32: declare world={'vocab': 32} or pass --vocab 32" in report.results[0].message
    assert ac.verify(token(vocab32, name="v32", world={"vocab": 32}), **FAST).results[0].status == "pass"


def test_an_error_that_is_not_about_shapes_is_left_as_it_was():
    calls = []

    def boom(context):
        calls.append(context.shape)
        raise RuntimeError("boom")

    report = ac.verify(context(boom, name="boom"), **FAST)
    first, *rest = report.results
    assert first.message.startswith("could not be checked: the operator must return weights, but raised "
                                    "RuntimeError: boom")
    assert {r.message for r in rest} == {
        f"not run: the operator could not be evaluated on any sweep batch (see {first.axiom})"}
    assert {s[1] for s in calls} == {3}  # no probe with another context size


def test_no_size_found_leaves_the_error_as_it_was():
    def never(context):
        raise ValueError(f"operands could not be broadcast together with shapes {context.shape} (7,2,9)")

    report = ac.verify(context(never, name="never"), **FAST)
    assert all("seems to need" not in r.message for r in report.results)
    assert report.results[0].message.startswith("could not be checked: the operator must return weights, but "
                                                "raised ValueError: operands could not be broadcast")


def test_the_numbers_of_the_message_are_tried_first():
    assert diagnose.candidates("mat1 and mat2 shapes cannot be multiplied (256x3 and 16x4)", 3)[:4] == [
        256, 16, 4, 1]


# ============================================================================= the command line


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_uses_the_declared_world_and_a_flag_overrides_it(need16_file, capsys):
    code, out, _ = run_cli(capsys, "verify", "worldops.py:need16", "--max-examples", "5", "-f", "json")
    assert code == 0, out
    doc = json.loads(out)
    [item] = doc["suites"][0]["items"]
    assert item["report"]["world"]["context_dim"] == 16

    code, out, _ = run_cli(capsys, "verify", "worldops.py:need16", "--max-examples", "5", "--context-dim", "3",
                           "-f", "json")
    assert code == 1
    [item] = json.loads(out)["suites"][0]["items"]
    first = item["outcomes"][0]
    assert item["report"]["world"]["context_dim"] == 3
    assert "seems to need context_dim=16" in first["message"]
    assert "--context-dim 3" in first["reproduce"]  # the explicit flag travels with the reproduction


def test_the_cli_names_the_flag_when_a_world_size_is_forgotten(need16_file, capsys):
    code, out, err = run_cli(capsys, "verify", "worldops.py:forgot16", "--max-examples", "5", "--color", "never")
    assert code == 1
    text = out + err
    assert "seems to need context_dim=16: declare world={'context_dim': 16} or pass --context-dim 16" in text


# ============================================================================= suites


SUITE = textwrap.dedent('''
    [suite]
    name = "worlds"
    seed = 1
    max_examples = 5

    [[item]]
    id = "declared"
    operator = "worldops.py:need16"
    axioms = ["context.normalization", "context.positivity"]

    [[item]]
    id = "suite_says_3"
    operator = "worldops.py:need16"
    axioms = ["context.normalization"]
    world = { context_dim = 3 }
    expect = { "context.normalization" = "error" }
''')


def test_a_suite_uses_the_declared_world_and_an_items_world_overrides_it(need16_file, capsys):
    (need16_file.parent / "w.toml").write_text(SUITE)
    code, out, _ = run_cli(capsys, "run", "w.toml", "-f", "json")
    assert code == 0, out
    items = {i["item"]: i for i in json.loads(out)["suites"][0]["items"]}
    assert items["declared"]["settings"]["context_dim"] == 16
    assert [o["status"] for o in items["declared"]["outcomes"]] == ["pass", "pass"]
    said3 = items["suite_says_3"]
    assert said3["settings"]["context_dim"] == 3
    [outcome] = said3["outcomes"]
    assert "seems to need context_dim=16" in outcome["message"]
    # the item's own world needs no flag to be replayed
    assert outcome["reproduce"] == ("axiomcheck run w.toml --item suite_says_3 --axioms context.normalization "
                                    "--seed 1 --max-examples 5")

    # the command line overrides both; the reproduction then carries the flag
    code, out, _ = run_cli(capsys, "run", "w.toml", "-f", "json", "--context-dim", "3", "--item", "declared")
    assert code == 1
    [item] = json.loads(out)["suites"][0]["items"]
    assert item["settings"]["context_dim"] == 3
    assert item["outcomes"][0]["reproduce"].endswith("--context-dim 3")


def test_a_declared_world_needs_no_flag_in_a_suite_reproduction(need16_file):
    from axiomcheck.suites import load, runner

    (need16_file.parent / "w.toml").write_text(SUITE)
    suite = load("w.toml")
    item = suite.items[0]
    settings = runner.effective(item, {})
    assert settings["context_dim"] == 16
    assert runner.reproduction(suite, item, settings, "context.normalization") == (
        "axiomcheck run w.toml --item declared --axioms context.normalization --seed 1 --max-examples 5")


# ============================================================================= the pytest fixture


def test_the_fixture_puts_the_declared_world_between_the_marker_and_ini(pytester: pytest.Pytester):
    pytester.makepyfile(worldops=NEED16)
    pytester.makeini("[pytest]\naxiomcheck_context_dim = 5\naxiomcheck_max_examples = 5\n")
    pytester.makepyfile(test_w=textwrap.dedent('''
        import pytest
        from worldops import need16

        def test_declared_beats_ini(axiomcheck):
            assert axiomcheck(need16).world["context_dim"] == 16

        @pytest.mark.axiomcheck(context_dim=3)
        def test_marker_beats_declared(axiomcheck):
            assert axiomcheck(need16).world["context_dim"] == 3

        def test_call_beats_declared(axiomcheck):
            assert axiomcheck(need16, context_dim=4).world["context_dim"] == 4
    '''))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


# ============================================================================= a fixed number of teachers

_META = np.random.default_rng(1).normal(size=(16, 4))  # a meta-weight network's output layer: four outputs


def four_outputs(probs, context):
    z = probs.mean(axis=1) @ _META
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def meta_net(probs, context, *, params):
    z = probs.mean(axis=1) @ params
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_an_operator_declared_for_four_teachers_is_not_fed_the_k1_family():
    report = ac.verify(token(four_outputs, name="four", world={"teachers": 4}), **FAST)
    assert report.passed, report.statuses()
    for axiom in ("token.shape", "token.finite"):
        assert report[axiom].status == "pass"
        assert report[axiom].message.endswith(
            "K = 1 family not run: the operator declares world={'teachers': 4}, so it is built for K = 4 only")


def test_parameters_with_one_entry_per_teacher_fix_k():
    report = ac.verify(token(meta_net, name="meta", params=[_META, 2 * _META]), **FAST)
    assert report.passed, report.statuses()
    assert "K = 1 family not run: its parameters fix K = 4 (an array of shape (16, 4)" in report["token.shape"].message


def test_an_undeclared_operator_returning_k_columns_at_k1_is_told_to_declare_it():
    report = ac.verify(token(four_outputs, name="four_undeclared"), **FAST)
    shape = report["token.shape"]
    assert shape.status == "error"
    assert "got (8, 4), at K = 1 family" in shape.message
    assert shape.message.endswith("given one teacher it returned the weights of 4: if it is built for K = 4, "
                                  "declare world={'teachers': 4} and the K = 1 family is not run")
    assert set(report.failing()) == {"token.shape"}


def test_an_operator_that_adapts_to_k_is_still_checked_at_k1():
    def breaks_at_k1(probs, context):
        k = probs.shape[1]
        return np.full(probs.shape[:2], 1.0 / (k - 1) if k > 1 else np.nan)

    report = ac.verify(token(breaks_at_k1, name="k1_nan"), **FAST)
    assert report["token.finite"].status == "fail" and "K = 1" in report["token.finite"].message
    assert "K = 1 family not run" not in report["token.shape"].message

# ============================================================================= one definition of the sizes

WORLD_FIELDS = [f.name for f in dataclasses.fields(ac.World)]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _changed(name: str) -> dict[str, int]:
    """Every size at its default but `name`, one more than its default."""
    sizes = dataclasses.asdict(ac.World())
    sizes[name] += 1
    return sizes


class _Recorder:
    """Stands in for pytest's Parser and OptionGroup: records the flags and ini keys the plugin adds."""

    def __init__(self) -> None:
        self.flags: set[str] = set()
        self.ini: set[str] = set()

    def getgroup(self, *args, **kwargs):
        return self

    def addoption(self, *flags, **kwargs):
        self.flags.update(flags)

    def addini(self, name, *args, **kwargs):
        self.ini.add(name)


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_each_world_size_is_a_flag_of_every_checking_command(name):
    parser = cli.build_parser()
    for argv in (["run"], ["verify", "op"], ["ensemble", "op"]):
        assert getattr(parser.parse_args([*argv, _flag(name), "5"]), name) == 5, argv


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_each_world_size_is_a_pytest_option_an_ini_key_and_a_marker_keyword(name):
    from axiomcheck import pytest_plugin

    rec = _Recorder()
    pytest_plugin.pytest_addoption(rec)
    assert "--axiomcheck-" + _flag(name)[2:] in rec.flags
    assert "axiomcheck_" + name in rec.ini
    assert name in pytest_plugin.MARKER_KEYS


def test_the_marker_help_names_every_world_size(pytester: pytest.Pytester):
    """`pytest --markers` once left out `features` and `history`."""
    result = pytester.runpytest("--markers")
    [line] = [ln for ln in result.stdout.lines if ln.startswith("@pytest.mark.axiomcheck(")]
    assert [name for name in WORLD_FIELDS if f"{name}=None" not in line] == []


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_each_world_size_is_a_key_of_a_suites_world_tables(name):
    from axiomcheck.suites import SuiteError, loads, runner

    text = (f'[suite]\nname = "w"\n[suite.world]\n{name} = 5\n[[item]]\noperator = "uniform_context"\n'
            f'[[item]]\nid = "own"\noperator = "uniform_context"\nworld = {{ {name} = 6 }}\n')
    first, own = loads(text).items
    assert (first.world[name], own.world[name]) == (5, 6)
    assert runner.effective(own, {})[name] == 6
    with pytest.raises(SuiteError, match=rf"\[suite\.world\]\.{name}: must be an integer ≥ 1, got 0"):
        loads(text.replace(f"{name} = 5", f"{name} = 0"))


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_each_world_size_travels_in_every_reproduce_line(name):
    from axiomcheck.report import repro
    from axiomcheck.suites import loads, runner

    sizes, size = _changed(name), getattr(ac.World(), name) + 1
    flag = f"{_flag(name)} {size}"
    verify = repro.for_verify("op", "op", sizes, ac.Settings(max_examples=10), "context.positivity")
    ensemble = repro.for_ensemble("op", "op", ac.World(**sizes), 0, None, "ensemble.convexity")
    assert flag in repro.render(verify)
    assert flag in repro.render(ensemble)
    assert f"{name}={size}" in repro.render(dataclasses.replace(verify, target=None))  # the Python calls
    assert f"{name}={size}" in repro.render(dataclasses.replace(ensemble, target=None))
    # an item `axiomcheck verify` cannot replay (a spec override): `axiomcheck run` with the size given
    suite = loads('[suite]\nname = "w"\n[[item]]\nid = "x"\noperator = "uniform_context"\n'
                  'spec = { bounds = [0.1, 0.9] }\n', "s.toml")
    [item] = suite.items
    settings = runner.effective(item, {name: size})
    assert runner.reproduction(suite, item, settings, "context.positivity").endswith(flag)


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_verify_and_verify_ensemble_take_each_world_size(name):
    import inspect

    for fn in (ac.verify, ac.verify_ensemble):
        param = inspect.signature(fn).parameters[name]
        assert (param.kind, param.default) == (inspect.Parameter.KEYWORD_ONLY, None), fn.__name__


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_the_world_diagnosis_names_the_flag_of_each_size(name):
    assert diagnose.Need(name, 7, 3).advice.endswith(f"or pass {_flag(name)} 7")


@pytest.mark.parametrize("name", WORLD_FIELDS)
def test_one_order_of_precedence_for_each_size(name):
    """The command line > the suite item's world > the operator's declaration > ini > the built-in size."""
    from axiomcheck.spec import worlds
    from axiomcheck.suites import loads, runner

    declared = context(gate16, name=f"declares_{name}", world={name: 7})
    bare = context(gate16, name=f"declares_no_{name}")
    suite = '[suite]\nname = "w"\n[[item]]\noperator = "{op}"\n{world}'
    try:
        for op in (declared, bare):
            ac.register(op)
        [item6], [item7], [item0] = (loads(suite.format(op=op.name, world=world)).items for op, world in (
            (declared, f"world = {{ {name} = 6 }}\n"), (declared, ""), (bare, "")))
        assert runner.effective(item6, {name: 5}, {name: 9})[name] == 5
        assert runner.effective(item6, {}, {name: 9})[name] == 6
        assert runner.effective(item7, {}, {name: 9})[name] == 7
        assert runner.effective(item0, {}, {name: 9})[name] == 9
        assert runner.effective(item0, {})[name] == worlds.default(name)
        # verify() and the fixture build their World by the same rule
        assert getattr(worlds.world_for(declared.world, {name: None}, {name: 9}), name) == 7
        assert getattr(worlds.world_for(declared.world, {name: 5}, {name: 9}), name) == 5
    finally:
        for op in (declared, bare):
            ac.unregister(op.name)


def test_ensemble_reproduce_line_keeps_every_size_given(capsys):
    """`axiomcheck ensemble --features 16` once printed a reproduce line without it."""
    code, out, _ = run_cli(capsys, "ensemble", "indep_context_normalization", "--seed", "3", "--vocab", "8",
                           "--features", "16", "--history", "3")
    assert code == 1
    [line] = [ln for ln in out.splitlines() if "reproduce" in ln]
    assert line.endswith("--teachers 4 --vocab 8 --context-dim 3 --tasks 3 --features 16 --history 3 "
                         "--axioms ensemble.convexity")
    code, out, _ = run_cli(capsys, "ensemble", "indep_context_normalization", "--features", "16", "-f", "json")
    assert json.loads(out)["world"] == {**dataclasses.asdict(ac.World(vocab=16)), "features": 16}
