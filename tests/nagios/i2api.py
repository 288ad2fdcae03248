# SPDX-License-Identifier: GPL-2.0-or-later
"""i2api.py PORT USER PASSWORD COMMAND ARGS...: a small client of the Icinga 2
REST API on 127.0.0.1:PORT (TLS, the test CA is not checked: loopback only).

  host HOST                      print "STATE|CHECK_SOURCE|OUTPUT" of the last
  service HOST SERVICE           check result ("none" if there is none yet);
                                 STATE: 0-3 for a service, 0 UP 1 DOWN for a host
  wait host HOST STATE SECS [SOURCE]
  wait service HOST SERVICE STATE SECS [SOURCE]
                                 force a check now and then (every 2 s) until
                                 the last result has exit status STATE (and
                                 came from the endpoint SOURCE); print it;
                                 exit 1 with the last one seen on time-out
  objects TYPE                   print the names of all objects of TYPE
  vars HOST                      print the host's custom variables as JSON
"""
import base64
import json
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class Api:
    def __init__(self, port, user, password):
        self.base = 'https://127.0.0.1:%d/v1/' % int(port)
        self.auth = 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header('Authorization', self.auth)
        req.add_header('Accept', 'application/json')
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.loads(r.read().decode())

    def obj(self, kind, name):
        q = urllib.parse.quote(name, safe='')
        try:
            res = self.call('GET', 'objects/%ss/%s' % (kind, q))['results']
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise
        return res[0]['attrs'] if res else None

    def result(self, kind, name):
        a = self.obj(kind, name)
        if a is None or not a.get('last_check_result'):
            return None
        r = a['last_check_result']
        # a service: the result's state (0-3), not its exit_status (a result
        # an agent makes up, e.g. "no such command", is UNKNOWN with
        # exit_status 0); a host: its state after that result (0 UP, 1 DOWN)
        state = a['state'] if kind == 'host' else r['state']
        return int(state), r.get('check_source', ''), r.get('output', '').rstrip('\n')

    def reschedule(self, kind, name):
        q = urllib.parse.quote(name, safe='')
        try:
            self.call('POST', 'actions/reschedule-check?%s=%s' % (kind, q),
                      {'force': True, 'next_check': time.time()})
        except urllib.error.HTTPError:
            pass


def show(r):
    return 'none' if r is None else '%d|%s|%s' % r


def main():
    port, user, password, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    api = Api(port, user, password)
    if cmd in ('host', 'service'):
        name = args[0] if cmd == 'host' else args[0] + '!' + args[1]
        print(show(api.result(cmd, name)))
        return 0
    if cmd == 'objects':
        for o in api.call('GET', 'objects/%ss' % args[0].lower())['results']:
            print(o['name'])
        return 0
    if cmd == 'vars':
        print(json.dumps(api.obj('host', args[0])['vars'], sort_keys=True))
        return 0
    if cmd == 'wait':
        kind = args[0]
        if kind == 'host':
            name, rest = args[1], args[2:]
        else:
            name, rest = args[1] + '!' + args[2], args[3:]
        want, secs = int(rest[0]), float(rest[1])
        source = rest[2] if len(rest) > 2 else None
        deadline = time.monotonic() + secs
        last, next_force = None, 0
        while time.monotonic() < deadline:
            try:
                last = api.result(kind, name)
                if last is not None and last[0] == want and (source is None or last[1] == source):
                    print(show(last))
                    return 0
                if time.monotonic() >= next_force:
                    api.reschedule(kind, name)
                    next_force = time.monotonic() + 2
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                last = ('api', str(e))
            time.sleep(0.2)
        sys.stderr.write('%s %s: no result with state %d%s in %gs; last: %s\n' % (
            kind, name, want, ' from ' + source if source else '', secs,
            show(last) if last is None or len(last) == 3 else last))
        return 1
    sys.stderr.write(__doc__)
    return 2


sys.exit(main())
