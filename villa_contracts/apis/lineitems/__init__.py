"""The line-item order API (seed 004): orders of merchants' variants, PayPal reference ids, stock, expiry.

Its contract is ``contracts/lineitems/``; its parts (``mock``, ``suite``, ``oracle``) are found by discovery
(``villa_contracts.apis``).
"""
