"""The hooks a plugin can implement.

Two families live here. *Registration* hooks run once, when the plugin registry is first needed: each
hands the plugin a ``register`` callback so that attribution (which distribution registered what)
and name clashes stay the core's business. *Lifecycle* hooks run while pipelines execute; every
implementation is called (none of them is ``firstresult``) and their return values are ignored, so
an observer can never change what a run does by accident. They fire through one relay with one
rule for a hook that raises (:mod:`orchestrator.engine.record`, ``docs/plugins/hooks.md``), and
every ``before_*`` is paired with its ``after_*`` however the pipeline ends.

Every hook here has a reference page, ``docs/plugins/hooks/<name>.md``; ``tests/test_docs.py`` fails when one is
missing there or has no test of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from orchestrator.context import PipelineContext, StepContext
    from orchestrator.plugins.registry import Register

PROJECT_NAME = "orchestrator"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -- registration ---------------------------------------------------------------------------------


@hookspec
def register_extractors(register: Register) -> None:
    """Register the extract steps this plugin provides.

    Fires once per process, the first time the registry is needed (``validate``, ``run``,
    ``plugins`` and ``schema`` all need it).

    :param register: call ``register(name, step, schema=None, description="")`` once per step.
        ``name`` is what users write as ``plugin:`` in YAML (for example ``"csv.read"``);
        ``step`` is the callable or, to keep the plugin module cheap to import, a
        ``"package.module:function"`` string imported when the step first runs; ``schema`` is the
        JSON Schema of the step's ``args``.
    :returns: nothing; whatever is returned is ignored.

    An extract step is called as ``step(ctx, **args)`` and returns data, or an iterator / async
    iterator of batches to stream.
    """


@hookspec
def register_transformers(register: Register) -> None:
    """Register the transform steps this plugin provides.

    Fires once per process, like :func:`register_extractors`, with the same ``register`` callback.

    :param register: ``register(name, step, schema=None, description="")``.
    :returns: nothing.

    A transform step is called as ``step(ctx, data, **args)`` once per batch (data that was not
    streamed is one batch) and returns the new batch; returning ``None`` drops the batch.
    """


@hookspec
def register_loaders(register: Register) -> None:
    """Register the load steps this plugin provides.

    Fires once per process, like :func:`register_extractors`.

    :param register: ``register(name, step, schema=None, description="")``.
    :returns: nothing.

    A load step is called as ``step(ctx, batches, **args)``; ``batches`` is an iterable of batches
    for a sync step and an async iterable for an async one. It returns the number of rows it wrote
    (an ``int``) or a mapping with a ``"rows"`` key. Batches are shared between the loads of a
    pipeline, so a load must not change them.
    """


@hookspec
def register_load_transformers(register: Register) -> None:
    """Register the transform_at_load steps this plugin provides.

    Fires once per process, like :func:`register_extractors`.

    :param register: ``register(name, step, schema=None, description="")``.
    :returns: nothing.

    A transform_at_load step is called as ``step(ctx, **args)``: it acts inside the target system
    (SQL run in the warehouse, say) and returns the number of rows it affected, a mapping with a
    ``"rows"`` key, or ``None``.
    """


@hookspec
def register_executors(register: Register) -> None:
    """Register the executor backends this plugin provides.

    Fires once per process, like :func:`register_extractors`.

    :param register: ``register(name, factory, schema=None, description="")``; ``factory`` (a
        callable or a ``"module:attr"`` string) is called with the executor's options from the
        config as keyword arguments and returns an :class:`orchestrator.executors.Executor`.
    :returns: nothing.
    """


@hookspec
def register_notifiers(register: Register) -> None:
    """Register the notification channels this plugin provides (``channel:`` under ``notify:``).

    Fires once per process, like :func:`register_extractors`.

    :param register: ``register(name, factory, schema=None, description="")``; ``factory`` (a
        callable or a ``"module:attr"`` string) is called with the channel's options from the
        config (every key of its ``notify:`` entry but ``channel`` and ``on``) as keyword
        arguments, and returns the sender: a callable taking one
        :class:`orchestrator.notify.Notification`. ``schema`` is the JSON Schema of the options.
    :returns: nothing.

    Senders run in a background thread of the ``orchestrator run`` process, one notification at a
    time, so a sender may block (an HTTP request, an SMTP session) but should bound its own wait.
    A sender that raises is reported as a warning naming the channel; the run's outcome and exit
    code never change because of it.
    """


@hookspec
def register_exporters(register: Register) -> None:
    """Register the ``orchestrator export`` subcommands this plugin provides: each writes a
    pipeline file as the files another engine runs (an Airflow DAG file, an Argo Workflow).

    Fires once per process, like :func:`register_extractors`, when ``orchestrator export`` (or
    ``plugins``) needs the registry; a plugin adapting an engine registers its exporter here so
    every engine is exported the same way, from one command group.

    :param register: ``register(name, command, description="")``; ``name`` is the subcommand
        (``orchestrator export NAME``), ``command`` a :class:`click.Command` or, to keep the plugin
        module cheap to import, a ``"package.module:command"`` string imported when that
        subcommand runs; ``description`` is its line in ``orchestrator export --help``.
    :returns: nothing.

    The command takes the pipeline file as its first argument, validates it as ``orchestrator
    validate`` does (exit 2 with every problem), and writes to stdout unless ``-o FILE`` says
    otherwise.
    """


@hookspec
def register_engines(register: Register) -> None:
    """Register the orchestration engines this plugin runs pipeline files on (``airflow``,
    ``argo``...), so ``orchestrator plugins`` tells which engines the installed adapters support.

    Fires once per process, like :func:`register_extractors`.

    :param register: ``register(name, entry, description="")``; ``name`` is the engine, in lower
        case, as ``orchestrator plugins`` lists it; ``entry`` is what a user of that engine calls
        (a callable or a ``"package.module:attr"`` string, never imported by the core: the
        engine's libraries may not be installed where ``orchestrator plugins`` runs), such as the
        factory that builds the engine's object from a pipeline file; ``description`` says what
        one pipeline becomes there (one line).
    :returns: nothing.
    """


@hookspec
def register_event_consumers(register: Register) -> None:
    """Register consumers of the event stream: what sees a whole run, in order, wherever its
    pipelines ran (traces, metrics, audit logs).

    Fires once per process, like :func:`register_extractors`. A plugin that has nothing to do in
    this process (telemetry that is not configured, say) registers nothing, and then costs a run
    nothing.

    :param register: ``register(name, factory, schema=None, description="")``; ``factory`` (a
        callable or a ``"module:attr"`` string, imported when a run first needs it) is called
        once at the start of every run, in the process that started it (``orchestrator run``,
        ``orchestrator serve``, :func:`orchestrator.run`), with an
        :class:`orchestrator.consumers.RunStart` (the run id, the config, and the run's W3C trace
        context), and returns the consumer: a callable taking one
        :class:`orchestrator.events.Event`, or ``None`` to skip this run.
    :returns: nothing.

    The consumer receives every event of the run, from ``run_started`` to ``run_finished``,
    including those of pipelines that ran in ``process`` or ``dask`` workers (relayed to the
    run's process), in order, on the run's event-loop thread, except ``log`` events, which may
    come from a step's thread. It must return quickly (queue slow work). A consumer that raises
    is dropped for the rest of the run with one warning naming it; the run never fails because
    of it. Lifecycle hooks fire in the process that runs the pipeline; consumers only in the
    run's.
    """


# -- lifecycle --------------------------------------------------------------------------------------


@hookspec
def before_pipeline_run(context: PipelineContext) -> None:
    """Called just before a pipeline's first phase starts.

    :param context: the pipeline's context (``run_id``, ``pipeline``, ``params``, ``logger``).
    :returns: ignored. Raising fails the pipeline (its dependents are then skipped).
    """


@hookspec
def after_pipeline_run(context: PipelineContext, status: str, elapsed: float) -> None:
    """Called when a pipeline has finished, whatever the outcome: success, failure, timeout, or
    interruption (Ctrl-C, SIGTERM).

    :param context: the pipeline's context.
    :param status: ``"succeeded"``, ``"failed"`` or ``"interrupted"``.
    :param elapsed: wall-clock seconds the pipeline took.
    :returns: ignored. Raising fails the pipeline (see the hook rule).
    """


@hookspec
def on_pipeline_error(context: PipelineContext, error: BaseException) -> None:
    """Called when a pipeline fails, before :func:`after_pipeline_run`.

    :param context: the pipeline's context.
    :param error: the exception that failed it.
    :returns: ignored.
    """


@hookspec
def before_phase_run(context: PipelineContext, phase: str) -> None:
    """Called before a phase of a pipeline starts.

    :param context: the pipeline's context.
    :param phase: ``"extract"``, ``"transform"``, ``"load"`` or ``"transform_at_load"``. When data
        streams, extract, transform and load run together, so their ``before_phase_run`` calls come
        one after another before any batch moves.
    :returns: ignored.
    """


@hookspec
def after_phase_run(context: PipelineContext, phase: str, elapsed: float, status: str) -> None:
    """Called when a phase that started has ended, whatever the outcome.

    :param context: the pipeline's context.
    :param phase: the phase that ended.
    :param elapsed: wall-clock seconds the phase took.
    :param status: ``"succeeded"`` (every step of the phase succeeded), ``"failed"`` (a step of
        the pipeline failed or timed out while the phase was running) or ``"interrupted"``.
    :returns: ignored. Raising fails the pipeline (see the hook rule).
    """


@hookspec
def before_step_run(context: StepContext, args: dict[str, Any]) -> None:
    """Called before a step runs (for a streamed transform: before its first batch).

    :param context: the step's context (``run_id``, ``pipeline``, ``phase``, ``step_id``,
        ``plugin``, ``params``, ``logger``).
    :param args: the step's ``args`` after variable substitution.
    :returns: ignored. Raising fails the step.
    """


@hookspec
def after_step_run(context: StepContext, rows: int | None, elapsed: float, status: str) -> None:
    """Called when a step that started has ended, whatever the outcome (after
    :func:`on_step_error` when it raised).

    :param context: the step's context.
    :param rows: rows the step produced (extract, transform) or wrote / affected (load,
        transform_at_load); ``None`` when the step did not say, or did not succeed.
    :param elapsed: wall-clock seconds the step took.
    :param status: ``"succeeded"``, ``"failed"`` (it raised or timed out, or another step of the
        pipeline failed while it ran) or ``"interrupted"``.
    :returns: ignored. Raising fails the pipeline (see the hook rule).
    """


@hookspec
def on_step_error(context: StepContext, error: BaseException) -> None:
    """Called when a step raised.

    :param context: the step's context.
    :param error: the exception the step raised.
    :returns: ignored. The step's pipeline then fails. Raising adds the hook's error to the
        pipeline's.
    """


@hookspec
def on_retry_exhausted(context: PipelineContext, step: str | None, error: BaseException, attempts: int) -> None:
    """Called when a retry policy ran out: a step or a pipeline that has a ``retry:`` failed on its
    last attempt. Not called for an error the policy does not retry (one outside its ``on:`` list,
    a config error), nor when the policy allows a single attempt.

    :param context: the step's :class:`StepContext` when a step gave up, the pipeline's
        :class:`PipelineContext` when the whole pipeline did.
    :param step: the step's id, or ``None`` for the pipeline's own retry policy.
    :param error: the exception of the last attempt.
    :param attempts: how many attempts were made (the policy's ``attempts``).
    :returns: ignored. It fires before :func:`on_step_error` (or :func:`on_pipeline_error`); raising
        adds the hook's error to the failure's message.
    """
