"""The composition root of a service process: a ServiceDefinition plus settings, clock and tracer
in, one FastAPI app out. Its lifespan starts the runtime (pool, broker, relay, background tasks)
and stops it; the platform routes (health, metrics, DLQ replay) sit beside the service's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from services.chassis import telemetry
from services.chassis.clock import Clock, SystemClock
from services.chassis.http import platform_router
from services.chassis.runtime import Runtime, ServiceDefinition
from services.chassis.settings import Settings, get_settings


def create_service_app(
    definition: ServiceDefinition,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    provider: TracerProvider | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    if provider is None:
        provider = telemetry.tracer_provider(definition.name, settings)
        telemetry.install(provider)
    runtime = Runtime(definition, settings, clock or SystemClock(), provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=f"Revcycle {definition.name}", lifespan=lifespan)
    app.state.runtime = runtime
    app.include_router(platform_router(runtime))
    for build in definition.routers:
        app.include_router(build(runtime))
    if definition.customize_app is not None:
        definition.customize_app(app)
    return app


def service_app_factory(definition: ServiceDefinition) -> Callable[..., FastAPI]:
    """The `create_app` of a service: settings, clock and tracer injectable for tests."""

    def create_app(
        settings: Settings | None = None, clock: Clock | None = None, provider: TracerProvider | None = None
    ) -> FastAPI:
        return create_service_app(definition, settings=settings, clock=clock, provider=provider)

    return create_app
