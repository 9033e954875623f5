"""Dev/test-only PostgREST-compatible gateway of the local Supabase stack.

`create_gateway_app(settings)` -> WSGI app serving /rest/v1 (PostgREST behaviour) and /functions/v1/<name>
(functions-framework entry points); `server.serve(settings, threads)` runs it under gunicorn.

Supported (as PostgREST 12/13 and hosted Supabase's gateway do it): apikey (legacy anon/service_role JWT, or
the new publishable/secret keys) + Bearer JWT (HS256 with the legacy secret, ES256/RS256 with the stack's
JWKS, served at /auth/v1/.well-known/jwks.json) with PGRST301/302/303; hosted's request-line limit (414);
one transaction per request with the JWT's role and request.jwt.claims (Postgres RLS), READ ONLY for
GET/HEAD and for POST to STABLE/IMMUTABLE functions, with a called function's hoisted SET clauses
(statement_timeout, default_transaction_isolation...); db-max-rows on reads and RPC results; select
(columns, aliases, casts, JSON paths); filters eq neq gt gte lt lte like ilike match imatch in is isdistinct
cs cd ov sl sr nxr nxl adj fts plfts phfts wfts, (any)/(all) modifiers, not., or/and trees; order with nulls
first/last; limit/offset and the Range header; count=exact|estimated with Content-Range (206/416; estimated
is counted exactly, where PostgREST asks the planner once the count passes db-max-rows); HEAD; insert
(single, bulk, ?columns, missing=default), upsert (on_conflict, merge/ignore duplicates), PATCH, DELETE;
Prefer return/count/resolution/missing/handling/max-affected/tx/timezone; singular responses
(vnd.pgrst.object+json, PGRST116) and nulls=stripped; rpc by POST or GET (read-only) with arguments typed
from pg_proc, scalar/composite/setof/table/void returns; RAISE PTxyz and SQLSTATE 'PGRST' responses;
response.status / response.headers GUCs; schema cache reload on NOTIFY pgrst and on a miss.

Not supported, answered 501 PGRST127 (never silently ignored): resource embedding, spreads, aggregates,
filters/order/limit on embedded resources, CSV/plan/OpenAPI/other media types, form or CSV bodies, PUT,
limit/order on PATCH/DELETE, count=planned, return=headers-only, params=single-object, bulk rpc calls
(array bodies), functions with unnamed parameters, select/filters on scalar or void functions.
"""

from supalocal.gateway.app import GatewayApp, create_gateway_app

__all__ = ["GatewayApp", "create_gateway_app"]
