/*
 * map_expr.c: a recursive-descent parser and a tree-walking evaluator for
 * stream-map expressions. The grammar, loosest binding first:
 *
 *   or      := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | cmp
 *   cmp     := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
 *   primary := literal | NAME | NAME "(" [or ("," or)*] ")"
 *            | ("record" | "_") "[" STRING "]" | "(" or ")"
 *
 * Names are resolved while parsing (functions, properties, secrets), so a
 * compiled tree never fails for a reason the config could have told.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "map_builtins.h"
#include "map_expr.h"
#include "native_fn.h"

/* ---- tokens ---- */

typedef enum tok_type {
    T_END,
    T_IDENT,
    T_STR,
    T_INT,
    T_REAL,
    T_LP,
    T_RP,
    T_LB,
    T_RB,
    T_COMMA,
    T_MINUS,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE
} tok_type;

typedef struct token {
    tok_type type;
    size_t pos;       /* byte offset of its first character */
    size_t len;       /* bytes of source it covers */
    char *str;        /* T_STR: the decoded literal (owned until taken) */
    size_t str_len;
    int64_t i;
    double d;
} token;

/* ---- tree ---- */

typedef enum node_type {
    N_LIT,     /* a literal value */
    N_PROP,    /* a property of the record */
    N_CALL,    /* a built-in function */
    N_NATIVE,  /* a native function from "transforms" */
    N_CMP,     /* a comparison; op is T_EQ .. T_GE */
    N_AND,
    N_OR,
    N_NOT
} node_type;

typedef struct node {
    node_type type;
    tok_type op;
    sx_mv lit;                 /* N_LIT; a string literal's bytes live in lit.owned */
    char *name;                /* N_PROP */
    const sx_builtin *bi;      /* N_CALL */
    const void *bound;         /* N_CALL: the HMAC key of hmac_sha256 */
    const sx_native_fn *fn;    /* N_NATIVE */
    struct node **args;
    size_t nargs;
} node;

struct sx_expr {
    char *text;
    node *root;
};

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos;                /* where the lexer reads next */
    token tok;                 /* the current token */
    const sx_expr_env *env;
    char *msg;
    size_t cap;
    int failed;
} parser;

/* ---- suggestions ---- */

/* " (did you mean 'x'?)" into buf, or "" when nothing is close. */
static void hint(char *buf, size_t cap, const char *word, const char *const *names, size_t n)
{
    sx_suggest(word, names, n, buf, cap);
}

/* ---- errors ---- */

/* Reports an error at byte offset pos: "<what> at column N of "<text>"<tail>".
 * The first error wins; later ones (from unwinding) are ignored. */
__attribute__((format(printf, 4, 5)))
static void perr(parser *p, size_t pos, const char *tail, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (pos >= p->len)
        snprintf(p->msg, p->cap, "%s at the end of \"%s\"%s", what, p->text, tail);
    else
        snprintf(p->msg, p->cap, "%s at column %zu of \"%s\"%s", what, pos + 1, p->text, tail);
}

/* Reports an error without quoting the expression, for messages about a
 * secret's place: the text may hold the key itself. */
__attribute__((format(printf, 2, 3)))
static void perr_unquoted(parser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, p->cap, fmt, ap);
    va_end(ap);
}

/* ---- lexer ---- */

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static void lex_string(parser *p, token *t)
{
    char quote = p->text[p->pos];
    size_t i = p->pos + 1;
    char *buf = malloc(p->len - p->pos + 1);
    size_t o = 0;
    if (buf == NULL) {
        perr(p, t->pos, "", "out of memory");
        return;
    }
    for (;;) {
        if (i >= p->len) {
            free(buf);
            perr(p, t->pos, "", "unterminated string");
            return;
        }
        char c = p->text[i];
        if (c == quote)
            break;
        if (c == '\\') {
            char e = i + 1 < p->len ? p->text[i + 1] : '\0';
            switch (e) {
            case '\\': case '\'': case '"': buf[o++] = e; break;
            case 'n': buf[o++] = '\n'; break;
            case 't': buf[o++] = '\t'; break;
            case 'r': buf[o++] = '\r'; break;
            default:
                free(buf);
                perr(p, i, "", "unknown escape (use \\\\, \\', \\\", \\n, \\t or \\r)");
                return;
            }
            i += 2;
            continue;
        }
        buf[o++] = c;
        i++;
    }
    buf[o] = '\0';
    t->type = T_STR;
    t->str = buf;
    t->str_len = o;
    t->len = i + 1 - t->pos;
}

static void lex_number(parser *p, token *t)
{
    size_t i = p->pos;
    while (i < p->len && is_ident_char(p->text[i]))
        i++;
    /* A fraction or exponent continues the token: "1.5", "2e-3". */
    while (i < p->len && (p->text[i] == '.' || ((p->text[i] == '-' || p->text[i] == '+') &&
                                                 (p->text[i - 1] == 'e' || p->text[i - 1] == 'E')))) {
        i++;
        while (i < p->len && is_ident_char(p->text[i]))
            i++;
    }
    int is_int;
    int64_t v = 0;
    double d = 0;
    t->len = i - p->pos;
    if (!sx_parse_number(p->text + p->pos, t->len, &is_int, &v, &d)) {
        perr(p, t->pos, "", "malformed number");
        return;
    }
    /* A literal too long for an integer would otherwise turn into a rounded double. */
    if (!is_int && memchr(p->text + p->pos, '.', t->len) == NULL &&
        memchr(p->text + p->pos, 'e', t->len) == NULL && memchr(p->text + p->pos, 'E', t->len) == NULL) {
        perr(p, t->pos, "", "integer out of the 64-bit range");
        return;
    }
    t->type = is_int ? T_INT : T_REAL;
    t->i = v;
    t->d = d;
}

static void next(parser *p)
{
    token *t = &p->tok;
    free(t->str);
    memset(t, 0, sizeof *t);
    if (p->failed) {
        t->type = T_END;
        return;
    }
    while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                               p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
        p->pos++;
    t->pos = p->pos;
    t->len = 1;
    if (p->pos >= p->len) {
        t->type = T_END;
        t->len = 0;
        return;
    }
    char c = p->text[p->pos];
    char c2 = p->pos + 1 < p->len ? p->text[p->pos + 1] : '\0';
    if (is_ident_start(c)) {
        size_t i = p->pos;
        while (i < p->len && is_ident_char(p->text[i]))
            i++;
        t->type = T_IDENT;
        t->len = i - p->pos;
    } else if (c >= '0' && c <= '9') {
        lex_number(p, t);
    } else if (c == '\'' || c == '"') {
        lex_string(p, t);
    } else if (c == '.' && c2 >= '0' && c2 <= '9') {
        lex_number(p, t);
    } else {
        switch (c) {
        case '(': t->type = T_LP; break;
        case ')': t->type = T_RP; break;
        case '[': t->type = T_LB; break;
        case ']': t->type = T_RB; break;
        case ',': t->type = T_COMMA; break;
        case '-': t->type = T_MINUS; break;
        case '=':
            if (c2 != '=') {
                perr(p, t->pos, "", "'=' is not an operator (compare with '==')");
                break;
            }
            t->type = T_EQ;
            t->len = 2;
            break;
        case '!':
            if (c2 != '=') {
                perr(p, t->pos, "", "'!' is not an operator (negate with 'not', compare with '!=')");
                break;
            }
            t->type = T_NE;
            t->len = 2;
            break;
        case '<':
            t->type = c2 == '=' ? T_LE : T_LT;
            t->len = c2 == '=' ? 2 : 1;
            break;
        case '>':
            t->type = c2 == '=' ? T_GE : T_GT;
            t->len = c2 == '=' ? 2 : 1;
            break;
        default:
            perr(p, t->pos, "", "unexpected character '%c'", c);
            break;
        }
    }
    if (p->failed) {
        free(t->str);
        t->str = NULL;
        t->type = T_END;
        return;
    }
    p->pos = t->pos + t->len;
}

static int tok_is(const parser *p, const char *word)
{
    return p->tok.type == T_IDENT && p->tok.len == strlen(word) &&
           strncmp(p->text + p->tok.pos, word, p->tok.len) == 0;
}

/* ---- tree building ---- */

static void node_free(node *n)
{
    if (n == NULL)
        return;
    sx_mv_clear(&n->lit);
    free(n->name);
    for (size_t i = 0; i < n->nargs; i++)
        node_free(n->args[i]);
    free(n->args);
    free(n);
}

static node *new_node(parser *p, node_type type)
{
    node *n = calloc(1, sizeof *n);
    if (n == NULL)
        perr(p, p->tok.pos, "", "out of memory");
    else
        n->type = type;
    return n;
}

static int add_arg(parser *p, node *n, node *arg)
{
    node **grown = realloc(n->args, (n->nargs + 1) * sizeof *grown);
    if (grown == NULL) {
        node_free(arg);
        perr(p, p->tok.pos, "", "out of memory");
        return -1;
    }
    n->args = grown;
    n->args[n->nargs++] = arg;
    return 0;
}

static node *parse_or(parser *p);

static const char *tok_name(tok_type t)
{
    switch (t) {
    case T_END: return "the end";
    case T_RP: return "')'";
    case T_RB: return "']'";
    default: return "?";
    }
}

static int expect(parser *p, tok_type type)
{
    if (p->tok.type != type) {
        perr(p, p->tok.pos, "", "expected %s", tok_name(type));
        return -1;
    }
    next(p);
    return 0;
}

/* Names of the properties the schema knows, for did-you-mean. */
static void property_hint(const parser *p, const char *name, char *buf, size_t cap)
{
    size_t n = json_object_size(p->env->known), k = 0;
    const char **names = calloc(n ? n : 1, sizeof *names);
    buf[0] = '\0';
    if (names == NULL)
        return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)p->env->known, key, v) names[k++] = key;
    hint(buf, cap, name, names, k);
    free(names);
}

static node *property(parser *p, char *name, size_t pos)
{
    if (p->env->known != NULL && json_object_get(p->env->known, name) == NULL) {
        char h[128];
        property_hint(p, name, h, sizeof h);
        perr(p, pos, h, "unknown property '%s'", name);
        free(name);
        return NULL;
    }
    node *n = new_node(p, N_PROP);
    if (n == NULL) {
        free(name);
        return NULL;
    }
    n->name = name;
    return n;
}

static node *literal(parser *p, sx_mv_kind kind)
{
    node *n = new_node(p, N_LIT);
    if (n != NULL)
        n->lit.kind = kind;
    return n;
}

static void function_hint(const parser *p, const char *name, char *buf, size_t cap)
{
    size_t nb, nn = sx_functions_count(p->env->fns);
    const sx_builtin *bi = sx_builtins(&nb);
    const char **names = calloc(nb + nn, sizeof *names);
    buf[0] = '\0';
    if (names == NULL)
        return;
    for (size_t i = 0; i < nb; i++)
        names[i] = bi[i].name;
    for (size_t i = 0; i < nn; i++)
        names[nb + i] = sx_functions_name(p->env->fns, i);
    hint(buf, cap, name, names, nb + nn);
    free(names);
}

static int check_secret_arg(parser *p, node *call)
{
    node *arg = call->args[1];
    /* These messages quote neither the argument nor the expression: a user
     * who wrote the key itself there instead of its name must not see it
     * echoed into logs. */
    if (arg->type != N_LIT || arg->lit.kind != SX_MV_STR) {
        perr_unquoted(p, "%s(): the second argument must be the quoted name of a key of "
                      "\"__secrets__\"", call->bi->name);
        return -1;
    }
    for (size_t i = 0; i < p->env->n_secrets; i++) {
        if (strcmp(p->env->secrets[i].name, arg->lit.s) == 0) {
            call->bound = &p->env->secrets[i].key;
            return 0;
        }
    }
    char names[256] = "";
    size_t at = 0;
    for (size_t i = 0; i < p->env->n_secrets && at < sizeof names; i++)
        at += (size_t)snprintf(names + at, sizeof names - at, "%s'%s'", i ? ", " : "",
                               p->env->secrets[i].name);
    perr_unquoted(p, "%s(): the second argument names no key of \"__secrets__\" (%s%s)",
                  call->bi->name, p->env->n_secrets ? "its keys: " : "it has none", names);
    return -1;
}

static int check_count_arg(parser *p, node *call, size_t pos)
{
    node *arg = call->args[1];
    if (arg->type != N_LIT)
        return 0;
    if (arg->lit.kind != SX_MV_INT || arg->lit.i < 0) {
        perr(p, pos, "", "%s(): the count (argument 2) must be an integer >= 0",
             call->bi->name);
        return -1;
    }
    return 0;
}

static node *call(parser *p, char *name, size_t pos)
{
    node *n = new_node(p, N_CALL);
    if (n == NULL) {
        free(name);
        return NULL;
    }
    next(p); /* '(' */
    if (p->tok.type != T_RP) {
        for (;;) {
            node *arg = parse_or(p);
            if (arg == NULL || add_arg(p, n, arg) != 0)
                goto fail;
            if (p->tok.type != T_COMMA)
                break;
            next(p);
        }
    }
    if (p->tok.type != T_RP) {
        perr(p, p->tok.pos, "", "expected ',' or ')' in the arguments of %s()", name);
        goto fail;
    }
    next(p);

    const sx_native_fn *fn = sx_functions_find(p->env->fns, name);
    if (fn != NULL) {
        size_t want = sx_native_fn_site_arity(fn);
        if (n->nargs != want) {
            size_t fixed = sx_native_fn_params(fn) - want;
            char why[64] = "";
            if (fixed > 0)
                snprintf(why, sizeof why, ", %zu fixed by \"args\"", fixed);
            perr(p, pos, "", "%s() takes %zu argument%s (signature %s%s), given %zu", name, want,
                 want == 1 ? "" : "s", sx_native_fn_signature(fn), why, n->nargs);
            goto fail;
        }
        n->type = N_NATIVE;
        n->fn = fn;
        free(name);
        return n;
    }
    n->bi = sx_builtin_find(name);
    if (n->bi == NULL) {
        char h[128];
        function_hint(p, name, h, sizeof h);
        perr(p, pos, h, "unknown function '%s'", name);
        goto fail;
    }
    if (n->nargs < (size_t)n->bi->min_args ||
        (n->bi->max_args >= 0 && n->nargs > (size_t)n->bi->max_args)) {
        if (n->bi->max_args < 0)
            perr(p, pos, "", "%s() takes at least %d argument%s, given %zu", name,
                 n->bi->min_args, n->bi->min_args == 1 ? "" : "s", n->nargs);
        else
            perr(p, pos, "", "%s() takes %d argument%s, given %zu", name, n->bi->min_args,
                 n->bi->min_args == 1 ? "" : "s", n->nargs);
        goto fail;
    }
    if ((n->bi->flags & SX_BI_SECRET_ARG2) && check_secret_arg(p, n) != 0)
        goto fail;
    if ((n->bi->flags & SX_BI_COUNT_ARG2) && check_count_arg(p, n, pos) != 0)
        goto fail;
    free(name);
    return n;
fail:
    free(name);
    node_free(n);
    return NULL;
}

/* record['name'] or _['name']: any property, whatever its name. */
static node *subscript(parser *p)
{
    next(p); /* '[' */
    if (p->tok.type != T_STR) {
        perr(p, p->tok.pos, "", "expected a quoted property name");
        return NULL;
    }
    size_t pos = p->tok.pos;
    char *name = p->tok.str;
    p->tok.str = NULL;
    next(p);
    if (expect(p, T_RB) != 0) {
        free(name);
        return NULL;
    }
    return property(p, name, pos);
}

static node *parse_ident(parser *p)
{
    size_t pos = p->tok.pos;
    if (tok_is(p, "null") || tok_is(p, "None")) {
        next(p);
        return literal(p, SX_MV_NULL);
    }
    if (tok_is(p, "true") || tok_is(p, "True") || tok_is(p, "false") || tok_is(p, "False")) {
        int b = tok_is(p, "true") || tok_is(p, "True");
        next(p);
        node *n = literal(p, SX_MV_BOOL);
        if (n != NULL)
            n->lit.b = b;
        return n;
    }
    if (tok_is(p, "and") || tok_is(p, "or") || tok_is(p, "not")) {
        perr(p, pos, "", "expected a value before '%.*s'", (int)p->tok.len, p->text + pos);
        return NULL;
    }
    if (tok_is(p, "record") || tok_is(p, "_")) {
        /* Checked on the raw text: "record.x" must get this message, not the
         * lexer's complaint about '.'. */
        size_t i = p->pos;
        while (i < p->len && (p->text[i] == ' ' || p->text[i] == '\t'))
            i++;
        if (i >= p->len || p->text[i] != '[') {
            perr(p, pos, "", "'record' and '_' must be followed by ['name']");
            return NULL;
        }
        next(p);
        return subscript(p);
    }
    char *name = strndup(p->text + pos, p->tok.len);
    if (name == NULL) {
        perr(p, pos, "", "out of memory");
        return NULL;
    }
    next(p);
    if (p->tok.type == T_LP)
        return call(p, name, pos);
    if (strcmp(name, "self") == 0) {
        free(name);
        if (p->env->self_name == NULL) {
            perr(p, pos, "", "'self' means the property being computed and has no meaning here");
            return NULL;
        }
        /* self may name a property being added, which the record lacks: it
         * then reads as null, and no schema check applies. */
        node *n = new_node(p, N_PROP);
        if (n != NULL && (n->name = strdup(p->env->self_name)) == NULL) {
            node_free(n);
            perr(p, pos, "", "out of memory");
            return NULL;
        }
        return n;
    }
    return property(p, name, pos);
}

static node *parse_primary(parser *p)
{
    node *n;
    switch (p->tok.type) {
    case T_LP:
        next(p);
        n = parse_or(p);
        if (n != NULL && expect(p, T_RP) != 0) {
            node_free(n);
            return NULL;
        }
        return n;
    case T_STR:
        n = literal(p, SX_MV_STR);
        if (n != NULL) {
            sx_mv_take_str(&n->lit, p->tok.str, p->tok.str_len);
            p->tok.str = NULL;
        }
        next(p);
        return n;
    case T_INT:
    case T_REAL:
    case T_MINUS: {
        int negative = p->tok.type == T_MINUS;
        if (negative) {
            next(p);
            if (p->tok.type != T_INT && p->tok.type != T_REAL) {
                perr(p, p->tok.pos, "", "'-' may only precede a number");
                return NULL;
            }
        }
        n = literal(p, p->tok.type == T_INT ? SX_MV_INT : SX_MV_REAL);
        if (n != NULL) {
            n->lit.i = negative ? -p->tok.i : p->tok.i;
            n->lit.d = negative ? -p->tok.d : p->tok.d;
        }
        next(p);
        return n;
    }
    case T_IDENT:
        return parse_ident(p);
    default:
        perr(p, p->tok.pos, "", "expected a value");
        return NULL;
    }
}

static int is_cmp(tok_type t)
{
    return t >= T_EQ && t <= T_GE;
}

static node *parse_cmp(parser *p)
{
    node *left = parse_primary(p);
    if (left == NULL || !is_cmp(p->tok.type))
        return left;
    node *n = new_node(p, N_CMP);
    if (n == NULL || add_arg(p, n, left) != 0) {
        if (n == NULL)
            node_free(left);
        node_free(n);
        return NULL;
    }
    n->op = p->tok.type;
    next(p);
    node *right = parse_primary(p);
    if (right == NULL || add_arg(p, n, right) != 0) {
        node_free(n);
        return NULL;
    }
    if (is_cmp(p->tok.type)) {
        perr(p, p->tok.pos, "", "comparisons do not chain (join them with 'and')");
        node_free(n);
        return NULL;
    }
    return n;
}

static node *parse_not(parser *p)
{
    if (!tok_is(p, "not"))
        return parse_cmp(p);
    next(p);
    node *operand = parse_not(p);
    if (operand == NULL)
        return NULL;
    node *n = new_node(p, N_NOT);
    if (n == NULL || add_arg(p, n, operand) != 0) {
        if (n == NULL)
            node_free(operand);
        node_free(n);
        return NULL;
    }
    return n;
}

/* Left-associative chains of one boolean operator. */
static node *parse_chain(parser *p, const char *word, node_type type, node *(*operand)(parser *))
{
    node *left = operand(p);
    while (left != NULL && tok_is(p, word)) {
        next(p);
        node *right = operand(p);
        if (right == NULL) {
            node_free(left);
            return NULL;
        }
        node *n = new_node(p, type);
        if (n == NULL) {
            node_free(left);
            node_free(right);
            return NULL;
        }
        if (add_arg(p, n, left) != 0) {
            node_free(right);
            node_free(n);
            return NULL;
        }
        if (add_arg(p, n, right) != 0) {
            node_free(n);
            return NULL;
        }
        left = n;
    }
    return left;
}

static node *parse_and(parser *p)
{
    return parse_chain(p, "and", N_AND, parse_not);
}

static node *parse_or(parser *p)
{
    return parse_chain(p, "or", N_OR, parse_and);
}

int sx_expr_compile(const char *text, const sx_expr_env *env, sx_expr **out, char *msg,
                    size_t cap)
{
    *out = NULL;
    parser p = {.text = text, .len = strlen(text), .env = env, .msg = msg, .cap = cap};
    next(&p);
    if (p.tok.type == T_END && !p.failed) {
        snprintf(msg, cap, "the expression is empty");
        return -1;
    }
    node *root = parse_or(&p);
    if (root != NULL && p.tok.type != T_END)
        perr(&p, p.tok.pos, "", "unexpected '%.*s' after a complete expression",
             (int)(p.tok.len ? p.tok.len : 1), p.text + p.tok.pos);
    free(p.tok.str);
    if (p.failed || root == NULL) {
        node_free(root);
        if (!p.failed)
            snprintf(msg, cap, "out of memory");
        return -1;
    }
    sx_expr *e = malloc(sizeof *e);
    if (e == NULL || (e->text = strdup(text)) == NULL) {
        free(e);
        node_free(root);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    e->root = root;
    *out = e;
    return 0;
}

/* ---- evaluation ---- */

static int eval(const node *n, const json_t *rec, sx_mv *out, char *msg, size_t cap);

static void set_bool(sx_mv *out, int b)
{
    *out = (sx_mv)SX_MV_INIT;
    out->kind = SX_MV_BOOL;
    out->b = b;
}

static int order(int c, tok_type op)
{
    switch (op) {
    case T_EQ: return c == 0;
    case T_NE: return c != 0;
    case T_LT: return c < 0;
    case T_LE: return c <= 0;
    case T_GT: return c > 0;
    default: return c >= 0;
    }
}

static const char *article(const char *type_name)
{
    return strchr("aeiou", type_name[0]) != NULL ? "an " : "a ";
}

static const char *op_text(tok_type op)
{
    switch (op) {
    case T_LT: return "<";
    case T_LE: return "<=";
    case T_GT: return ">";
    case T_GE: return ">=";
    case T_EQ: return "==";
    default: return "!=";
    }
}

/*
 * The comparison rules (transform.h documents them): null equals only null
 * and orders with nothing; two numbers, or numeric strings, compare as
 * numbers; two strings compare byte by byte; two booleans as false < true;
 * other pairs are unequal and cannot be ordered.
 */
static int compare(tok_type op, const sx_mv *a, const sx_mv *b, int *result, char *msg,
                   size_t cap)
{
    int equality = op == T_EQ || op == T_NE;
    if (a->kind == SX_MV_NULL || b->kind == SX_MV_NULL) {
        int both = a->kind == b->kind;
        *result = op == T_EQ ? both : op == T_NE ? !both : 0;
        return 0;
    }
    int ai, bi;
    int64_t an = 0, bn = 0;
    double ad = 0, bd = 0;
    if (sx_mv_numeric(a, &ai, &an, &ad) && sx_mv_numeric(b, &bi, &bn, &bd)) {
        int c;
        if (ai && bi) {
            c = an < bn ? -1 : an > bn;
        } else {
            double x = ai ? (double)an : ad, y = bi ? (double)bn : bd;
            c = x < y ? -1 : x > y;
        }
        *result = order(c, op);
        return 0;
    }
    if (a->kind == SX_MV_STR && b->kind == SX_MV_STR) {
        size_t m = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, m);
        if (c == 0)
            c = a->len < b->len ? -1 : a->len > b->len;
        *result = order(c, op);
        return 0;
    }
    if (a->kind == SX_MV_BOOL && b->kind == SX_MV_BOOL) {
        *result = order(a->b - b->b, op);
        return 0;
    }
    if (equality) {
        int same = a->kind == SX_MV_JSON && b->kind == SX_MV_JSON && json_equal(a->src, b->src);
        *result = op == T_EQ ? same : !same;
        return 0;
    }
    const char *ta = sx_mv_type_name(a), *tb = sx_mv_type_name(b);
    /* A string here did not look like a number, which is what users need to
     * hear ("total_sents > 0" where total_sents is "n/a"). */
    snprintf(msg, cap, "cannot order %s%s and %s%s with '%s'%s", article(ta), ta, article(tb),
             tb, op_text(op),
             a->kind == SX_MV_STR || b->kind == SX_MV_STR ? " (the string is not a number)" : "");
    return -1;
}

static void clear_args(sx_mv *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sx_mv_clear(&args[i]);
}

/* Evaluates the arguments of a call into args (stack room for the usual
 * few, heap for long concat() lists). */
static int eval_call(const node *n, const json_t *rec, sx_mv *out, char *msg, size_t cap)
{
    sx_mv small[8];
    sx_mv *args = n->nargs <= 8 ? small : calloc(n->nargs, sizeof *args);
    if (args == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    size_t done = 0;
    int rc = 0;
    for (; done < n->nargs; done++) {
        args[done] = (sx_mv)SX_MV_INIT;
        if ((rc = eval(n->args[done], rec, &args[done], msg, cap)) != 0)
            break;
    }
    if (rc == 0) {
        *out = (sx_mv)SX_MV_INIT;
        if (n->type == N_NATIVE)
            rc = sx_native_call(n->fn, args, out, msg, cap);
        else
            rc = n->bi->call(n->bound, args, n->nargs, out, msg, cap);
    }
    clear_args(args, done < n->nargs ? done + 1 : n->nargs);
    if (args != small)
        free(args);
    return rc;
}

static int eval(const node *n, const json_t *rec, sx_mv *out, char *msg, size_t cap)
{
    *out = (sx_mv)SX_MV_INIT;
    switch (n->type) {
    case N_LIT:
        *out = n->lit;
        out->owned = NULL; /* borrowed from the compiled map */
        return 0;
    case N_PROP:
        sx_mv_from_json(out, rec != NULL ? json_object_get(rec, n->name) : NULL);
        return 0;
    case N_CALL:
    case N_NATIVE:
        return eval_call(n, rec, out, msg, cap);
    case N_CMP: {
        sx_mv a, b;
        if (eval(n->args[0], rec, &a, msg, cap) != 0)
            return -1;
        if (eval(n->args[1], rec, &b, msg, cap) != 0) {
            sx_mv_clear(&a);
            return -1;
        }
        int result = 0;
        int rc = compare(n->op, &a, &b, &result, msg, cap);
        sx_mv_clear(&a);
        sx_mv_clear(&b);
        if (rc == 0)
            set_bool(out, result);
        return rc;
    }
    case N_AND:
    case N_OR:
    case N_NOT: {
        sx_mv v;
        if (eval(n->args[0], rec, &v, msg, cap) != 0)
            return -1;
        int t = sx_mv_truthy(&v);
        sx_mv_clear(&v);
        if (n->type == N_NOT) {
            set_bool(out, !t);
            return 0;
        }
        /* Short-circuit, so `x != null and f(x)` never calls f on null. */
        if ((n->type == N_AND && !t) || (n->type == N_OR && t)) {
            set_bool(out, t);
            return 0;
        }
        if (eval(n->args[1], rec, &v, msg, cap) != 0)
            return -1;
        t = sx_mv_truthy(&v);
        sx_mv_clear(&v);
        set_bool(out, t);
        return 0;
    }
    }
    snprintf(msg, cap, "internal error: unknown expression node");
    return -1;
}

int sx_expr_eval(const sx_expr *e, const json_t *record, sx_mv *out, char *msg, size_t cap)
{
    return eval(e->root, record, out, msg, cap);
}

const char *sx_expr_property(const sx_expr *e)
{
    return e->root->type == N_PROP ? e->root->name : NULL;
}

const char *sx_expr_text(const sx_expr *e)
{
    return e->text;
}

void sx_expr_free(sx_expr *e)
{
    if (e == NULL)
        return;
    node_free(e->root);
    free(e->text);
    free(e);
}

/* ---- types, for the schema ---- */

/* The single non-null type a property schema declares, as an sx_mt. */
static sx_mt schema_mt(const json_t *schema)
{
    const json_t *type = json_object_get(schema, "type");
    const char *name = json_string_value(type);
    if (json_is_array(type)) {
        size_t i;
        json_t *t;
        json_array_foreach(type, i, t)
        {
            const char *s = json_string_value(t);
            if (s != NULL && strcmp(s, "null") != 0) {
                if (name != NULL)
                    return SX_MT_ANY; /* a union of several types */
                name = s;
            }
        }
    }
    if (name == NULL)
        return SX_MT_ANY;
    if (strcmp(name, "string") == 0)
        return SX_MT_STRING;
    if (strcmp(name, "integer") == 0)
        return SX_MT_INT;
    if (strcmp(name, "number") == 0)
        return SX_MT_NUMBER;
    if (strcmp(name, "boolean") == 0)
        return SX_MT_BOOL;
    return SX_MT_ANY;
}

static sx_mt node_mt(const node *n, const json_t *props)
{
    switch (n->type) {
    case N_LIT:
        switch (n->lit.kind) {
        case SX_MV_BOOL: return SX_MT_BOOL;
        case SX_MV_INT: return SX_MT_INT;
        case SX_MV_REAL: return SX_MT_NUMBER;
        case SX_MV_STR: return SX_MT_STRING;
        default: return SX_MT_NULL;
        }
    case N_PROP:
        return schema_mt(json_object_get(props, n->name));
    case N_NATIVE:
        return sx_native_fn_result(n->fn);
    case N_CALL: {
        if (n->bi->result != SX_MT_ANY)
            return n->bi->result;
        /* coalesce(): the one type its arguments share; integers widen to
         * numbers; null literals do not count. */
        sx_mt common = SX_MT_NULL;
        for (size_t i = 0; i < n->nargs; i++) {
            sx_mt t = node_mt(n->args[i], props);
            if (t == SX_MT_NULL || t == common)
                continue;
            if (common == SX_MT_NULL)
                common = t;
            else if ((common == SX_MT_INT && t == SX_MT_NUMBER) ||
                     (common == SX_MT_NUMBER && t == SX_MT_INT))
                common = SX_MT_NUMBER;
            else
                return SX_MT_ANY;
        }
        return common;
    }
    default:
        return SX_MT_BOOL;
    }
}

json_t *sx_expr_schema(const sx_expr *e, const json_t *props)
{
    if (e->root->type == N_PROP) {
        const json_t *s = json_object_get(props, e->root->name);
        return s != NULL ? json_deep_copy(s) : json_object();
    }
    const char *name;
    switch (node_mt(e->root, props)) {
    case SX_MT_NULL: return json_pack("{s:s}", "type", "null");
    case SX_MT_BOOL: name = "boolean"; break;
    case SX_MT_INT: name = "integer"; break;
    case SX_MT_NUMBER: name = "number"; break;
    case SX_MT_STRING: name = "string"; break;
    default: return json_object();
    }
    return json_pack("{s:[s,s]}", "type", name, "null");
}
