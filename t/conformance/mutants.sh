#!/bin/sh
# t/conformance/mutants.sh - measure the conformance suite itself.  Each
# "mutant" is a copy of the memory plugin with one planted bug (a small
# perl substitution of its sources), built into a temporary directory and
# run through persist-conformance as an absolute module path.  A mutant is
# killed when the suite fails on it (a failed test, a crash or a timeout)
# and survives when the suite passes.  The last lines give the kill rate.
#
# Two further kinds of copies check the suite's verdicts the other way:
# the unchanged copy must pass (otherwise nothing below means anything),
# and each "allowed" variant (behaviour the provider contract permits, e.g.
# no ETag from get) must pass too.
#
# Usage, from the top of a configured and built tree (the build directory
# when building out of tree):
#
#     sh t/conformance/mutants.sh [NAME...]
#
# NAME limits the run to those mutants.  Not run by `make check` (it
# builds and runs the suite some thirty times).  Exit status: 0 when every
# mutant was killed and every allowed variant passed, 1 otherwise, 2 when
# the set-up failed.
set -u

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(pwd)
conformance=$builddir/t/conformance/persist-conformance
if [ ! -x "$conformance" ] || [ ! -x "$builddir/libtool" ]; then
	echo "mutants.sh: run it from the top of a built tree (no $conformance)" >&2
	exit 2
fi
CC=${CC:-cc}
json_cflags=$(pkg-config --cflags json-c 2>/dev/null)
json_libs=$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/persist-mutants.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
timeout_s=${MUTANT_TIMEOUT:-300}

# The planted bugs: NAME FILE PERL-SUBSTITUTION (applied with perl -0pe to
# plugins/memory/FILE).  Each must change its file; one that no longer
# applies (the plugin's sources moved on) is reported as an error.
mutants() {
	cat <<'EOF'
state-ttl-ignored	memory-state.c	s/v->expires_ms = memory_expiry\(host, ttl_ms\);/v->expires_ms = 0;/
config-ttl-ignored	memory-config.c	s/doc->expires_ms = memory_expiry\(host, ttl_ms\);/doc->expires_ms = 0;/
session-ttl-ignored	memory-session.c	s/session->expires_ms = memory_expiry\(host, ttl_ms\);/session->expires_ms = 0;/
incr-not-atomic	memory-state.c	s/(ret = memory_value_add\(host, v, collection, key, delta, &result, err\);)/$1\n\tpthread_mutex_unlock(&store->ns->lock); sched_yield(); pthread_mutex_lock(&store->ns->lock);/
incr-overflow-wraps	memory-state.c	s/if \(__builtin_add_overflow\(current, delta, result_r\)\)/*result_r = (int64_t)((uint64_t)current + (uint64_t)delta);\n\tif (0)/
incr-lenient-text	memory-state.c	s/persist_parse_counter\(v->data, v->len, &current\) != 0/(current = strtoll(v->data, NULL, 10), 0)/
incr-drops-ttl	memory-state.c	s/(\tv->counter = result;\n)/$1\tv->expires_ms = 0;\n/
incr-sees-expired	memory-state.c	s/if \(v != NULL && v->expires_ms != 0\)\n\t\tv = memory_value_live/if (0)\n\t\tv = memory_value_live/
scan-prefix-ignored	memory-state.c	s/\t\tif \(strncmp\(e->key, prefix, prefix_len\) != 0\)\n\t\t\tcontinue;\n//
scan-sees-expired	memory-state.c	s/if \(memory_expired\(v->expires_ms, now\)\) \{\n\t\t\tmemory_table_remove\(&coll->keys, e\);\n\t\t\tmemory_value_free\(v\);\n/if (0) {\n/
value-cut-at-nul	memory-state.c	s/\tv->len = len;\n\tv->counter = 0;/\tv->len = strnlen(copy, len);\n\tv->counter = 0;/
delete-not-removing	memory-state.c	s/(\t\} else \{\n)\t\tmemory_table_remove\(&coll->keys, &v->entry\);\n\t\tmemory_value_free\(v\);\n/$1/
log-index-off-by-one	memory-state.c	s/\.index = i,/.index = i + 1,/
log-from-off-by-one	memory-state.c	s/for \(uint64_t i = from, n = 0;/for (uint64_t i = from + (from > 0), n = 0;/
log-max-ignored	memory-state.c	s/\(max == 0 \|\| n < max\)/(1)/
batch-partial	memory-state.c	s/memory_batch_rollback\(undo, applied \+ 1\);/memory_batch_rollback(undo + applied, 1);/
batch-delete-absent-fails	memory-state.c	s/(absent keys are no error in a batch \*\/\n)\t\treturn PERSIST_OK;/$1\t\treturn old != NULL ? PERSIST_OK : PERSIST_ENOTFOUND;/
if-match-ignored	memory-config.c	s/if \(if_match != NULL &&\n\t    \(doc == NULL/if (0 && if_match != NULL &&\n\t    (doc == NULL/
cas-not-atomic	memory-config.c	s/(\t\tgoto out_unlock;\n\t\}\n)(\tif \(ttl_ms > 0)/$1\tpthread_mutex_unlock(&ns->lock); sched_yield(); pthread_mutex_lock(&ns->lock);\n\tdoc = (struct memory_doc *)memory_table_find(&ns->docs, key);\n$2/
notify-missing	memory-config.c	s/\tif \(change != NULL\) \{\n\t\tmemory_config_changed\(ns, change\);/\tif (0) {\n\t\tmemory_config_changed(ns, change);/
identical-rewrite-notifies	memory-config.c	s/\} else if \(strcmp\(doc->etag, etag\) == 0\) \{/} else if (0) {/
etag-of-other-bytes	memory-config.c	s/memcpy\(value_r->etag, doc->etag, PERSIST_ETAG_MAX\);/host->etag(doc->data, doc->len + 1, value_r->etag);/
config-delete-not-removing	memory-config.c	s/\t\tmemory_table_remove\(&ns->docs, &doc->entry\);\n\t\tmemory_doc_free\(doc\);\n\t\tmemory_config_changed/\t\tmemory_config_changed/
session-keeps-first-holder	memory-session.c	s/\tfree\(session->instance\);\n\tsession->instance = instance;/\tif (session->instance == NULL) {\n\t\tsession->instance = instance;\n\t\tinstance = NULL;\n\t}\n\tfree(instance);/
send-reaches-everyone	memory-session.c	s/(memory_ns_foreach_store\(store->ns, PERSIST_KIND_SESSION, )instance,/$1NULL,/
batch-once-forgets	memory-state.c	s/if \(pc_table_find\(&ns->batch_ids, id\) != NULL\) \{/if (0) {/
batch-once-records-failed	memory-state.c	s/if \(ret == PERSIST_OK && seen != NULL && n > 0 &&/if (seen != NULL \&\& n > 0 \&\&/
collections-stops-early	memory-state.c	s/(memory_collection_live\(\(struct memory_collection \*\)e, now\)\)\n\t\t\tcontinue;\n)\t\tif \(emit\(ctx, &item\) != 0\)\n\t\t\tbreak;/$1\t\temit(ctx, &item);\n\t\tbreak;/
collections-log-ignored	memory-state.c	s/\tif \(coll->log_count > 0\)\n\t\treturn 1;\n(\tpc_table_iter_init\(&iter, &coll->keys\);)/$1/
collections-lists-dropped	memory-state.c	s/\t\tpc_table_remove\(&store->ns->collections, &coll->entry\);\n\t\tmemory_collection_free\(coll\);/\t\tpc_table_clear(&coll->keys);/; s/\t\tif \(!memory_collection_live\(\(struct memory_collection \*\)e, now\)\)\n\t\t\tcontinue;\n//
scan-expiry-missing	memory-state.c	s/\t\t\t\.expires_ms = v->expires_ms,\n/\t\t\t.expires_ms = 0,\n/
scan-expiry-remaining	memory-state.c	s/\t\t\t\.expires_ms = v->expires_ms,\n/\t\t\t.expires_ms = v->expires_ms != 0 ? v->expires_ms - now : 0,\n/
EOF
}

# Variants the contract allows: the suite must pass them.
allowed() {
	cat <<'EOF'
get-without-etag	memory-config.c	s/memcpy\(value_r->etag, doc->etag, PERSIST_ETAG_MAX\);/value_r->etag[0] = '\\0';/
no-collections	memory-plugin.c	s/\t\.collections = memory_state_collections,\n//
EOF
}

# build NAME FILE EXPR: a copy of the plugin with EXPR applied to FILE (no
# FILE: unchanged) as $tmp/NAME/memory.so; 0, or 1 with the reason in
# $tmp/NAME/why.
build() {
	dir=$tmp/$1
	mkdir -p "$dir/src" && chmod 700 "$dir"
	cp "$srcdir"/plugins/memory/*.c "$srcdir"/plugins/memory/*.h "$dir/src/" || return 1
	common=
	if [ -d "$srcdir/plugins/common" ]; then
		common="-I$srcdir/plugins/common"
		cp "$srcdir"/plugins/common/*.c "$dir/src/" 2>/dev/null
	fi
	rm -f "$dir"/src/test-*.c	# the tests beside the sources are programs of their own
	if [ -n "$2" ]; then
		if ! perl -0pe "$3" "$dir/src/$2" >"$dir/src/$2.new"; then
			echo "perl failed" >"$dir/why"
			return 1
		fi
		if cmp -s "$dir/src/$2" "$dir/src/$2.new"; then
			echo "the planted change no longer applies to plugins/memory/$2" >"$dir/why"
			return 1
		fi
		mv "$dir/src/$2.new" "$dir/src/$2"
	fi
	# shellcheck disable=SC2086
	if ! $CC -std=gnu11 -O1 -g -shared -fPIC -pthread -include sched.h \
		-fvisibility=hidden -I"$srcdir/include" -I"$builddir/include" $common \
		$json_cflags "$dir"/src/*.c -o "$dir/memory.so" $json_libs \
		>"$dir/why" 2>&1; then
		return 1
	fi
	chmod 755 "$dir/memory.so"
}

# run NAME: persist-conformance on $tmp/NAME/memory.so; its exit status
# (124 or more: timeout or signal).
run() {
	timeout "$timeout_s" "$builddir/libtool" --mode=execute "$conformance" \
		"$tmp/$1/memory.so" '{}' >"$tmp/$1/out" 2>&1
}

# The rules that failed in a run, from its messages.
broken_rules() {
	grep -o '^ *[0-9]*\. [^ ]* *- \[[a-z.-]*\]' "$tmp/$1/out" | sed 's/.*\[\(.*\)\]/\1/' |
		sort -u | tr '\n' ' '
}

# selected NAME [WANTED...]: is NAME among the wanted (all when none)?
selected() {
	want=$1
	shift
	[ $# -eq 0 ] && return 0
	for n in "$@"; do
		[ "$n" = "$want" ] && return 0
	done
	return 1
}

if ! build original "" ""; then
	echo "mutants.sh: the unchanged memory plugin does not build:" >&2
	cat "$tmp/original/why" >&2
	exit 2
fi
if ! run original; then
	echo "mutants.sh: the suite fails on the unchanged memory plugin; fix that first:" >&2
	tail -20 "$tmp/original/out" >&2
	exit 2
fi
echo "unchanged copy: passes"

killed=0 survived=0 errors=0 total=0 status=0
tab=$(printf '\t')
while IFS=$tab read -r name file expr; do
	selected "$name" "$@" || continue
	total=$((total + 1))
	if ! build "$name" "$file" "$expr"; then
		errors=$((errors + 1))
		printf '%-28s ERROR  %s\n' "$name" "$(head -3 "$tmp/$name/why" | tr '\n' ' ')"
		continue
	fi
	run "$name"
	rc=$?
	case $rc in
	0)	survived=$((survived + 1))
		printf '%-28s SURVIVED\n' "$name" ;;
	1)	killed=$((killed + 1))
		printf '%-28s killed by %s\n' "$name" "$(broken_rules "$name")" ;;
	2)	errors=$((errors + 1))
		printf '%-28s ERROR  set-up failed: %s\n' "$name" \
			"$(tail -2 "$tmp/$name/out" | tr '\n' ' ')" ;;
	*)	killed=$((killed + 1))
		printf '%-28s killed (exit %d: crash or timeout)\n' "$name" "$rc" ;;
	esac
done <<EOF
$(mutants)
EOF

while IFS=$tab read -r name file expr; do
	selected "$name" "$@" || continue
	if ! build "$name" "$file" "$expr"; then
		printf '%-28s ERROR  %s\n' "$name" "$(head -3 "$tmp/$name/why" | tr '\n' ' ')"
		status=1
	elif run "$name"; then
		printf '%-28s allowed by the contract: passes\n' "$name"
	else
		printf '%-28s allowed by the contract but FAILS: %s\n' "$name" "$(broken_rules "$name")"
		status=1
	fi
done <<EOF
$(allowed)
EOF

if [ "$total" -gt 0 ]; then
	echo "mutants: $total planted bugs, $killed killed, $survived survived, $errors errors;" \
		"kill rate $((killed * 100 / total))%"
fi
[ "$survived" -eq 0 ] && [ "$errors" -eq 0 ] || status=1
exit $status
