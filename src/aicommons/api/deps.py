"""FastAPI dependencies as `Annotated` aliases: the services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aicommons.errors import PermissionDeniedError
from aicommons.gateway.auth import Principal, bearer_token
from aicommons.services import Services


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a thread hop
    # on every request for what is an attribute read.
    services: Services = request.app.state.services
    return services


# Declares the bearer scheme in the OpenAPI document; the header is parsed by `bearer_token`,
# whose errors say what is wrong with it.
_bearer_scheme = HTTPBearer(auto_error=False, description="An API key: sk-aic-...")


async def current_principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Principal:
    services: Services = request.app.state.services
    secret = bearer_token(request.headers.get("authorization"))
    return await services.authenticator.authenticate(secret)


async def current_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        raise PermissionDeniedError("This needs an admin key.", code="admin_required")
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(current_admin)]
