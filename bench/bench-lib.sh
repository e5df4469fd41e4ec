# bench/bench-lib.sh - sourced by the benchmark scripts: the machine line,
# medians, and the one summary line per area that scripts read (the same
# as bench/bench-summary.h for the C programs):
#   bench AREA: FIGURE UNIT, anchor ANCHOR UNIT, ratio R (target T) ok
# (`below target` instead of `ok`).

# "machine: N processors, load A B C, Linux x.y"
bench_machine() {
	echo "machine: $(nproc) processors, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
}

# Median of the numbers on stdin, one a line.
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_summary AREA FIGURE UNIT ANCHOR ANCHOR_UNIT RATIO TARGET OK(0|1)
bench_summary() {
	awk -v a="$1" -v f="$2" -v u="$3" -v an="$4" -v au="$5" -v r="$6" -v t="$7" -v ok="$8" 'BEGIN {
		printf "bench %s: %.6g %s, anchor %.6g %s, ratio %.3g (target %s) %s\n",
			a, f, u, an, au, r, t, ok == 1 ? "ok" : "below target" }'
}

# 1 when the awk condition on a and b holds, else 0: bench_test A B 'a / b >= 0.8'
bench_test() {
	awk -v a="$1" -v b="$2" "BEGIN { print ($3) ? 1 : 0 }"
}
