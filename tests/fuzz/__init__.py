"""Fuzzing cloudgate with requests built from botocore's own service models.

Why Hypothesis (and not atheris): the target is a network service driven through whole HTTP requests, not
a C extension or a byte parser where coverage feedback pays off. Hypothesis is pure Python (no compiled
toolchain in CI), shrinks a failing request to a minimal one, and runs a *bounded, derandomized* sample
(`derandomize=True`, fixed `max_examples`) so `make test` is reproducible and fast. The generators take a
`random.Random`: the tests hand them Hypothesis' shrinkable `st.randoms(use_true_random=False)`, and
`bench/fuzz.py` a seeded `random.Random` to send 100,000+ requests without Hypothesis' per-example cost.

Modules: `values` (hostile values and parameters from model shapes), `build` (valid signed requests from
the models, then the corruptions), `wire` (raw HTTP/1.1 exchange and the pass verdict), `serve` (a gateway
subprocess for the bench).
"""
