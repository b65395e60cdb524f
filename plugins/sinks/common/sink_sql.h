/*
 * sink_sql.h: SQL text the database sinks share. Every identifier a sink puts
 * in SQL goes through sink_sql_ident: names from the API ("contact-list_code")
 * and from users (a table prefix, a folder) are quoted, never pasted, so no
 * name can end a statement or start another.
 */
#ifndef SINK_SQL_H
#define SINK_SQL_H

#include "sink_buf.h"

/* Appends name as a double-quoted identifier (embedded quotes doubled), the
 * quoting both SQLite and PostgreSQL accept. */
int sink_sql_ident(sink_buf *b, const char *name);

/* Appends "schema"."name", or just "name" when schema is NULL. */
int sink_sql_qualified(sink_buf *b, const char *schema, const char *name);

/* Appends s as a single-quoted string literal (embedded quotes doubled),
 * for the few places where a statement cannot take a parameter. */
int sink_sql_literal(sink_buf *b, const char *s);

#endif
