# SPDX-License-Identifier: GPL-2.0-or-later
"""status.py STATUS_DAT host HOST | service HOST SERVICE | dump

Reads Nagios 4's status.dat (the file the daemon rewrites every
status_update_interval) and prints one object as "STATE|CHECKED|OUTPUT":
current_state, has_been_checked and plugin_output (long output appended
after a newline).  "dump" prints every host and service that way, one per
line, prefixed with its name.  Exit status 1 if the object is not there.
"""
import sys


def blocks(path):
    kind, cur = None, None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            s = line.strip()
            if cur is None:
                if s.endswith('{'):
                    kind, cur = s[:-1].strip(), {}
                continue
            if s == '}':
                yield kind, cur
                kind, cur = None, None
                continue
            k, _, v = s.partition('=')
            cur[k] = v


def show(b):
    out = b.get('plugin_output', '')
    if b.get('long_plugin_output'):
        out += '\n' + b['long_plugin_output'].replace('\\n', '\n')
    return '%s|%s|%s' % (b.get('current_state', ''), b.get('has_been_checked', ''), out)


def main():
    path, what = sys.argv[1], sys.argv[2]
    for kind, b in blocks(path):
        if what == 'dump':
            if kind == 'hoststatus':
                print(b['host_name'], show(b))
            elif kind == 'servicestatus':
                print('%s/%s %s' % (b['host_name'], b['service_description'], show(b)))
        elif what == 'host' and kind == 'hoststatus' and b.get('host_name') == sys.argv[3]:
            print(show(b))
            return 0
        elif (what == 'service' and kind == 'servicestatus' and b.get('host_name') == sys.argv[3]
              and b.get('service_description') == sys.argv[4]):
            print(show(b))
            return 0
    return 0 if what == 'dump' else 1


sys.exit(main())
