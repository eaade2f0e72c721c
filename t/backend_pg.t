#!/usr/bin/perl
# The PostgreSQL layer (ngx_http_gonsters_pg.h) through the test-only
# locations of t/modules/ngx_http_gonsters_test_pg.c, against the test
# stack's real PostgreSQL: bound parameters with hostile values, statement
# errors, transactions, named statements, concurrency in one worker, client
# disconnects, the server stalled (SIGSTOP), restarted and killed, HUP and
# QUIT under load, and nginx -t on invalid directives.
#
# This file stops, stalls and restarts the stack's PostgreSQL: do not run it
# in parallel with other test files (prove -j).

use strict;
use warnings;
use lib 't/lib';

use Cwd qw(abs_path);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use JSON::PP;
use Gonsters::Test qw(env_or_bail finish_requests http json_body psql
                     start_request wait_until);

my $run_dir = env_or_bail('GONSTERS_RUN_DIR');
my $dsn = env_or_bail('GONSTERS_PG_DSN');
env_or_bail('GONSTERS_PG_PORT');

my $pgbin = '/usr/lib/postgresql/15/bin';
my $pgdir = abs_path("$run_dir/pg") or BAIL_OUT("no $run_dir/pg");
my $pgdata = "$pgdir/data";
my $table = "gn_t_pg_$$";

# time bounds stretch under valgrind (make test-valgrind)
my $S = Gonsters::Test::time_scale();

# how the stack started PostgreSQL, to start it again after a kill
my $pg_opts = pg_options();

END {
    pg_resume();
    pg_start() if defined $pg_opts && !pg_running();
    eval { psql("DROP TABLE IF EXISTS $table") };
}

psql("CREATE TABLE $table (id int PRIMARY KEY, v text NOT NULL)");

# ---- helpers ---------------------------------------------------------------

sub pg_ctl {
    my @cmd = ("$pgbin/pg_ctl", '-D', $pgdata, @_);
    unshift @cmd, 'runuser', '-u', 'postgres', '--' if $> == 0;
    my $out = qx{@{[ join ' ', map { quotemeta } @cmd ]} 2>&1};
    return $? == 0 ? 1 : do { diag("pg_ctl @_: $out"); 0 };
}

sub pg_options {
    open my $fh, '<', "$pgdata/postmaster.opts" or return undef;
    my $line = <$fh>;
    my @words = $line =~ /"([^"]*)"/g;
    my @opts;
    while (@words) {
        my $w = shift @words;
        if ($w eq '-D') { shift @words; next }
        push @opts, $w;
    }
    return join ' ', map { "'$_'" } @opts;
}

sub pg_postmaster {
    open my $fh, '<', "$pgdata/postmaster.pid" or return undef;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

sub pg_running {
    my $pid = pg_postmaster();
    return $pid && kill 0, $pid;
}

sub pg_start {
    return pg_ctl('-l', "$pgdir/server.log", '-w', '-o', $pg_opts, 'start');
}

sub pg_stall  { Gonsters::Test::stall('postgres'); }
sub pg_resume { Gonsters::Test::resume('postgres'); }

# backends of one test nginx, by application_name
sub backends {
    my ($app, $extra) = @_;
    $extra //= '';
    my @rows = psql("SELECT count(*) FROM pg_stat_activity "
                    . "WHERE application_name = '$app' $extra");
    return $rows[0][0];
}

sub uri_escape {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub statuses { join ',', map { $_->{status} } @_ }

sub get {
    my ($t, $path) = @_;
    my $t0 = time;
    my $res = http(GET => $t->url($path));
    $res->{elapsed} = time - $t0;
    $res->{outcome} = $res->{headers}{'x-gonsters-pg'} // '';
    return $res;
}

sub nginx_config {
    my ($app, $pg) = @_;
    my $conf = <<'CONF';
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 512; }
http {
    %%TEST_GLOBALS_HTTP%%
    large_client_header_buffers 4 64k;
    client_max_body_size 20m;
    client_body_buffer_size 20m;
    client_body_in_single_buffer on;
    gonsters_postgres "%%DSN%% application_name=%%APP%%";
    %%PG%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /plain { return 200 '{"plain":true}'; }
        location = /q {
            gonsters_test_pg "SELECT $1::text, length($1), octet_length($1)"
                             $arg_v;
        }
        location = /null { gonsters_test_pg "SELECT $1::text IS NULL, $2" @null $arg_v; }
        location = /sleep { gonsters_test_pg "SELECT pg_sleep($1::float8)" $arg_s; }
        location = /insert {
            gonsters_test_pg "INSERT INTO %%TABLE%% (id, v) VALUES ($1::int, $2) RETURNING id"
                             $arg_id $arg_v;
        }
        location = /get { gonsters_test_pg "SELECT v FROM %%TABLE%% WHERE id = $1::int" $arg_id; }
        location = /big {
            gonsters_test_pg_body on;
            gonsters_test_pg "SELECT md5($1), length($1)" raw:$request_body;
        }
        location = /tx {
            gonsters_test_pg_transaction on;
            gonsters_test_pg "INSERT INTO %%TABLE%% (id, v) VALUES ($1::int, 'first')" $arg_id;
            gonsters_test_pg "INSERT INTO %%TABLE%% (id, v) VALUES ($1::int, 'second')" $arg_id2;
            gonsters_test_pg "SELECT count(*) FROM %%TABLE%% WHERE id IN ($1::int, $2::int)"
                             $arg_id $arg_id2;
        }
        location = /notx {
            gonsters_test_pg "INSERT INTO %%TABLE%% (id, v) VALUES ($1::int, 'first')" $arg_id;
            gonsters_test_pg "INSERT INTO %%TABLE%% (id, v) VALUES ($1::int, 'second')" $arg_id2;
        }
        location = /named { gonsters_test_pg name=gn_double "SELECT $1::int * 2" $arg_v; }
        location = /named_tx {
            gonsters_test_pg_transaction on;
            gonsters_test_pg name=gn_double "SELECT $1::int * 2" $arg_v;
            gonsters_test_pg name=gn_triple "SELECT $1::int * 3" $arg_v;
        }
        location = /named_bad { gonsters_test_pg name=gn_bad "SELEC $1" $arg_v; }
        location = /prepared {
            gonsters_test_pg "SELECT string_agg(name, ',' ORDER BY name) FROM pg_prepared_statements";
        }
        location = /det {
            gonsters_test_pg_detached on;
            gonsters_test_pg "SELECT 'detached', $1::text" $arg_v;
        }
        location = /det_sleep {
            gonsters_test_pg_detached on;
            gonsters_test_pg "SELECT pg_sleep($1::float8)" $arg_s;
        }
        location = /syntax { gonsters_test_pg "SELEC 1"; }
        location = /multi { gonsters_test_pg "SELECT 1; SELECT 2"; }
        location = /nul { gonsters_test_pg "SELECT $1" $arg_v; }
        location = /empty { gonsters_test_pg "SELECT 1 WHERE false"; }
        location = /statement_timeout { gonsters_test_pg "SHOW statement_timeout"; }
        location = /canceled {
            gonsters_test_pg_transaction on;
            gonsters_test_pg "SET LOCAL statement_timeout = 100";
            gonsters_test_pg "SELECT pg_sleep(1)";
        }
        location = /backend { gonsters_test_pg "SELECT pg_backend_pid()"; }
    }
}
CONF
    $conf =~ s/%%DSN%%/$dsn/g;
    $conf =~ s/%%APP%%/$app/g;
    $conf =~ s/%%PG%%/$pg/g;
    $conf =~ s/%%TABLE%%/$table/g;
    return $conf;
}

# ---- nginx -t on invalid directives ------------------------------------

my @bad = (
    [ 'host=db.example dbname=x',
      qr/gonsters_postgres: host "db\.example" is a name; use an IP address or a unix socket directory \(a name needs a blocking DNS lookup\)/ ],
    [ 'host=127.0.0.1,db.example',
      qr/host "db\.example" is a name/ ],
    [ 'host=relative/dir', qr/host "relative\/dir" is a name/ ],
    [ 'postgresql://db.example:5432/x', qr/host "db\.example" is a name/ ],
    [ 'dbname=x user=y', qr/gonsters_postgres: no host/ ],
    [ 'hostaddr=db.example', qr/hostaddr "db\.example" is not an IP address/ ],
    [ 'host=127.0.0.1 bogus=1', qr/gonsters_postgres: invalid connection string: .*bogus/ ],
    [ 'host=127.0.0.1 dbname=\'x', qr/gonsters_postgres: invalid connection string/ ],
    [ 'service=main', qr/"service" is not supported/ ],
    [ '', qr/gonsters_postgres: empty connection string/ ],
);

for my $case (@bad) {
    my ($conninfo, $re) = @$case;
    my $t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http { gonsters_postgres "$conninfo"; }
CONF
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, "nginx -t fails on conninfo '$conninfo'");
    like($out, $re, "... with a clear message") or diag($out);
}

my @bad_directives = (
    [ 'gonsters_postgres_pool_size 0;',
      qr/"gonsters_postgres_pool_size" must be between 1 and \d+, not "0"/ ],
    [ 'gonsters_postgres_queue_size -1;', qr/invalid number|must be between/ ],
    [ 'gonsters_postgres_query_timeout 0;',
      qr/"gonsters_postgres_query_timeout" must be between 1ms and 1d/ ],
    [ 'gonsters_postgres_connect_timeout soon;', qr/invalid value|is invalid/ ],
    [ 'gonsters_postgres "host=127.0.0.1";',
      qr/"gonsters_postgres" directive is duplicate/ ],
    [ 'server { location / { gonsters_postgres "host=127.0.0.1"; } }',
      qr/"gonsters_postgres" directive is not allowed here/ ],
);

for my $case (@bad_directives) {
    my ($directive, $re) = @$case;
    my $t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http { gonsters_postgres "host=127.0.0.1"; $directive }
CONF
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, "nginx -t fails on '$directive'");
    like($out, $re, "... with a clear message") or diag($out);
}

{
    my $t = Gonsters::Test->new->write_config(<<'CONF');
%%TEST_GLOBALS%%
events { }
http { gonsters_postgres "host=::1,/var/run/postgresql port=5432,5433 dbname=x"; }
CONF
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'IPv6 and unix socket hosts are accepted') or diag($out);

    $t = Gonsters::Test->new->write_config(<<'CONF');
%%TEST_GLOBALS%%
events { }
http { gonsters_postgres "host=db.example hostaddr=10.0.0.1 sslmode=prefer"; }
CONF
    ($rc, $out) = $t->test_config;
    is($rc, 0, 'a host name with hostaddr is accepted') or diag($out);
}

# ---- functional: instance A, pool of 20 ------------------------------------

my $app_a = "gn-t-pg-a-$$";
my $t = Gonsters::Test->new->write_config(nginx_config($app_a, <<'PG'));
gonsters_postgres_pool_size 20;
    gonsters_postgres_connect_timeout 1s;
    gonsters_postgres_query_timeout 3s;
PG
$t->run;

my $res = get($t, '/q?v=hello');
is($res->{status}, 200, 'a parameterized SELECT answers 200');
is_deeply(json_body($res)->{rows}, [['hello', 5, 5]], '... with its row');
is($res->{outcome}, 'ok', '... outcome ok');

$res = get($t, '/null?v=x');
is_deeply(json_body($res)->{rows}, [['t', 'x']], 'a NULL parameter is SQL NULL');

$res = get($t, '/empty');
is_deeply(json_body($res)->{rows}, [], 'no rows');

# hostile values are bound, never pasted into the SQL
my @hostile = (
    q{it's},
    q{"; DROP TABLE } . $table . q{; --},
    q{'); DROP TABLE } . $table . q{; --},
    q{\\'\\\\ $1 $$ %s %n ; -- /* */},
    "line\nbreak\ttab\r\x01\x1f\x7f",
    "\x{e9}\x{20ac}\x{1f600} \x{2028}",
    join('', map { chr } 1 .. 127),
    'x' x 30000,
);

my $id = 1;
for my $v (@hostile) {
    my $label = length $v > 40 ? length($v) . ' bytes' : $v;
    $label =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    my $ins = get($t, "/insert?id=$id&v=" . uri_escape($v));
    is($ins->{status}, 200, "stored: $label") or diag($ins->{content});
    my $back = get($t, "/get?id=$id");
    my $data = eval { JSON::PP->new->utf8->decode($back->{content}) } || {};
    is($data->{rows}[0][0], $v, '... read back verbatim');
    $id++;
}

my @rows = psql("SELECT count(*) FROM $table");
is($rows[0][0], scalar @hostile, 'the table is still there, one row per value');

$res = get($t, '/q?v=%C3%28');
is($res->{status}, 400, 'invalid UTF-8 is an SQL error (400)');
is((json_body($res) || {})->{sqlstate}, '22021', '... SQLSTATE 22021');

$res = get($t, '/nul?v=a%00b');
is($res->{status}, 400, 'a NUL byte is rejected by the handler');

{
    my $big = join '', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9, split //, q{'";\\})[rand 66] }
              1 .. 8_000_000;
    my $t0 = time;
    $res = http(POST => $t->url('/big'), { content => $big });
    require Digest::MD5;
    is($res->{status}, 200, '8 MB parameter') or diag($res->{content});
    is_deeply((json_body($res) || {})->{rows},
              [[Digest::MD5::md5_hex($big), 8_000_000]],
              '... arrives intact (md5 and length)');
    note(sprintf '8 MB parameter in %.2f s', time - $t0);
}

$res = get($t, '/syntax');
is($res->{status}, 400, 'a syntax error is 400');
is(json_body($res)->{sqlstate}, '42601', '... SQLSTATE 42601');
like(json_body($res)->{message}, qr/syntax error/, '... with the message');

$res = get($t, '/multi');
is($res->{status}, 400, 'two statements in one text are refused');
is(json_body($res)->{sqlstate}, '42601', '... by the server (extended protocol)');

$res = get($t, '/statement_timeout');
is_deeply(json_body($res)->{rows}, [['3s']],
          'the server\'s statement_timeout is the query timeout');

{
    my $pid = json_body(get($t, '/backend'))->{rows}[0][0];
    $res = get($t, '/canceled');
    is($res->{status}, 503, 'a statement canceled by statement_timeout');
    is($res->{outcome}, 'timeout', '... is a TIMEOUT');
    cmp_ok($res->{elapsed}, '<', 0.8 * $S, '... at the server\'s timeout');
    is(json_body(get($t, '/backend'))->{rows}[0][0], $pid,
       '... and the connection, rolled back, is kept');
}

$res = get($t, '/q?v=after-errors');
is($res->{status}, 200, 'connections are fine after statement errors');

# transactions
$res = get($t, '/tx?id=1001&id2=1002');
is($res->{status}, 200, 'a transaction of three statements');
is_deeply(json_body($res)->{rows}, [[2]], '... sees its own rows');
is(json_body($res)->{nresults}, 3, '... three results');
@rows = psql("SELECT count(*) FROM $table WHERE id IN (1001, 1002)");
is($rows[0][0], 2, '... and committed them');

$res = get($t, '/tx?id=1003&id2=1003');
is($res->{status}, 409, 'a failing transaction is 409 (unique violation)');
is(json_body($res)->{sqlstate}, '23505', '... SQLSTATE 23505');
@rows = psql("SELECT count(*) FROM $table WHERE id = 1003");
is($rows[0][0], 0, '... and left nothing behind (rolled back)');

$res = get($t, '/tx?id=1004&id2=1005');
is($res->{status}, 200, 'the next transaction on the pool works');

$res = get($t, '/notx?id=1006&id2=1006');
is($res->{status}, 409, 'without a transaction the second statement fails');
@rows = psql("SELECT v FROM $table WHERE id = 1006");
is($rows[0][0], 'first', '... and the first one stays');

@rows = psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
             . "'$app_a' AND state <> 'idle'");
is($rows[0][0], 0, 'no connection is left in a transaction');

# named statements: prepared once per connection, then executed by name
for my $v (1 .. 5) {
    $res = get($t, "/named?v=$v");
    is_deeply((json_body($res) || {})->{rows}, [[2 * $v]],
              "named statement, call $v");
}
$res = get($t, '/prepared');
like(json_body($res)->{rows}[0][0], qr/\bgn_double\b/,
     'the statement is prepared on the connection (reused, not re-prepared)');
$res = get($t, '/named_tx?v=7');
is_deeply(json_body($res)->{rows}, [[21]], 'named statements in a transaction');
$res = get($t, '/named_bad?v=1');
is($res->{status}, 400, 'a named statement that does not prepare is an error');
$res = get($t, '/named?v=8');
is_deeply(json_body($res)->{rows}, [[16]], '... and the pool goes on');

# a call without a request (ngx_http_gonsters_pg_call)
$res = get($t, '/det?v=x');
is($res->{status}, 200, 'a detached call');
is_deeply(json_body($res)->{rows}, [['detached', 'x']], '... with its row');

# many calls through one worker run concurrently
{
    my $t0 = time;
    my @r = finish_requests(10 * $S, map { start_request($t->port, GET => '/sleep?s=0.5') } 1 .. 20);
    my $elapsed = time - $t0;
    is(statuses(@r), join(',', (200) x 20), '20 concurrent pg_sleep(0.5)');
    cmp_ok($elapsed, '<', 4 * $S, '... finish together, not one after another')
        or diag("took $elapsed s");
    cmp_ok($elapsed, '>=', 0.45, '... and really slept');
    note(sprintf '20 x pg_sleep(0.5) in %.2f s', $elapsed);
    cmp_ok(backends($app_a), '<=', 20, 'no more connections than the pool size');
}

# clients that go away while their call runs or waits
{
    my @gone = map { start_request($t->port, GET => '/sleep?s=0.6') } 1 .. 3;
    push @gone, start_request($t->port, GET => '/det_sleep?s=0.6');
    sleep 0.2;
    close $_->{sock} for @gone;
    my $res = get($t, '/q?v=still');
    is($res->{status}, 200, 'others are served while abandoned calls run');
    ok(wait_until(3 * $S, sub { backends($app_a, "AND state = 'active' "
                                   . "AND query LIKE '%pg_sleep%'") == 0 }),
       'the abandoned calls finished on the server');
    my @r = finish_requests(5 * $S, map { start_request($t->port, GET => '/q?v=after') } 1 .. 20);
    is(statuses(@r), join(',', (200) x 20), 'the pool serves 20 calls afterwards');
}

# HUP with 20 calls in flight
{
    my @r = map { start_request($t->port, GET => '/sleep?s=0.5') } 1 .. 20;
    sleep 0.15;
    $t->signal('HUP');
    @r = finish_requests(10 * $S, @r);
    is(statuses(@r), join(',', (200) x 20), 'HUP: the 20 calls in flight complete');
    ok(wait_until(5 * $S, sub { backends($app_a) == 0 }),
       '... the old worker closes its idle connections and exits');
    $res = get($t, '/q?v=reloaded');
    is($res->{status}, 200, '... the new worker answers');
}

# QUIT with 20 calls in flight
{
    my @r = map { start_request($t->port, GET => '/sleep?s=0.5') } 1 .. 20;
    sleep 0.15;
    my $t0 = time;
    $t->signal('QUIT');
    @r = finish_requests(10 * $S, @r);
    is(statuses(@r), join(',', (200) x 20), 'QUIT: the 20 calls in flight complete');
    my $pid = $t->{pid};
    ok(wait_until(5 * $S, sub { !kill 0, $pid }), '... and nginx exits');
    cmp_ok(time - $t0, '<', 3 * $S, '... promptly');
    ok(wait_until(3 * $S, sub { backends($app_a) == 0 }), '... leaving no connection');
    $t->stop;
}

# ---- the server stalled, restarted, killed: instance B ------------------

my $app_b = "gn-t-pg-b-$$";
$t = Gonsters::Test->new->write_config(nginx_config($app_b, <<'PG'));
gonsters_postgres_pool_size 2;
    gonsters_postgres_queue_size 2;
    gonsters_postgres_connect_timeout 500ms;
    gonsters_postgres_query_timeout 1s;
PG
$t->run;

# the queue is bounded
{
    finish_requests(5 * $S, map { start_request($t->port, GET => '/sleep?s=0.1') } 1 .. 2);
    my @r = finish_requests(5 * $S, map { start_request($t->port, GET => '/sleep?s=0.2') } 1 .. 6);
    my @ok = grep { $_->{status} == 200 } @r;
    my @full = grep { $_->{status} == 503 } @r;
    is(scalar @ok, 4, 'pool 2 + queue 2: four calls are served')
        or diag(join ' ', map { "$_->{status}/$_->{elapsed}" } @r);
    is(scalar @full, 2, '... two are refused');
    ok(!grep({ $_->{elapsed} > 0.15 * $S } @full), '... at once')
        or diag(join ' ', map { $_->{elapsed} } @full);
    is($full[0] && $full[0]{headers}{'x-gonsters-pg'}, 'unavailable',
       '... as UNAVAILABLE');
}

# SIGSTOP: calls fail within the deadline, other requests are not slowed
{
    finish_requests(5 * $S, map { start_request($t->port, GET => '/sleep?s=0.1') } 1 .. 2);
    pg_stall();
    my @r = map { start_request($t->port, GET => '/q?v=stalled') } 1 .. 4;
    my $slow = 0;
    for (1 .. 8) {
        my $res = get($t, '/plain');
        $slow++ if $res->{status} != 200 || $res->{elapsed} > 0.25 * $S;
        sleep 0.05;
    }
    is($slow, 0, 'SIGSTOP: a location without PostgreSQL stays prompt');
    @r = finish_requests(5 * $S, @r);
    is(statuses(@r), '503,503,503,503', '... calls needing it get 503');
    ok(!grep({ $_->{elapsed} > 1.8 * $S } @r), '... within the deadline (1s)')
        or diag(join ' ', map { $_->{elapsed} } @r);
    ok(!grep({ !$_->{headers}{'retry-after'} } @r), '... with Retry-After');
    is($r[0]{json}{status}, 'error', '... and a JSON error body');

    # the connect to the stalled server times out (500ms), the pool backs off
    $res = get($t, '/q?v=probe');
    is($res->{status}, 503, 'a new connect to the stalled server fails');
    cmp_ok($res->{elapsed}, '<', 1.5 * $S, '... within the deadline');
    $res = get($t, '/q?v=down');
    is($res->{status}, 503, 'the next call while the server is known down');
    cmp_ok($res->{elapsed}, '<', 0.3 * $S,
           '... fails at once (no wait for the deadline)');
    is($res->{outcome}, 'unavailable', '... as UNAVAILABLE');

    pg_resume();
    ok(wait_until(5 * $S, sub { get($t, '/q?v=back')->{status} == 200 }),
       'SIGCONT: calls succeed again, without a reload');
    @r = finish_requests(5 * $S, map { start_request($t->port, GET => '/q?v=all') } 1 .. 4);
    # one connection may be open: 1 + 2 queued are served, one is refused
    cmp_ok(scalar(grep { $_->{status} == 200 } @r), '>=', 3,
           '... concurrent ones too (' . statuses(@r) . ')');
    @r = map { get($t, "/q?v=seq$_") } 1 .. 4;
    is(statuses(@r), '200,200,200,200', '... all of them');
}

# pg_ctl restart while requests run: nothing hangs, no broken connection
{
    finish_requests(5 * $S, map { start_request($t->port, GET => '/sleep?s=0.1') } 1 .. 2);
    cmp_ok(backends($app_b), '>=', 1, 'idle connections before the restart');

    pipe my $rd, my $wr or die $!;
    my $child = fork // die $!;
    if (!$child) {
        close $rd;
        my $end = time + 4;
        while (time < $end) {
            my $r = get($t, '/q?v=load');
            printf $wr "%d %.3f\n", $r->{status}, $r->{elapsed};
            sleep 0.02;
        }
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    sleep 0.3;
    ok(pg_ctl('-l', "$pgdir/server.log", '-m', 'fast', '-w', 'restart'),
       'pg_ctl restart -m fast');
    my @lines = <$rd>;
    waitpid $child, 0;
    my @st = map { (split)[0] } @lines;
    my @slow = grep { (split)[1] > 1.5 * $S } @lines;
    ok(@st > 10, 'requests ran during the restart (' . scalar(@st) . ')');
    is(scalar(grep { $_ != 200 && $_ != 503 } @st), 0,
       '... each answered 200 or a clean 503');
    is(scalar @slow, 0, '... none waited beyond the deadline');
    is_deeply([@st[-5 .. -1]], [(200) x 5], '... the last ones all 200');
    note('statuses during the restart: ' . join ',', @st);

    # an idle connection killed by the restart is never handed out
    finish_requests(5 * $S, map { start_request($t->port, GET => '/sleep?s=0.1') } 1 .. 2);
    ok(pg_ctl('-l', "$pgdir/server.log", '-m', 'fast', '-w', 'restart'),
       'pg_ctl restart with two idle connections');
    my @after = map { get($t, "/q?v=after$_")->{status} } 1 .. 6;
    is("@after", '200 200 200 200 200 200',
       '... the first calls after it succeed (dead idle connections were dropped)');
}

# killed (immediate shutdown) and started again
{
    ok(pg_ctl('-m', 'immediate', 'stop'), 'pg_ctl stop -m immediate');
    my @r = map { get($t, "/q?v=dead$_") } 1 .. 5;
    is(join(',', map { $_->{status} } @r), '503,503,503,503,503',
       'calls fail with 503 while the server is down');
    ok(!grep({ $_->{elapsed} > 0.3 * $S } @r), '... at once (connection refused)')
        or diag(join ' ', map { $_->{elapsed} } @r);
    ok(!grep({ $_->{outcome} ne 'unavailable' } @r), '... as UNAVAILABLE');
    is(get($t, '/plain')->{status}, 200, '... other locations answer');
    ok(pg_start(), 'PostgreSQL started again');
    ok(wait_until(5 * $S, sub { get($t, '/q?v=up')->{status} == 200 }),
       'calls succeed again, without a reload');
}

$t->stop;

like($t->read_log, qr/gonsters_postgres: cannot connect to 127\.0\.0\.1/,
     'connect failures are logged');
like($t->read_log, qr/gonsters_postgres: connected to 127\.0\.0\.1:\d+\/gonsters again/,
     'the recovery is logged');

# ---- no gonsters_postgres: a call is not started -------------------------

$t = Gonsters::Test->new->write_config(<<'CONF');
%%TEST_GLOBALS%%
worker_processes 1;
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /q { gonsters_test_pg "SELECT 1"; }
    }
}
CONF
$t->run;
$res = get($t, '/q');
is($res->{status}, 500, 'without gonsters_postgres a call is refused (500)');
$t->stop;
like($t->read_log, qr/no "gonsters_postgres" connection string is configured/,
     '... and the log says why');

done_testing;
