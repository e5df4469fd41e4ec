#!/usr/bin/env python3
# fuzz/gen-spool-corpus.py [DIR] - write the seed corpus of fuzz/fuzz-spool
# (default fuzz/corpus/spool next to this script): inputs in the format
# described at the top of fuzz/fuzz-spool.c, each a small journal the
# target frames and checksums - plain records of each kind, a group, a
# piece left in progress and split, torn and damaged ends, a write queue's
# journal.  The files are committed; rerun this after changing the format.
import os
import struct
import sys

F_CUT, F_CUT_OPEN, F_BAD_HEADER, F_QUEUE, F_APPEND, F_AGAIN, F_APPEND_GROUP = \
    1, 2, 4, 8, 16, 32, 64
R_LENGTHS, R_GROUP, R_BAD_SUM, R_BAD_SEQ, R_LONG_OP = 1, 2, 4, 8, 16
SET, INCR, APPEND, DELETE = 1, 2, 3, 4
T0 = 1_700_000_000_000


def op(kind, coll, key=b"", value=b"", ttl=0, delta=0, when=T0):
    """The payload of one operation."""
    return (struct.pack("<BBHIII", kind, 0, len(coll), len(key), len(value), 0)
            + struct.pack("<qqq", when, ttl, delta) + coll + key + value)


def group(batch_id, ops, when=T0):
    """The payload of a group record holding ops under batch_id."""
    body = b"".join(struct.pack("<I", len(o)) + o for o in ops)
    return (struct.pack("<BBHIII", 0x47, 0, 0, len(batch_id), len(body), 0)
            + struct.pack("<qqq", when, 0, len(ops)) + batch_id + body)


def pos(kind, a=0, b=0, c=0):
    """A header position: 0 zero, 1 record a, 2 record a + b, 3 raw."""
    return bytes([kind, a, b & 0xff, c])


def inp(records, flags=0, replayed=pos(1, 0), chunk=pos(0), split=pos(0),
        cut=0, max_ops=0):
    """A whole input: the header part, then (payload, record flags)."""
    out = bytes([flags]) + replayed + chunk + split + struct.pack("<HB", cut, max_ops)
    for payload, rflags in records:
        out += struct.pack("<HB", len(payload), rflags) + payload
    return out


def size(records):
    """The bytes of the journal built from records."""
    return 64 + sum(16 + len(p) + 8 for p, _ in records)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "spool")
    os.makedirs(out, exist_ok=True)
    s = op(SET, b"c", b"k", b"value", ttl=60000)
    i = op(INCR, b"c", b"hits", delta=5)
    d = op(DELETE, b"c", b"k")
    a = op(APPEND, b"log", value=b"line one")
    last = op(DELETE, b"c", b"b")
    g = group(b"batch-0001", [op(SET, b"c", b"a", b"1"), op(INCR, b"c", b"n", delta=-2), last])
    # the group's last op claiming 100 bytes more than the record holds
    at = len(g) - len(last) - 4
    g_long = g[:at] + struct.pack("<I", len(last) + 100) + g[at + 4:]
    mixed = [(s, 0), (i, 0), (d, 0), (a, 0)]
    seeds = {
        "set": inp([(s, 0)]),
        "incr": inp([(i, 0)]),
        "delete": inp([(d, 0)]),
        "append": inp([(a, 0)]),
        "mixed": inp(mixed),
        "group3": inp([(g, 0)]),
        "group-between": inp([(s, 0), (g, 0), (i, 0)]),
        # a piece [record 1, end of record 3) in progress, being split
        "split": inp(mixed, replayed=pos(1, 1), chunk=pos(1, 3), split=pos(1, 3)),
        # a piece in progress, not split, one op per new piece afterwards
        "in-progress": inp(mixed + [(g, 0), (s, 0)], replayed=pos(1, 0),
                           chunk=pos(1, 2), max_ops=1),
        "torn": inp(mixed, flags=F_CUT, cut=size(mixed) - 10),
        "torn-after-open": inp(mixed, flags=F_CUT_OPEN | F_APPEND, cut=size(mixed[:2]) + 5),
        "bad-sum-last": inp([(s, 0), (i, 0), (d, R_BAD_SUM)]),
        "bad-sum-middle": inp([(s, 0), (i, R_BAD_SUM), (d, 0)]),
        "bad-seq": inp([(s, 0), (i, R_BAD_SEQ), (d, 0)]),
        "bad-header": inp(mixed, flags=F_BAD_HEADER),
        "queue": inp(mixed, flags=F_QUEUE | F_APPEND),
        "replayed-append-again": inp(mixed, flags=F_APPEND | F_AGAIN, replayed=pos(1, 2)),
        # lengths the target makes agree, and a group it makes consistent
        "fixed-lengths": inp([(op(SET, b"c", b"k", b"v")[:2] + b"\xff" * 10 +
                               op(SET, b"c", b"k", b"v")[12:], R_LENGTHS),
                              (g[:8] + b"\0" * 4 + g[12:], R_GROUP)]),
        "append-group": inp([(s, 0)], flags=F_APPEND | F_AGAIN | F_APPEND_GROUP),
        "group-long-op": inp([(s, 0), (g_long, R_GROUP | R_LONG_OP)]),
        "out-of-range": inp(mixed, replayed=pos(3, 0xff, 0xff, 0x7f), chunk=pos(2, 2, -3)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
