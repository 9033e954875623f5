"""Request preferences and content negotiation: Prefer, Accept, Content-Type and the schema profiles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_list_header, parse_options_header

from supalocal.gateway import errors

EXPOSED_SCHEMAS = ("public",)
_PREFERENCE_VALUES: Mapping[str, frozenset[str]] = {
    "return": frozenset({"representation", "minimal", "headers-only"}),
    "count": frozenset({"exact", "planned", "estimated"}),
    "resolution": frozenset({"merge-duplicates", "ignore-duplicates"}),
    "missing": frozenset({"default", "null"}),
    "handling": frozenset({"strict", "lenient"}),
    "tx": frozenset({"commit", "rollback"}),
    "params": frozenset({"single-object"}),
}
_UNSUPPORTED_PREFERENCES = {
    "return=headers-only": "Prefer: return=headers-only",
    "count=planned": "Prefer: count=planned (use count=exact)",
    "params=single-object": "Prefer: params=single-object",
}
# Media types PostgREST can produce but this gateway does not: answered 501, never silently as JSON.
_UNSUPPORTED_MEDIA = ("text/csv", "application/vnd.pgrst.plan", "application/openapi+json",
                      "application/geo+json", "text/plain", "text/xml", "application/octet-stream")
_UNSUPPORTED_BODIES = ("text/csv", "application/x-www-form-urlencoded", "text/plain", "text/xml",
                       "application/octet-stream")


@dataclass(frozen=True, slots=True)
class Preferences:
    values: Mapping[str, str]
    max_affected: int | None
    timezone: str | None
    invalid: tuple[str, ...]

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    @property
    def representation(self) -> bool:
        return self.values.get("return") == "representation"

    @property
    def count(self) -> bool:
        return self.values.get("count") in ("exact", "estimated")

    def applied(self, keys: Iterable[str]) -> str | None:
        """The Preference-Applied value for the given preference keys that were honoured."""
        applied = [f"{key}={self.values[key]}" for key in keys if key in self.values]
        if "timezone" in keys and self.timezone is not None:
            applied.append(f"timezone={self.timezone}")
        strict = self.values.get("handling") == "strict"
        if strict and self.max_affected is not None and "max-affected" in keys:
            applied.append(f"max-affected={self.max_affected}")
        return ", ".join(applied) or None


def parse_prefer(header_values: Iterable[str]) -> Preferences:
    """RFC 7240 as PostgREST reads it: comma-separated, first occurrence of each preference wins."""
    values: dict[str, str] = {}
    invalid: list[str] = []
    max_affected: int | None = None
    timezone: str | None = None
    for header in header_values:
        for item in (token.strip() for token in parse_list_header(header)):
            key, _, value = item.partition("=")
            if item in _UNSUPPORTED_PREFERENCES:
                raise errors.not_implemented(f"{_UNSUPPORTED_PREFERENCES[item]} is not supported")
            if key == "max-affected" and value.isdigit():
                max_affected = int(value) if max_affected is None else max_affected
            elif key == "timezone" and value:
                timezone = value if timezone is None else timezone
            elif key in _PREFERENCE_VALUES and value in _PREFERENCE_VALUES[key]:
                values.setdefault(key, value)
            elif item:
                invalid.append(item)
    prefs = Preferences(values=values, max_affected=max_affected, timezone=timezone, invalid=tuple(invalid))
    if prefs.get("handling") == "strict" and invalid:
        raise errors.invalid_preferences(invalid)
    return prefs


@dataclass(frozen=True, slots=True)
class Media:
    singular: bool = False
    strip_nulls: bool = False

    @property
    def content_type(self) -> str:
        base = "application/vnd.pgrst.object+json" if self.singular else "application/json"
        return f"{base}; charset=utf-8"


def negotiate(accept: str | None) -> Media:
    """Pick the response media type from Accept (highest quality first, PostgREST's candidates)."""
    if not accept:
        return Media()
    ranked = sorted(parse_accept_header(accept, MIMEAccept), key=lambda pair: -pair[1])
    for raw, quality in ranked:
        if quality <= 0:
            continue
        mime, options = parse_options_header(raw)
        stripped = options.get("nulls") == "stripped"
        if mime in ("application/json", "*/*", "application/*"):
            return Media()
        if mime in ("application/vnd.pgrst.array+json", "application/vnd.pgrst.array"):
            return Media(strip_nulls=stripped)
        if mime in ("application/vnd.pgrst.object+json", "application/vnd.pgrst.object"):
            return Media(singular=True, strip_nulls=stripped)
        if mime.startswith(_UNSUPPORTED_MEDIA):
            raise errors.not_implemented(f"response media type {mime!r} is not supported")
    raise errors.media_type_error([raw for raw, _ in ranked])


def check_body_content_type(content_type: str | None) -> None:
    if not content_type:
        return  # PostgREST reads a body without Content-Type as JSON
    mime, _ = parse_options_header(content_type)
    if mime == "application/json":
        return
    if mime in _UNSUPPORTED_BODIES:
        raise errors.not_implemented(f"request bodies of type {mime!r} are not supported (send JSON)")
    raise errors.unsupported_content_type(mime)


def check_profile(profile: str | None) -> None:
    if profile is not None and profile not in EXPOSED_SCHEMAS:
        raise errors.unacceptable_schema(profile, EXPOSED_SCHEMAS)
