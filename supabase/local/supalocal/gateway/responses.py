"""HTTP responses in PostgREST's shape: status per action, Content-Range, Preference-Applied, GUCs."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response as _WerkzeugResponse

from supalocal.gateway import errors
from supalocal.gateway.errors import ApiError
from supalocal.gateway.executor import ResultSet
from supalocal.gateway.negotiation import Media, Preferences
from supalocal.gateway.plans import Plan


class Response(_WerkzeugResponse):
    """No implicit text/plain: a response without a body (204, HEAD of a mutation) has no Content-Type."""

    default_mimetype = None


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, "
                                     "Location, Server, Transfer-Encoding, Range-Unit, Preference-Applied",
}


def content_range(lower: int, upper: int, total: int | None) -> str:
    """PostgREST's contentRangeH: '0-9/100', '*/0', '0-9/*', '*/*'."""
    shown = f"{lower}-{upper}" if total != 0 and lower <= upper else "*"
    return f"{shown}/{'*' if total is None else total}"


def error_response(error: ApiError) -> Response:
    headers = [*error.response_headers(), *CORS_HEADERS.items()]
    return Response(error.body(), status=error.status, headers=headers)


def _gucs(result: ResultSet) -> tuple[int | None, list[tuple[str, str]]]:
    """response.status / response.headers set by SQL (PostgREST's response GUCs)."""
    status: int | None = None
    if result.guc_status is not None:
        if not result.guc_status.isdigit():
            raise ApiError(500, "PGRST112", "response.status guc must be a valid status code")
        status = int(result.guc_status)
    headers: list[tuple[str, str]] = []
    if result.guc_headers is not None:
        try:
            parsed = json.loads(result.guc_headers)
            for item in parsed:
                ((key, value),) = item.items()
                headers.append((str(key), str(value)))
        except (ValueError, TypeError, AttributeError):
            raise ApiError(500, "PGRST111", "response.headers guc must be a JSON array composed of objects "
                                            "with a single key and a string value") from None
    return status, headers


def _status_and_range(plan: Plan, result: ResultSet, prefs: Preferences) -> tuple[int, str]:
    total = result.total if prefs.count else None
    affected = result.page_total
    if plan.action in ("read", "call"):
        lower, upper = plan.offset, plan.offset + affected - 1
        status = 200
        if total is not None:
            if lower > total:
                raise errors.invalid_range(
                    f"An offset of {lower} was requested, but there are only {total} rows.")
            if 1 + upper - lower < total:
                status = 206
        return (204 if plan.void else status), content_range(lower, upper, total)
    counted = affected if prefs.count else None
    if plan.action == "create":
        status = 200 if plan.merge_upsert and result.inserted == 0 else 201
        return status, content_range(1, 0, counted)
    status = 200 if plan.has_body else 204
    if plan.action == "update":
        return status, content_range(0, affected - 1, counted)
    return status, content_range(1, 0, counted)


def build_response(plan: Plan, result: ResultSet, *, media: Media, prefs: Preferences,
                   content_location: str | None) -> Response:
    status, range_header = _status_and_range(plan, result, prefs)
    headers: list[tuple[str, str]] = [("Content-Range", range_header), *CORS_HEADERS.items()]
    if content_location is not None:
        headers.append(("Content-Location", content_location))
    applied = prefs.applied((*plan.applied, "tx", "timezone", "handling"))
    if applied:
        headers.append(("Preference-Applied", applied))
    body = (result.body or "").encode() if plan.has_body else b""
    if plan.has_body or (plan.action in ("read", "call") and not plan.void):  # HEAD keeps its Content-Type
        headers.append(("Content-Type", media.content_type))
    guc_status, guc_headers = _gucs(result)
    names = {key.lower() for key, _ in guc_headers}
    headers = [(key, value) for key, value in headers if key.lower() not in names] + guc_headers
    return Response(body, status=guc_status or status, headers=headers)
