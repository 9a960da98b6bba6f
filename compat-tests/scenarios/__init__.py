"""Scenario registry. Each module here holds one suite's scenarios, each a function `f(ctx) -> None`
registered with `@scenario(suite, needs=...)`; it passes by returning and reports with `Fail`/`Skip`."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness import Ctx

ScenarioFn = Callable[[Ctx], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    suite: str
    func: ScenarioFn
    needs: tuple[str, ...]

    @property
    def doc(self) -> str:
        lines = (self.func.__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""


REGISTRY: dict[str, Scenario] = {}


def scenario(suite: str, *, needs: Iterable[str] = ()) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register a scenario under `suite`; `needs` names capabilities checked by `Ctx.require` first."""
    def register(func: ScenarioFn) -> ScenarioFn:
        if func.__name__ in REGISTRY:
            raise ValueError(f"duplicate scenario name {func.__name__}")
        REGISTRY[func.__name__] = Scenario(func.__name__, suite, func, tuple(needs))
        return func
    return register


def load_all() -> list[Scenario]:
    """Import every suite module (registering its scenarios); scenarios in definition order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return list(REGISTRY.values())
