#!/usr/bin/env python3
"""bench/fts5_write_cost.py: what SQLite FTS5 costs per stored message, apart from the rest of the
store: CPU per message of inserting ~250-byte chat bodies (words from a skewed 2,000-word
vocabulary) into a table with and without an external-content FTS5 index kept by a trigger, as
migration 5 does, in transactions of 512 (synchronous=off, so only CPU is measured). Uses
Python's sqlite3 module, i.e. the same Debian libsqlite3 the server links. See
docs/benchmarks.md, "Durable writes: where the writer's time goes"."""
import sqlite3, random, time, os, sys, resource, tempfile, shutil
TMP = tempfile.mkdtemp(prefix='parley-fts5-')
def words():
    g=random.Random(7); W=[]
    for i in range(2000):
        W.append(''.join(chr(97+g.randrange(26)) for _ in range(2+g.randrange(8))))
    return W
W=words(); rng=random.Random(42)
def body():
    b=''
    while len(b)<250:
        u=rng.random(); b+=W[int(u*u*u*2000)]+' '
    return b[:250]
def run(name, fts_opts, n=20000, batch=512, pre=None, ddl_extra=''):
    path=os.path.join(TMP, name + '.db')
    for s in ('','-wal','-shm'):
        try: os.remove(path+s)
        except: pass
    db=sqlite3.connect(path, isolation_level=None)
    db.execute('pragma journal_mode=wal'); db.execute('pragma synchronous=off')
    db.execute('create table m(id integer primary key, body text)')
    if fts_opts is not None:
        db.execute(f"create virtual table f using fts5(body, content='m', content_rowid='id', tokenize='unicode61 remove_diacritics 2' {fts_opts})")
        db.execute("create trigger ti after insert on m begin insert into f(rowid, body) values(new.id, new.body); end")
        if pre: db.execute(pre)
    bodies=[body() for _ in range(n)]
    r0=resource.getrusage(resource.RUSAGE_SELF); t=time.time()
    i=0
    while i<n:
        db.execute('begin')
        for b in bodies[i:i+batch]:
            db.execute('insert into m(body) values(?)',(b,))
        db.execute('commit'); i+=batch
    r1=resource.getrusage(resource.RUSAGE_SELF)
    cpu=(r1.ru_utime-r0.ru_utime)+(r1.ru_stime-r0.ru_stime)
    pages=db.execute('pragma page_count').fetchone()[0]
    print(f'{name:22s} batch {batch:5d} cpu/msg {cpu/n*1e6:7.1f} us  wall {time.time()-t:.2f}s  db pages {pages}', flush=True)
run('nofts', None)
run('fts_prefix23', ", prefix='2 3'")
run('fts_noprefix', "")
run('fts_prefix23_b4096', ", prefix='2 3'", batch=4096)
run('fts_prefix23_am8', ", prefix='2 3'", pre="insert into f(f, rank) values('automerge', 8)")
run('fts_prefix23_am16', ", prefix='2 3'", pre="insert into f(f, rank) values('automerge', 16)")
run('fts_prefix23_am0', ", prefix='2 3'", pre="insert into f(f, rank) values('automerge', 0)")
run('fts_prefix23_cm64', ", prefix='2 3'", pre="insert into f(f, rank) values('crisismerge', 64)")
run('fts_prefix2', ", prefix='2'")
shutil.rmtree(TMP, ignore_errors=True)
