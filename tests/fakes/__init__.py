"""Fake API servers on loopback that behave like the real services.

Shared by the tests and the benchmarks (``bench/``): each fake speaks the real
paths and request/response shapes, checks what it receives, records it, and can
be told to misbehave (rate limits, 5xx, hangs, resets) through ``FakeServer.fail``.
"""
