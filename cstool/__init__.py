"""cstool: Customer Success operations over local files.

Use it from the command line (``cstool --help``) or as a library::

    from cstool.workspace import open_workspace
    from cstool.ingest import load

    ws = open_workspace(Path("acme-cs"))
    result = load(ws, "accounts", Path("acme-cs/data/accounts.csv"), now=datetime.now())
"""

__version__ = "0.1.0"
