"""The Villa SDK API (seeds 000, 001): order ids, orders, pricing and card payments with 3-D Secure.

Its contract is ``contracts/villa/``; its parts (``mock``, ``suite``, ``oracle``) are found by discovery
(``villa_contracts.apis``).
"""
