"""Staff review: a placeholder until staff login exists (a later issue builds it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route


async def staff_placeholder(request: Request) -> Response:
    """``GET /staff``: says staff review needs a login; shows no patient data."""
    return request.app.state.templates.TemplateResponse(
        request,
        "staff/placeholder.html",
        {"clinic_name": request.app.state.settings.clinic_name},
    )


def routes() -> list[BaseRoute]:
    """The staff area's routes."""
    return [Route("/staff", staff_placeholder, methods=["GET"], name="staff")]
