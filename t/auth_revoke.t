#!/usr/bin/perl
# Fleet-wide token revocation (ngx_http_gonsters_revoke_module): two nginx
# instances A and B share the test stack's PostgreSQL and Redis.  A
# revocation on A is refused on A at once and on B within a second (Redis
# pub/sub); with Redis stalled it reaches B by B's next sync from
# PostgreSQL; a restarted B never answers 200 for a revoked token and
# answers 503 until its first load completes; HUP keeps the set; a Redis
# stall and resume never lets a token back in; PostgreSQL down at revoke
# time is reported (503); expired revocations are pruned from the zone.
# Tokens are made here (HS256), revocations through the test module's
# gonsters_test_revoke location.

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(env_or_bail hs256_token http json_body psql resume stall time_scale wait_until);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $S = time_scale();

psql(<<'SQL');
CREATE TABLE IF NOT EXISTS token_revocations (
    jti TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL DEFAULT now(), reason TEXT)
SQL

my $keys = tempdir('gonsters-keys-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $secret = 'r3v0' x 16;
open my $fh, '>', "$keys/hs" or die $!;
print $fh $secret;
close $fh;

my $json = JSON::PP->new->canonical->utf8;
my $run = "rv$$" . int(time);
my $seq = 0;

sub jti { return "$run-" . ++$seq }

sub token {
    my (%over) = @_;
    my $now = int time;
    my %c = (sub => 'd1c2084b-f16a-4eea-89d9-4402095d3af5', role => 'Operator',
             permissions => ['read:machines'], iat => $now, exp => $now + 3600,
             iss => 'gonsters-backend-api', aud => 'gonsters-dashboard',
             type => 'access', jti => jti());
    while (my ($k, $v) = each %over) {
        if (defined $v) { $c{$k} = $v } else { delete $c{$k} }
    }
    return (hs256_token($secret, \%c), $c{jti}, $c{exp});
}

my $conf = <<"CONF";
%%TEST_GLOBALS%%
worker_processes 2;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=auth_revoke";
    gonsters_postgres_query_timeout 1s;
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_jwt_key $keys/hs;
    gonsters_revocation_zone 1m;
    gonsters_revocation_sync 1s;
    gonsters_revocation_channel "gonsters:revocations:$run";

    server {
        listen 127.0.0.1:%%PORT%%;
        location /p { gonsters_auth jwt; gonsters_test_revoke_state; }
        location /revoke { gonsters_test_revoke; }
        location /state { gonsters_test_revoke_state; }
    }
}
CONF

my $A = Gonsters::Test->new->write_config($conf)->run;
my $B = Gonsters::Test->new->write_config($conf)->run;

sub get {
    my ($t, $token) = @_;
    return http(GET => $t->url('/p'),
                { headers => { Authorization => "Bearer $token" } });
}

sub status { return get(@_)->{status} }

sub state { return json_body(http(GET => $_[0]->url('/state'))) || {} }

sub revoke {
    my ($t, $jti, $exp) = @_;
    my $q = "jti=$jti" . (defined $exp ? "&exp=$exp" : '');
    return http(GET => $t->url("/revoke?$q"));
}

sub ready { my ($t) = @_; return wait_until(10 * $S, sub { state($t)->{ready} }) }

ok(ready($A), 'A: the revocation list is loaded');
ok(ready($B), 'B: the revocation list is loaded');
is(state($A)->{configured}, 1, 'A: configured');


# --- revoke on A: refused on A at once, on B within 1 s ----------------------

my ($t1, $j1, $e1) = token();
is(status($A, $t1), 200, 'a fresh token passes on A');
is(status($B, $t1), 200, 'a fresh token passes on B');

my $res = revoke($A, $j1, $e1);
is($res->{status}, 200, 'revocation on A stored') or diag $res->{content};
my ($row) = psql("SELECT extract(epoch FROM expires_at)::bigint FROM token_revocations WHERE jti = '$j1'");
is($row->[0], $e1, 'the row holds the token expiry');

$res = get($A, $t1);
is($res->{status}, 401, 'revoked token refused on A at once');
is((json_body($res) || {})->{message}, 'Token has been revoked', '... message');
like($res->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
     '... challenge invalid_token');

my $t0 = time;
ok(wait_until(1 * $S, sub { status($B, $t1) == 401 }),
   'revoked token refused on B within 1 s');
diag(sprintf 'reached B after %.3f s', time - $t0);

is(revoke($A, $j1, $e1)->{status}, 200, 'revoking twice is fine');

my ($tn) = token(jti => undef);
$res = get($A, $tn);
is($res->{status}, 401, 'a token without jti is refused');
like($res->{headers}{'www-authenticate'} // '', qr/token has no jti/, '... reason');

is(revoke($A, 'bad%20jti')->{status}, 400, 'a jti with a space is refused by the API');


# --- Redis stalled: A at once, B by its next sync ----------------------------

my ($t2, $j2, $e2) = token();
is(status($B, $t2), 200, 'second token passes on B');

stall('redis');
$t0 = time;
$res = revoke($A, $j2, $e2);
is($res->{status}, 200, 'redis stalled: revocation stored');
ok(time - $t0 < 0.5 * $S, 'redis stalled: the API does not wait for Redis');
is(status($A, $t2), 401, 'redis stalled: refused on A at once');
ok(wait_until(2.5 * $S, sub { status($B, $t2) == 401 }),
   'redis stalled: refused on B by its next sync');
diag(sprintf 'reached B after %.3f s (sync 1s)', time - $t0);
resume('redis');

is(status($A, $_), 401, 'after redis resumed: still refused on A') for $t1, $t2;
is(status($B, $_), 401, 'after redis resumed: still refused on B') for $t1, $t2;

# pub/sub works again after the resume (B's subscription reconnected)
ok(wait_until(5 * $S, sub {
    my ($tt, $jj, $ee) = token();
    revoke($A, $jj, $ee);
    wait_until(0.4, sub { status($B, $tt) == 401 });
}), 'after redis resumed: revocations reach B again');


# --- restart B: never 200 for a revoked token --------------------------------

$B->stop;
$B->run;
my @codes;
for (1 .. 20) {
    push @codes, status($B, $t1);
    sleep 0.01;
}
ok(!grep({ $_ == 200 } @codes), 'restarted B: the revoked token never passes')
    or diag "@codes";
ok(ready($B), 'restarted B: loaded');
is(status($B, $_), 401, 'restarted B: revoked tokens refused') for $t1, $t2;

# B restarted while PostgreSQL is stalled: 503 until the first load
my ($t3) = token();
stall('postgres');
$B->stop;
$B->run;
$res = get($B, $t3);
is($res->{status}, 503, 'restart without PostgreSQL: a valid token gets 503');
ok(defined $res->{headers}{'retry-after'}, '... with Retry-After');
is(status($B, $t1), 503, 'restart without PostgreSQL: a revoked token gets 503');
is(state($B)->{ready}, 0, 'restart without PostgreSQL: not ready');
resume('postgres');
ok(ready($B), 'PostgreSQL back: B loaded');
is(status($B, $t3), 200, 'PostgreSQL back: a valid token passes');
is(status($B, $t1), 401, 'PostgreSQL back: the revoked token is refused');


# --- HUP keeps the set --------------------------------------------------------

my $pid_before = state($A)->{pid};
my $count_before = state($A)->{count};
$A->signal('HUP');
my ($ok, $n, $deadline) = (1, 0, time + 2 * $S);
while (time < $deadline) {
    my $st = state($A);
    my ($c1, $c3) = (status($A, $t1), status($A, $t3));
    if ($c1 != 401 || $c3 != 200 || !$st->{ready}) {
        $ok = 0;
        diag("after HUP: revoked $c1, valid $c3, ready $st->{ready}");
    }
    $n++;
}
ok($ok && $n > 5, "HUP: revoked refused, valid passes, ready all along ($n rounds)");
ok(wait_until(5 * $S, sub { !kill 0, $pid_before }), 'HUP: old workers gone');
ok(state($A)->{count} >= $count_before, 'HUP: the set is kept');


# --- PostgreSQL down at revoke time -------------------------------------------

my ($t4, $j4, $e4) = token();
stall('postgres');
$res = revoke($A, $j4, $e4);
is($res->{status}, 503, 'PostgreSQL stalled: the revocation reports failure');
ok(defined $res->{headers}{'retry-after'}, '... with Retry-After');
resume('postgres');
is(status($A, $t4), 200, 'a failed revocation promises nothing');
ok(wait_until(5 * $S, sub { revoke($A, $j4, $e4)->{status} == 200 }),
   'PostgreSQL back: revocation stored');
is(status($A, $t4), 401, '... and applied');


# --- expired revocations are pruned -------------------------------------------

my $before = state($A);
my $jp = jti();
is(revoke($A, $jp, int(time) + 2)->{status}, 200, 'short-lived revocation');
is(state($A)->{count}, $before->{count} + 1, 'it is in the zone');
psql("INSERT INTO token_revocations (jti, expires_at) VALUES ('" . jti()
     . "', now() - interval '1 hour')");
ok(wait_until(6 * $S, sub { state($A)->{pruned} > $before->{pruned} }),
   'expired entry pruned');
my $after = state($A);
is($after->{count}, $before->{count}, 'the zone does not accumulate expired entries');


# --- configuration ------------------------------------------------------------

my $bad = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    gonsters_revocation_zone 1m;
}
CONF
my ($rc, $out) = $bad->test_config;
isnt($rc, 0, 'nginx -t: a revocation zone needs gonsters_postgres');
like($out, qr/needs "gonsters_postgres"/, '... says so');

$A->stop;
$B->stop;

psql("DELETE FROM token_revocations WHERE jti LIKE '$run-%'");

done_testing();
