"""The shop: cart checkout (seed 002) and the store order service behind it (seed 003).

Its contract is ``contracts/shop/``; its parts (``mock``, ``suite``, ``oracle``) are found by discovery
(``villa_contracts.apis``).
"""
