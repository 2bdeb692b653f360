"""The composition root of a service process: a ServiceDefinition plus settings, clock and tracer
in, one FastAPI app out. Its lifespan starts the runtime (pool, broker, relay, background tasks)
and stops it; the platform routes (health, metrics, DLQ replay) sit beside the service's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry.sdk.trace import TracerProvider

from services.chassis import telemetry
from services.chassis.auth import RESPONSES, Authenticator, authenticated
from services.chassis.clock import Clock, SystemClock
from services.chassis.http import admin_router, openapi_route, platform_router
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
        telemetry.install(provider, settings)
    runtime = Runtime(definition, settings, clock or SystemClock(), provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # No /docs page: its browser UI fetches the OpenAPI without a token (see openapi_route).
    app = FastAPI(title=f"Revcycle {definition.name}", lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None)
    mount_service(app, runtime)
    return app


def mount_service(app: FastAPI, runtime: Runtime) -> None:
    """Every route of the runtime's service on `app`: the platform's and the service's own."""
    app.state.runtime = runtime
    install_platform(app, runtime)
    # Deny by default: every route of a service needs a token (read for GET, operate otherwise).
    for build in runtime.definition.routers:
        app.include_router(build(runtime), dependencies=[Depends(authenticated)], responses=RESPONSES)
    if runtime.definition.customize_app is not None:
        runtime.definition.customize_app(app)


def install_platform(app: FastAPI, runtime: Runtime) -> None:
    """The routes every service has (health, readiness, metrics open; DLQ replay and the OpenAPI
    behind a token) and the token check they use, looking up the runtime's own schema."""
    app.state.authenticator = Authenticator(lambda: runtime.db, runtime.settings.token_cache_s)
    app.include_router(platform_router(runtime))
    app.include_router(admin_router(runtime))
    openapi_route(app)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, less each error's `input` and `ctx`: they repeat what the caller sent (a
    reason that names the patient, a replay field holding a name), and an error answer is copied into
    clients' logs. The location, type and message say what to fix."""
    detail = [{"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": detail})


def service_app_factory(definition: ServiceDefinition) -> Callable[..., FastAPI]:
    """The `create_app` of a service: settings, clock and tracer injectable for tests."""

    def create_app(
        settings: Settings | None = None, clock: Clock | None = None, provider: TracerProvider | None = None
    ) -> FastAPI:
        return create_service_app(definition, settings=settings, clock=clock, provider=provider)

    return create_app
