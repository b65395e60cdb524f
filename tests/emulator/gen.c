/*
 * gen.c: record j of a partition, computed from the seed and j.
 *
 * The data is meant to be awkward in the ways real accounts are: Portuguese
 * names with accents, an emoji now and then, strings that need JSON escapes
 * (quotes, backslash, newline), nulls in optional fields, numbers as strings,
 * several records sharing one timestamp, an unknown extra key on some records.
 * Replication-key times are non-decreasing in j, which lets queries find the
 * first record at or after a bookmark by binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "dates.h"
#include "data.h"
#include "rng.h"
#include "store.h"

/* ---- word tables (the ASCII twin is what goes into e-mail addresses) ---- */

static const char *const first_names[][2] = {
    {"José", "jose"}, {"João", "joao"}, {"Maria", "maria"}, {"Ana", "ana"},
    {"Antônio", "antonio"}, {"Francisco", "francisco"}, {"Luís", "luis"}, {"Márcia", "marcia"},
    {"Conceição", "conceicao"}, {"Sebastião", "sebastiao"}, {"Joaquim", "joaquim"},
    {"Lúcia", "lucia"}, {"Fábio", "fabio"}, {"Cláudia", "claudia"}, {"Vinícius", "vinicius"},
    {"Letícia", "leticia"}, {"Júlia", "julia"}, {"Caio", "caio"}, {"Bárbara", "barbara"},
    {"Otávio", "otavio"}, {"Patrícia", "patricia"}, {"Sérgio", "sergio"}, {"Mônica", "monica"},
    {"Rogério", "rogerio"}, {"Inês", "ines"}, {"Thaís", "thais"}, {"Ângela", "angela"},
    {"Benedito", "benedito"}, {"Luíza", "luiza"}, {"Raí", "rai"}, {"Gonçalo", "goncalo"},
    {"Íris", "iris"},
};
static const char *const last_names[][2] = {
    {"Silva", "silva"}, {"Santos", "santos"}, {"Oliveira", "oliveira"}, {"Souza", "souza"},
    {"Conceição", "conceicao"}, {"Gonçalves", "goncalves"}, {"Araújo", "araujo"},
    {"Simões", "simoes"}, {"Magalhães", "magalhaes"}, {"Brandão", "brandao"},
    {"Assunção", "assuncao"}, {"Falcão", "falcao"}, {"Guimarães", "guimaraes"}, {"Sá", "sa"},
    {"Peçanha", "pecanha"}, {"Romão", "romao"}, {"Damião", "damiao"}, {"Estêvão", "estevao"},
    {"Lopes", "lopes"}, {"Ribeiro", "ribeiro"}, {"D'Ávila", "davila"}, {"Müller", "muller"},
};
static const char *const domains[] = {"exemplo.com.br", "correio.test", "empresa.com.br",
                                      "provedor.net.br", "mail.test"};
static const char *const cities[] = {"Porto Alegre", "São Paulo", "Florianópolis", "Belém",
                                     "Maceió", "Goiânia", "Niterói", "Jundiaí", "Ribeirão Preto",
                                     "Vitória da Conquista"};
static const char *const notes[] = {
    "Prefere contato por e-mail",
    "Cliente disse: \"adorei o produto!\"\nLigar de novo em março",
    "Arquivo em C:\\Clientes\\Importação\\lote-7.csv",
    "Observação: entrega às 18h ✅",
    "Tab\tseparado; barra / normal",
    "Comprou 3× no último trimestre 🛒",
};
static const char *const list_titles[] = {"Clientes Ativos", "Newsletter Semanal",
                                          "Promoções de Verão ☀️", "Leads \"quentes\"",
                                          "Eventos & Congressos", "Recuperação de carrinho",
                                          "Pesquisa de satisfação", "Parceiros\\Revendas"};
static const char *const campaign_titles[] = {"Black Friday", "Dia das Mães", "Natal Mágico 🎄",
                                              "Volta às aulas", "Liquidação de inverno",
                                              "Aniversário da loja", "Semana do Consumidor"};
static const char *const message_titles[] = {"Boas-vindas", "Carrinho abandonado",
                                             "Ofertas da semana", "Confirmação de cadastro",
                                             "Pesquisa \"NPS\"", "Último aviso ⏰"};
static const char *const subjects[] = {
    "Só hoje: até 50% de desconto!", "Você esqueceu algo no carrinho 🛒",
    "Novidades fresquinhas para você, {{nome}}", "Oferta \"imperdível\" \\ frete grátis",
    "Última chance\nAproveite", "Seu cupom chegou 🎁"};
static const char *const sender_names[] = {"Loja Exemplo", "Equipe Marketing", "Atendimento",
                                           "João da Promoção"};
static const char *const field_titles[9] = {"Cidade", "Cor preferida", "Observações",
                                            "Número de pedidos", "Ticket médio",
                                            "Data de nascimento", "Última compra", "Celular",
                                            "Token do app"};
static const char *const group_titles[] = {"Dados pessoais", "Endereço", "Preferências",
                                           "Compras", "Integração"};
static const char *const filter_titles[] = {"Compraram nos últimos 30 dias",
                                            "Aniversariantes do mês 🎂", "Inativos há 6 meses",
                                            "Abriram a última campanha", "Região Sul"};
static const char *const lov_words[] = {"Azul", "Verde", "Amarelo", "Vermelho", "Preto",
                                        "Branco", "Lilás", "Marrom", "Cinza", "Laranja"};
static const char *const optout_reasons[] = {"Não tenho mais interesse",
                                             "Recebo e-mails demais",
                                             "Nunca me cadastrei",
                                             "Conteúdo \"irrelevante\""};
static const char *const tx_descriptions[] = {"Envio de e-mail marketing", "Envio transacional",
                                              "Créditos de SMS", "Validação de contatos"};
static const char *const languages[] = {"pt_BR", "en_US", "es_ES"};
static const char *const timezones[] = {"America/Sao_Paulo", "America/Manaus", "America/Recife",
                                        "America/Porto_Velho"};
static const char *const team_words[] = {"Diretoria", "Marketing", "Vendas", "Suporte",
                                         "Comunicação", "Região Nordeste", "E-commerce"};
static const char *const action_statuses[] = {"FN", "FN", "FN", "FN", "EN", "EP", "AG", "PD"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a, h) ((a)[(h) % COUNT(a)])

/* ---- record building ---- */

int emu_rec_init(emu_rec *r, size_t ncustom)
{
    memset(r, 0, sizeof *r);
    r->cap = 8192 + 192 * ncustom;
    r->arena = malloc(r->cap);
    r->capcf = ncustom + 16;
    r->cf = calloc(r->capcf, sizeof *r->cf);
    if (r->arena == NULL || r->cf == NULL) {
        emu_rec_free(r);
        return -1;
    }
    return 0;
}

void emu_rec_free(emu_rec *r)
{
    free(r->arena);
    free(r->cf);
    memset(r, 0, sizeof *r);
}

const emu_val *emu_rec_get(const emu_rec *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return &r->f[i];
    for (size_t i = 0; i < r->ncf; i++)
        if (strcmp(r->cf[i].name, name) == 0)
            return &r->cf[i];
    return NULL;
}

/* A bounded string builder on the stack: composite values are assembled here
 * and copied into the arena once. */
typedef struct sb {
    char b[480];
    size_t n;
} sb;

static void sb_n(sb *x, const char *s, size_t l)
{
    if (l > sizeof x->b - x->n)
        l = sizeof x->b - x->n;
    memcpy(x->b + x->n, s, l);
    x->n += l;
}

static void sb_s(sb *x, const char *s)
{
    sb_n(x, s, strlen(s));
}

static void sb_u(sb *x, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_n(x, tmp + i, sizeof tmp - i);
}

/* v with at least w digits. */
static void sb_u0(sb *x, uint64_t v, int w)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
        w--;
    } while (v || w > 0);
    sb_n(x, tmp + i, sizeof tmp - (size_t)i);
}

static void sb_date(sb *x, int64_t t)
{
    char d[19];
    emu_date_format(t, d);
    sb_n(x, d, 19);
}

static emu_val *slot(emu_rec *r, const char *name)
{
    if (r->nf >= EMU_REC_FIELDS)
        return NULL;
    emu_val *v = &r->f[r->nf++];
    v->name = name;
    v->plain_name = 1;
    v->name_len = (uint16_t)strlen(name);
    return v;
}

static void put_static(emu_rec *r, const char *name, const char *s)
{
    emu_val *v = slot(r, name);
    if (v) {
        v->s = s;
        v->len = (uint32_t)strlen(s);
        v->kind = EMU_V_STR;
    }
}

static void put_null(emu_rec *r, const char *name)
{
    emu_val *v = slot(r, name);
    if (v) {
        v->s = NULL;
        v->len = 0;
        v->kind = EMU_V_NULL;
    }
}

static void put_bool(emu_rec *r, const char *name, int b)
{
    emu_val *v = slot(r, name);
    if (v) {
        v->s = b ? "true" : "false";
        v->len = b ? 4 : 5;
        v->kind = EMU_V_BOOL;
    }
}

/* Copies x into the arena; NULL when the arena is full (then the value is
 * written as null rather than overflowing). */
static const char *arena_copy(emu_rec *r, const sb *x)
{
    if (r->cap - r->used < x->n + 1)
        return NULL;
    char *d = r->arena + r->used;
    memcpy(d, x->b, x->n);
    d[x->n] = '\0';
    r->used += x->n + 1;
    return d;
}

static void put_sb(emu_rec *r, const char *name, const sb *x)
{
    emu_val *v = slot(r, name);
    if (v == NULL)
        return;
    v->s = arena_copy(r, x);
    v->len = (uint32_t)x->n;
    v->kind = v->s ? EMU_V_STR : EMU_V_NULL;
}

static void put_u64(emu_rec *r, const char *name, uint64_t u)
{
    sb x;
    x.n = 0; /* not "= {0}": that would clear all 480 bytes */
    sb_u(&x, u);
    put_sb(r, name, &x);
}

static void put_date(emu_rec *r, const char *name, int64_t t)
{
    sb x;
    x.n = 0;
    sb_date(&x, t);
    put_sb(r, name, &x);
}

static void put_cf(emu_rec *r, const char *name, const sb *x, int null)
{
    if (r->ncf >= r->capcf)
        return;
    emu_val *v = &r->cf[r->ncf++];
    v->name = name;
    v->plain_name = 0;
    v->s = null ? NULL : arena_copy(r, x);
    v->len = null ? 0 : (uint32_t)x->n;
    v->kind = v->s ? EMU_V_STR : EMU_V_NULL;
}

/* ---- counts, codes and times ---- */

uint64_t emu_base_lists_with_contacts(const emu_options *o)
{
    return o->lists >= 2 ? o->lists - 1 : o->lists;
}

uint64_t emu_base_contacts_in(const emu_options *o, uint64_t k)
{
    uint64_t m = emu_base_lists_with_contacts(o);
    if (k >= m)
        return 0;
    return o->contacts / m + (k < o->contacts % m);
}

uint64_t emu_base_contacts_before(const emu_options *o, uint64_t k)
{
    uint64_t m = emu_base_lists_with_contacts(o);
    if (m == 0)
        return 0;
    if (k > m)
        k = m;
    uint64_t r = o->contacts % m;
    return k * (o->contacts / m) + (k < r ? k : r);
}

uint64_t emu_lov_count(const emu_options *o, uint64_t ord)
{
    static const uint64_t auto_counts[3] = {7, 250, 40};
    return o->lov_values >= 0 ? (uint64_t)o->lov_values : auto_counts[ord % 3];
}

uint64_t emu_base_next_code(const emu_options *o, int sid)
{
    switch (sid) {
    case EMU_CONTACT_LISTS: return o->lists + 1;
    case EMU_CONTACTS: return o->contacts + 1;
    case EMU_ACTIONS: return o->actions + 1;
    case EMU_CAMPAIGNS: return o->campaigns + 1;
    case EMU_MESSAGES: return o->messages + 1;
    case EMU_FIELDS: return o->lists * o->fields + 1;
    case EMU_FIELD_GROUPS: return o->lists * o->field_groups + 1;
    case EMU_FILTERS: return o->lists * o->filters + 1;
    case EMU_USERS: return o->users + 1;
    case EMU_TEAMS: return o->teams + 1;
    default: return 1; /* streams without a numeric code count inserts from 1 */
    }
}

#define DAY 86400LL
#define YEAR (365LL * DAY)

int64_t emu_base_end_time(void)
{
    return emu_date_make(2025, 1, 1);
}

static int64_t rk_start(int sid)
{
    switch (sid) {
    case EMU_CONTACT_LISTS: return emu_date_make(2018, 1, 1);
    case EMU_FIELDS:
    case EMU_FIELD_GROUPS:
    case EMU_FILTERS: return emu_date_make(2018, 6, 1);
    case EMU_OPTOUTS: return emu_date_make(2020, 1, 1);
    case EMU_USERS: return emu_date_make(2017, 1, 1);
    case EMU_ACTIONS:
    case EMU_TRANSACTIONS: return emu_date_make(2019, 6, 1);
    default: return emu_date_make(2019, 1, 1);
    }
}

static int64_t rk_span(int sid)
{
    switch (sid) {
    case EMU_CONTACT_LISTS:
    case EMU_FIELDS:
    case EMU_FIELD_GROUPS:
    case EMU_FILTERS: return YEAR;
    case EMU_USERS: return 2 * YEAR;
    case EMU_OPTOUTS: return 4 * YEAR;
    default: return 5 * YEAR;
    }
}

int64_t emu_rk_time(const emu_store *s, const emu_view *v, uint64_t j)
{
    if (j >= v->n0) {
        const emu_ins *in = emu_part_inserted(v->part, j - v->n0);
        return in ? in->date : emu_base_end_time();
    }
    /* Records 5m and 5m+1 share their timestamp; transactions only when two
     * consecutive records have different actions (their key includes it). */
    uint64_t jj = j;
    if (j % 5 == 1 && (v->sid != EMU_TRANSACTIONS || s->o->actions >= 2))
        jj = j - 1;
    unsigned __int128 off = (unsigned __int128)(uint64_t)rk_span(v->sid) * jj;
    return rk_start(v->sid) + (int64_t)(off / (v->n0 ? v->n0 : 1));
}

/* The code of record j (for streams keyed by code). */
static uint64_t code_of(const emu_view *v, uint64_t j)
{
    if (j >= v->n0) {
        const emu_ins *in = emu_part_inserted(v->part, j - v->n0);
        return in ? in->code : 0;
    }
    return v->code_base + j + 1;
}

static void list_title(sb *x, uint64_t code)
{
    sb_s(x, list_titles[(code - 1) % COUNT(list_titles)]);
    if (code > COUNT(list_titles)) {
        sb_s(x, " ");
        sb_u(x, code);
    }
}

static void group_title(sb *x, uint64_t code)
{
    sb_s(x, group_titles[(code - 1) % COUNT(group_titles)]);
    if (code > COUNT(group_titles)) {
        sb_s(x, " ");
        sb_u(x, code);
    }
}

static void person(sb *name, sb *email, uint64_t h, uint64_t code, int fancy)
{
    const char *const *fn = first_names[h % COUNT(first_names)];
    const char *const *ln = last_names[(h >> 8) % COUNT(last_names)];
    const char *const *ln2 = last_names[(h >> 16) % COUNT(last_names)];
    sb_s(name, fn[0]);
    if (fancy && code % 89 == 7)
        sb_s(name, " \"Cota\"");
    sb_s(name, " ");
    sb_s(name, ln[0]);
    if ((h >> 24) % 3 == 0) {
        sb_s(name, " ");
        sb_s(name, ln2[0]);
    }
    if (fancy && code % 97 == 13)
        sb_s(name, " 🌻");
    sb_s(email, fn[1]);
    sb_s(email, ".");
    sb_s(email, ln[1]);
    sb_u(email, code);
    sb_s(email, "@");
    sb_s(email, domains[(h >> 32) % COUNT(domains)]);
}

/* ---- the generators ---- */

static void gen_contact_list(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    const emu_options *o = s->o;
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(o->seed, EMU_CONTACT_LISTS, code, 0);
    put_u64(r, "code", code);
    if (o->users)
        put_u64(r, "user_code", 1 + h % o->users);
    else
        put_null(r, "user_code");
    sb t;
    t.n = 0;
    list_title(&t, code);
    put_sb(r, "title", &t);
    put_static(r, "type", (h >> 8) % 4 == 0 ? "CE" : "EM");
    put_static(r, "status", (h >> 12) % 7 == 0 ? "EA" : (h >> 12) % 11 == 1 ? "BL" : "LI");
    uint64_t total = emu_store_live_count(s, EMU_CONTACTS, code, 0);
    put_u64(r, "total_contacts", total);
    put_u64(r, "total_valid", total - (total + 16) / 17);
    int64_t t0 = emu_rk_time(s, v, j);
    put_date(r, "insert_date", t0);
    if ((h >> 20) % 3 == 0)
        put_date(r, "rest_date", t0 + (int64_t)((h >> 24) % 400) * DAY);
    else
        put_null(r, "rest_date");
}

static void custom_value(sb *x, const emu_cfield *f, uint64_t h, uint64_t code, int *null)
{
    *null = 0;
    switch (f->type_index) {
    case 0: /* VC */
        sb_s(x, PICK(cities, h));
        break;
    case 1: /* LV: the code of one of the field's LOV items */
        if (f->lov_n0 == 0) {
            *null = 1;
            return;
        }
        sb_u(x, f->code * 10000000ULL + 1 + h % f->lov_n0);
        break;
    case 2: /* TXT */
        sb_s(x, PICK(notes, h >> 3));
        break;
    case 3: /* INT */
        sb_u(x, h % 250);
        break;
    case 4: /* FLT */
        sb_u(x, h % 5000);
        sb_s(x, ".");
        sb_u0(x, (h >> 13) % 100, 2);
        break;
    case 5: { /* DT */
        char d[19];
        emu_date_format(emu_date_make(1950, 1, 1) + (int64_t)(h % (55 * 365)) * DAY, d);
        sb_n(x, d, 10);
        break;
    }
    case 6: /* DH */
        sb_date(x, emu_date_make(2022, 1, 1) + (int64_t)(h % (3 * YEAR)));
        break;
    case 7: /* PHN */
        sb_s(x, "+55 (");
        sb_u(x, 11 + h % 89);
        sb_s(x, ") 9");
        sb_u0(x, (h >> 10) % 10000, 4);
        sb_s(x, "-");
        sb_u0(x, (h >> 24) % 10000, 4);
        break;
    case 8: { /* DVC: an app token */
        static const char hex[] = "0123456789abcdef";
        uint64_t a = emu_mix(h ^ code), b = emu_mix(a);
        char tok[32];
        for (int i = 0; i < 16; i++) {
            tok[i] = hex[(a >> (4 * i)) & 15];
            tok[16 + i] = hex[(b >> (4 * i)) & 15];
        }
        sb_n(x, tok, 32);
        break;
    }
    default: /* a type set by an update that the generator does not know */
        sb_s(x, "?");
    }
}

static void gen_contact(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    const emu_options *o = s->o;
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(o->seed, EMU_CONTACTS, code, 0);
    put_u64(r, "code", code);
    if (code % 4 == 3) {
        put_null(r, "external_code");
    } else {
        sb x;
        x.n = 0;
        sb_s(&x, "EXT-");
        sb_u0(&x, code * 7 % 1000003, 7);
        put_sb(r, "external_code", &x);
    }
    sb name, email;
    name.n = email.n = 0;
    person(&name, &email, h, code, 1);
    put_sb(r, "email", &email);
    put_sb(r, "name", &name);
    put_static(r, "status", code % 17 == 0 ? "I" : "V");
    put_bool(r, "optout", code % 23 == 0);
    put_bool(r, "spam", code % 101 == 0);
    uint64_t sents = (h >> 40) % 120;
    uint64_t views = sents ? (h >> 48) % (sents + 1) : 0;
    put_u64(r, "total_clicks", views ? (h >> 52) % (views + 1) : 0);
    put_u64(r, "total_sents", sents);
    put_u64(r, "total_views", views);

    emu_val *cfv = slot(r, "custom_fields");
    if (cfv) {
        cfv->kind = EMU_V_OBJ;
        cfv->s = NULL;
        cfv->len = 0;
    }
    uint64_t hc = emu_hash(o->seed, EMU_CONTACTS, code, 77);
    for (size_t i = 0; i < v->ncf; i++) {
        uint64_t hf = emu_mix(hc ^ (v->cf[i].code * 0x9e3779b97f4a7c15ULL));
        sb x;
        x.n = 0;
        int null = (hf & 7) == 0;
        if (!null)
            custom_value(&x, &v->cf[i], hf >> 3, code, &null);
        put_cf(r, v->cf[i].code_name, &x, null);
    }
    int64_t t0 = emu_rk_time(s, v, j);
    put_date(r, "insert_date", t0);
    if (code % 11 == 0)
        put_date(r, "rest_date", t0 + (int64_t)(1 + h % 90) * DAY);
    else
        put_null(r, "rest_date");
    /* Schema drift: a key no schema declares. */
    if (code % 13 == 5)
        put_u64(r, "score_rfm", 1 + (h >> 5) % 5);
}

static void gen_action(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    const emu_options *o = s->o;
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(o->seed, EMU_ACTIONS, code, 0);
    put_u64(r, "code", code);
    if (o->campaigns && code % 6 != 5)
        put_u64(r, "campaign_code", 1 + h % o->campaigns);
    else
        put_null(r, "campaign_code");
    uint64_t list = o->lists ? 1 + (h >> 4) % o->lists : 0;
    if (list) {
        put_u64(r, "contact-list_code", list);
        sb t;
        t.n = 0;
        list_title(&t, list);
        put_sb(r, "contact-list_title", &t);
    } else {
        put_null(r, "contact-list_code");
        put_null(r, "contact-list_title");
    }
    if (list && o->filters && code % 4 == 1)
        put_u64(r, "filter_code", (list - 1) * o->filters + 1 + (h >> 9) % o->filters);
    else
        put_null(r, "filter_code");
    if (o->messages)
        put_u64(r, "message_code", 1 + (h >> 14) % o->messages);
    else
        put_null(r, "message_code");
    sb title;
    title.n = 0;
    sb_s(&title, PICK(campaign_titles, h >> 18));
    sb_s(&title, " #");
    sb_u(&title, code);
    put_sb(r, "title", &title);
    put_static(r, "subject", PICK(subjects, h >> 22));
    const char *sender = PICK(sender_names, h >> 26);
    put_static(r, "sender_name", sender);
    put_static(r, "sender_email", "contato@loja-exemplo.com.br");
    if (code % 3 == 0)
        put_null(r, "reply_to");
    else
        put_static(r, "reply_to", "respostas@loja-exemplo.com.br");
    int is_url = code % 9 == 4;
    put_static(r, "message_type", is_url ? "URL" : "CAD");
    if (is_url) {
        sb u;
        u.n = 0;
        sb_s(&u, "https://loja-exemplo.com.br/news/");
        sb_u(&u, code);
        sb_s(&u, "?utm_source=dinamize&utm_medium=email");
        put_sb(r, "url", &u);
        sb m;
        m.n = 0;
        sb_s(&m, "dnz-");
        sb_u0(&m, (h >> 30) % 1000000, 6);
        put_sb(r, "action_mark", &m);
    } else {
        put_null(r, "url");
        put_null(r, "action_mark");
    }
    put_static(r, "action_type", (h >> 34) % 5 == 0 ? "IC" : "PT");
    const char *status = PICK(action_statuses, h >> 36);
    put_static(r, "status", status);
    uint64_t total = 100 + (h >> 40) % 50000;
    int unsent = strcmp(status, "PD") == 0 || strcmp(status, "AG") == 0;
    int finished = strcmp(status, "FN") == 0;
    put_u64(r, "total_contacts", total);
    put_u64(r, "total_sent", unsent ? 0 : finished ? total - (h >> 50) % 50 % total : total / 2);
    int64_t t0 = emu_rk_time(s, v, j);
    put_date(r, "date_create", t0);
    int64_t start = t0 + (int64_t)(1 + (h >> 44) % 72) * 3600;
    if (strcmp(status, "PD") == 0)
        put_null(r, "date_start");
    else
        put_date(r, "date_start", start);
    if (finished)
        put_date(r, "date_end", start + (int64_t)(60 + (h >> 48) % 7200));
    else
        put_null(r, "date_end");
    if (code % 7 == 3)
        put_static(r, "ab_test_group", (h >> 3) % 2 ? "A" : "B");
}

static void gen_titled(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r,
                       const char *const *titles, size_t ntitles)
{
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(s->o->seed, (uint64_t)v->sid, code, 0);
    put_u64(r, "code", code);
    sb t;
    t.n = 0;
    sb_s(&t, titles[h % ntitles]);
    sb_s(&t, " ");
    sb_u(&t, code);
    put_sb(r, "title", &t);
    put_date(r, "insert_date", emu_rk_time(s, v, j));
}

static void gen_transaction(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    const emu_options *o = s->o;
    uint64_t h = emu_hash(o->seed, EMU_TRANSACTIONS, j, 0);
    /* Consecutive records have different actions, so records sharing a
     * timestamp still have distinct keys. */
    uint64_t acts = o->actions ? o->actions : 1;
    uint64_t action = j < v->n0 ? 1 + j % acts : 1 + h % acts;
    put_u64(r, "action_code", action);
    put_date(r, "dt_transaction", emu_rk_time(s, v, j));
    put_static(r, "description", PICK(tx_descriptions, h >> 7));
    sb x;
    x.n = 0;
    sb_u(&x, (h >> 12) % 2000);
    sb_s(&x, ".");
    sb_u0(&x, (h >> 24) % 100, 2);
    put_sb(r, "value", &x);
}

static void gen_field(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    const emu_options *o = s->o;
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(o->seed, EMU_FIELDS, code, 0);
    uint64_t ti = j % 9;
    put_u64(r, "code", code);
    sb cn;
    cn.n = 0;
    sb_s(&cn, "cmp");
    sb_u(&cn, 4 + j);
    put_sb(r, "code_name", &cn);
    if (o->field_groups && v->list_k != UINT64_MAX) {
        uint64_t gc = v->list_k * o->field_groups + j % o->field_groups + 1;
        put_u64(r, "field-group_code", gc);
        sb g;
        g.n = 0;
        group_title(&g, gc);
        put_sb(r, "field-group_name", &g);
    } else {
        put_null(r, "field-group_code");
        put_null(r, "field-group_name");
    }
    sb t;
    t.n = 0;
    sb_s(&t, field_titles[ti]);
    if (j >= 9) {
        sb_s(&t, " ");
        sb_u(&t, j / 9 + 1);
    }
    put_sb(r, "title", &t);
    put_static(r, "type", emu_field_types[ti]);
    put_bool(r, "is_required", h % 5 == 0);
    put_bool(r, "is_uniquevalue", ti == 1 && (j / 9) % 2 == 0);
    put_bool(r, "is_searchable", (h >> 4) % 4 != 0);
    put_date(r, "insert_date", emu_rk_time(s, v, j));
}

static void gen_group(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    uint64_t code = code_of(v, j);
    put_u64(r, "code", code);
    sb t;
    t.n = 0;
    group_title(&t, code);
    put_sb(r, "title", &t);
    put_date(r, "insert_date", emu_rk_time(s, v, j));
}

static void gen_filter(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(s->o->seed, EMU_FILTERS, code, 0);
    put_u64(r, "code", code);
    sb t;
    t.n = 0;
    sb_s(&t, filter_titles[h % COUNT(filter_titles)]);
    sb_s(&t, " (");
    sb_u(&t, code);
    sb_s(&t, ")");
    put_sb(r, "title", &t);
    put_static(r, "type", (h >> 8) % 3 == 0 ? "OR" : "AND");
    put_date(r, "insert_date", emu_rk_time(s, v, j));
}

static void gen_lov(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    uint64_t code = j < v->n0 ? v->field * 10000000ULL + j + 1 : code_of(v, j);
    put_u64(r, "code", code);
    sb x;
    x.n = 0;
    sb_s(&x, lov_words[(j + v->lov_ord) % COUNT(lov_words)]);
    if (j >= COUNT(lov_words)) {
        sb_s(&x, " ");
        sb_u(&x, j / COUNT(lov_words) + 1);
    }
    put_sb(r, "value", &x);
}

static void gen_optout(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    uint64_t serial = j < v->n0 ? j + 1 : code_of(v, j);
    uint64_t h = emu_hash(s->o->seed, EMU_OPTOUTS, v->list, j);
    sb name, email;
    name.n = email.n = 0;
    person(&name, &email, h, 0, 0);
    /* Unique per list and over lists: the list and a serial go into the local part. */
    sb e;
    e.n = 0;
    const char *at = memchr(email.b, '@', email.n);
    size_t local = at ? (size_t)(at - email.b) : email.n;
    sb_n(&e, email.b, local);
    sb_s(&e, j < v->n0 ? ".l" : ".novo.l");
    sb_u(&e, v->list);
    sb_s(&e, "n");
    sb_u(&e, serial);
    sb_n(&e, email.b + local, email.n - local);
    put_sb(r, "email", &e);
    if ((h >> 40) % 4 == 0)
        put_null(r, "reason_description");
    else
        put_static(r, "reason_description", PICK(optout_reasons, h >> 42));
    put_static(r, "origin", (h >> 50) % 7 == 0 ? "D" : (h >> 50) % 3 == 0 ? "C" : "P");
    put_date(r, "request_date", emu_rk_time(s, v, j));
}

static void gen_user(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(s->o->seed, EMU_USERS, code, 0);
    put_u64(r, "code", code);
    sb name, email;
    name.n = email.n = 0;
    person(&name, &email, h, code, 0);
    put_sb(r, "email", &email);
    put_sb(r, "name", &name);
    put_static(r, "language", (h >> 40) % 5 == 0 ? PICK(languages, h >> 44) : "pt_BR");
    put_static(r, "timezone", (h >> 46) % 3 == 0 ? PICK(timezones, h >> 48) : timezones[0]);
    put_date(r, "insert_date", emu_rk_time(s, v, j));
}

static void gen_team(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    uint64_t code = code_of(v, j);
    uint64_t h = emu_hash(s->o->seed, EMU_TEAMS, code, 0);
    put_u64(r, "code", code);
    /* A tree: the first team is the root, every other one hangs under an
     * earlier team. */
    if (code <= 1)
        put_null(r, "top_team");
    else
        put_u64(r, "top_team", 1 + h % (code - 1));
    sb t;
    t.n = 0;
    sb_s(&t, PICK(team_words, h >> 8));
    if (code > COUNT(team_words)) {
        sb_s(&t, " ");
        sb_u(&t, code);
    }
    put_sb(r, "name", &t);
}

/* ---- updates ---- */

static void apply_override(emu_rec *r, const emu_ovr *ov)
{
    emu_val *dst = NULL;
    if (ov->custom) {
        for (size_t i = 0; i < r->ncf; i++)
            if (strcmp(r->cf[i].name, ov->name) == 0)
                dst = &r->cf[i];
        if (dst == NULL && r->ncf < r->capcf)
            dst = &r->cf[r->ncf++];
    } else {
        for (size_t i = 0; i < r->nf; i++)
            if (strcmp(r->f[i].name, ov->name) == 0)
                dst = &r->f[i];
        if (dst == NULL)
            dst = slot(r, ov->name);
    }
    if (dst == NULL)
        return;
    dst->name = ov->name;
    dst->plain_name = 0;
    dst->s = ov->text;
    dst->len = ov->len;
    dst->kind = ov->kind;
}

void emu_gen(const emu_store *s, const emu_view *v, uint64_t j, emu_rec *r)
{
    r->nf = 0;
    r->ncf = 0;
    r->used = 0;
    switch (v->sid) {
    case EMU_CONTACT_LISTS: gen_contact_list(s, v, j, r); break;
    case EMU_CONTACTS: gen_contact(s, v, j, r); break;
    case EMU_ACTIONS: gen_action(s, v, j, r); break;
    case EMU_CAMPAIGNS: gen_titled(s, v, j, r, campaign_titles, COUNT(campaign_titles)); break;
    case EMU_MESSAGES: gen_titled(s, v, j, r, message_titles, COUNT(message_titles)); break;
    case EMU_TRANSACTIONS: gen_transaction(s, v, j, r); break;
    case EMU_FIELDS: gen_field(s, v, j, r); break;
    case EMU_FIELD_GROUPS: gen_group(s, v, j, r); break;
    case EMU_FILTERS: gen_filter(s, v, j, r); break;
    case EMU_LOV: gen_lov(s, v, j, r); break;
    case EMU_OPTOUTS: gen_optout(s, v, j, r); break;
    case EMU_USERS: gen_user(s, v, j, r); break;
    case EMU_TEAMS: gen_team(s, v, j, r); break;
    }
    const emu_upd *u = emu_part_update(v->part, j);
    if (u)
        for (size_t i = 0; i < u->nov; i++)
            apply_override(r, &u->ov[i]);
}
