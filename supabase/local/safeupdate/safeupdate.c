/*
 * Local stand-in for pg-safeupdate (https://github.com/eradman/pg-safeupdate), which hosted Supabase
 * preloads for the API's `authenticator` sessions (supabase/postgres nix/tests/expected/roles.out:
 * authenticator {session_preload_libraries=safeupdate, ...}). Debian packages no pg-safeupdate, so the
 * local stack builds this file at `supalocal up` and loads it the same way, under the same name.
 *
 * Behaviour mirrored from the upstream README: once loaded, an UPDATE or DELETE without a WHERE
 * clause, at the top level or in a data-modifying WITH, fails with SQLSTATE 21000 and
 * "UPDATE requires a WHERE clause" / "DELETE requires a WHERE clause"; `safeupdate.enabled`
 * (superuser-settable, default on) turns the check off. The check runs at parse analysis, so it also
 * covers statements inside PL/pgSQL and SQL functions, SECURITY DEFINER included.
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static bool require_where = true;
static post_parse_analyze_hook_type next_hook = NULL;

static void
reject_unqualified(Query *query)
{
	ListCell   *cell;

	if (query->hasModifyingCTE)
		foreach(cell, query->cteList)
			reject_unqualified(castNode(Query, ((CommonTableExpr *) lfirst(cell))->ctequery));

	if (query->commandType != CMD_UPDATE && query->commandType != CMD_DELETE)
		return;
	if (query->jointree != NULL && query->jointree->quals != NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CARDINALITY_VIOLATION),
			 errmsg("%s requires a WHERE clause",
					query->commandType == CMD_UPDATE ? "UPDATE" : "DELETE")));
}

static void
safeupdate_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (require_where)
		reject_unqualified(query);
	if (next_hook != NULL)
		next_hook(pstate, query, jstate);
}

void
_PG_init(void)
{
	DefineCustomBoolVariable("safeupdate.enabled",
							 "Refuse UPDATE and DELETE without a WHERE clause.",
							 NULL,
							 &require_where,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	next_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = safeupdate_post_parse_analyze;
}
