/*
 * fuzz/fuzz-settings.c - fuzz target: the configuration file parser
 * (persist_settings_parse: the strict JSON check, json-c, ${VAR}
 * expansion, the core's keys and their ranges, providers and fallbacks).
 * Nothing is loaded: the parser only builds the settings structs.  The
 * environment holds a few variables the seeds use as ${VAR}.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "settings.h"

/* Variables the seeds expand. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	setenv("FUZZ_HOST", "127.0.0.1", 1);
	setenv("FUZZ_PASSWORD", "p@ss/w:rd", 1);
	setenv("FUZZ_EMPTY", "", 1);
	setenv("FUZZ_DOLLAR", "${FUZZ_HOST}", 1);   /* not expanded twice */
	unsetenv("FUZZ_UNSET");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persist_settings *s = NULL;
	struct persist_error err;

	memset(&err, 0, sizeof(err));
	if (persist_settings_parse((const char *)data, size, "fuzz.json", &s, &err) == PERSIST_OK) {
		fuzz_assert(s != NULL);
		for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
			fuzz_assert(s->kinds[k].provider != NULL);
			fuzz_assert(s->kinds[k].config_json != NULL);
		}
		persist_settings_free(s);
	} else {
		fuzz_assert(err.code != PERSIST_OK && err.msg[0] != '\0');
	}
	return 0;
}
