"""A Starlette router that finds a fixed path by a dict lookup instead of trying every route in turn.

Starlette's ``Router`` tries each route's regular expression in order; with every contract's
operations on one app that was about 30 matches a request, a sixth of the mock's time under load.
A route whose path has no parameters is looked up directly, but only when no earlier route could
also match that path, so the answer is always the one the ordered search would give.

``direct`` goes one step further for the guard (``mock_server.guard``): a fixed path whose route's
endpoint is itself an ASGI app (the operations', which answer every request and raise nothing) is
handed over without Starlette's exception middleware, router and route in between.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class ExactPathRouter(Router):
    """``Router`` with a shortcut for parameterless paths (same routes, same answers)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        """Route ``routes`` (in this order, as ``Router`` does)."""
        super().__init__(routes)
        self._exact: dict[str, Route] = {}
        earlier: list[BaseRoute] = []
        for route in self.routes:
            if isinstance(route, Route) and "{" not in route.path and route.path not in self._exact:
                shadowed = any(not isinstance(other, Route) or other.path_regex.match(route.path) for other in earlier)
                if not shadowed:
                    self._exact[route.path] = route
            earlier.append(route)
        self._direct: dict[tuple[str, str], Route] = {
            (path, method): route
            for path, route in self._exact.items()
            if route.app is route.endpoint  # an ASGI app, not a function Starlette wraps
            for method in route.methods or ()
        }

    def direct(self, scope: Scope) -> ASGIApp | None:
        """The ASGI app that answers ``scope`` when it is an operation on a fixed path (else None)."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        route = self._direct.get((scope["path"], scope["method"]))
        if route is None:
            return None
        scope["router"], scope["endpoint"], scope["path_params"] = self, route.endpoint, {}
        return route.endpoint

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope``: a fixed path by lookup, anything else as ``Router`` does."""
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self._exact.get(scope["path"])
            if route is not None:
                match, child_scope = route.matches(scope)
                if match == Match.FULL:
                    scope.setdefault("router", self)
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
