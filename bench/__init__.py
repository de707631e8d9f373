"""Benchmarks of broadcaster's promise: publish at once, start instantly, stay flat as history grows.

Run them all with ``.venv/bin/python -m bench`` (one at a time: ``-m bench fanout``);
see BENCHMARKS.md for what each measures and the last results. They drive the
real CLI as a subprocess against the same fake services the tests use
(``tests/fakes``). Not tests: CI runs only a smoke run of each at tiny sizes
(``tests/test_bench_smoke.py``).
"""
