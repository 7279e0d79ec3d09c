"""The conformance suite: checks every step a plugin registers keeps the core's contract.

A plugin's tests call it once::

    from orchestrator.testing import conformance_suite

    TestConformance = conformance_suite("myplugin", examples={"myplugin.read": {"path": "in.csv"}})

and pytest runs, for each registered step: a valid args schema, a call signature that fits its
phase (streaming only from extract steps), picklability (for executors that cross process
boundaries), and, for transforms and loads, an empty input handled and bad input refused with the
core's documented error type. Example args come from ``examples=`` or the schema's own ``examples``.

Loads that keep the idempotent-load contract (docs/reliability.md) say so with
``idempotent_loads={"myplugin.write": count_rows}``, where ``count_rows(args, base_dir)`` returns
how many rows the target holds; the suite then checks that a load run again with the same
``ctx.load_id`` commits nothing twice, and that one cut short loads the rest when run again.

Every load is checked not to lose a column: given rows where a later row (in the same batch, or
in a later one) brings a key the first did not have, it either keeps every value or fails with
the core's error type naming the column. Which of the two happened is told by reading the target
back: ``read_back={"myplugin.write": read_rows}``, where ``read_rows(args, base_dir)`` returns the
rows the target holds, as dicts. A load that hands rows on to code of the user's (nothing to read
back) says so with ``None``. Loads taking another batch form than lists of row dicts (Arrow
record batches, say) give ``batch_form={"myplugin.write": convert}``, ``convert(rows)`` making
one batch of that form.
"""

from __future__ import annotations

import inspect
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.config.phases import EXTRACT, LOAD, PHASES, TRANSFORM
from orchestrator.context import StepContext
from orchestrator.errors import OrchestratorError
from orchestrator.plugins.registry import Registration

_DATA_PARAMETERS = {TRANSFORM: 2, LOAD: 2}


#: rows a target holds, given the load's args and the directory relative paths start from
RowCounter = Callable[[dict[str, Any], Path], int]

#: rows the target of a load's args holds, as dicts, given the args and the base directory
RowReader = Callable[[dict[str, Any], Path], list[dict[str, Any]]]

#: what every load is given to check it loses no column: ``b`` first appears in the second row
COLUMN_ROWS: list[dict[str, Any]] = [{"a": 1}, {"a": 2, "b": "x"}, {"b": "y"}]

#: what idempotent loads are given: three batches of ten rows
SAMPLE_BATCHES = [[{"id": b * 10 + i, "name": f"row {b * 10 + i}"} for i in range(10)] for b in range(3)]


def conformance_suite(
    plugin: str,
    *,
    examples: dict[str, dict[str, Any]] | None = None,
    idempotent_loads: dict[str, RowCounter] | None = None,
    read_back: dict[str, RowReader | None] | None = None,
    batch_form: dict[str, Callable[[list[dict[str, Any]]], Any]] | None = None,
) -> type:
    """A pytest test class checking every step registered by ``plugin`` (its entry point name or
    its distribution name). Assign it to a ``Test...`` name in a test module."""
    import pytest

    from orchestrator.plugins.discovery import load_plugins

    loaded = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": plugin})
    problems = [str(p) for p in loaded.registry.problems]
    steps = [
        entry
        for phase in PHASES
        for entry in loaded.registry.tables.get(phase, {}).values()
        if plugin in (entry.origin.plugin, entry.origin.distribution)
    ]
    chosen = examples or {}
    executors, notifiers = (
        [e for e in loaded.registry.tables.get(kind, {}).values() if plugin in (e.origin.plugin, e.origin.distribution)]
        for kind in ("executor", "notifier")
    )
    ids = [f"{entry.kind}:{entry.name}" for entry in steps]
    with_data = [entry for entry in steps if entry.kind in _DATA_PARAMETERS]

    class Conformance:
        def test_the_plugin_loads_and_registers_steps(self) -> None:
            assert not problems, f"the plugin failed to load: {problems}"
            assert steps or executors or notifiers, (
                f"no installed plugin named {plugin!r} registers a step, an executor or a notification channel "
                "(entry point or distribution name)"
            )
            for entry in executors:
                from orchestrator.executors import Executor

                assert isinstance(entry.resolve()(), Executor), f"executor {entry.name}: the factory must return an Executor"
            for entry in notifiers:
                from jsonschema import Draft202012Validator

                assert callable(entry.resolve()), f"notification channel {entry.name}: the factory must be callable"
                if entry.schema is not None:
                    Draft202012Validator.check_schema(entry.schema)

    suite: type = Conformance
    if not steps:  # an executor- or channel-only plugin: no step tests (and no empty parameter sets)
        return _named(suite, plugin)

    class ConformanceOfSteps(Conformance):
        @pytest.mark.parametrize("entry", steps, ids=ids)
        def test_args_schema_is_valid(self, entry: Registration) -> None:
            from jsonschema import Draft202012Validator
            from jsonschema.validators import validator_for

            assert entry.schema is not None, (
                f"{entry.name}: declare an args schema (an object schema; one with no properties "
                "when the step takes no args)"
            )
            validator_for(entry.schema, default=Draft202012Validator).check_schema(entry.schema)
            assert entry.schema.get("type") == "object", f"{entry.name}: args are a mapping; say type: object"

        @pytest.mark.parametrize("entry", steps, ids=ids)
        def test_signature_fits_the_phase(self, entry: Registration) -> None:
            function = entry.resolve()
            streams = inspect.isasyncgenfunction(function) or inspect.isgeneratorfunction(function)
            assert entry.kind == EXTRACT or not streams, (
                f"{entry.name}: only extract steps may stream batches out; a {entry.kind} step returns its result"
            )
            parameters = list(inspect.signature(function).parameters.values())
            positional = _DATA_PARAMETERS.get(entry.kind, 1)
            leading = [p for p in parameters[:positional] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            assert len(leading) == positional, (
                f"{entry.name}: a {entry.kind} step is called as "
                + ("step(ctx, data, **args)" if positional == 2 else "step(ctx, **args)")
            )
            rest = parameters[positional:]
            takes_any = any(p.kind == p.VAR_KEYWORD for p in rest)
            names = {p.name for p in rest}
            properties = set((entry.schema or {}).get("properties", {}))
            required = set((entry.schema or {}).get("required", []))
            assert takes_any or properties <= names, f"{entry.name}: args in the schema but not accepted: {sorted(properties - names)}"
            needed = {p.name for p in rest if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
            assert needed <= required, f"{entry.name}: parameters without a default must be required in the schema: {sorted(needed - required)}"

        @pytest.mark.parametrize("entry", steps, ids=ids)
        def test_step_and_its_example_args_pickle(self, entry: Registration) -> None:
            pickle.loads(pickle.dumps(entry.resolve()))
            pickle.loads(pickle.dumps(_example(entry, chosen)))

    suite = ConformanceOfSteps
    if with_data:
        data_ids = [f"{entry.kind}:{entry.name}" for entry in with_data]

        class ConformanceWithData(ConformanceOfSteps):
            @pytest.mark.parametrize("entry", with_data, ids=data_ids)
            def test_handles_an_empty_input(self, entry: Registration, tmp_path: Path) -> None:
                result = _call(entry, _example(entry, chosen), [], tmp_path)
                if entry.kind == TRANSFORM:
                    assert result is None or _length(result) == 0, f"{entry.name}: an empty batch gave {result!r}"
                else:
                    assert result in (None, 0) or (isinstance(result, dict) and result.get("rows") in (None, 0)), (
                        f"{entry.name}: a load of nothing reported {result!r}"
                    )

            @pytest.mark.parametrize("entry", with_data, ids=data_ids)
            def test_bad_input_raises_the_documented_error(self, entry: Registration, tmp_path: Path) -> None:
                bad = [object()] if entry.kind == TRANSFORM else [[object()]]
                try:
                    _call(entry, _example(entry, chosen), bad, tmp_path)
                except OrchestratorError:
                    return
                except Exception as exc:
                    raise AssertionError(
                        f"{entry.name}: bad input raised {type(exc).__name__}: {exc}; raise "
                        "orchestrator.errors.StepError with a message the user can act on"
                    ) from exc

        loads = [entry for entry in with_data if entry.kind == LOAD]
        readers = read_back or {}
        forms = batch_form or {}
        if loads:

            class ConformanceOfLoads(ConformanceWithData):
                def test_read_back_and_batch_form_name_load_steps(self) -> None:
                    unknown = sorted({*readers, *forms} - {entry.name for entry in loads})
                    assert not unknown, f"read_back or batch_form names no load step of {plugin!r}: {unknown}"

                @pytest.mark.parametrize("split", [False, True], ids=["one batch", "a batch per row"])
                @pytest.mark.parametrize("entry", loads, ids=[entry.name for entry in loads])
                def test_a_column_first_seen_later_is_kept_or_refused_by_name(
                    self, entry: Registration, split: bool, tmp_path: Path
                ) -> None:
                    batches = [[row] for row in COLUMN_ROWS] if split else [COLUMN_ROWS]
                    convert = forms.get(entry.name)
                    args = _example(entry, chosen)
                    try:
                        _call(entry, args, [convert(b) for b in batches] if convert else batches, tmp_path)
                    except OrchestratorError as exc:
                        assert re.search(r"(?<!\w)b(?!\w)", str(exc)), (
                            f"{entry.name}: refused rows whose column 'b' first appears in the second row, "
                            f"but the message does not name the column: {exc}"
                        )
                        return
                    assert entry.name in readers, (
                        f"{entry.name}: pass read_back={{{entry.name!r}: read_rows}} to conformance_suite, "
                        "read_rows(args, base_dir) returning the rows the target holds, so the suite can check "
                        "that no column was lost (None for a load with no target to read)"
                    )
                    reader = readers[entry.name]
                    if reader is None:
                        return
                    held = sorted(((_text(row.get("a")), _text(row.get("b"))) for row in reader(args, tmp_path)), key=repr)
                    expected = sorted(((_text(row.get("a")), _text(row.get("b"))) for row in COLUMN_ROWS), key=repr)
                    assert held == expected, (
                        f"{entry.name}: loaded {COLUMN_ROWS} and the target holds {held}: a column first seen "
                        "in a later row must be added, or the load must fail naming it, never dropped"
                    )

            suite = ConformanceOfLoads
        else:
            suite = ConformanceWithData

    counted = idempotent_loads or {}
    unknown = sorted(set(counted) - {entry.name for entry in steps if entry.kind == LOAD})
    idempotent = [entry for entry in steps if entry.kind == LOAD and entry.name in counted]
    if idempotent or unknown:
        load_ids = [entry.name for entry in idempotent]

        class ConformanceOfIdempotentLoads(suite):  # type: ignore[misc]
            def test_idempotent_loads_name_load_steps(self) -> None:
                assert not unknown, f"idempotent_loads names no load step of {plugin!r}: {unknown}"

            @pytest.mark.parametrize("entry", idempotent, ids=load_ids)
            def test_a_load_run_again_commits_nothing_twice(self, entry: Registration, tmp_path: Path) -> None:
                args = _example(entry, chosen)
                total = sum(len(batch) for batch in SAMPLE_BATCHES)
                _call(entry, args, SAMPLE_BATCHES, tmp_path)
                assert counted[entry.name](args, tmp_path) == total, f"{entry.name}: the first load did not hold every row"
                _call(entry, args, SAMPLE_BATCHES, tmp_path)  # a retry or a resume: the same ctx.load_id
                held = counted[entry.name](args, tmp_path)
                assert held == total, f"{entry.name}: loading the same batches again under one load_id left {held} rows, not {total}"

            @pytest.mark.parametrize("entry", idempotent, ids=load_ids)
            def test_a_load_cut_short_loads_the_rest_when_run_again(self, entry: Registration, tmp_path: Path) -> None:
                args = _example(entry, chosen)
                total = sum(len(batch) for batch in SAMPLE_BATCHES)
                with pytest.raises(_CutShort):
                    _call(entry, args, SAMPLE_BATCHES, tmp_path, fail_after=2)
                before = counted[entry.name](args, tmp_path)
                assert before <= 20, f"{entry.name}: {before} rows held after only 20 arrived"
                _call(entry, args, SAMPLE_BATCHES, tmp_path)
                held = counted[entry.name](args, tmp_path)
                assert held == total, f"{entry.name}: after the cut and a second attempt the target holds {held} rows, not {total}"

        suite = ConformanceOfIdempotentLoads

    return _named(suite, plugin)


def _named(suite: type, plugin: str) -> type:
    suite.__name__ = suite.__qualname__ = f"Conformance_{plugin.replace('-', '_').replace('.', '_')}"
    return suite


def _example(entry: Registration, chosen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if entry.name in chosen:
        return chosen[entry.name]
    schema = entry.schema or {}
    for example in schema.get("examples", []):
        if isinstance(example, dict):
            return example
    if not schema.get("required"):
        return {}
    raise AssertionError(
        f"{entry.name}: no example args; add an object to its schema's 'examples' or pass "
        f"examples={{{entry.name!r}: {{...}}}} to conformance_suite"
    )


class _CutShort(Exception):
    """The input of a load stopped half way (the process running it died, say)."""


def _call(entry: Registration, args: dict[str, Any], data: list[Any], base_dir: Path, fail_after: int | None = None) -> Any:
    import anyio

    function = entry.resolve()
    ctx = StepContext("conformance", "conformance", {}, base_dir, entry.kind, entry.name, entry.name)
    payload: Any = data if entry.kind == TRANSFORM else _batches(data, inspect.iscoroutinefunction(function), fail_after)
    if inspect.iscoroutinefunction(function):
        async def call() -> Any:
            return await function(ctx, payload, **args)

        return anyio.run(call)
    return function(ctx, payload, **args)


def _batches(batches: list[Any], asynchronous: bool, fail_after: int | None = None) -> Any:
    """The batches as a load receives them; ``fail_after`` batches, the input breaks off."""

    def sync() -> Any:
        for number, batch in enumerate(batches):
            if number == fail_after:
                raise _CutShort(f"the input stopped after {fail_after} batches")
            yield batch

    if not asynchronous:
        return sync()

    async def stream() -> Any:
        for batch in sync():
            yield batch

    return stream()


def _text(value: Any) -> str | None:
    """A value as a target may give it back: text files hold strings, and an empty field is null."""
    return None if value in (None, "") else str(value)


def _length(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return getattr(value, "num_rows", 1)
