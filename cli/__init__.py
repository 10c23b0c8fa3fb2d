"""The ``assist`` command line (``[project.scripts] assist = "cli.main:main"``).

One module per command group; :mod:`cli.main` mounts each with one line. Commands build
their objects through :func:`assist.runtime.open_runtime` (the same assembly the API and
the evaluation harness use) and import heavy modules (torch, the vector store) only when
they run, so ``assist --help`` stays fast.

Adding a command group:

1. Write ``cli/<group>.py`` with ``app = typer.Typer(help="...", no_args_is_help=True)``
   and its ``@app.command()`` functions; shared options and helpers (``TenantOpt``,
   ``JsonOpt``, ``settings()``, ``fail()``, ``print_json()``, ``runtime()``) are in
   :mod:`cli.common`.
2. Register it in :mod:`cli.main` with one line::

       app.add_typer(ops.app, name="ops")      # assist ops ...

   Without ``name`` the group's commands become top-level commands (``assist serve``).
3. Test it with ``typer.testing.CliRunner().invoke(cli.main.app, ["ops", ...])``.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
