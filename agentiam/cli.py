"""The `agentiam` command line. Commands are thin: they parse flags and call the subsystems.

Data goes to stdout, logs and messages to stderr. Exit codes: 0 ok, 1 gate failed, 2 usage or configuration
error, 3 the scan was partial (unless --allow-partial).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from agentiam import __version__
from agentiam.config import AwsSettings, KubernetesSettings, Settings, load_settings
from agentiam.errors import AgentiamError, UsageError
from agentiam.findings.registry import SEVERITIES
from agentiam.findings.rule_docs import render_markdown
from agentiam.findings.suppressions import Suppression, load_suppressions
from agentiam.history import ScanDiff, default_scans, diff_scans
from agentiam.inventory import views
from agentiam.inventory.store import Store
from agentiam.logs import JsonFormatter
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins, installed_plugins
from agentiam.progress import collection_progress
from agentiam.reports.access_review import ReviewCsvReporter
from agentiam.reports.base import write_report, write_reports
from agentiam.reports.console import print_summary
from agentiam.reports.gate import evaluate_gate, exit_code, load_baseline, write_baseline
from agentiam.reports.loader import load_report_data, resolve_scan_id
from agentiam.reports.model import ReportData
from agentiam.reports.review_import import import_review
from agentiam.runtime import tune_garbage_collector

log = logging.getLogger("agentiam")
# Messages name paths: never break them. Logs of CI jobs are wider than the 80 columns rich assumes off a terminal.
err = Console(stderr=True, soft_wrap=True, width=None if Console(stderr=True).is_terminal else 120)
out = Console()
SEVERITY = click.Choice(SEVERITIES, case_sensitive=False)


class State:
    """What every command gets from the root group: settings, and the store opened on demand."""

    def __init__(self, settings: Settings, quiet: bool = False) -> None:
        self.settings = settings
        self.quiet = quiet
        self._store: Store | None = None

    def store(self, *, reading: bool = False) -> Store:
        """The inventory: writers create and upgrade it; readers need one that exists."""
        if self._store is None:
            self._store = Store.open(self.settings.db, migrate=not reading, existing=reading)
        return self._store

    @property
    def plugins(self) -> Plugins:
        return installed_plugins()  # load failures are logged once, as warnings


pass_state = click.make_pass_decorator(State)


class AgentiamGroup(click.Group):
    """Turns user errors into a message and an exit code, in every subcommand, under CliRunner too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AgentiamError as exc:
            click.echo(f"error: {exc}", err=True)  # unwrapped: scripts grep it, people copy paths out of it
            ctx.exit(exc.exit_code)
        except BrokenPipeError:  # `agentiam report ... | head`
            ctx.exit(0)


def _setup_logging(verbose: int, quiet: bool, log_format: str = "text") -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    if log_format == "json":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter(with_tracebacks=level <= logging.DEBUG))
        logging.basicConfig(level=level, handlers=[handler], force=True)
        return
    handler = RichHandler(console=err, show_path=False) if err.is_terminal else logging.StreamHandler(sys.stderr)
    logging.basicConfig(
        level=level,
        handlers=[handler],
        format="%(message)s" if err.is_terminal else "%(levelname)s %(name)s: %(message)s",
        force=True,
    )


@click.group(cls=AgentiamGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="agentiam")
@click.option(
    "--db", envvar="AGENTIAM_DB", help="Inventory database: a file path or a SQLAlchemy URL. [default: ./agentiam.db]"
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="TOML settings file. [default: ./agentiam.toml if present]",
)
@click.option("-v", "--verbose", count=True, help="More logging (repeat for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="AGENTIAM_LOG_FORMAT",
    help="Logs on stderr as text, or as JSON lines (time, level, logger, message).",
)
@click.pass_context
def cli(
    ctx: click.Context, db: str | None, config_file: str | None, verbose: int, quiet: bool, log_format: str
) -> None:
    """Which identities do your AI agents run as, and what can they do?"""
    _setup_logging(verbose, quiet, log_format)
    ctx.obj = State(load_settings(config_file, {"db": db} if db else {}), quiet=quiet)


# -- scan / collect / analyze ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionFlags:
    """What to collect, as the user said it on the command line."""

    offline: tuple[str, ...] = ()
    aws: bool = False
    aws_profile: str | None = None
    aws_org: bool = False
    aws_account: tuple[str, ...] = ()
    aws_assume_role: str | None = None
    aws_external_id: str | None = None
    aws_last_accessed: bool = False
    azure: bool = False
    azure_subscription: tuple[str, ...] = ()
    k8s: bool = False
    kube_context: tuple[str, ...] = ()
    kubeconfig: str | None = None
    k8s_in_cluster: bool = False

    @property
    def wants_azure(self) -> bool:
        return self.azure or bool(self.azure_subscription)

    @property
    def wants_aws(self) -> bool:
        return self.aws or bool(self.aws_profile or self.aws_org or self.aws_account)

    def aws_overrides(self) -> dict[str, Any]:
        given = {
            "profile": self.aws_profile,
            "accounts": list(self.aws_account) or None,
            "assume_role": self.aws_assume_role,
            "external_id": self.aws_external_id,
            "last_accessed": self.aws_last_accessed,
        }
        return {key: value for key, value in given.items() if value}

    @property
    def wants_kubernetes(self) -> bool:
        return self.k8s or bool(self.kube_context or self.kubeconfig or self.k8s_in_cluster)

    def kubernetes_overrides(self) -> dict[str, Any]:
        given = {"contexts": list(self.kube_context), "kubeconfig": self.kubeconfig, "in_cluster": self.k8s_in_cluster}
        return {key: value for key, value in given.items() if value}


_COLLECTION_OPTIONS = (
    click.option("--aws", is_flag=True, help="Collect the AWS account of the standard boto3 credential chain."),
    click.option("--aws-profile", help="Named AWS profile (implies --aws)."),
    click.option("--aws-org", is_flag=True, help="Every active account of the AWS Organization (implies --aws)."),
    click.option("--aws-account", multiple=True, metavar="ID", help="An AWS account to scan (repeatable)."),
    click.option("--aws-assume-role", metavar="NAME", help="Role assumed in each account. [default: AgentiamReadOnly]"),
    click.option("--aws-external-id", metavar="ID", help="ExternalId for the assumed role."),
    click.option(
        "--aws-last-accessed",
        is_flag=True,
        help="Also collect IAM service-last-accessed reports (one report job per role and user; cached per day).",
    ),
    click.option("--k8s", is_flag=True, help="Collect the Kubernetes cluster of the kubeconfig's current context."),
    click.option(
        "--kube-context",
        multiple=True,
        metavar="NAME",
        help="A kubeconfig context to scan (repeatable; implies --k8s).",
    ),
    click.option(
        "--kubeconfig",
        type=click.Path(dir_okay=False),
        help="Kubeconfig file (implies --k8s). [default: $KUBECONFIG, then ~/.kube/config]",
    ),
    click.option(
        "--k8s-in-cluster",
        is_flag=True,
        help="Scan the cluster agentiam runs in, with its pod's service-account token (implies --k8s).",
    ),
    click.option(
        "--azure",
        is_flag=True,
        help="Collect Azure with DefaultAzureCredential: every enabled subscription it sees, unless configured.",
    ),
    click.option(
        "--azure-subscription",
        multiple=True,
        metavar="ID",
        help="An Azure subscription to scan, by id or display name (repeatable; implies --azure).",
    ),
    click.option(
        "--offline",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="An export file to import (format detected from the content). Repeatable.",
    ),
)


def collection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the collection flags; the command receives them as one `collection: CollectionFlags`."""

    @functools.wraps(command)
    def with_flags(*args: Any, **kwargs: Any) -> Any:
        flags = CollectionFlags(**{name: kwargs.pop(name) for name in CollectionFlags.__dataclass_fields__})
        return command(*args, collection=flags, **kwargs)

    for option in reversed(_COLLECTION_OPTIONS):
        with_flags = option(with_flags)
    return with_flags


def _scan_request(state: State, flags: CollectionFlags) -> ScanRequest:
    request = ScanRequest(offline=[Path(p) for p in flags.offline], aws_organization=flags.aws_org)
    if flags.wants_aws:
        from agentiam.collectors.aws.session import make_session

        state.settings.aws = _validated(AwsSettings, {**state.settings.aws.model_dump(), **flags.aws_overrides()})
        aws_settings = state.settings.aws
        make_session(aws_settings)  # an unknown profile is a usage error, before a scan is started
        request.aws_session_factory = lambda: make_session(aws_settings)
    if flags.wants_azure:
        from agentiam.collectors.azure.live import make_credential

        if flags.azure_subscription:
            state.settings.azure.subscriptions = list(flags.azure_subscription)
        azure_settings = state.settings.azure
        request.azure_credential_factory = lambda: make_credential(azure_settings)
    if flags.wants_kubernetes:
        from agentiam.collectors.kubernetes.live import client_factory, kubeconfig_contexts

        values = {**state.settings.kubernetes.model_dump(), **flags.kubernetes_overrides()}
        state.settings.kubernetes = _validated(KubernetesSettings, values)
        if state.settings.kubernetes.contexts or not state.settings.kubernetes.in_cluster:
            kubeconfig_contexts(state.settings.kubernetes)  # a missing file or context is a usage error, up front
        request.kubernetes_client_factory = client_factory(state.settings.kubernetes)
    return request


SettingsSection = TypeVar("SettingsSection", AwsSettings, KubernetesSettings)


def _validated(model: type[SettingsSection], values: dict[str, Any]) -> SettingsSection:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid option: {problems}") from None


_SUPPRESSIONS_OPTION = click.option(
    "--suppressions",
    "suppressions_file",
    type=click.Path(dir_okay=False),
    help="YAML file of accepted findings (rule, subject glob, owner, reason, expires). [default: suppressions_file]",
)


def _suppressions(state: State, path: str | None) -> list[Suppression]:
    chosen = path or state.settings.suppressions_file
    if not chosen:
        return []
    today = datetime.now(UTC).date()
    return load_suppressions(Path(chosen), state.settings.suppression_max_days, today, known_rules=state.plugins.rules)


def _collect(state: State, flags: CollectionFlags) -> tuple[int, str]:
    request = _scan_request(state, flags)
    with collection_progress(err, quiet=state.quiet) as on_scope_done:
        outcome = collect(state.store(), state.settings, request, state.plugins, on_scope_done)
    for failure in outcome.failures:
        err.print(f"[red]collection failed:[/] {failure}", highlight=False)
    log.info("scan %d collected: %s", outcome.scan_id, outcome.status)
    return outcome.scan_id, outcome.status


@cli.command()
@collection_options
@click.option("--fail-on", type=SEVERITY, help="Exit 1 when open findings at or above this severity exist.")
@click.option("--allow-partial", is_flag=True, help="Exit 0 rather than 3 when a collector scope failed.")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Also write the reports (HTML, CSV, JSON, SARIF, OCSF) into this folder.",
)
@click.option(
    "--report-format",
    "report_formats",
    multiple=True,
    metavar="FORMAT",
    help="With --output-dir: only these formats (repeatable; review-csv only when named). [default: all others]",
)
@_SUPPRESSIONS_OPTION
@pass_state
def scan(
    state: State,
    collection: CollectionFlags,
    fail_on: str | None,
    allow_partial: bool,
    output_dir: str | None,
    report_formats: tuple[str, ...],
    suppressions_file: str | None,
) -> None:
    """Collect, store and analyse: the whole pipeline."""
    suppressions = _suppressions(state, suppressions_file)  # a bad file is refused before anything is collected
    scan_id, status = _collect(state, collection)
    if not _analyze(state, scan_id):
        status = "partial"  # a rule that crashed leaves the analysis incomplete: never a silent pass
    data = load_report_data(state.store(), scan_id, suppressions)
    print_summary(data, err)
    if output_dir:
        _write_reports(state, data, Path(output_dir), report_formats)
    threshold = fail_on or state.settings.fail_on
    gate = evaluate_gate(data, threshold) if threshold else None
    sys.exit(exit_code(gate, status, allow_partial))


@cli.command("collect")
@collection_options
@click.option("--allow-partial", is_flag=True, help="Exit 0 rather than 3 when a collector scope failed.")
@pass_state
def collect_command(state: State, collection: CollectionFlags, allow_partial: bool) -> None:
    """Collect and store only (analyse later with `agentiam analyze`)."""
    scan_id, status = _collect(state, collection)
    err.print(f"scan {scan_id}: {status}")
    sys.exit(exit_code(None, status, allow_partial))


@cli.command("analyze")
@click.option("--scan", "scan_id", type=int, help="Scan to analyse. [default: the latest]")
@_SUPPRESSIONS_OPTION
@pass_state
def analyze_command(state: State, scan_id: int | None, suppressions_file: str | None) -> None:
    """Run the rules over a collected scan."""
    suppressions = _suppressions(state, suppressions_file)
    store = state.store()
    with store.read() as conn:
        chosen = scan_id or views.latest_scan_id(conn)
    if chosen is None:
        raise UsageError(f"{store.location}: no scan to analyse; run `agentiam collect` first")
    complete = _analyze(state, chosen)
    print_summary(load_report_data(store, chosen, suppressions), err)
    sys.exit(exit_code(None, "complete" if complete else "partial", allow_partial=False))


def _analyze(state: State, scan_id: int) -> bool:
    """Run the rules; report any that crashed. True when every rule ran."""
    result = analyze_scan(state.store(), scan_id, state.settings, state.plugins)
    for error in result.rule_errors:
        err.print(f"[red]error:[/] {error}", highlight=False)
    log.info("scan %d analysed: %d rule(s) failed", scan_id, len(result.rule_errors))
    return not result.rule_errors


# -- report / gate -----------------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--format", "fmt", required=True, help="Output format: json, csv, review-csv, html, sarif, ocsf (or a plugin's)."
)
@click.option("-o", "--output", default="-", show_default=True, help="File to write, or - for stdout.")
@click.option("--scan", "scan_id", type=int, help="Scan to report. [default: the latest analysed]")
@_SUPPRESSIONS_OPTION
@pass_state
def report(state: State, fmt: str, output: str, scan_id: int | None, suppressions_file: str | None) -> None:
    """Render a scan's findings."""
    reporters = state.plugins.reporters
    if fmt not in reporters:
        raise UsageError(f"unknown report format {fmt!r}; available: {', '.join(sorted(reporters))}")
    _render(state, reporters[fmt], output, scan_id, suppressions_file)


def _render(state: State, reporter: Any, output: str, scan_id: int | None, suppressions_file: str | None) -> None:
    """One report of one scan to a file or stdout: `report` and `review export` alike."""
    suppressions = _suppressions(state, suppressions_file)
    store = state.store(reading=True)
    data = load_report_data(store, resolve_scan_id(store, scan_id), suppressions)
    if output == "-":
        text = reporter.render(data)
        click.echo(text, nl=not text.endswith("\n"))
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        written = write_report(reporter, data, Path(output))
        err.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


@cli.command()
@click.option("--fail-on", type=SEVERITY, help="Threshold severity. [default: settings' fail_on, else high]")
@click.option("--scan", "scan_id", type=int, help="Scan to gate. [default: the latest analysed]")
@click.option("--allow-partial", is_flag=True, help="Do not fail (3) because the scan was partial.")
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fail only on findings whose fingerprint is not in this baseline file.",
)
@click.option(
    "--create-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the scan's open findings to this baseline file and exit 0, without gating.",
)
@click.option("--new-only", is_flag=True, help="Fail only on findings new (or reopened) since the previous scan.")
@_SUPPRESSIONS_OPTION
@pass_state
def gate(
    state: State,
    fail_on: str | None,
    scan_id: int | None,
    allow_partial: bool,
    baseline_file: Path | None,
    create_baseline: Path | None,
    new_only: bool,
    suppressions_file: str | None,
) -> None:
    """Exit 1 if open, unsuppressed findings at or above a severity exist (for CI)."""
    if create_baseline and (baseline_file or new_only):
        raise UsageError("--create-baseline does not gate: use it without --baseline and --new-only")
    suppressions = _suppressions(state, suppressions_file)
    store = state.store(reading=True)
    data = load_report_data(store, resolve_scan_id(store, scan_id), suppressions)
    if create_baseline:
        count = write_baseline(data, create_baseline)
        err.print(f"wrote {create_baseline}: {count} fingerprint(s) from scan {data.scan.id}", highlight=False)
        return
    baseline = load_baseline(baseline_file) if baseline_file else None
    result = evaluate_gate(data, fail_on or state.settings.fail_on or "high", baseline, new_only)
    for finding in result.failing:
        click.echo(f"{finding.severity.upper():8} {finding.rule_id:12} {finding.subject_name}: {finding.message}")
    if baseline_file:
        err.print(f"{result.excused_by_baseline} finding(s) excused by the baseline {baseline_file}", highlight=False)
    if new_only:
        err.print(f"{result.not_new} finding(s) not new since the previous scan", highlight=False)
    if result.suppressed:
        err.print(f"{result.suppressed} finding(s) suppressed (suppressions or review exceptions)", highlight=False)
    verdict = "passed" if result.passed else f"failed: {len(result.failing)} open finding(s) at or above"
    err.print(f"gate {verdict} {result.threshold} (scan {data.scan.id}, {data.scan.status})", highlight=False)
    sys.exit(exit_code(result, data.scan.status, allow_partial))


@cli.command()
@click.option("--from", "from_id", type=int, help="Earlier scan. [default: the analysed scan before --to]")
@click.option("--to", "to_id", type=int, help="Later scan. [default: the latest analysed]")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_state
def diff(state: State, from_id: int | None, to_id: int | None, as_json: bool) -> None:
    """What changed between two scans: findings, agents, identities and grants."""
    store = state.store(reading=True)
    result = diff_scans(store, *default_scans(store, from_id, to_id))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        _print_diff(result)


def _finding_line(finding: dict[str, Any]) -> str:
    reopened = " (reopened)" if finding.get("status") == "reopened" else ""
    return f"{finding['severity']:8} {finding['rule_id']:12} {finding['subject_name']}: {finding['message']}{reopened}"


def _entity_line(entity: dict[str, Any]) -> str:
    return f"{entity['kind']} {entity['name']} ({entity['uid']})"


def _grant_line(grant: dict[str, Any]) -> str:
    return f"{grant['identity_uid']}: {grant['grant_kind']} {grant['policy_ref']}"


def _print_diff(result: ScanDiff) -> None:
    out.print(f"[bold]Scan {result.from_scan} → scan {result.to_scan}[/bold]", highlight=False)
    if result.empty:
        out.print("no change")
    sections = [
        ("New findings", result.new_findings, _finding_line),
        ("Resolved findings", result.resolved_findings, _finding_line),
        ("New agents", result.new_agents, _entity_line),
        ("Removed agents", result.removed_agents, _entity_line),
        ("New identities", result.new_identities, _entity_line),
        ("Removed identities", result.removed_identities, _entity_line),
        ("Grants attached", result.granted, _grant_line),
        ("Grants detached", result.revoked, _grant_line),
        ("Grants whose policy document changed", result.changed_grants, _grant_line),
    ]
    for title, items, line in sections:
        if items:
            out.print(f"\n[bold]{title}[/bold] ({len(items)})", highlight=False)
            for item in items:
                out.print("  " + line(item), highlight=False, markup=False)


# -- review ------------------------------------------------------------------------------------------------------


@cli.group()
def review() -> None:
    """Access reviews: export one row per identity and grant, import the reviewers' decisions."""


@review.command("export")
@click.option("-o", "--output", default="-", show_default=True, help="CSV file to write, or - for stdout.")
@click.option("--scan", "scan_id", type=int, help="Scan to review. [default: the latest analysed]")
@pass_state
def review_export(state: State, output: str, scan_id: int | None) -> None:
    """Write the access review (the same file as `report --format review-csv`)."""
    _render(state, ReviewCsvReporter(), output, scan_id, None)


@review.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def review_import(state: State, file: Path) -> None:
    """Record the decisions of a reviewed CSV: all of them, or none if any row has a problem."""
    result = import_review(state.store(), file, state.settings.suppression_max_days)
    recorded = ", ".join(f"{count} {decision}" for decision, count in sorted(result.recorded.items())) or "nothing"
    err.print(f"{file}: recorded {recorded}; {result.skipped} row(s) without a decision", highlight=False)


# -- inventory ---------------------------------------------------------------------------------------------------


@cli.group()
def inventory() -> None:
    """Browse what the latest scan collected."""


def _latest(store: Store) -> int:
    with store.read() as conn:
        scan_id = views.latest_scan_id(conn)
    if scan_id is None:
        raise UsageError(f"{store.location}: the inventory is empty; run `agentiam scan` first")
    return scan_id


def _emit_table(frame: Any, columns: list[str], as_json: bool, title: str) -> None:
    if as_json:
        click.echo(frame[columns].to_json(orient="records", date_format="iso", indent=2))
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in frame[columns].itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


_IDENTITY_COLUMNS = ["uid", "name", "identity_kind", "scope", "is_agent", "owner", "last_used_at"]


@inventory.command("identities")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_state
def inventory_identities(state: State, as_json: bool) -> None:
    """Every identity of the latest scan."""
    store = state.store(reading=True)
    with store.read() as conn:
        frame = views.identities(conn, _latest(store))
    _emit_table(frame, _IDENTITY_COLUMNS, as_json, "identities")


@inventory.command("agents")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_state
def inventory_agents(state: State, as_json: bool) -> None:
    """Identities and workloads classified as AI agents', with the evidence."""
    store = state.store(reading=True)
    with store.read() as conn:
        frame = views.identities(conn, _latest(store))
    frame = frame[frame["is_agent"].astype(bool)].copy()
    frame["evidence"] = ["; ".join(f"{e['reason']}: {e['detail']}" for e in ev) for ev in frame["agent_evidence"]]
    _emit_table(frame, ["uid", "name", "identity_kind", "scope", "owner", "evidence"], as_json, "agent identities")


@inventory.command("workloads")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_state
def inventory_workloads(state: State, as_json: bool) -> None:
    """Workloads (functions, pods, agent runtimes) of the latest scan."""
    store = state.store(reading=True)
    with store.read() as conn:
        frame = views.workloads(conn, _latest(store))
    _emit_table(frame, ["uid", "name", "workload_kind", "scope", "is_agent"], as_json, "workloads")


@inventory.command("show")
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_state
def inventory_show(state: State, uid: str, as_json: bool) -> None:
    """One identity by uid, ARN or name: its grants, trust and open findings."""
    store = state.store(reading=True)
    with store.read() as conn:
        scan_id = _latest(store)
        identity = views.find_identity(conn, scan_id, uid)
        if identity is None:
            raise UsageError(f"no identity {uid!r} in scan {scan_id} (try `agentiam inventory identities`)")
        grants = views.grants(conn, scan_id)
        trusts = views.trusts(conn, scan_id)
        findings = views.findings(conn, scan_id)
    key = identity["uid"]
    detail = {
        **{
            k: identity[k]
            for k in (
                "uid",
                "name",
                "identity_kind",
                "provider",
                "scope",
                "native_id",
                "owner",
                "is_agent",
                "agent_evidence",
                "tags",
                "attributes",
            )
        },
        "created_at": str(identity["created_at"]),
        "last_used_at": str(identity["last_used_at"]),
        "grants": grants[grants["identity_uid"] == key][
            ["policy_name", "policy_ref", "policy_source", "grant_kind", "via"]
        ].to_dict("records"),
        "trust": trusts[trusts["identity_uid"] == key][["effect", "principal_type", "principal", "conditions"]].to_dict(
            "records"
        ),
        "findings": findings[(findings["subject_uid"] == key) & (findings["status"] != "resolved")][
            ["severity", "rule_id", "title", "message", "status", "fingerprint"]
        ].to_dict("records"),
    }
    if as_json:
        click.echo(json.dumps(detail, indent=2, default=str))
    else:
        out.print_json(json.dumps(detail, default=str))


# -- rules -------------------------------------------------------------------------------------------------------


@cli.group()
def rules() -> None:
    """The rule catalogue."""


@rules.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_state
def rules_list(state: State, as_json: bool) -> None:
    """Every installed rule."""
    catalogue = sorted(state.plugins.rules.values(), key=lambda r: r.id)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "title": r.meta.title,
                        "category": r.meta.category,
                        "severity": r.meta.severity,
                        "provider": r.meta.provider,
                    }
                    for r in catalogue
                ],
                indent=2,
            )
        )
        return
    table = Table(title=f"{len(catalogue)} rules")
    for column in ("id", "severity", "category", "provider", "title"):
        table.add_column(column)
    for r in catalogue:
        table.add_row(r.id, r.meta.severity, r.meta.category, r.meta.provider, r.meta.title)
    out.print(table)


@rules.command("doc")
@pass_state
def rules_doc(state: State) -> None:
    """The rule catalogue as Markdown (docs/rules.md)."""
    click.echo(render_markdown(state.plugins.rules.values()), nl=False)


@rules.command("show")
@click.argument("rule_id")
@pass_state
def rules_show(state: State, rule_id: str) -> None:
    """A rule's metadata: rationale, remediation, references, parameters."""
    found = {r.id.lower(): r for r in state.plugins.rules.values()}.get(rule_id.lower())
    if found is None:
        raise UsageError(f"no rule {rule_id!r}; see `agentiam rules list`")
    meta = found.meta
    click.echo(
        f"{meta.id}: {meta.title}\n\nseverity: {meta.severity}   category: {meta.category}   "
        f"provider: {meta.provider}\n\nWhy it matters\n  {meta.rationale}\n\nRemediation\n  {meta.remediation}"
    )
    if meta.references:
        click.echo("\nReferences\n" + "\n".join(f"  - {r}" for r in meta.references))
    if meta.parameters:
        click.echo(
            f"\nParameters (override under [rules.{meta.id}] in agentiam.toml)\n"
            + "\n".join(f"  {k} = {v!r}" for k, v in meta.parameters.items())
        )


# -- db ----------------------------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The inventory database."""


@db.command("info")
@pass_state
def db_info(state: State) -> None:
    """Schema version, row counts and the last scan."""
    click.echo(json.dumps(state.store(reading=True).info(), indent=2, default=str))


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Apply pending schema migrations."""
    store = Store.open(state.settings.db, migrate=False)
    applied = store.upgrade()
    if applied:
        for step in applied:
            err.print(f"applied migration {step.version}: {step.name}")
    else:
        err.print("the database is up to date")


# -- demo --------------------------------------------------------------------------------------------------------


def _write_reports(
    state: State, data: ReportData, folder: Path, formats: tuple[str, ...] = (), *, every: bool = False
) -> list[Path]:
    """The installed reporters' files under their default names: those of `formats`; else all but the ones written
    only on request (the access review, which a scheduled scan rarely needs and which reads every policy again),
    or truly all with `every`."""
    reporters = state.plugins.reporters
    unknown = sorted(set(formats) - set(reporters))
    if unknown:
        raise UsageError(f"unknown report format {', '.join(unknown)}; available: {', '.join(sorted(reporters))}")
    chosen = [
        reporter
        for name, reporter in reporters.items()
        if name in formats or (not formats and (every or not getattr(reporter, "on_request", False)))
    ]
    written = write_reports(chosen, data, folder)
    err.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    return written


@cli.command()
@click.option(
    "-o",
    "--output-dir",
    default="agentiam-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the inventory and the reports.",
)
@click.pass_context
def demo(ctx: click.Context, output_dir: str) -> None:
    """Run the whole pipeline on the bundled sample estate (AWS, an EKS cluster, Azure) and write every report."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "agentiam.db"
    for stale in folder.glob("agentiam.db*"):  # the demo always starts from a clean inventory
        stale.unlink()
    state: State = ctx.obj
    state.settings.db = str(db_path)
    estate = files("agentiam.demo") / "estate"
    exports = sorted(str(p) for p in estate.iterdir() if p.name.endswith(".json"))  # type: ignore[attr-defined]
    scan_id, status = _collect(state, CollectionFlags(offline=tuple(exports)))
    if not _analyze(state, scan_id):
        status = "partial"
    data = load_report_data(state.store(), scan_id)
    print_summary(data, err)
    err.print(f"\nwrote {db_path}", highlight=False)
    _write_reports(state, data, folder, every=True)
    err.print(
        f"open {folder / 'report.html'} in a browser; try `agentiam --db {db_path} inventory agents`", highlight=False
    )
    sys.exit(exit_code(None, status, allow_partial=False))  # the bundled estate must always import cleanly


def main() -> None:
    tune_garbage_collector()
    cli(prog_name="agentiam")
