/*
 * fuzz/fuzz-json.c - fuzz target: the core's strict RFC 8259 JSON checker
 * (core/validate.c), the judge of every document and log record a host
 * hands in.  Each input is checked three ways: plain, with repeated member
 * names refused everywhere, and only under "persistence"; then through the
 * public persist_valid_json.  A success must agree with json-c (anything
 * strict JSON is also JSON to json-c).
 */
#include "config.h"

#include <string.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "core-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const scopes[] = { NULL, "", "persistence" };
	struct persist_json_fault fault;
	struct persist_error err;
	int plain = PERSIST_EINVAL;

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		int ret = persist_json_check(data, size, scopes[i], &fault);

		if (i == 0)
			plain = ret;
		if (ret != PERSIST_OK) {
			fuzz_assert(fault.reason[0] != '\0');
			fuzz_assert(fault.offset <= size);
		} else {
			fuzz_assert(plain == PERSIST_OK);   /* stricter never accepts more */
		}
	}
	memset(&err, 0, sizeof(err));
	if (persist_valid_json("fuzz input", data, size, &err) != PERSIST_OK)
		fuzz_assert(err.msg[0] != '\0');
	if (plain == PERSIST_OK && size > 0 && size < 65536 &&
	    memchr(data, '\0', size) == NULL) {
		struct json_tokener *tok = json_tokener_new_ex(PERSIST_JSON_DEPTH_MAX + 1);
		struct json_object *obj;

		fuzz_assert(tok != NULL);
		obj = json_tokener_parse_ex(tok, (const char *)data, (int)size);
		if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
			obj = json_tokener_parse_ex(tok, "", 1);
		fuzz_assert(json_tokener_get_error(tok) == json_tokener_success);
		json_object_put(obj);
		json_tokener_free(tok);
	}
	return 0;
}
