"""The ``cowlog`` command: everything here only *uses* the core (``cowlog.EventLog``).

Modules: `main` (the parser and the subcommands), `sources` (reading JSONL/CSV files and
streams), `bench` (``cowlog bench``) and `baselines` (the designs the bench compares cowlog with).
Nothing in the core imports this package; ``import cowlog`` never loads it (nor rich, nor argparse).
"""
