#!/usr/bin/perl
# The machine registry's cache on the real stack, two nginx workers: list
# answers served from Redis, read-your-writes after every create, update
# and delete (whichever worker answers), versioned list keys and no KEYS
# command, machine keys deleted on change; Redis stalled (SIGSTOP) and
# killed mid-test: answers stay correct from PostgreSQL, a stale entry is
# never served afterwards, the cache comes back by itself, and the seed's
# WARNING event carries the retry state; a stalled PostgreSQL does not slow
# what does not need it; the DEBUG validation event; gonsters_machine_cache
# off.

use strict;
use warnings;
use lib 't/lib';

use JSON::PP;
use Test::More;
use Gonsters::Test qw(env_or_bail finish_requests hs256_token http json_body psql
                      read_file start_request time_scale wait_until);
use Gonsters::Redis qw(resp redis_kill redis_start);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $scale = time_scale();
my $p = "tmc$$";
my $secret = 'c4ch' x 12;

sub cleanup { eval { psql("DELETE FROM machine_metadata WHERE name LIKE '${p}%'") } }
# this END runs before the harness's: a test that died with PostgreSQL
# stalled must resume it before cleaning up
END { Gonsters::Test::resume($_) for qw(postgres redis); cleanup() }
cleanup();

my $t = Gonsters::Test->new;
my $keyfile = $t->prefix . '/jwt';
Gonsters::Test::write_file($keyfile, $secret);

$t->write_config(<<"CONF")->run;
%%TEST_GLOBALS%%
worker_processes 2;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=machines_cache";
    gonsters_postgres_query_timeout 2s;
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_redis_timeout 300ms;
    gonsters_redis_reconnect 50ms;
    gonsters_jwt_key $keyfile;
    gonsters_event_log logs/events.log debug;
    gonsters_machine_list_cache_ttl 300s;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /api/v1/data/machine {
            gonsters_require_permission write:machines;
            gonsters_endpoint machine_create;
        }
        location = /api/v1/data/machines {
            gonsters_require_permission read:machines;
            gonsters_endpoint machines;
        }
        location /api/v1/data/machine/ {
            gonsters_require_permission methods=PATCH write:machines;
            gonsters_require_permission methods=DELETE delete:machines;
            gonsters_endpoint machine;
        }
        location = /uncached/machines {
            gonsters_require_permission read:machines;
            gonsters_machine_cache off;
            gonsters_endpoint machines;
        }
        location = /resolve { gonsters_test_machines_resolve \$arg_ids; }
        location = /metrics { gonsters_endpoint metrics; }
        location = /health/redis { gonsters_endpoint health_redis; }
    }
}
CONF

my $json = JSON::PP->new->canonical->utf8;
my $now = time;
my $token = hs256_token($secret, {
    sub => '00000000-0000-4000-8000-000000000002', username => 'tmc', role => 'Management',
    permissions => [qw(read:machines write:machines delete:machines)],
    iat => $now, exp => $now + 3600, iss => 'gonsters-backend-api',
    aud => 'gonsters-dashboard', jti => "tmc$$", type => 'access' });
my @auth = (Authorization => "Bearer $token");

sub api {
    my ($method, $path, $body) = @_;
    my %o = (headers => { @auth });
    if ($body) {
        $o{headers}{'Content-Type'} = 'application/json';
        $o{content} = $json->encode($body);
    }
    my $res = http($method => $t->url($path), \%o);
    return wantarray ? ($res, json_body($res) || {}) : $res;
}

my $L = "$p-floor";
sub names {
    my (%q) = (location => $L, @_);
    my $qs = join '&', map { "$_=$q{$_}" } sort keys %q;
    my ($res, $j) = api(GET => "/api/v1/data/machines?$qs");
    is($res->{status}, 200, "list ?$qs: 200") or diag $res->{content};
    return [map { "$_->{name}:$_->{status}" } @{ $j->{machines} || [] }];
}

sub counter {
    my ($cache, $result) = @_;
    my $m = http(GET => $t->url('/metrics'))->{content};
    return $m =~ /^gonsters_cache_requests_total\{cache="$cache",result="$result"\} (\d+)$/m ? $1 : -1;
}

sub create {
    my ($name, $status) = @_;
    my ($res, $j) = api(POST => '/api/v1/data/machine',
                        { name => "$p-$name", location => $L, sensor_type => 'T', status => $status // 'active' });
    is($res->{status}, 201, "create $name: 201") or diag $res->{content};
    return $j->{machine_id};
}

sub keys_calls {
    my $info = resp('INFO', 'commandstats') // '';
    return $info =~ /^cmdstat_keys:calls=(\d+)/m ? $1 : 0;
}

my %id;
my @want;    # newest first, "name:status"

my $keys_before = keys_calls();


# ---- the list is served from the cache ------------------------------------------

$id{a} = create('a');
@want = ("$p-a:active");
is_deeply(names(), \@want, 'the list');
my $hits = counter('machine_list', 'hit');
is_deeply(names(), \@want, 'the list again');
is_deeply(names(), \@want, 'and again');
ok(counter('machine_list', 'hit') >= $hits + 1, 'served from the cache');
my ($res, $j);


# gonsters_machine_cache off: PostgreSQL every time, Redis untouched
my @counts = map { counter('machine_list', $_) } qw(hit miss);
for (1 .. 3) {
    my ($r, $b) = api(GET => "/uncached/machines?location=$L");
    is_deeply([map { "$_->{name}:$_->{status}" } @{ $b->{machines} || [] }], \@want,
              'gonsters_machine_cache off: the list');
}
is_deeply([map { counter('machine_list', $_) } qw(hit miss)], \@counts,
          'gonsters_machine_cache off: no cache lookup');

# ---- read-your-writes after each change, whichever worker answers -------------------

for my $i (1 .. 6) {
    names() for 1 .. 2;    # warm, on both workers
    my $v0 = resp('GET', 'gonsters:machines:version') // 0;

    $id{"n$i"} = create("n$i");
    unshift @want, "$p-n$i:active";
    is_deeply(names(), \@want, "round $i: the list right after a create");
    is(resp('GET', 'gonsters:machines:version'), $v0 + 1, "round $i: the create bumped the list version");

    names() for 1 .. 2;
    $res = api(PATCH => "/api/v1/data/machine/$id{a}", { status => $i % 2 ? 'maintenance' : 'active' });
    is($res->{status}, 200, "round $i: PATCH 200");
    $want[-1] = "$p-a:" . ($i % 2 ? 'maintenance' : 'active');
    is_deeply(names(), \@want, "round $i: the list right after a PATCH");
    is_deeply(names(status => 'maintenance'), [$i % 2 ? ("$p-a:maintenance") : ()],
              "round $i: a filtered list right after a PATCH");
}

names() for 1 .. 2;
$res = api(DELETE => "/api/v1/data/machine/$id{n1}");
is($res->{status}, 204, 'DELETE: 204');
@want = grep { $_ ne "$p-n1:active" } @want;
is_deeply(names(), \@want, 'the list right after a DELETE');


# ---- machine keys: deleted on change ---------------------------------------------

sub resolved {
    my ($res, $j) = (http(GET => $t->url("/resolve?ids=$_[0]")));
    return (json_body($res) || {})->{machines}[0];
}

resolved($id{n2});
ok(wait_until(3, sub { defined resp('GET', "gonsters:machine:$id{n2}") }), 'a resolved machine is cached');
$res = api(PATCH => "/api/v1/data/machine/$id{n2}", { sensor_type => 'Vibration' });
is($res->{status}, 200, 'PATCH: 200');
is(resp('EXISTS', "gonsters:machine:$id{n2}"), 0, 'PATCH deleted the machine\'s key before answering');
is(resolved($id{n2})->{sensor_type}, 'Vibration', 'the next resolve sees the PATCH');

resolved($id{n3});
ok(wait_until(3, sub { defined resp('GET', "gonsters:machine:$id{n3}") }), 'another machine cached');
$res = api(DELETE => "/api/v1/data/machine/$id{n3}");
is(resp('EXISTS', "gonsters:machine:$id{n3}"), 0, 'DELETE deleted the machine\'s key before answering');
ok(!defined resolved($id{n3}), 'the next resolve: unknown');
@want = grep { $_ ne "$p-n3:active" } @want;


# ---- Redis stalled mid-test ------------------------------------------------------

names() for 1 .. 3;    # cached under the current version
Gonsters::Test::stall('redis');

is_deeply(names(), \@want, 'Redis stalled: the list, from PostgreSQL');
$res = api(PATCH => "/api/v1/data/machine/$id{n4}", { status => 'error' });
is($res->{status}, 200, 'Redis stalled: PATCH 200');
s/^\Q$p-n4:\E.*/$p-n4:error/ for @want;
is_deeply(names(), \@want, 'Redis stalled: the PATCH is seen');
$id{s} = create('s');
unshift @want, "$p-s:active";
is_deeply(names(), \@want, 'Redis stalled: the create is seen');
is_deeply(names(), \@want, 'Redis stalled: again (both workers)');
is(http(GET => $t->url('/health/redis'))->{status}, 503, 'Redis stalled: its health says so');

Gonsters::Test::resume('redis');

# what was cached before the stall must never come back
for my $k (1 .. 6) {
    is_deeply(names(), \@want, "Redis resumed: the list is right ($k)");
}
ok(wait_until(10 * $scale, sub {
       my $h = counter('machine_list', 'hit');
       names();
       counter('machine_list', 'hit') > $h;
   }), 'Redis resumed: the cache serves again');
is_deeply(names(), \@want, 'Redis resumed: a cached answer is right');

my @events = map { eval { decode_json($_) } || () } split /\n/, read_file($t->prefix . '/logs/events.log');
my ($warn) = grep { $_->{level} eq 'WARNING' && $_->{logger} eq 'gonsters.machines.cache'
                   && $_->{message} eq 'Machine cache read failed, answering from PostgreSQL' } @events;
ok($warn, 'the seed\'s WARNING event was logged by the cache');
is($warn->{context}{service}, 'redis', '... service');
is($warn->{context}{fallback_action}, 'query_from_postgresql', '... fallback_action');
is($warn->{context}{backoff_strategy}, 'exponential', '... backoff_strategy');
ok(exists $warn->{context}{retry_attempt} && exists $warn->{context}{retry_delay_seconds},
   '... retry_attempt and retry_delay_seconds');
like($warn->{context}{cache_operation} // '', qr/^get_machine_/, '... cache_operation');
like($warn->{request_id} // '', qr/^[0-9a-f]{32}$/, '... the request id');


# ---- Redis killed mid-test -----------------------------------------------------------

names() for 1 .. 3;
redis_kill();

is_deeply(names(), \@want, 'Redis killed: the list, from PostgreSQL');
$res = api(PATCH => "/api/v1/data/machine/$id{n5}", { name => "$p-n5b" });
is($res->{status}, 200, 'Redis killed: PATCH 200');
s/^\Q$p-n5:\E/$p-n5b:/ for @want;
$res = api(DELETE => "/api/v1/data/machine/$id{n6}");
is($res->{status}, 204, 'Redis killed: DELETE 204');
@want = grep { !/^\Q$p-n6:\E/ } @want;
$id{k} = create('k');
unshift @want, "$p-k:active";
is_deeply(names(), \@want, 'Redis killed: every change is seen');
is_deeply(names(), \@want, 'Redis killed: again');
is(resolved($id{n5})->{name}, "$p-n5b", 'Redis killed: resolve from PostgreSQL');

redis_start();
for my $k (1 .. 4) {
    is_deeply(names(), \@want, "Redis restarted: the list is right ($k)");
}
ok(wait_until(10 * $scale, sub {
       my $h = counter('machine_list', 'hit');
       names();
       counter('machine_list', 'hit') > $h;
   }), 'Redis restarted: the cache serves again, without reload');
is_deeply(names(), \@want, 'Redis restarted: a cached answer is right');

is(keys_calls(), $keys_before, 'no KEYS command ran');


# ---- a stalled PostgreSQL does not slow what does not need it ----------------------

names() for 1 .. 3;    # this list is in the cache (the put does not wait)
my $list_key = 'gonsters:machines:list:' . (resp('GET', 'gonsters:machines:version') // 0)
             . ':' . length($L) . ":$L|-|-|100|0";
ok(wait_until(5, sub { resp('EXISTS', $list_key) }), 'the list is cached under the current version');
Gonsters::Test::stall('postgres');

my @pg = map { start_request($t->port, GET => "/api/v1/data/machines?location=$p-uncached$_",
                             headers => [[@auth]]) } 1 .. 4;
my @fast = (start_request($t->port, GET => "/api/v1/data/machines?location=$L", headers => [[@auth]]),
            start_request($t->port, GET => '/health/redis'),
            start_request($t->port, GET => '/metrics'));
@fast = finish_requests(5 * $scale, @fast);
is_deeply([map { $_->{status} } @fast], [200, 200, 200],
          'PostgreSQL stalled: a cached list, Redis health and metrics answer');
is_deeply([map { "$_->{name}:$_->{status}" } @{ $fast[0]{json}{machines} || [] }], \@want,
          'PostgreSQL stalled: the cached list is right');
@pg = finish_requests(0.1, @pg);
is(scalar(grep { $_->{status} == 0 } @pg), 4,
   'PostgreSQL stalled: the lists that need it are still waiting meanwhile');
Gonsters::Test::resume('postgres');

@pg = map { start_request($t->port, GET => "/api/v1/data/machines?location=$p-uncached$_",
                          headers => [[@auth]]) } 1 .. 2;
@pg = finish_requests(10 * $scale, @pg);
is_deeply([map { $_->{status} } @pg], [200, 200], 'PostgreSQL resumed: they answer');


# ---- DEBUG: payload validation --------------------------------------------------------

create('dbg');
@events = map { eval { decode_json($_) } || () } split /\n/, read_file($t->prefix . '/logs/events.log');
my ($dbg) = grep { $_->{level} eq 'DEBUG' && $_->{message} eq 'Payload validation successful' } @events;
ok($dbg, 'the seed\'s DEBUG validation event');
is($dbg->{context}{validation}{schema}, 'MachineCreate', '... the schema');
like($dbg->{context}{validation}{validation_time_ms}, qr/^[0-9.eE+-]+$/, '... validation_time_ms, a number');
is($dbg->{context}{method}, 'POST', '... the request');

$t->stop;

done_testing();
