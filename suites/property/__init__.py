"""Property suites that run against any Villa base URL.

``runner`` drives Schemathesis over the whole contract with the business checks of ``checks``
(settings in ``schemathesis.toml``); ``machine.run_machine`` drives a Hypothesis state machine of two
users' interleaved calls, judged by an oracle built from ``villa_contracts.domain`` (``_model``).
"""
