/*
 * custom_fields.h: the contacts schema with the account's real custom fields.
 *
 * A contact's custom_fields object is keyed by the code_name ("cmp4") of its
 * list's fields. Discovery turns the fields stream's records into one typed
 * property per code_name, titled with the field's title:
 *
 *   VC, TXT, PHN, DVC, LV   ["null","string"]
 *   INT                     ["null","integer","string"]   (the API sends "42")
 *   FLT                     ["null","number","string"]    (and "4.2")
 *   DT                      ["null","string"], YYYY-MM-DD
 *   DH                      ["null","string"], YYYY-MM-DD HH:MM:SS, account time
 *   any other type          no type constraint, the type named in the description
 *
 * Values are passed through as the API sends them (not converted), hence the
 * string alternative of INT and FLT. Lists may reuse a code_name with another
 * type: the property then accepts the union of both. custom_fields keeps
 * additionalProperties true, since a list created after discovery adds keys.
 */
#ifndef DZ_CUSTOM_FIELDS_H
#define DZ_CUSTOM_FIELDS_H

#include <stddef.h>

#include <jansson.h>

/*
 * Returns the schema (new reference) built from the stream's static schema
 * text and the fields records (an array), or NULL with why filled. *skipped
 * (may be NULL) counts field records without a usable code_name.
 */
json_t *dz_contacts_schema(const char *static_schema, const json_t *fields, size_t *skipped,
                           char *why, size_t why_cap);

#endif
