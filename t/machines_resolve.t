#!/usr/bin/perl
# The registry's API for other endpoints (ngx_http_gonsters_machines.h),
# driven through the test module: ngx_http_gonsters_machines_resolve() with
# known, unknown, duplicate and malformed ids, cold and warm cache, Redis
# stalled and killed, PostgreSQL stalled (cached machines still resolve),
# the batch bounds; and ngx_http_gonsters_machines_touch(): last_seen in
# batches, updated_at untouched, kept across a PostgreSQL stall.

use strict;
use warnings;
use lib 't/lib';

use JSON::PP;
use Test::More;
use Gonsters::Test qw(env_or_bail http json_body psql time_scale wait_until);
use Gonsters::Redis qw(resp redis_kill redis_start);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $scale = time_scale();
my $p = "tmr$$";

sub cleanup { eval { psql("DELETE FROM machine_metadata WHERE name LIKE '${p}%'") } }
# this END runs before the harness's: a test that died with PostgreSQL
# stalled must resume it before cleaning up
END { Gonsters::Test::resume($_) for qw(postgres redis); cleanup() }
cleanup();

my $t = Gonsters::Test->new->write_config(<<"CONF")->run;
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=machines_resolve";
    gonsters_postgres_query_timeout 1s;
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_redis_timeout @{[ 300 * $scale ]}ms;
    gonsters_machine_cache_ttl 600s;
    gonsters_machine_touch_interval 100ms;
    large_client_header_buffers 4 64k;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /resolve { gonsters_test_machines_resolve \$arg_ids; }
        location = /touch   { gonsters_test_machines_touch \$arg_ids; }
        location = /metrics { gonsters_endpoint metrics; }
        location = /health/redis { gonsters_endpoint health_redis; }
    }
}
CONF

my %m;    # name => row
for my $i (1 .. 3) {
    my ($row) = psql("INSERT INTO machine_metadata (name, location, sensor_type, status, factory_id) "
                   . "VALUES ('${p}-$i', 'Floor $i', 'Temperature', 'active', 'factory-$i') "
                   . "RETURNING id, name, location, sensor_type, status, factory_id");
    $m{$i} = { machine_id => $row->[0], name => $row->[1], location => $row->[2],
               sensor_type => $row->[3], status => $row->[4], factory_id => $row->[5] };
}
my ($a, $b, $c) = map { $m{$_}{machine_id} } 1 .. 3;
my $unknown = '00000000-0000-4000-8000-000000000000';

sub resolve {
    my $res = http(GET => $t->url('/resolve?ids=' . join(',', @_)));
    return ($res, json_body($res) || {});
}

sub cache_count {
    my ($result) = @_;
    my $m = http(GET => $t->url('/metrics'))->{content};
    return $m =~ /^gonsters_cache_requests_total\{cache="machine",result="$result"\} (\d+)$/m ? $1 : -1;
}

my @ids = ($a, $b, $unknown, $a, 'not-a-uuid');
my @want = ($m{1}, $m{2}, undef, $m{1}, undef);

resp('DEL', "gonsters:machine:$_") for $a, $b, $c;


# ---- cold cache: PostgreSQL, then the rows are cached ----------------------

my ($res, $j) = resolve(@ids);
is($res->{status}, 200, 'cold: 200');
is($j->{rc}, 'ok', 'cold: rc ok');
is_deeply($j->{machines}, \@want, 'cold: known, unknown, duplicate, malformed in order');
is(cache_count('miss'), 5, 'cold: five misses counted');
is(cache_count('hit'), 0, 'cold: no hit');

ok(wait_until(3 * $scale, sub { defined resp('GET', "gonsters:machine:$a") && defined resp('GET', "gonsters:machine:$b") }),
   'the rows read from PostgreSQL are written to the cache');
my $cached = eval { decode_json(resp('GET', "gonsters:machine:$a")) } || {};
is_deeply([sort keys %$cached],
          [sort qw(machine_id name location sensor_type status factory_id last_seen created_at updated_at)],
          'the cached value is the machine object of the contract');
is($cached->{name}, "${p}-1", '... of that machine');
my $ttl = resp('TTL', "gonsters:machine:$a");
ok($ttl > 500 && $ttl <= 600, "... with gonsters_machine_cache_ttl ($ttl s)");
is(resp('EXISTS', "gonsters:machine:$unknown"), 0, 'no negative caching of an unknown id');


# ---- warm cache: one MGET answers the known ids ----------------------------

# changed behind the cache's back: a hit shows the cached row
psql("UPDATE machine_metadata SET location = 'Moved' WHERE id = '$a'");

($res, $j) = resolve(@ids);
is($j->{rc}, 'ok', 'warm: rc ok');
is_deeply($j->{machines}, \@want, 'warm: the cached rows (the direct UPDATE is not seen)');
is(cache_count('hit'), 3, 'warm: three hits (the duplicate counts twice)');
is(cache_count('miss'), 7, 'warm: the unknown and the malformed id miss');

resp('DEL', "gonsters:machine:$a");
$m{1}{location} = 'Moved';
($res, $j) = resolve($a, $c);
is_deeply($j->{machines}, [$m{1}, $m{3}], 'after the key is deleted: PostgreSQL again');

# an upper-case id is the same machine
($res, $j) = resolve(uc $b);
is_deeply($j->{machines}, [$m{2}], 'an upper-case id resolves');

# garbage in the cache is a miss, not an error
resp('SET', "gonsters:machine:$c", '{"machine_id":"x"}');
($res, $j) = resolve($c);
is_deeply($j->{machines}, [$m{3}], 'a cached value that is not this machine is a miss');


# ---- bounds ----------------------------------------------------------------

is(http(GET => $t->url('/resolve?ids='))->{status}, 400, 'no id: refused');
my @many = map { sprintf '00000000-0000-4000-8000-%012d', $_ } 1 .. 1000;
($res, $j) = resolve(@many);
is($res->{status}, 200, '1000 ids: 200');
is(scalar(grep { !defined } @{ $j->{machines} || [] }), 1000, '1000 unknown ids: 1000 nulls');
$many[500] = $a;
($res, $j) = resolve(@many);
is_deeply($j->{machines}[500], $m{1}, 'a known id among 1000 is found at its place');
is(http(GET => $t->url('/resolve?ids=' . join(',', @many, $b)))->{status}, 400,
   '1001 ids: refused');


# ---- Redis stalled: PostgreSQL answers -------------------------------------

Gonsters::Test::stall('redis');
($res, $j) = resolve(@ids);
is($j->{rc}, 'ok', 'Redis stalled: rc ok');
is_deeply($j->{machines}, \@want, 'Redis stalled: the same machines, from PostgreSQL');
($res, $j) = resolve($b, $c);
is_deeply($j->{machines}, [$m{2}, $m{3}], 'Redis stalled: again');
Gonsters::Test::resume('redis');


# ---- Redis killed: PostgreSQL answers; the cache comes back ----------------

redis_kill();
($res, $j) = resolve(@ids);
is($j->{rc}, 'ok', 'Redis killed: rc ok');
is_deeply($j->{machines}, \@want, 'Redis killed: the same machines, from PostgreSQL');
redis_start();

ok(wait_until(10 * $scale, sub {
       resolve($a);
       defined resp('GET', "gonsters:machine:$a");
   }), 'Redis restarted: the cache is filled again, without reload');
my $hits = cache_count('hit');
($res, $j) = resolve($a);
is_deeply($j->{machines}, [$m{1}], 'Redis restarted: the machine');
is(cache_count('hit'), $hits + 1, 'Redis restarted: from the cache');


# ---- PostgreSQL stalled: cached machines still resolve ---------------------

resolve($a, $b);    # both cached
Gonsters::Test::stall('postgres');
my $t0 = time;
($res, $j) = resolve($a, $b, $a);
is($j->{rc}, 'ok', 'PostgreSQL stalled, all cached: rc ok');
is_deeply($j->{machines}, [$m{1}, $m{2}, $m{1}], 'PostgreSQL stalled, all cached: answered from Redis');

($res, $j) = resolve($a, $unknown);
is($j->{rc}, 'error', 'PostgreSQL stalled, a miss: rc error');
is($j->{status}, 'timeout', '... status timeout');
is_deeply($j->{machines}[0], $m{1}, '... the cached machine is there all the same');
Gonsters::Test::resume('postgres');


# ---- touch: last_seen in batches -------------------------------------------

my ($before) = psql("SELECT updated_at FROM machine_metadata WHERE id = '$a'");
is(http(GET => $t->url("/touch?ids=$a,$b,$a,bad"))->{status}, 204, 'touch answers at once');
ok(wait_until(5 * $scale, sub {
       my ($r) = psql("SELECT count(*) FROM machine_metadata WHERE id IN ('$a', '$b') "
                    . "AND last_seen > now() - interval '1 minute'");
       $r->[0] == 2;
   }), 'last_seen of the touched machines is written');
my ($after) = psql("SELECT updated_at FROM machine_metadata WHERE id = '$a'");
is($after->[0], $before->[0], 'updated_at is not changed by last_seen');

my ($cnull) = psql("SELECT last_seen IS NULL FROM machine_metadata WHERE id = '$c'");
is($cnull->[0], 't', 'an untouched machine has no last_seen');

Gonsters::Test::stall('postgres');
http(GET => $t->url("/touch?ids=" . uc $c));
select undef, undef, undef, 1.5 * $scale;    # a flush times out meanwhile
Gonsters::Test::resume('postgres');
ok(wait_until(10 * $scale, sub {
       my ($r) = psql("SELECT last_seen IS NOT NULL FROM machine_metadata WHERE id = '$c'");
       $r->[0] eq 't';
   }), 'a touch during a PostgreSQL stall is written after it');

$t->stop;

done_testing();
