"""The ``reelflow`` command line: a thin layer over the Python API (typer + rich)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from temporalio.client import WorkflowExecutionStatus

from starter.client import ReelflowClient, VideoJob
from starter.config import ReelflowSettings
from starter.errors import ReelflowError, VideoJobError
from workflows import search_attributes as sa
from workflows.contract import VideoJobStatus, VideoResult

app = typer.Typer(
    name="reelflow",
    help="Durable text-to-video jobs on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

DEFAULT_DEMO_PROMPT = "A paper boat sails across a sunlit pond, gentle ripples, cinematic"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_async(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command; turn reelflow's errors into one clear line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))
        except VideoJobError as exc:
            raise _fail(str(exc)) from None
        except (ReelflowError, RuntimeError, TimeoutError, OSError) as exc:
            raise _fail(str(exc)) from None

    return wrapper


# -- jobs ---------------------------------------------------------------------------------------


@app.command()
@run_async
async def generate(
    prompt: Annotated[str, typer.Argument(help="What the video shows.")],
    model: Annotated[str, typer.Option(help="Provider model.")] = "sora-2",
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT.")] = "1280x720",
    seconds: Annotated[int, typer.Option(help="4, 8 or 12.")] = 4,
    job_id: Annotated[str | None, typer.Option(help="Job id (default: generated).")] = None,
    input_reference: Annotated[
        str | None, typer.Option(help="Reference image: path or URL.")
    ] = None,
    polling_interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    max_duration: Annotated[float, typer.Option(help="Deadline in seconds.")] = 600.0,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the video.")] = True,
) -> None:
    """Start a job, show its progress, print the file path and the Temporal UI link."""
    client = await ReelflowClient.connect()
    job = await client.generate_video(
        prompt,
        model=model,
        size=size,
        seconds=seconds,
        job_id=job_id,
        input_reference=input_reference,
        polling_interval=polling_interval,
        max_duration=max_duration,
        require_worker=True,
    )
    verb = "started" if job.created else "attached to existing"
    console.print(f"{verb} job [bold]{job.job_id}[/]  {client.ui_url(job.job_id)}", soft_wrap=True)
    if not wait:
        return
    result = await follow_job(job)
    print_result(client, result)


async def follow_job(job: VideoJob) -> VideoResult:
    """Show a live progress bar (status, %, elapsed) until the job ends; return its result."""
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[status]:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("video", total=100, status="pending", note="")
        try:
            async for status in job.watch():
                progress.update(
                    task, completed=status.progress, status=status.status, note=_note(status)
                )
        except asyncio.CancelledError:
            raise
    return await job.result()


def _note(status: VideoJobStatus) -> str:
    if status.error is not None and status.status in ("failed", "cancelled"):
        return status.error.message[:80]
    if status.poll_errors:
        return f"{status.poll_errors} poll(s) retried"
    return status.provider_job_id or ""


def print_result(client: ReelflowClient, result: VideoResult) -> None:
    console.print(f"[green]video ready:[/] {result.path}", soft_wrap=True)
    console.print(
        f"  {result.width}x{result.height}, {result.duration_seconds:g}s, "
        f"{result.bytes:,} bytes, sha256 {result.sha256[:16]}…"
    )
    if result.thumbnail_path:
        console.print(f"  thumbnail: {result.thumbnail_path}")
    console.print(f"  Temporal UI: {client.ui_url(result.job_id)}", soft_wrap=True)


@app.command()
@run_async
async def status(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Print a job's current state and its Temporal UI link."""
    client = await ReelflowClient.connect()
    current = await client.get_video_job_status(job_id)
    console.print_json(current.model_dump_json())
    console.print(f"Temporal UI: {client.ui_url(job_id)}", soft_wrap=True)


@app.command()
@run_async
async def result(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Wait for a job and print where its video is."""
    client = await ReelflowClient.connect()
    print_result(client, await client.get_job(job_id).result())


@app.command()
@run_async
async def cancel(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    reason: Annotated[str, typer.Option(help="Shown in the job's status.")] = "cancelled by user",
) -> None:
    """Cancel a job: polling stops and the provider job is deleted."""
    client = await ReelflowClient.connect()
    await client.cancel_video_job(job_id, reason)
    console.print(f"cancel requested for {job_id}")


@app.command("list")
@run_async
async def list_jobs(
    status_filter: Annotated[
        str | None, typer.Option("--status", help="pending|processing|completed|failed|cancelled")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 20,
) -> None:
    """List jobs from Temporal's visibility store, newest first."""
    client = await ReelflowClient.connect()
    clauses = ["WorkflowType = 'VideoGenerationWorkflow'"]
    if status_filter:
        clauses.append(f"VideoStatus = '{_quote(status_filter)}'")
    if model:
        clauses.append(f"VideoModel = '{_quote(model)}'")
    table = Table("job id", "status", "progress", "model", "provider job", "started")
    count = 0
    async for execution in client.temporal.list_workflows(" AND ".join(clauses), limit=limit):
        attributes = execution.typed_search_attributes
        table.add_row(
            execution.id,
            str(attributes.get(sa.VIDEO_STATUS) or _status_name(execution.status)),
            f"{attributes.get(sa.VIDEO_PROGRESS) or 0}%",
            str(attributes.get(sa.VIDEO_MODEL) or ""),
            str(attributes.get(sa.VIDEO_PROVIDER_JOB_ID) or ""),
            execution.start_time.strftime("%Y-%m-%d %H:%M:%S"),
        )
        count += 1
    console.print(table)
    console.print(f"{count} job(s)")


def _status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower() if status is not None else "unknown"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


# -- processes ----------------------------------------------------------------------------------


def _configure_logging(level: str, log_format: str = "text") -> None:
    """Text or JSON lines, each carrying the job id and provider job id when known."""
    from starter.observability import configure_logging

    configure_logging(level, log_format)


@app.command()
@run_async
async def worker(
    log_level: Annotated[str, typer.Option(help="debug|info|warning")] = "info",
) -> None:
    """Run the worker: workflow + activities on the configured task queue."""
    from starter.worker import run_worker

    settings = ReelflowSettings()
    _configure_logging(log_level, settings.log_format)
    await run_worker(settings)


@app.command()
def dev(
    simulator_speed: Annotated[float, typer.Option(help="Simulator speed factor.")] = 1.0,
) -> None:
    """Start Temporal (persistent, with UI), the simulator and a worker; Ctrl-C stops them."""
    from starter.devstack import DevStack

    stack = DevStack(ReelflowSettings(), simulator_speed=simulator_speed)
    with _stack_running(stack):
        _print_stack(stack)
        console.print("[dim]Ctrl-C stops everything.[/]")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            while not stopped.is_set():
                for process in stack.processes:
                    process.check_alive()
                stopped.wait(1.0)
        console.print("stopping…")


@app.command()
def demo(
    prompt: Annotated[str, typer.Argument(help="What the video shows.")] = DEFAULT_DEMO_PROMPT,
    seconds: Annotated[int, typer.Option(help="4, 8 or 12.")] = 4,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT.")] = "1280x720",
    simulator_speed: Annotated[float, typer.Option(help="Simulator speed factor.")] = 1.0,
) -> None:
    """Start the local stack, generate one video end to end, leave the MP4 on disk, stop."""
    from starter.devstack import DevStack

    stack = DevStack(ReelflowSettings(), simulator_speed=simulator_speed)
    started = time.monotonic()
    with _stack_running(stack):
        _print_stack(stack)

        async def one_job() -> None:
            client = await ReelflowClient.connect(stack.settings)
            await _wait_for_worker(client)
            job = await client.generate_video(prompt, seconds=seconds, size=size)
            console.print(f"job [bold]{job.job_id}[/]  {client.ui_url(job.job_id)}", soft_wrap=True)
            print_result(client, await follow_job(job))

        run_async(one_job)()
    console.print(
        f"done in {time.monotonic() - started:.1f}s; `reelflow dev` shows the job again in the UI"
    )


async def _wait_for_worker(client: ReelflowClient, within: float = 60.0) -> None:
    try:
        async with asyncio.timeout(within):
            while not await client.has_worker():
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise ReelflowError(client.no_worker_message()) from None


@contextlib.contextmanager
def _stack_running(stack: Any) -> Any:
    try:
        with console.status("starting Temporal dev server, simulator and worker…"):
            stack.start()
    except (TimeoutError, RuntimeError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    try:
        yield stack
    finally:
        stack.stop()


def _print_stack(stack: Any) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("Temporal", stack.settings.temporal_address)
    table.add_row("Temporal UI", stack.ui_url)
    table.add_row("Simulator", stack.settings.openai_base_url)
    table.add_row("Videos", str(stack.settings.videos_dir))
    table.add_row("Logs", str(stack.logs_dir))
    console.print(table)


def _register_simulator() -> None:
    try:
        from simulator.cli import run_simulator
    except ImportError:  # pragma: no cover - simulator/cli.py lands separately
        return
    app.command("simulator", help="Run the local OpenAI Videos API simulator.")(run_simulator)


_register_simulator()


def _register_serve() -> None:
    from starter.serve import serve

    app.command("serve", help="Serve the HTTP API (TanStack AI video protocol).")(serve)


_register_serve()

if __name__ == "__main__":
    app()
