#!/usr/bin/perl
# The seed's three events (Part 3 §1), produced for real against the test
# stack: DEBUG "Payload validation successful" with the validation time for
# a valid configuration update (none for an invalid one); WARNING "Redis
# connection lost, initiating self-healing retry" when the stack's Redis is
# killed, then retries with a doubling delay, until it is back; ERROR
# "Failed to persist data to PostgreSQL after retries" when PostgreSQL is
# down during an update (three attempts, 503), and once, without repeating,
# when a stalled PostgreSQL (SIGSTOP) lets the update reach its deadline
# while other locations keep answering.  The request id of an event
# is the access log's $request_id and the audit row's request_id.  Every
# line is JSON with all fields.  Leaves Redis and PostgreSQL running.

use strict;
use warnings;
use lib 't/lib';

use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use Gonsters::Test qw(env_or_bail finish_requests hs256_token http json_body
                     psql read_file start_request wait_until write_file);
use Gonsters::Redis qw(resp redis_kill redis_start);

my $run = env_or_bail('GONSTERS_RUN_DIR');
my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $S = Gonsters::Test::time_scale();
my $json = JSON::PP->new->utf8;
my $p = "tev$$";
my $main_pid = $$;

my $pgbin = '/usr/lib/postgresql/15/bin';
my $pgdir = abs_path("$run/pg") or BAIL_OUT("no $run/pg");
my $pg_opts = pg_options();

END {
    return unless $$ == $main_pid;
    pg_start() if defined $pg_opts && !pg_running();
    eval {
        psql("UPDATE system_config SET setting_value = default_value "
           . "WHERE default_value IS NOT NULL AND setting_value IS DISTINCT FROM default_value");
        psql("DELETE FROM audit_logs WHERE username LIKE '${p}%'");
        psql("DELETE FROM users WHERE username LIKE '${p}%'");
    } if length $p;
}

# ---- the stack's services (as scripts/stack.sh starts them) --------------

sub pg_ctl {
    my @cmd = ("$pgbin/pg_ctl", '-D', "$pgdir/data", @_);
    unshift @cmd, 'runuser', '-u', 'postgres', '--' if $> == 0;
    my $out = qx{@{[ join ' ', map { quotemeta } @cmd ]} 2>&1};
    return $? == 0 ? 1 : do { diag("pg_ctl @_: $out"); 0 };
}

sub pg_options {
    open my $fh, '<', "$pgdir/data/postmaster.opts" or return undef;
    my @words = <$fh> =~ /"([^"]*)"/g;
    my @opts;
    while (@words) {
        my $w = shift @words;
        if ($w eq '-D') { shift @words; next }
        push @opts, $w;
    }
    return join ' ', map { "'$_'" } @opts;
}

sub pg_running {
    open my $fh, '<', "$pgdir/data/postmaster.pid" or return 0;
    chomp(my $pid = <$fh> // '');
    return $pid && kill 0, $pid;
}

sub pg_start { pg_ctl('-l', "$pgdir/server.log", '-w', '-o', $pg_opts, 'start') }

# ---- an nginx with the event log at debug --------------------------------

my $keys = tempdir('gonsters-ev-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $secret = 'ev3n' x 12;
write_file("$keys/jwt", $secret);

my ($row) = psql("INSERT INTO users (username, email, password_hash, role) "
               . "VALUES ('${p}_m', '${p}_m\@test.example', 'x', 'Management') RETURNING id");
my $token = hs256_token($secret, {
    sub => $row->[0], username => "${p}_m", role => 'Management',
    permissions => [qw(read:config write:config)], iss => 'gonsters-backend-api',
    aud => 'gonsters-dashboard', iat => time, exp => time + 3600, jti => $p, type => 'access' });

my $t = Gonsters::Test->new->write_config(<<"CONF")->run;
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    log_format ids '\$request_id \$status "\$http_user_agent"';
    access_log logs/ids.log ids;
    gonsters_event_log logs/events.log debug;
    gonsters_postgres "$dsn application_name=event_log_events";
    gonsters_postgres_connect_timeout 1s;
    gonsters_postgres_query_timeout 1s;
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_redis_reconnect 50ms;
    gonsters_jwt_key $keys/jwt;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /api/v1/config/update {
            gonsters_auth jwt;
            gonsters_require_permission write:config;
            gonsters_endpoint config_update;
        }
        location = /health/redis { gonsters_endpoint health_redis; }
        location = /plain { return 200 "plain"; }
    }
}
CONF

my $events = $t->prefix . '/logs/events.log';

sub events {
    return map { my $e = eval { $json->decode($_) }; $e ? $e : { unparsed => $_ } }
           grep { length } split /\n/, read_file($events);
}

sub update {
    my ($body, $ua) = @_;
    return http(POST => $t->url('/api/v1/config/update'),
                { headers => { Authorization => "Bearer $token", 'Content-Type' => 'application/json',
                               'User-Agent' => $ua },
                  content => $json->encode($body) });
}

sub access_id {
    my ($ua) = @_;
    my $id;
    wait_until(5, sub {
        for (reverse split /\n/, read_file($t->prefix . '/logs/ids.log')) {
            return $id = $1 if /^(\S+) \d+ "\Q$ua\E"$/;
        }
        0;
    });
    return $id;
}


# ---- DEBUG: payload validation successful --------------------------------

{
    my $ua = "ev-debug/$p";
    my $res = update({ setting_name => 'max_temperature_threshold', setting_value => 81.5 }, $ua);
    is($res->{status}, 200, 'a valid update: 200') or diag($res->{content});
    my $rid = access_id($ua);
    ok($rid, 'the access log has its request id');
    my ($e) = grep { ($_->{request_id} // '') eq ($rid // '-') && $_->{level} eq 'DEBUG' } events();
    ok($e, 'a DEBUG event with the access log\'s request id');
    is($e->{logger}, 'gonsters.config', '... logger');
    is($e->{message}, 'Payload validation successful', '... the seed\'s message');
    is($e->{context}{endpoint}, '/api/v1/config/update', '... endpoint');
    is($e->{context}{method}, 'POST', '... method');
    is($e->{context}{client_ip}, '127.0.0.1', '... client_ip');
    is($e->{context}{user_agent}, $ua, '... user_agent');
    is($e->{context}{validation}{schema}, 'ConfigUpdateRequest', '... validation.schema');
    is($e->{context}{validation}{setting_name}, 'max_temperature_threshold', '... validation.setting_name');
    is($e->{context}{validation}{value_json_type}, 'number', '... validation.value_json_type');
    my $us = $e->{context}{validation}{validation_time_us};
    ok(defined $us && $us =~ /^[0-9.eE+-]+$/ && $us >= 0, "... validation_time_us is a number ($us)");
    my ($a) = psql("SELECT count(*) FROM audit_logs WHERE request_id = '$rid' AND action = 'UPDATE_CONFIG'");
    is($a->[0], 1, '... and the audit row has the same request id');

    $ua = "ev-bad/$p";
    $res = update({ setting_name => 'max_temperature_threshold', setting_value => JSON::PP::true }, $ua);
    is($res->{status}, 400, 'an invalid body: 400');
    $rid = access_id($ua);
    is(scalar(grep { ($_->{request_id} // '') eq ($rid // '-') } events()), 0,
       '... no validation event for it');
}


# ---- WARNING: Redis connection lost, with retry ------------------------------

{
    is(http(GET => $t->url('/health/redis'))->{status}, 200, 'Redis is up for this nginx');
    redis_kill();
    ok(wait_until(10 * $S, sub { grep { ($_->{logger} // '') eq 'gonsters.redis'
                                        && $_->{context}{retry_attempt} >= 3 } events() }),
       'Redis killed: WARNING events, three attempts so far');
    my @w = grep { ($_->{logger} // '') eq 'gonsters.redis' && $_->{context}{connection} eq 'command' } events();
    my $first = $w[0] || {};
    is($first->{level}, 'WARNING', 'the first is a WARNING');
    is($first->{message}, 'Redis connection lost, initiating self-healing retry', '... the seed\'s message');
    is($first->{context}{service}, 'redis', '... service');
    is($first->{context}{address}, "127.0.0.1:$redis_port", '... address');
    ok(length($first->{context}{error} // ''), "... the error ($first->{context}{error})");
    is($first->{context}{retry_attempt}, 1, '... retry_attempt 1');
    is($first->{context}{retry_delay_seconds}, 0.05, '... the first delay (gonsters_redis_reconnect)');
    is($first->{context}{max_retry_delay_seconds}, 1.5, '... the cap (30 times it)');
    is($first->{context}{backoff_strategy}, 'exponential', '... exponential backoff');
    ok(exists $first->{context}{fallback_action}, '... the fallback');
    ok(!defined $first->{request_id}, '... no request: request_id null');
    my ($second) = grep { $_->{context}{retry_attempt} == 2 } @w;
    is($second && $second->{message}, 'Redis still unreachable, retrying', 'the second attempt');
    is($second && $second->{context}{retry_delay_seconds}, 0.1, '... with the delay doubled');
    like($second && $second->{context}{error}, qr/refused|connect/i, '... connection refused');

    redis_start();
    ok(wait_until(10 * $S, sub { http(GET => $t->url('/health/redis'))->{status} == 200 }),
       'Redis back: the connection heals without a reload');
}


# ---- ERROR: PostgreSQL persistence failure after retries ---------------------

{
    my $ua = "ev-ok/$p";
    is(update({ setting_name => 'inactivity_timeout', setting_value => 301 }, $ua)->{status}, 200,
       'an update while PostgreSQL is up: 200 (the pool has a connection)');

    ok(pg_ctl('-m', 'immediate', 'stop'), 'PostgreSQL stopped (immediate)');
    $ua = "ev-error/$p";
    my $res = update({ setting_name => 'inactivity_timeout', setting_value => 302 }, $ua);
    is($res->{status}, 503, 'an update while PostgreSQL is down: 503');
    ok($res->{headers}{'retry-after'}, '... with Retry-After');
    my $rid = access_id($ua);
    my ($e) = grep { ($_->{request_id} // '') eq ($rid // '-') && $_->{level} eq 'ERROR' } events();
    ok($e, 'an ERROR event with the access log\'s request id');
    is($e->{logger}, 'gonsters.postgres', '... logger');
    is($e->{message}, 'Failed to persist data to PostgreSQL after retries', '... message');
    is($e->{context}{service}, 'postgresql', '... service');
    is($e->{context}{operation}, 'update_config', '... operation');
    is($e->{context}{table}, 'system_config', '... table');
    is($e->{context}{setting_name}, 'inactivity_timeout', '... the setting');
    is($e->{context}{outcome}, 'unavailable', '... outcome');
    is($e->{context}{retry_attempts}, 3, '... three attempts');
    is($e->{context}{max_retries}, 3, '... of three');
    ok($e->{context}{total_retry_duration_seconds} >= 0.3,
       "... after the 100 and 200 ms pauses ($e->{context}{total_retry_duration_seconds} s)");
    ok(length($e->{context}{error} // ''), "... the error ($e->{context}{error})");
    is($e->{context}{username}, "${p}_m", '... the user');
    is($e->{context}{endpoint}, '/api/v1/config/update', '... the endpoint');
    my @warn = grep { /gonsters: update_config attempt \d failed/ } split /\n/, $t->read_log;
    is(scalar @warn, 2, 'two failed attempts were retried (error.log)');

    ok(pg_start(), 'PostgreSQL started again');
    ok(wait_until(10 * $S, sub {
        update({ setting_name => 'inactivity_timeout', setting_value => 303 }, "ev-up/$p")->{status} == 200 }),
       'updates succeed again');
    my ($v) = psql("SELECT setting_value FROM system_config WHERE setting_name = 'inactivity_timeout'");
    is($v->[0], '303', '... and nothing of the failed one was stored');
}


# ---- a stalled PostgreSQL: the update waits alone, then an ERROR ----------------

{
    Gonsters::Test::stall('postgres');
    my $ua = "ev-stall/$p";
    my $body = $json->encode({ setting_name => 'inactivity_timeout', setting_value => 304 });
    my ($upd) = start_request($t->port, 'POST', '/api/v1/config/update',
                              headers => [[ Authorization => "Bearer $token" ],
                                          [ 'Content-Type' => 'application/json' ],
                                          [ 'User-Agent' => $ua ]],
                              body => $body);
    my ($plain) = finish_requests(5 * $S, start_request($t->port, 'GET', '/plain'));
    is($plain->{status}, 200, 'PostgreSQL stalled: another location answers');
    ($upd) = finish_requests(10 * $S, $upd);
    ok($upd->{done} && $upd->{done} > $plain->{done}, '... while the update was still waiting');
    is($upd->{status}, 503, '... the update: 503 at its deadline');
    Gonsters::Test::resume('postgres');
    my $rid = access_id($ua);
    my ($e) = grep { ($_->{request_id} // '') eq ($rid // '-') && $_->{level} eq 'ERROR' } events();
    is($e && $e->{message}, 'Failed to persist data to PostgreSQL', 'an ERROR event');
    is($e && $e->{context}{outcome}, 'timeout', '... timeout');
    is($e && $e->{context}{retry_attempts}, 1, '... not repeated (the deadline is spent)');
    ok(wait_until(10 * $S, sub {
        update({ setting_name => 'inactivity_timeout', setting_value => 305 }, "ev-up2/$p")->{status} == 200 }),
       'resumed: updates succeed again');
}


# ---- every line: JSON with all fields ------------------------------------------

{
    my @all = events();
    my @bad = grep {
        my $e = $_;
        $e->{unparsed} || grep { !exists $e->{$_} } qw(timestamp level logger message context request_id)
    } @all;
    is(scalar @bad, 0, scalar(@all) . ' event lines, each JSON with all six fields')
        or diag(explain \@bad);
    ok(!grep({ $_->{level} !~ /^(DEBUG|INFO|WARNING|ERROR)$/ } @all), 'levels are the seed\'s names');
}

$t->stop;

done_testing;
