"""Benchmarks of the gateway: `make bench` (or `python -m bench`) prints the tables.

Not tests: nothing here asserts a speed. `bench/RESULTS.md` keeps the figures of a run on the
reference machine with the command that produced them.
"""
