"""A service in-process for a test, started one way everywhere: the Runtime built on the test's
platform, clock and tracer, started, and always stopped (also when the start or the test fails)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar, overload

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from services.chassis.clock import Clock, SystemClock
from services.chassis.runtime import Runtime, ServiceDefinition
from services.chassis.settings import Settings
from services.chassis.telemetry import tracer_provider

AppFactory = Callable[[Settings, Clock, TracerProvider], FastAPI]
"""A service's `create_app` (services.chassis.app.service_app_factory)."""
T = TypeVar("T")


@overload
def running(definition: ServiceDefinition, platform: Settings, *, clock: Clock | None = None,
            provider: TracerProvider | None = None, app: None = None) -> AbstractAsyncContextManager[Runtime]: ...


@overload
def running(definition: ServiceDefinition, platform: Settings, *, clock: Clock | None = None,
            provider: TracerProvider | None = None, app: AppFactory) -> AbstractAsyncContextManager[FastAPI]: ...


def running(definition: ServiceDefinition, platform: Settings, *, clock: Clock | None = None,
            provider: TracerProvider | None = None, app: AppFactory | None = None,
            ) -> AbstractAsyncContextManager[Runtime] | AbstractAsyncContextManager[FastAPI]:
    """`async with running(DEFINITION, platform, clock=...) as runtime`, or with `app=create_app`
    the service's FastAPI app (its routes around the runtime it built) instead of the runtime."""
    clock = clock or SystemClock()
    provider = provider or tracer_provider(definition.name, platform)
    if app is None:
        runtime = Runtime(definition, platform, clock, provider)
        return _started(runtime, runtime)
    application = app(platform, clock, provider)
    built: Runtime = application.state.runtime
    # The factory is named next to the definition; a mismatch would test one service's door on another.
    assert built.definition is definition, f"{app} does not build {definition.name}"
    return _started(built, application)


@asynccontextmanager
async def _started(runtime: Runtime, value: T) -> AsyncIterator[T]:
    try:
        await runtime.start()
        yield value
    finally:
        await runtime.stop()
