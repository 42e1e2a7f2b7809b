#!/usr/bin/env python3
"""Distinct statements the Vert.x PostgreSQL client executed, from PostgreSQL logs written with
log_statement=all and log_line_prefix='%m@%p@%a@' (see capture-release-sql.sh)."""
import re
import sys

ENTRY = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+@\d+@([^@]*)@(\w+):  (.*)$')
STATEMENT = re.compile(r'^(?:execute [^:]+|statement): (.*)$', re.S)
SKIP = re.compile(r'^(begin|commit|rollback|set |show |select 1$|select version\(\))', re.I)

def entries(path):
    app = kind = None
    lines = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = ENTRY.match(line.rstrip('\n'))
            if m:
                if kind is not None:
                    yield app, kind, '\n'.join(lines)
                app, kind, lines = m.group(1), m.group(2), [m.group(3)]
            elif kind is not None:
                lines.append(line.rstrip('\n').replace('\t', '', 1))
    if kind is not None:
        yield app, kind, '\n'.join(lines)

seen = {}
for path in sys.argv[2:]:
    for app, kind, text in entries(path):
        if app != 'vertx-pg-client' or kind != 'LOG':
            continue
        m = STATEMENT.match(text)
        if not m:
            continue
        sql = m.group(1).strip()
        if SKIP.match(sql):
            continue
        key = ' '.join(sql.split())
        seen.setdefault(key, sql)

print(f'# SQL sent by the Vert.x client of release commit {sys.argv[1]}, captured by ops/db/capture-release-sql.sh;')
print('# PreviousReleaseSchemaTest prepares each statement against the current schema. Statements separated by "----".')
for sql in sorted(seen.values(), key=lambda s: ' '.join(s.split()).lower()):
    print('----')
    print(sql)
