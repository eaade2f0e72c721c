#!/usr/bin/perl
# POST /api/v1/auth/logout (ngx_http_gonsters_users.c): two nginx instances
# A and B share the test stack's PostgreSQL and Redis.  A user logs in on A
# (the real login endpoint) and logs out on A: the access token is refused
# on A at once and on B within a second, the session's refresh token is
# refused, another session of the same user is untouched, and the audit log
# has a LOGOUT row with IP, user agent and $request_id.  Also: POST only,
# no token 401, nginx -t refuses "gonsters_endpoint logout" without
# gonsters_revocation_zone or without "gonsters_auth jwt".

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(env_or_bail http json_body psql wait_until);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $S = Gonsters::Test::time_scale();

my $p = "tlo$$";
my $pw = 'Password123!';
# the seed's hash of Password123! (sql/demo/010_users.sql, operator1)
my $hash = '$2b$12$m9iA60jeR5AuatBCV9UPUel/MwmdXhsfzddLdaA54QcaTtXKtj3fu';

sub cleanup {
    eval {
        psql("DELETE FROM audit_logs WHERE username LIKE '${p}%'");
        psql("DELETE FROM refresh_tokens WHERE user_id IN "
           . "(SELECT id FROM users WHERE username LIKE '${p}%')");
        psql("DELETE FROM users WHERE username LIKE '${p}%'");
    };
}
END { cleanup() }
cleanup();

psql("INSERT INTO users (username, email, password_hash, role, factory_id, department) "
   . "VALUES ('${p}_op', '${p}_op\@test.example', '$hash', 'Operator', 'factory-A', 'Production')");
psql("INSERT INTO users (username, email, password_hash, role, factory_id, department) "
   . "VALUES ('${p}_mgr', '${p}_mgr\@test.example', '$hash', 'Management', 'factory-A', 'Management')");

my $keys = tempdir('gonsters-logout-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $fh, '>', "$keys/jwt" or die $!;
print $fh 'l0g0ut' x 8;
close $fh;

my $run = "lo$$" . int(time);

my $conf = <<"CONF";
%%TEST_GLOBALS%%
worker_processes 2;
thread_pool default threads=2;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=auth_logout";
    gonsters_postgres_query_timeout 2s;
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_jwt_key $keys/jwt;
    gonsters_password_hash bcrypt 4;
    %%REVOCATION%%

    server {
        listen 127.0.0.1:%%PORT%%;
        add_header X-Request-Id \$request_id always;
        location = /api/v1/auth/login   { gonsters_endpoint login; }
        location = /api/v1/auth/refresh { gonsters_endpoint refresh; }
        location = /api/v1/auth/me      { gonsters_auth jwt; gonsters_endpoint me; }
        location = /api/v1/auth/logout  { %%AUTH%% gonsters_endpoint logout; }
        location = /api/v1/auth/register { gonsters_endpoint register; }
    }
}
CONF

my $revocation = "gonsters_revocation_zone 1m; gonsters_revocation_sync 1s; "
               . "gonsters_revocation_channel \"gonsters:revocations:$run\";";

sub conf {
    my (%o) = @_;
    (my $c = $conf) =~ s/%%REVOCATION%%/$o{revocation} \/\/ $revocation/e;
    $c =~ s/%%AUTH%%/$o{auth} \/\/ 'gonsters_auth jwt;'/e;
    return $c;
}

# ---- nginx -t ---------------------------------------------------------------

{
    my $t = Gonsters::Test->new->write_config(conf(revocation => ''));
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, 'nginx -t: logout without gonsters_revocation_zone refused');
    like($out, qr/"gonsters_endpoint logout" in \S+:\d+ needs "gonsters_revocation_zone"/,
         '... naming the directive and where it is');

    $t = Gonsters::Test->new->write_config(conf(auth => ''));
    ($rc, $out) = $t->test_config;
    isnt($rc, 0, 'nginx -t: logout without gonsters_auth jwt refused');
    like($out, qr/"gonsters_endpoint logout" in \S+:\d+ needs "gonsters_auth jwt"/,
         '... naming the directive');

    $t = Gonsters::Test->new->write_config(conf());
    ($rc, $out) = $t->test_config;
    is($rc, 0, 'nginx -t: the complete configuration passes') or diag $out;
}

my $A = Gonsters::Test->new->write_config(conf())->run;
my $B = Gonsters::Test->new->write_config(conf())->run;

my $json = JSON::PP->new->canonical->utf8;

sub post {
    my ($t, $path, $body, $headers) = @_;
    return http(POST => $t->url($path), {
        headers => { 'Content-Type' => 'application/json', %{ $headers || {} } },
        content => defined $body ? $json->encode($body) : '' });
}

sub me {
    my ($t, $token) = @_;
    return http(GET => $t->url('/api/v1/auth/me'),
                { headers => { Authorization => "Bearer $token" } });
}

sub login {
    my $res = post($A, '/api/v1/auth/login', { username => "${p}_op", password => $pw });
    is($res->{status}, 200, 'login') or diag $res->{content};
    return json_body($res) || {};
}

# the revocation sets of A and B are loaded (fail closed until then)
ok(wait_until(10 * $S, sub {
       my $s = login();
       me($A, $s->{access_token})->{status} == 200
           && me($B, $s->{access_token})->{status} == 200 }),
   'A and B accept a fresh token');

my $s1 = login();
my $s2 = login();
my $at = $s1->{access_token};

is(me($A, $at)->{status}, 200, 'the access token passes on A');
is(me($B, $at)->{status}, 200, 'the access token passes on B');


# ---- method, no token ---------------------------------------------------------

my $res = http(GET => $A->url('/api/v1/auth/logout'),
               { headers => { Authorization => "Bearer $at" } });
is($res->{status}, 405, 'GET: 405');
like($res->{headers}{allow} // '', qr/POST/, '... Allow: POST');

$res = post($A, '/api/v1/auth/logout');
is($res->{status}, 401, 'no token: 401');
is_deeply(json_body($res), { status => 'error', message => 'Missing authorization header' },
          '... the JSON body');
like($res->{headers}{'www-authenticate'} // '', qr/^Bearer realm="/,
     '... WWW-Authenticate Bearer');

is(me($A, $at)->{status}, 200, 'the token still passes');


# ---- logout on A ---------------------------------------------------------------

$res = post($A, '/api/v1/auth/logout', undef,
            { Authorization => "Bearer $at", 'User-Agent' => "logout-test/$p" });
is($res->{status}, 200, 'logout: 200') or diag $res->{content};
like($res->{headers}{'content-type'} // '', qr{^application/json}, '... JSON');
is_deeply(json_body($res), { status => 'success', message => 'Logged out' },
          '... the body');
my $rid = $res->{headers}{'x-request-id'} // '';

$res = me($A, $at);
is($res->{status}, 401, 'the access token is refused on A at once');
is((json_body($res) || {})->{message}, 'Token has been revoked', '... revoked');
like($res->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
     '... error="invalid_token"');

my $t0 = time;
ok(wait_until(1 * $S, sub { me($B, $at)->{status} == 401 }),
   'the access token is refused on B within 1 s');
diag(sprintf 'reached B after %.3f s', time - $t0);
is((json_body(me($B, $at)) || {})->{message}, 'Token has been revoked',
   '... revoked on B');

$res = post($A, '/api/v1/auth/refresh', { refresh_token => $s1->{refresh_token} });
is($res->{status}, 401, "the session's refresh token is refused");
is((json_body($res) || {})->{message}, 'Refresh token has been revoked',
   '... as revoked');
$res = post($B, '/api/v1/auth/refresh', { refresh_token => $s1->{refresh_token} });
is($res->{status}, 401, '... on B too');

$res = post($A, '/api/v1/auth/logout', undef, { Authorization => "Bearer $at" });
is($res->{status}, 401, 'logout again with the revoked token: 401');

# another session of the same user is untouched
is(me($A, $s2->{access_token})->{status}, 200, 'another session still passes');
$res = post($B, '/api/v1/auth/refresh', { refresh_token => $s2->{refresh_token} });
is($res->{status}, 200, "... and its refresh token still works") or diag $res->{content};


# ---- a logged-out token creates no account on register ------------------------

{
    my $mgr = json_body(post($A, '/api/v1/auth/login',
                             { username => "${p}_mgr", password => $pw })) || {};
    my $mat = $mgr->{access_token} // '';
    my $new = { username => "${p}_sup", email => "${p}_sup\@test.example",
                password => 'a-long-Passw0rd', role => 'Supervisor' };
    my $out = http(POST => $A->url('/api/v1/auth/logout'),
                   { headers => { Authorization => "Bearer $mat" } });
    is($out->{status}, 200, 'the manager logs out');
    my $reg = http(POST => $A->url('/api/v1/auth/register'),
                   { headers => { Authorization => "Bearer $mat",
                                  'Content-Type' => 'application/json' },
                     content => encode_json($new) });
    is($reg->{status}, 401, 'register with the revoked manager token: 401');
    is((json_body($reg) || {})->{message}, 'Token has been revoked', '... revoked');
    my ($n) = psql("SELECT count(*) FROM users WHERE username = '${p}_sup'");
    is($n->[0], 0, '... and no account was created');
}

# ---- the audit row ---------------------------------------------------------------

my @rows = psql("SELECT action, status_code, ip_address, user_agent, request_id, role, "
              . "changes->>'refresh_tokens_revoked', changes->>'jti' "
              . "FROM audit_logs WHERE username = '${p}_op' AND action = 'LOGOUT'");
is(scalar @rows, 1, 'one LOGOUT audit row');
my $r = $rows[0] || [];
is($r->[1], 200, '... status 200');
is($r->[2], '127.0.0.1', '... the client address');
is($r->[3], "logout-test/$p", '... the user agent');
ok($rid ne '' && ($r->[4] // '') eq $rid, '... the request id (X-Request-Id)');
is($r->[5], 'Operator', '... the role');
is($r->[6], 1, '... one refresh token revoked');
ok(length($r->[7] // ''), '... the jti');

my ($fam) = psql("SELECT count(*) FROM refresh_tokens rt JOIN users u ON u.id = rt.user_id "
               . "WHERE u.username = '${p}_op' AND rt.revoked_at IS NOT NULL");
is($fam->[0], 1, 'only the logged-out family is revoked in PostgreSQL');

$A->stop;
$B->stop;

done_testing();
