#!/usr/bin/env python3
"""t/import/gen-platform.py - write a realistic platform directory for the
import tests, and what an import of it must give.

    gen-platform.py --seed N --generation 1|2|3 --now MS --out DIR

DIR/contents/ gets the platform's files: config/*.json and item folders
(apps/, models/, nested apps/TEAM/), a few files the import ignores,
data/usage.json in the schema generation asked for, data/feedback.jsonl,
data/usage-events.jsonl and data/shortlinks.json (links expired, without
expiry, expiring in ISO 8601, as milliseconds, with an offset, and one
expiring a minute after --now).

DIR/expected/ gets the result, computed from the simulated events with the
documented layout (README, "Importing the platform's files"), not with
persistctl's readers:
    counters       KEY<TAB>VALUE of the usage collection, sorted by bytes
    feedback.log   the feedback records, one a line, in order
    events.log     the usage-event records
    links          CODE<TAB>EXPIRES_MS (0: none) of the live links, sorted
    links-expired  how many links had expired at --now
    documents      KEY<TAB>FILE of every configuration document, sorted
The same seed always gives the same bytes.
"""
import argparse
import json
import os
import random
from datetime import datetime, timezone, timedelta


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data.encode('utf-8') if isinstance(data, str) else data)


def iso(ms, offset_minutes=0):
    tz = timezone(timedelta(minutes=offset_minutes))
    t = datetime.fromtimestamp(ms // 1000, tz)
    text = t.strftime('%Y-%m-%dT%H:%M:%S') + '.%03d' % (ms % 1000)
    if offset_minutes == 0:
        return text + 'Z'
    sign = '+' if offset_minutes > 0 else '-'
    m = abs(offset_minutes)
    return text + '%s%02d:%02d' % (sign, m // 60, m % 60)


class Platform:
    def __init__(self, seed, generation, now):
        self.r = random.Random(seed)
        self.gen = generation
        self.now = now
        r = self.r
        self.users = ['user%04d@example.com' % i for i in range(300)]
        self.users += ['j\u00fcrgen.m\u00fcller', 'anna.o\'brien', 'guest-7']
        self.apps = ['chat', 'translator', 'summarizer', 'code-review'] + \
            ['app-%02d' % i for i in range(26)]
        self.models = ['gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'claude-3-5-sonnet',
                       'claude-3.7-sonnet', 'mistral-large', 'gemini-1.5-pro'] + \
            ['local-model-%02d' % i for i in range(17)]
        self.counters = {}
        self.feedback = []
        self.events = []
        r.shuffle(self.users)

    def add(self, key, n):
        if n:
            self.counters[key] = self.counters.get(key, 0) + n

    def add_dims(self, metric, user, app, model, n):
        self.add(metric + '.total', n)
        self.add(metric + '.user.' + user, n)
        self.add(metric + '.app.' + app, n)
        self.add(metric + '.model.' + model, n)

    def simulate(self):
        r = self.r
        ts = self.now - 30 * 86400 * 1000
        for i in range(3000):
            ts += r.randint(100, 900000)
            user = r.choice(self.users[:r.choice([40, 300, len(self.users)])])
            app, model = r.choice(self.apps), r.choice(self.models)
            prompt, completion = r.randint(5, 4000), r.randint(1, 2000)
            self.add_dims('messages', user, app, model, 1)
            if self.gen == 3:
                self.add_dims('tokens.prompt', user, app, model, prompt)
                self.add_dims('tokens.completion', user, app, model, completion)
                self.add_dims('tokens', user, app, model, prompt + completion)
            else:
                self.add_dims('tokens', user, app, model, prompt + completion)
            ev = {'timestamp': iso(ts), 'type': 'chat', 'userId': user,
                  'appId': app, 'modelId': model,
                  'tokens': {'prompt': prompt, 'completion': completion}}
            self.events.append(json.dumps(ev, separators=(',', ':'), ensure_ascii=(i % 2 == 0)))
            if self.gen >= 2 and r.random() < 0.1:
                self.add_dims('magicPrompts', user, app, model, 1)
                self.events.append(json.dumps({'timestamp': iso(ts + 1), 'type': 'magicPrompt',
                                               'userId': user, 'appId': app, 'modelId': model}))
            if r.random() < 0.8:
                self.feedback_event(ts + 2, user, app, model, i)

    def feedback_event(self, ts, user, app, model, i):
        r = self.r
        if self.gen == 3:
            stars = r.randint(1, 5)
            self.add_dims('feedback.rating.%d' % stars, user, app, model, 1)
            rating = stars
        else:
            good = r.random() < 0.7
            metric = 'feedback.good' if good else 'feedback.bad'
            if self.gen == 1:
                self.add(metric + '.total', 1)
            else:
                self.add_dims(metric, user, app, model, 1)
            rating = 'positive' if good else 'negative'
        comments = ['', 'great answer', 'wrong: "42" is not the answer',
                    'sehr gut \u2013 danke', 'see https://example.com/a/b?c=d',
                    'tab\tinside', 'emoji \U0001F600', 'back\\slash']
        rec = {'id': 'fb-%06d' % i, 'timestamp': iso(ts), 'userId': user,
               'appId': app, 'modelId': model, 'rating': rating,
               'comment': r.choice(comments)}
        self.feedback.append(json.dumps(rec, ensure_ascii=(i % 3 == 0)))

    # --- usage.json in each generation -----------------------------------
    def per(self, metric, dim):
        p = metric + '.' + dim + '.'
        return {k[len(p):]: v for k, v in self.counters.items() if k.startswith(p)}

    def group(self, metric):
        return {'total': self.counters.get(metric + '.total', 0),
                'perUser': self.per(metric, 'user'), 'perApp': self.per(metric, 'app'),
                'perModel': self.per(metric, 'model')}

    def feedback_group(self, subs, metric_of):
        out = {}
        for field, dim in (('perUser', 'user'), ('perApp', 'app'), ('perModel', 'model')):
            m = {}
            for sub in subs:
                for name, v in self.per(metric_of(sub), dim).items():
                    m.setdefault(name, {s: 0 for s in subs})[sub] = v
            out[field] = m
        return out

    def usage_json(self):
        c = self.counters
        last = {'lastUpdated': iso(self.now - 5000)}
        if self.gen == 1:
            doc = {'totalMessages': c.get('messages.total', 0),
                   'userMessages': self.per('messages', 'user'),
                   'appMessages': self.per('messages', 'app'),
                   'modelMessages': self.per('messages', 'model'),
                   'totalTokens': c.get('tokens.total', 0),
                   'userTokens': self.per('tokens', 'user'),
                   'appTokens': self.per('tokens', 'app'),
                   'modelTokens': self.per('tokens', 'model'),
                   'feedbackGood': c.get('feedback.good.total', 0),
                   'feedbackBad': c.get('feedback.bad.total', 0)}
        elif self.gen == 2:
            fb = {'good': c.get('feedback.good.total', 0), 'bad': c.get('feedback.bad.total', 0)}
            fb.update(self.feedback_group(['good', 'bad'], lambda s: 'feedback.' + s))
            doc = {'messages': self.group('messages'), 'tokens': self.group('tokens'),
                   'feedback': fb, 'magicPrompt': self.group('magicPrompts'),
                   'lastReset': iso(self.now - 90 * 86400 * 1000)}
        else:
            stars = ['1', '2', '3', '4', '5']
            fb = {'ratings': {s: c.get('feedback.rating.%s.total' % s, 0) for s in stars}}
            fb.update(self.feedback_group(stars, lambda s: 'feedback.rating.' + s))
            doc = {'version': 3, 'messages': self.group('messages'),
                   'tokens': {'prompt': self.group('tokens.prompt'),
                              'completion': self.group('tokens.completion')},
                   'feedback': fb, 'magicPrompt': self.group('magicPrompts'),
                   'lastReset': iso(self.now - 90 * 86400 * 1000)}
        doc.update(last)
        return json.dumps(doc, indent=2, ensure_ascii=False) + '\n'

    # --- short links ---------------------------------------------------------
    def links(self):
        r = self.r
        links, live, expired = [], [], 0
        for i in range(300):
            code = 'L%05d' % (i * 7919 % 100000)
            kind = r.choice(['expired', 'none', 'iso', 'iso', 'ms', 'offset'])
            if i == 0:
                kind = 'soon'
            link = {'code': code, 'url': 'https://apps.example.com/apps/%s?prefill=%d'
                    % (r.choice(self.apps), i),
                    'appId': r.choice(self.apps), 'userId': r.choice(self.users),
                    'createdAt': iso(self.now - r.randint(1, 60) * 86400000),
                    'usage': r.randint(0, 500)}
            if kind == 'expired':
                exp = self.now - r.randint(3600, 30 * 86400) * 1000
                link['expiresAt'] = iso(exp)
                expired += 1
            elif kind == 'none':
                exp = 0
                if r.random() < 0.5:
                    link['expiresAt'] = None
            elif kind == 'soon':
                exp = self.now + 60000
                link['expiresAt'] = iso(exp)
            else:
                exp = self.now + r.randint(86400, 365 * 86400) * 1000
                if kind == 'ms':
                    link['expiresAt'] = exp
                elif kind == 'offset':
                    link['expiresAt'] = iso(exp, r.choice([120, -300, 330]))
                else:
                    link['expiresAt'] = iso(exp)
            links.append(link)
            if kind != 'expired':
                live.append((code, exp))
        text = json.dumps({'links': links}, indent=2) + '\n'
        return text, sorted(live), expired

    # --- configuration --------------------------------------------------------
    def config(self):
        r = self.r
        docs = {}
        docs['platform.json'] = json.dumps({
            'defaultLanguage': 'en',
            'auth': {'mode': 'oidc', 'authenticatedGroup': 'authenticated'},
            'oidcAuth': {'providers': [{'name': 'corp', 'clientId': '${OIDC_CLIENT_ID}',
                                        'clientSecret': 'ENC[AES256_GCM,data:Zm9vYmFy,iv:MTIz,tag:YWJj]'}]},
            'jwtSecret': '${JWT_SECRET}',
            'persistence': {'state': {'provider': 'redis',
                                      'config': {'url': 'redis://${REDIS_HOST}:6379/0',
                                                 'password': '${REDIS_PASSWORD}'}}}},
            indent=2) + '\n'
        docs['ui.json'] = json.dumps({'title': {'en': 'AI Hub', 'de': 'KI-Zentrale \u2013 Start'},
                                      'footer': {'text': {'en': '\u00a9 Example'}}},
                                     indent=4, ensure_ascii=False)
        docs['groups.json'] = json.dumps({'groups': {
            'admin': {'inherits': ['users'], 'permissions': {'apps': ['*'], 'adminAccess': True}},
            'users': {'inherits': ['anonymous'], 'permissions': {'apps': self.apps[:10]}},
            'anonymous': {'permissions': {'apps': ['chat']}}}}) + '\n'
        docs['sources.json'] = '[]'
        docs['tools.json'] = '{ "tools" : [ { "id": "web-search", "apiKey": "${SEARCH_API_KEY}" } ] }\r\n'
        for i, app in enumerate(self.apps):
            folder = 'apps/' if i % 5 else 'apps/team-%d/' % (i % 3)
            docs[folder + app + '.json'] = json.dumps({
                'id': app, 'name': {'en': app.title()}, 'preferredModel': r.choice(self.models),
                'system': {'en': 'You are a helpful assistant for %s. Secret: ${APP_SECRET_%d}' % (app, i)},
                'tokenLimit': r.randint(1000, 128000)}, indent=2) + ('\n' if i % 2 else '')
        for i, model in enumerate(self.models):
            docs['models/%s.json' % model] = json.dumps({
                'id': model, 'url': 'https://llm.example.com/v1/%s' % model,
                'apiKey': 'ENC[v1:%08x]' % r.getrandbits(32) if i % 2 else '${MODEL_API_KEY}',
                'tokenLimit': r.choice([8192, 32000, 128000, 200000])}, indent=2) + '\n'
        ignored = {'README.md': '# configuration\n', 'apps/notes.txt': 'not a document\n',
                   'models/broken.json.bak': '{', '.hidden.json': '{"hidden": true}'}
        return docs, ignored


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--generation', type=int, choices=[1, 2, 3], required=True)
    ap.add_argument('--now', type=int, required=True, help='wall clock in ms')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()

    p = Platform(a.seed, a.generation, a.now)
    p.simulate()
    data = os.path.join(a.out, 'contents', 'data')
    conf = os.path.join(a.out, 'contents', 'config')
    exp = os.path.join(a.out, 'expected')

    write(os.path.join(data, 'usage.json'), p.usage_json())
    # feedback.jsonl: LF lines, one CRLF line and one blank line
    fb = '\n'.join(p.feedback[:10]) + '\r\n' + '\n'.join(p.feedback[10:500]) + '\n\n' + \
        '\n'.join(p.feedback[500:]) + '\n'
    write(os.path.join(data, 'feedback.jsonl'), fb)
    write(os.path.join(data, 'usage-events.jsonl'), '\n'.join(p.events) + '\n')
    links_text, live, expired = p.links()
    write(os.path.join(data, 'shortlinks.json'), links_text)
    docs, ignored = p.config()
    for rel, text in docs.items():
        write(os.path.join(conf, rel), text)
    for rel, text in ignored.items():
        write(os.path.join(conf, rel), text)

    def bsorted(lines):
        return sorted(lines, key=lambda s: s.encode('utf-8'))

    write(os.path.join(exp, 'counters'),
          ''.join(l + '\n' for l in bsorted('%s\t%d' % kv for kv in p.counters.items())))
    write(os.path.join(exp, 'feedback.log'), ''.join(l + '\n' for l in p.feedback))
    write(os.path.join(exp, 'events.log'), ''.join(l + '\n' for l in p.events))
    write(os.path.join(exp, 'links'), ''.join('%s\t%d\n' % x for x in live))
    write(os.path.join(exp, 'links-expired'), '%d\n' % expired)
    write(os.path.join(exp, 'documents'),
          ''.join(l + '\n' for l in bsorted('%s\tcontents/config/%s' % (k[:-5], k)
                                            for k in docs)))


if __name__ == '__main__':
    main()
