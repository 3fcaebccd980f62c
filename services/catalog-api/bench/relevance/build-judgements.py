#!/usr/bin/env python3
"""
Writes judgements.json from the legacy catalog (../shared/data/movies.sqlite) and the grading
rules below, so the grades are reviewable as rules and reproducible when the data changes.

  python3 services/catalog-api/bench/relevance/build-judgements.py

Grades: 3 = what the viewer asked for (the title itself), 2 = clearly relevant (the phrase in the
title, a film of the person asked for), 1 = related (the words in the description, a near title).
A query whose `relevant` list is empty expects no answer at all (nothing in the catalog fits).
"""
import json, os, re, sqlite3, sys

HERE = os.path.dirname(os.path.abspath(__file__))
DB = os.path.normpath(os.path.join(HERE, '../../../../../shared/data/movies.sqlite'))


def norm(s):
    return ' ' + re.sub(r'[^0-9a-z]+', ' ', (s or '').lower()).strip() + ' '


db = sqlite3.connect(sys.argv[1] if len(sys.argv) > 1 else DB)
films = db.execute('SELECT id, title, description FROM film_work').fetchall()
people = db.execute(
    'SELECT pf.film_work_id, p.id, p.full_name FROM person_film_work pf JOIN person p ON p.id = pf.person_id'
).fetchall()
persons = db.execute('SELECT id, full_name FROM person').fetchall()


def exact(q):
    return lambda f: norm(f[1]) == norm(q)


def phrase(q):
    return lambda f: norm(q) in norm(f[1])


def words(*ws):
    return lambda f: all(norm(w) in norm(f[1]) for w in ws)


def desc(q):
    return lambda f: norm(q) in norm(f[2])


def person(name):
    ids = {fid for fid, _, n in people if n == name}
    return lambda f: f[0] in ids


# (query, kind, [(rule, grade), ...]); a film's grade is the highest rule it meets.
FILMS = [
    # exact titles: the title itself first, then titles that contain it
    ('star wars', 'exact title', [(exact('star wars'), 3), (phrase('star wars'), 2)]),
    ('star trek', 'exact title', [(exact('star trek'), 3), (phrase('star trek'), 2)]),
    ('a star is born', 'exact title', [(exact('a star is born'), 3), (phrase('a star is born'), 2)]),
    ('lucky star', 'exact title', [(exact('lucky star'), 3), (phrase('lucky star'), 2)]),
    ('dark star', 'exact title', [(exact('dark star'), 3), (phrase('dark star'), 2)]),
    ('north star', 'exact title', [(exact('north star'), 3), (exact('the north star'), 3), (phrase('north star'), 2)]),
    ('fist of the north star', 'exact title', [(exact('fist of the north star'), 3), (phrase('fist of the north star'), 2)]),
    ('star trek into darkness', 'exact title', [(exact('star trek into darkness'), 3)]),
    ('star trek beyond', 'exact title', [(exact('star trek beyond'), 3), (phrase('star trek 30 years and beyond'), 1)]),
    ('solo: a star wars story', 'exact title', [(exact('solo a star wars story'), 3), (phrase('a star wars story'), 1)]),
    ('star 80', 'exact title, number', [(exact('star 80'), 3)]),
    ('star fox 64', 'exact title, number', [(exact('star fox 64'), 3), (phrase('star fox 64'), 2), (phrase('star fox'), 1)]),
    ('star wars 1313', 'exact title, number', [(exact('star wars 1313'), 3)]),
    ('2003 mlb all-star game', 'exact title, number', [(exact('2003 mlb all star game'), 3), (phrase('mlb all star game'), 1)]),
    ('star trek ii', 'exact title, number', [(phrase('star trek ii'), 3)]),
    ('star trak', 'exact title, near title', [(exact('star trak'), 3), (exact('star trek'), 1)]),
    # partial titles
    ('rogue one', 'partial title', [(exact('rogue one a star wars story'), 3), (phrase('rogue one'), 2)]),
    ('the empire strikes back', 'partial title', [(phrase('episode v the empire strikes back'), 3), (exact('star wars the empire strikes back'), 3), (phrase('the empire strikes back'), 2)]),
    ('phantom menace', 'partial title', [(phrase('the phantom menace'), 3)]),
    ('return of the jedi', 'partial title', [(phrase('episode vi return of the jedi'), 3), (phrase('return of the jedi'), 2)]),
    ('revenge of the sith', 'partial title', [(phrase('episode iii revenge of the sith'), 3), (phrase('revenge of the sith'), 2)]),
    ('the last jedi', 'partial title', [(exact('star wars the last jedi'), 3), (phrase('episode viii the last jedi'), 3), (phrase('the last jedi'), 2), (phrase('last jedi'), 1)]),
    ('wrath of khan', 'partial title', [(phrase('wrath of khan'), 3)]),
    ('deep space nine', 'partial title', [(exact('star trek deep space nine'), 3), (phrase('deep space nine'), 2)]),
    ('next generation', 'partial title', [(exact('star trek the next generation'), 3), (phrase('next generation'), 2)]),
    ('force awakens', 'partial title', [(phrase('episode vii the force awakens'), 3), (phrase('force awakens'), 2)]),
    ('clone wars', 'partial title', [(exact('star wars the clone wars'), 3), (exact('star wars clone wars'), 3), (phrase('clone wars'), 2)]),
    ('a new hope', 'partial title', [(phrase('episode iv a new hope'), 3), (phrase('a new hope'), 2)]),
    ('phantasy star online', 'partial title', [(exact('phantasy star online'), 3), (phrase('phantasy star online'), 2), (phrase('phantasy star'), 1)]),
    # typos
    ('star wrs', 'typo', [(exact('star wars'), 3), (phrase('star wars'), 2)]),
    ('empire strikes bak', 'typo', [(phrase('episode v the empire strikes back'), 3), (exact('star wars the empire strikes back'), 3), (phrase('the empire strikes back'), 2)]),
    ('phantom menance', 'typo', [(phrase('the phantom menace'), 3)]),
    ('jedi knigt', 'typo', [(phrase('jedi knight'), 3)]),
    ('fist of the nort star', 'typo', [(exact('fist of the north star'), 3), (phrase('fist of the north star'), 2)]),
    ('skywalkr', 'typo', [(phrase('skywalker'), 3), (desc('skywalker'), 1)]),
    ('lightsabre duel', 'typo', [(phrase('lightsaber duel'), 3)]),
    # person names (films search)
    ('george lucas', 'person', [(person('George Lucas'), 2)]),
    ('harrison ford', 'person', [(person('Harrison Ford'), 2)]),
    ('mark hamill', 'person', [(person('Mark Hamill'), 2)]),
    ('leonard nimoy', 'person', [(exact('leonard nimoy star trek memories'), 3), (person('Leonard Nimoy'), 2)]),
    ('william shatner', 'person', [(exact("william shatner s star trek memories"), 3), (person('William Shatner'), 2)]),
    ('patrik stewart', 'person, typo', [(person('Patrick Stewart'), 2)]),
    ('carrie fisher', 'person', [(person('Carrie Fisher'), 2)]),
    # multi-word
    ('lego star wars', 'multi-word', [(phrase('lego star wars'), 2)]),
    ('yoda chronicles', 'multi-word', [(phrase('yoda chronicles'), 2)]),
    ('star wars holiday special', 'multi-word', [(exact('the star wars holiday special'), 3), (phrase('star wars holiday special'), 3), (words('star wars', 'holiday'), 2)]),
    ('old republic', 'multi-word', [(exact('star wars the old republic'), 3), (phrase('old republic'), 2)]),
    ('starfleet command', 'multi-word', [(exact('star trek starfleet command'), 3), (phrase('starfleet command'), 2)]),
    ('death star', 'multi-word', [(phrase('death star'), 3), (desc('death star'), 1)]),
    # one word, ambiguous
    ('yoda', 'one word', [(phrase('yoda'), 2), (desc('yoda'), 1)]),
    ('jedi', 'one word', [(phrase('jedi'), 2), (desc('jedi'), 1)]),
    ('spock', 'one word', [(phrase('spock'), 3), (desc('spock'), 1)]),
    ('klingon', 'one word', [(phrase('klingon'), 2), (desc('klingon'), 1)]),
    ('borg', 'one word', [(phrase('borg'), 2), (desc('borg'), 1)]),
    # nothing in the catalog
    ('matrix', 'no answer', []),
    ('harry potter', 'no answer', []),
]

PERSONS = [
    ('george lucas', 'person', ['George Lucas']),
    ('mark hamil', 'person, typo', ['Mark Hamill']),
    ('patric stewart', 'person, typo', ['Patrick Stewart']),
    ('nimoy', 'person, surname', ['Leonard Nimoy']),
    ('harison ford', 'person, typo', ['Harrison Ford']),
    ('carrie fisher', 'person', ['Carrie Fisher']),
]

out = {'films': [], 'persons': []}
for q, kind, rules in FILMS:
    rel = []
    for f in films:
        g = max([grade for rule, grade in rules if rule(f)] or [0])
        if g:
            rel.append({'id': f[0], 'grade': g, 'title': f[1]})
    rel.sort(key=lambda r: (-r['grade'], r['title']))
    if rules and not rel:
        sys.exit(f'no relevant film for {q!r}: check the rules')
    out['films'].append({'query': q, 'kind': kind, 'relevant': rel})
for q, kind, names in PERSONS:
    rel = [{'id': pid, 'grade': 3, 'full_name': n} for pid, n in persons if n in names]
    if not rel:
        sys.exit(f'no person for {q!r}')
    out['persons'].append({'query': q, 'kind': kind, 'relevant': rel})
with open(os.path.join(HERE, 'judgements.json'), 'w') as fh:
    json.dump(out, fh, indent=1, ensure_ascii=False)
    fh.write('\n')
print(len(out['films']), 'film queries,', len(out['persons']), 'person queries')
for e in out['films']:
    print(f"{e['query']:30} {len(e['relevant'])}")
