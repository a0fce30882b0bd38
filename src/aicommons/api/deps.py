"""FastAPI dependencies as `Annotated` aliases: the services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aicommons.errors import PermissionDeniedError
from aicommons.gateway.auth import Principal, bearer_token
from aicommons.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def current_principal(request: Request) -> Principal:
    services = get_services(request)
    secret = bearer_token(request.headers.get("authorization"))
    return await services.authenticator.authenticate(secret)


async def current_admin(request: Request) -> Principal:
    principal = await current_principal(request)
    if not principal.is_admin:
        raise PermissionDeniedError("This needs an admin key.", code="admin_required")
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(current_admin)]
