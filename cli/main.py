"""``assist``: the root command; each group is mounted with one line (see :mod:`cli`)."""

from __future__ import annotations

import typer

from cli import assistant, ingest, kb, keys, models, ops, serving
from eval.cli import app as eval_app

app = typer.Typer(name="assist", help="Agent-assist and knowledge service.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

app.add_typer(ingest.app)                                           # assist ingest
app.add_typer(assistant.app)                                        # assist search|draft|escalate|qa|summarize
app.add_typer(serving.app)                                          # assist serve
app.add_typer(kb.app, name="kb")                                    # assist kb list|show|publish|...
app.add_typer(keys.app, name="keys")                                # assist keys create|list|revoke
app.add_typer(ops.app, name="ops")                                  # assist ops import|kpis|alerts|report|...
app.add_typer(models.app, name="models", help="Prepare offline models.")
app.add_typer(eval_app, name="eval", help="Evaluation harness.")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
