#include <string.h>

#include "data.h"

static const char *const f_lists[] = {"code", "user_code", "title", "type", "status",
    "total_contacts", "total_valid", "insert_date", "rest_date", NULL};
static const char *const f_contacts[] = {"code", "external_code", "email", "name", "status",
    "optout", "spam", "total_clicks", "total_sents", "total_views", "custom_fields",
    "insert_date", "rest_date", "score_rfm", NULL};
static const char *const f_actions[] = {"code", "campaign_code", "contact-list_code",
    "contact-list_title", "filter_code", "message_code", "title", "subject", "sender_name",
    "sender_email", "reply_to", "message_type", "url", "action_mark", "action_type", "status",
    "total_contacts", "total_sent", "date_create", "date_start", "date_end", "ab_test_group",
    NULL};
static const char *const f_titled[] = {"code", "title", "insert_date", NULL};
static const char *const f_transactions[] = {"action_code", "dt_transaction", "description",
    "value", NULL};
static const char *const f_fields[] = {"code", "code_name", "field-group_code",
    "field-group_name", "title", "type", "is_required", "is_uniquevalue", "is_searchable",
    "insert_date", NULL};
static const char *const f_filters[] = {"code", "title", "type", "insert_date", NULL};
static const char *const f_lov[] = {"code", "value", NULL};
static const char *const f_optouts[] = {"email", "reason_description", "origin",
    "request_date", NULL};
static const char *const f_users[] = {"code", "email", "name", "language", "timezone",
    "insert_date", NULL};
static const char *const f_teams[] = {"code", "top_team", "name", NULL};

const emu_stream_def emu_streams[EMU_NSTREAMS] = {
    [EMU_CONTACT_LISTS] = {"contact_lists", "/emkt/contact-list/search", "items",
                           EMU_PARENT_NONE, {"code"}, 1, "insert_date", f_lists},
    [EMU_CONTACTS] = {"contacts", "/emkt/contact/search", "items", EMU_PARENT_L, {"code"}, 1,
                      "insert_date", f_contacts},
    [EMU_ACTIONS] = {"actions", "/emkt/action/search", "items", EMU_PARENT_NONE, {"code"}, 1,
                     "date_create", f_actions},
    [EMU_CAMPAIGNS] = {"campaigns", "/emkt/campaign/search", "items", EMU_PARENT_NONE,
                       {"code"}, 1, "insert_date", f_titled},
    [EMU_MESSAGES] = {"messages", "/emkt/message/search", "items", EMU_PARENT_NONE, {"code"},
                      1, "insert_date", f_titled},
    [EMU_TRANSACTIONS] = {"transactions", "/emkt/transaction/search", "items",
                          EMU_PARENT_NONE, {"action_code", "dt_transaction"}, 2,
                          "dt_transaction", f_transactions},
    [EMU_FIELDS] = {"fields", "/emkt/field/search", "items", EMU_PARENT_L, {"code"}, 1,
                    "insert_date", f_fields},
    [EMU_FIELD_GROUPS] = {"field_groups", "/emkt/field-group/search", "items", EMU_PARENT_L,
                          {"code"}, 1, "insert_date", f_titled},
    [EMU_FILTERS] = {"filters", "/emkt/filter/search", "items", EMU_PARENT_L, {"code"}, 1,
                     "insert_date", f_filters},
    [EMU_LOV] = {"list_of_values", "/emkt/field-lov/search", "list", EMU_PARENT_LF, {"code"},
                 1, NULL, f_lov},
    [EMU_OPTOUTS] = {"optout_emails", "/emkt/optout-email/search", "items", EMU_PARENT_L,
                     {"email"}, 1, "request_date", f_optouts},
    [EMU_USERS] = {"users", "/user/search", "items", EMU_PARENT_NONE, {"code"}, 1,
                   "insert_date", f_users},
    [EMU_TEAMS] = {"teams", "/emkt/team/search", "items", EMU_PARENT_NONE, {"code"}, 1, NULL,
                   f_teams},
};

const char *const emu_field_types[9] = {"VC", "LV", "TXT", "INT", "FLT", "DT", "DH", "PHN",
                                        "DVC"};

int emu_stream_by_name(const char *name)
{
    for (int i = 0; i < EMU_NSTREAMS; i++)
        if (strcmp(emu_streams[i].name, name) == 0)
            return i;
    return -1;
}

int emu_stream_by_path(const char *path)
{
    for (int i = 0; i < EMU_NSTREAMS; i++)
        if (strcmp(emu_streams[i].path, path) == 0)
            return i;
    return -1;
}
