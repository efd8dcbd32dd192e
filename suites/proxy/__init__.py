"""The validating, recording proxy (``villa-contracts proxy``): real clients' exchanges judged against the contracts.

``addon.ContractProxy`` is the mitmproxy addon and ``server.start_proxy`` runs it in-process;
``offline.recheck`` judges a recording again. See ``suites/proxy/README.md``.
"""

from __future__ import annotations
