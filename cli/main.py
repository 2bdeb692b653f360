"""The root `rcm` command: platform commands plus each service's own command group.

Every subcommand is imported only when it runs (cli/lazy.py says why), so this module imports
nothing of the platform; each line below is what `rcm --help` lists for the command.
"""

from __future__ import annotations

import logging

import typer

from cli.lazy import Lazy, lazy_group

COMMANDS = (
    Lazy("up", "cli.stack:up",
         "Bring everything up: Kafka, Postgres, topics, schemas, then each service as its own process."),
    Lazy("migrate", "cli.stack:migrate",
         "Apply each service's pending migrations as its schema owner (through `RCM_ADMIN_DATABASE_URL`) and "
         "rebuild its role's grants: the deploy step when services run with `RCM_MIGRATE_ON_START=false`; "
         "creates the database, roles and schemas first when missing; safe to run twice and concurrently."),
    Lazy("serve", "cli.serve:serve",
         "Run one service (or the sandbox, or the mail catcher) in the foreground: what the container image runs."),
    Lazy("topics", "cli.topics:app",
         "Kafka topics against the catalog (deploy/topics.yaml): apply it to a cluster, describe them."),
    Lazy("down", "cli.stack:down",
         "Stop the services, then the local Kafka and Postgres (never a cluster you provided)."),
    Lazy("status", "cli.stack:status",
         "Health of each component, each consumer group's lag and the newest ICD-10-CM edition (a warning "
         "once today is past it). Exit 1 when anything is unhealthy."),
    Lazy("logs", "cli.stack:logs", "Show a component's log file."),
    Lazy("docs", "cli.docs:docs", "Serve the event contract documentation (AsyncAPI) at http://127.0.0.1:PORT/."),
    Lazy("demo", "cli.demo:demo",
         "Push a clinic's month of synthetic encounters through the whole cycle and print what happened, to "
         "the cent, with the clean-claim rate reached and where each deliberate error was caught."),
    Lazy("audit", "cli.audit:audit",
         "Reconcile charges, claims, remittances, the ledger, patient balances and statements."),
    Lazy("publish", "cli.publish:publish",
         "Validate an intake event against its contract and publish it with its key and CloudEvents headers."),
    Lazy("dlq", "cli.dlq:app", "Dead letters: records a service could not decode or that broke their contract."),
    Lazy("tokens", "cli.tokens:app",
         "Bearer tokens of the HTTP APIs: one per operator or calling system, scopes read/operate/admin."),
    Lazy("outbox", "cli.outbox:app",
         "Outbox rows held after the broker refused them for good, and their release."),
    Lazy("schemas", "cli.schemas:app",
         "Event contracts: generate JSON Schema and AsyncAPI, check compatibility with the baselines."),
    Lazy("bench", "cli.bench:app",
         "Benchmarks against the running stack: baselines, each service's main path, end to end."),
    Lazy("x12", "cli.x12:app",
         "X12 5010 tools: parse and validate 837P/837I/835/999/277CA/270/271/276/277/TA1, render 837P/837I claims."),
    Lazy("charges", "services.charges.commands:app", "Charges: encounters, charge posting and their history."),
    Lazy("chargemaster", "services.charges.commands:chargemaster_app",
         "The chargemaster: CDM code -> procedure code, revenue code and price."),
    Lazy("claims", "services.claims.commands:app", "Claims: assembly, scrubbing, submission and acknowledgments."),
    Lazy("eligibility", "services.claims.commands:eligibility_app",
         "Eligibility (270/271): check an encounter's coverages with their payers now."),
    Lazy("payers", "services.claims.commands:payers_app", "The payer master (deploy/local/payers.yaml)."),
    Lazy("feeschedule", "services.claims.commands:feeschedule_app",
         "Payer fee schedules: contracted allowed amount per procedure."),
    Lazy("codesets", "cli.codesets:app",
         "Code sets: NCCI PTP and MUE quarterly files, ICD-10-CM fiscal-year editions."),
    Lazy("remits", "services.remits.commands:app",
         "Remits: 835 posting, denials, underpayments and patient balances."),
    Lazy("payments", "services.remits.commands:payments_app", "Patient payments (posted by the remits service)."),
    Lazy("balances", "services.remits.commands:balances_app", "Patient balances: write-offs."),
    Lazy("report", "services.remits.commands:report_app",
         "A/R reports: account cards, aging and revenue-cycle KPIs."),
    Lazy("notifications", "services.notifications.commands:app",
         "Notifications: statements, staff alerts and webhooks."),
    Lazy("webhooks", "services.notifications.commands:webhooks_app",
         "Webhook subscriptions: signed HTTP POSTs of events to downstream systems."),
    Lazy("mail", "cli.mail:app", "The local mail catcher: what the notifications service sent."),
)

app = typer.Typer(
    name="rcm",
    cls=lazy_group(*COMMANDS),
    help="Revcycle: an event-driven revenue-cycle platform. Start with `rcm up`, then `rcm status`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Markdown: docstrings wrap as prose (a one-line summary in command lists) and `code` renders.
    rich_markup_mode="markdown",
)


@app.callback()
def _root() -> None:
    # Without a callback or registered command, typer would treat the app as a single command;
    # the subcommands all come from the lazy group.
    pass


def main() -> None:
    # aiokafka reports its own retries (a coordinator not ready yet) on stderr; our commands
    # report what finally failed, once, in their own words.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()
