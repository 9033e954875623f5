"""Dev/test-only PostgREST-compatible gateway of the local Supabase stack (see app.create_gateway_app)."""

from supalocal.gateway.app import GatewayApp, create_gateway_app

__all__ = ["GatewayApp", "create_gateway_app"]
