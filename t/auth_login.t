#!/usr/bin/perl
# Users and tokens (ngx_http_gonsters_users.c): login by username and by
# email with the seed's answer field for field, the access token's claims
# and its use on "gonsters_auth jwt" locations, same 401 for a wrong user
# and a wrong password, inactive accounts, lockout with Retry-After,
# malformed bodies, /me, refresh rotation and reuse revoking the family,
# registration rules and 409s, audit rows with nginx's $request_id, and a
# slow (bcrypt) login that does not delay other requests of the worker.
# The test users get the seed's bcrypt hashes under names of their own.

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64url);
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(env_or_bail http json_body psql wait_until);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
env_or_bail('GONSTERS_PG_PORT');
my $S = Gonsters::Test::time_scale();

my $p = "tl$$";
my $pw = 'Password123!';
my %hash = (
    Operator   => '$2b$12$m9iA60jeR5AuatBCV9UPUel/MwmdXhsfzddLdaA54QcaTtXKtj3fu',
    Management => '$2b$12$n9HvhqwuSB6MGz3PycRaQuCemlw8/L7XqTc0KouXIlkCozucsHfGa',
);

sub cleanup {
    eval {
        psql("DELETE FROM audit_logs WHERE username LIKE '${p}%'");
        psql("DELETE FROM users WHERE username LIKE '${p}%'");
    };
}
END { cleanup() }
cleanup();

sub add_user {
    my ($name, $role, $active) = @_;
    psql("INSERT INTO users (username, email, password_hash, role, factory_id, department, is_active) "
       . "VALUES ('$p$name', '$p$name\@test.example', '$hash{$role}', '$role', 'factory-A', 'Production', "
       . ($active ? 'true' : 'false') . ")");
}
add_user('_op', 'Operator', 1);
add_user('_mgr', 'Management', 1);
add_user('_inact', 'Operator', 0);
add_user('_lock', 'Operator', 1);

my $keys = tempdir('gonsters-login-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $secret = 'c0ffee' x 8;
open my $fh, '>', "$keys/jwt" or die $!;
print $fh $secret;
close $fh;

my $conf = <<'CONF';
%%TEST_GLOBALS%%
worker_processes 1;
thread_pool default threads=4;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "%%DSN%% application_name=auth_login";
    gonsters_jwt_key %%KEY%%;
    gonsters_password_hash bcrypt 4;
    gonsters_login_max_failures 3;
    gonsters_login_failure_window 60s;
    gonsters_login_lockout 3s;
    gonsters_jwt_access_ttl 10m;
    gonsters_jwt_refresh_ttl 1d;
    %%REGISTRATION%%
    server {
        listen 127.0.0.1:%%PORT%%;
        add_header X-Request-Id $request_id always;
        location = /api/v1/auth/login    { gonsters_endpoint login; }
        location = /api/v1/auth/refresh  { gonsters_endpoint refresh; }
        location = /api/v1/auth/register { gonsters_endpoint register; }
        location = /api/v1/auth/me       { gonsters_auth jwt; gonsters_endpoint me; }
        location = /users-only {
            gonsters_auth jwt;
            gonsters_require_permission write:users;
            gonsters_endpoint me;
        }
        location = /me-open { gonsters_endpoint me; }
        location = /ret { return 200 "ok\n"; }
    }
}
CONF
$conf =~ s/%%DSN%%/$dsn/;
$conf =~ s/%%KEY%%/$keys\/jwt/;
# the revocation set makes refresh reuse refuse the family's access tokens
(my $open_conf = $conf) =~ s/%%REGISTRATION%%/gonsters_revocation_zone 1m;/;
(my $off_conf = $conf) =~ s/%%REGISTRATION%%/gonsters_registration off;/;

my $t = Gonsters::Test->new->write_config($open_conf);
$t->run;

my $json = JSON::PP->new->canonical->utf8;

sub post {
    my ($path, $body, $headers) = @_;
    my $content = ref $body ? $json->encode($body) : $body;
    return http(POST => $t->url($path), {
        headers => { 'Content-Type' => 'application/json', %{ $headers || {} } },
        content => $content });
}

sub payload {
    my ($token) = @_;
    my (undef, $claims) = split /\./, $token // '';
    return eval { $json->decode(decode_base64url($claims // '')) } || {};
}

sub header_of {
    my ($token) = @_;
    my ($h) = split /\./, $token // '';
    return eval { $json->decode(decode_base64url($h // '')) } || {};
}

# ---- login by username: the seed's body, field for field ---------------------

my $res = post('/api/v1/auth/login', { username => "${p}_op", password => $pw });
is($res->{status}, 200, 'login by username');
like($res->{headers}{'content-type'}, qr{^application/json}, 'JSON');
my $b = json_body($res) || {};
is_deeply([sort keys %$b],
          [qw(access_token expires_in refresh_token status token_type user)],
          "the seed's top-level fields");
is($b->{status}, 'success', 'status success');
is($b->{token_type}, 'Bearer', 'token_type Bearer');
is($b->{expires_in}, 600, 'expires_in is gonsters_jwt_access_ttl');
my $u = $b->{user} || {};
is_deeply([sort keys %$u],
          [qw(created_at department email factory_id id is_active last_login permissions role username)],
          "the seed's user fields");
is($u->{username}, "${p}_op", 'user.username');
is($u->{email}, "${p}_op\@test.example", 'user.email');
is($u->{role}, 'Operator', 'user.role');
is($u->{factory_id}, 'factory-A', 'user.factory_id');
is($u->{department}, 'Production', 'user.department');
ok($u->{is_active} && JSON::PP::is_bool($u->{is_active}), 'user.is_active is true');
is_deeply($u->{permissions}, [qw(read:machines read:sensor_data write:sensor_data)],
          "the Operator's permissions, from role_permissions, in the seed's order");
like($u->{id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'user.id is a UUID');
like($u->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/, 'created_at in the seed format');
like($u->{last_login}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/, 'last_login set, seed format');
my ($db_last) = psql("SELECT last_login IS NOT NULL AND last_login > now() - interval '1 minute' "
                   . "FROM users WHERE username = '${p}_op'");
is($db_last->[0], 't', 'users.last_login updated');

my $access = $b->{access_token};
my $refresh = $b->{refresh_token};
my $c = payload($access);
is(header_of($access)->{alg}, 'HS256', 'access token: HS256');
is($c->{sub}, $u->{id}, 'claim sub');
is($c->{username}, "${p}_op", 'claim username');
is($c->{email}, "${p}_op\@test.example", 'claim email');
is($c->{role}, 'Operator', 'claim role');
is_deeply($c->{permissions}, $u->{permissions}, 'claim permissions');
is($c->{factory_id}, 'factory-A', 'claim factory_id');
is($c->{department}, 'Production', 'claim department');
is($c->{iss}, 'gonsters-backend-api', 'claim iss');
is($c->{aud}, 'gonsters-dashboard', 'claim aud');
is($c->{type}, 'access', 'claim type access');
like($c->{jti}, qr/^[0-9a-f]{32}$/, 'claim jti: 128 random bits in hex');
like($c->{fam}, qr/^[0-9a-f]{32}$/, 'claim fam');
ok(abs($c->{iat} - time) < 60, 'claim iat now');
is($c->{exp} - $c->{iat}, 600, 'exp - iat is the access ttl');
my $rc = payload($refresh);
is($rc->{type}, 'refresh', 'refresh token: type refresh');
is($rc->{fam}, $c->{fam}, 'same family id in both');
isnt($rc->{jti}, $c->{jti}, 'its own jti');
is($rc->{exp} - $rc->{iat}, 86400, 'refresh ttl');
my ($stored) = psql("SELECT family_id, user_id, rotated_at IS NULL, revoked_at IS NULL, "
                  . "token_hash = encode(sha256('$refresh'::bytea), 'hex') "
                  . "FROM refresh_tokens WHERE jti = '$rc->{jti}'");
is_deeply($stored, [$c->{fam}, $u->{id}, 't', 't', 't'], 'refresh token stored by hash, in its family');
my ($plain) = psql("SELECT count(*) FROM refresh_tokens WHERE token_hash = '$refresh'");
is($plain->[0], 0, 'the token itself is not stored');

# ---- the access token on gonsters_auth jwt locations ------------------------

$res = http(GET => $t->url('/api/v1/auth/me'), { headers => { Authorization => "Bearer $access" } });
is($res->{status}, 200, '/me with the access token');
my $me = json_body($res) || {};
is($me->{status}, 'success', '/me status');
is_deeply([sort keys %{ $me->{user} || {} }], [sort keys %$u], '/me: the same user object');
is($me->{user}{id}, $u->{id}, '/me: the same user');
$res = http(GET => $t->url('/api/v1/auth/me'));
is($res->{status}, 401, '/me without a token: 401');
like($res->{headers}{'www-authenticate'} // '', qr/^Bearer /, 'with WWW-Authenticate');
$res = http(GET => $t->url('/me-open'), { headers => { Authorization => "Bearer $access" } });
is($res->{status}, 401, '/me on a location without gonsters_auth: 401, never a user');
is((json_body($res) || {})->{status}, 'error', 'as JSON');
$res = http(GET => $t->url('/users-only'), { headers => { Authorization => "Bearer $access" } });
is($res->{status}, 403, 'an Operator lacks write:users: 403');
$res = http(GET => $t->url('/api/v1/auth/me'), { headers => { Authorization => "Bearer $refresh" } });
is($res->{status}, 401, 'a refresh token is not an access token');

# ---- login by email, Management ----------------------------------------------

$res = post('/api/v1/auth/login', { email => "${p}_mgr\@test.example", password => $pw });
is($res->{status}, 200, 'login by email');
$b = json_body($res) || {};
is($b->{user}{role}, 'Management', 'Management');
is_deeply($b->{user}{permissions},
          [qw(read:machines write:machines delete:machines read:sensor_data write:sensor_data
              delete:sensor_data read:config write:config read:users write:users delete:users
              read:reports write:reports)], "Management's permissions as the seed maps them");
my $mgr_access = $b->{access_token};
$res = post('/api/v1/auth/login', { username => "${p}_mgr\@test.example", password => $pw });
is($res->{status}, 200, 'an email in the username field works too');
$res = http(GET => $t->url('/users-only'), { headers => { Authorization => "Bearer $mgr_access" } });
is($res->{status}, 200, 'Management passes write:users');

# ---- failures: same body for wrong password and unknown user -----------------

my $t0 = time;
my $wrong = post('/api/v1/auth/login', { username => "${p}_mgr", password => 'nope-nope-nope' });
my $t_wrong = time - $t0;
$t0 = time;
my $unknown = post('/api/v1/auth/login', { username => "${p}_nobody", password => 'nope-nope-nope' });
my $t_unknown = time - $t0;
is($wrong->{status}, 401, 'wrong password: 401');
is($unknown->{status}, 401, 'unknown user: 401');
is($wrong->{content}, $unknown->{content}, 'the same body for both');
is_deeply(json_body($wrong), { status => 'error', message => 'Invalid username or password' }, 'the body');
ok($t_unknown > 0.4 * $t_wrong, sprintf('unknown user also costs a bcrypt check (%.3f s vs %.3f s)',
                                        $t_unknown, $t_wrong));
post('/api/v1/auth/login', { username => "${p}_mgr", password => $pw });   # clears the count

$res = post('/api/v1/auth/login', { username => "${p}_inact", password => 'wrong-password' });
is_deeply(json_body($res), { status => 'error', message => 'Invalid username or password' },
          'inactive user, wrong password: the generic 401');
$res = post('/api/v1/auth/login', { username => "${p}_inact", password => $pw });
is($res->{status}, 401, 'inactive user, right password: 401');
is((json_body($res) || {})->{message}, 'User account is inactive', 'says inactive');

# ---- lockout ------------------------------------------------------------------

for my $i (1 .. 3) {
    $res = post('/api/v1/auth/login', { username => "${p}_lock", password => "wrong-$i-password" });
    is($res->{status}, 401, "failure $i: 401");
}
$res = post('/api/v1/auth/login', { username => "${p}_lock", password => $pw });
is($res->{status}, 429, 'locked after 3 failures: the right password gets 429');
my $ra = $res->{headers}{'retry-after'} // 0;
ok($ra >= 1 && $ra <= 3, "Retry-After $ra within the lockout");
like((json_body($res) || {})->{message} // '', qr/locked/, 'says locked');
ok(wait_until(6 * $S, sub {
    post('/api/v1/auth/login', { username => "${p}_lock", password => $pw })->{status} == 200
}), 'after the lockout the right password works again');
my ($fails) = psql("SELECT failed_logins, locked_until IS NULL FROM users WHERE username = '${p}_lock'");
is_deeply($fails, [0, 't'], 'success clears the counter');

# ---- malformed bodies ---------------------------------------------------------

my @bad = (
    ['not JSON', 'username=x&password=y', 'body'],
    ['a JSON array', '[1,2]', 'body'],
    ['a JSON string', '"x"', 'body'],
    ['empty', '', 'body'],
    ['truncated', '{"username":"x","pass', 'body'],
    ['no fields', '{}', 'username'],
    ['no password', qq({"username":"${p}_op"}), 'password'],
    ['number username', '{"username":1,"password":"x"}', 'username'],
    ['array password', qq({"username":"${p}_op","password":["x"]}), 'password'],
    ['object email', '{"email":{},"password":"x"}', 'email'],
    ['invalid UTF-8', qq({"username":"\xff\xfe","password":"x"}), 'username'],
    ['a NUL in a string', qq({"username":"${p}_op","password":"Password123!\\u0000x"}), 'body'],
);
for my $case (@bad) {
    my ($name, $body, $field) = @$case;
    $res = post('/api/v1/auth/login', $body);
    is($res->{status}, 400, "$name: 400");
    my $e = json_body($res) || {};
    is($e->{status}, 'error', "$name: JSON error");
    ok((grep { ($_->{field} // '') eq $field } @{ $e->{errors} || [] }), "$name: names $field")
        or diag($res->{content});
}
$res = post('/api/v1/auth/login', '{"username":"' . ('a' x 1_000_000) . '","password":"x"}');
is($res->{status}, 413, 'a 1 MB body: 413');
is((json_body($res) || {})->{status}, 'error', 'as JSON');
my @chunks = ('{"username":"' . ('b' x 100_000), ('b' x 100_000) . '","password":"x"}');
$res = http(POST => $t->url('/api/v1/auth/login'), {
    headers => { 'Content-Type' => 'application/json' },
    content => sub { shift @chunks } });
is($res->{status}, 413, 'a 200 KB chunked body (no Content-Length): 413');
is((json_body($res) || {})->{status}, 'error', 'as JSON');
$res = http(GET => $t->url('/api/v1/auth/login'));
is($res->{status}, 405, 'GET login: 405');

# ---- refresh: rotation, reuse revokes the family -----------------------------

$res = post('/api/v1/auth/login', { username => "${p}_op", password => $pw });
my $r1 = (json_body($res) || {})->{refresh_token};
my $fam = payload($r1)->{fam};
$res = post('/api/v1/auth/refresh', { refresh_token => $r1 });
is($res->{status}, 200, 'refresh: 200');
$b = json_body($res) || {};
my $r2 = $b->{refresh_token};
isnt($r2, $r1, 'a new refresh token');
is(payload($r2)->{fam}, $fam, 'in the same family');
is($b->{token_type}, 'Bearer', 'the login body again');
is($b->{user}{username}, "${p}_op", 'with the user');
$res = http(GET => $t->url('/api/v1/auth/me'), { headers => { Authorization => "Bearer $b->{access_token}" } });
is($res->{status}, 200, 'the new access token works');
my $a2 = $b->{access_token};
$res = post('/api/v1/auth/refresh', { refresh_token => $r2 });
is($res->{status}, 200, 'the successor refreshes');
$b = json_body($res) || {};
my ($r3, $a3) = @$b{qw(refresh_token access_token)};
$res = post('/api/v1/auth/login', { username => "${p}_op", password => $pw });
my $other = (json_body($res) || {})->{access_token};
$res = post('/api/v1/auth/refresh', { refresh_token => $r1 });
is($res->{status}, 401, 'reusing a rotated token: 401');
like((json_body($res) || {})->{message} // '', qr/reuse/i, 'says reuse');
for ([$a2, 'an earlier'], [$a3, 'the newest']) {
    $res = http(GET => $t->url('/api/v1/auth/me'), { headers => { Authorization => "Bearer $_->[0]" } });
    is($res->{status}, 401, "$_->[1] access token of the family is refused at once");
    like($res->{headers}{'www-authenticate'} // '', qr/revoked/, 'as revoked');
}
$res = http(GET => $t->url('/api/v1/auth/me'), { headers => { Authorization => "Bearer $other" } });
is($res->{status}, 200, 'a session of another login goes on');
$res = post('/api/v1/auth/refresh', { refresh_token => $r3 });
is($res->{status}, 401, 'the newest token of the family is revoked too');
my ($left) = psql("SELECT count(*) FROM refresh_tokens WHERE family_id = '$fam' AND revoked_at IS NULL");
is($left->[0], 0, 'the whole family is revoked');
my ($reuse) = psql("SELECT count(*) FROM audit_logs WHERE action = 'REFRESH_REUSE' "
                 . "AND username = '${p}_op' AND status_code = 401");
is($reuse->[0], 1, 'audit REFRESH_REUSE');
$res = post('/api/v1/auth/refresh', { refresh_token => $access });
is($res->{status}, 401, 'an access token is not a refresh token');
(my $forged = $r3) =~ s/\.[^.]+$/.AAAA/;
$res = post('/api/v1/auth/refresh', { refresh_token => $forged });
is($res->{status}, 401, 'a bad signature: 401');
$res = post('/api/v1/auth/refresh', { refresh_token => 5 });
is($res->{status}, 400, 'refresh_token not a string: 400');
$res = post('/api/v1/auth/refresh', {});
is($res->{status}, 400, 'no refresh_token: 400');

# ---- register -----------------------------------------------------------------

my %new = (username => "${p}_new", email => "${p}_new\@test.example",
           password => 'a long enough pass', department => 'QA');
$res = post('/api/v1/auth/register', \%new);
is($res->{status}, 201, 'self-registration: 201');
$b = json_body($res) || {};
is($b->{status}, 'success', 'success');
is($b->{user}{role}, 'Operator', 'an Operator');
is($b->{user}{department}, 'QA', 'with its fields');
is($b->{user}{factory_id}, undef, 'factory_id null');
$res = post('/api/v1/auth/login', { username => "${p}_new", password => 'a long enough pass' });
is($res->{status}, 200, 'the new user logs in');

$res = post('/api/v1/auth/register', { %new, email => "${p}_other\@test.example" });
is($res->{status}, 409, 'duplicate username: 409');
is(((json_body($res) || {})->{errors} || [{}])->[0]{field}, 'username', 'names username');
$res = post('/api/v1/auth/register', { %new, username => "${p}_other" });
is($res->{status}, 409, 'duplicate email: 409');
is(((json_body($res) || {})->{errors} || [{}])->[0]{field}, 'email', 'names email');
$res = post('/api/v1/auth/register', { %new, username => "${p}_other", email => uc $new{email} });
is($res->{status}, 409, 'the same email in other case: 409');
is(((json_body($res) || {})->{errors} || [{}])->[0]{field}, 'email', 'names email');

for my $case (['short password', { %new, username => "${p}_x1", password => 'short1!' }, 'password'],
              ['password with the username', { %new, username => "${p}_x2", password => "xx${p}_x2yy" }, 'password'],
              ['password over 72 bytes', { %new, username => "${p}_x3", password => 'p' x 73 }, 'password'],
              ['bad username', { %new, username => 'a b' }, 'username'],
              ['bad email', { %new, username => "${p}_x4", email => 'nope' }, 'email'],
              ['bad role', { %new, username => "${p}_x5", role => 'Admin' }, 'role'],
              ['number department', { %new, username => "${p}_x6", department => 7 }, 'department']) {
    my ($name, $body, $field) = @$case;
    $res = post('/api/v1/auth/register', $body);
    is($res->{status}, 400, "register, $name: 400");
    my $e = json_body($res) || {};
    ok((grep { ($_->{field} // '') eq $field } @{ $e->{errors} || [] }), "names $field")
        or diag($res->{content});
}
$res = post('/api/v1/auth/register', {});
my $e = json_body($res) || {};
is_deeply([sort map { $_->{field} } @{ $e->{errors} || [] }], [qw(email password username)],
          'all missing fields at once');

$res = post('/api/v1/auth/register', { %new, username => "${p}_boss", email => "${p}_boss\@test.example",
                                       role => 'Management' });
is($res->{status}, 403, 'Management without a token: 403');
$res = post('/api/v1/auth/register', { %new, username => "${p}_boss", email => "${p}_boss\@test.example",
                                       role => 'Management' }, { Authorization => "Bearer $access" });
is($res->{status}, 403, 'Management with an Operator token: 403');
$res = post('/api/v1/auth/register', { %new, username => "${p}_boss", email => "${p}_boss\@test.example",
                                       role => 'Supervisor' }, { Authorization => 'Bearer garbage' });
is($res->{status}, 401, 'a broken token: 401');
$res = post('/api/v1/auth/register', { %new, username => "${p}_boss", email => "${p}_boss\@test.example",
                                       role => 'Supervisor' }, { Authorization => "Bearer $mgr_access" });
is($res->{status}, 201, 'Supervisor with a write:users token: 201');
is((json_body($res) || {})->{user}{role}, 'Supervisor', 'a Supervisor');
my ($reg) = psql("SELECT username, role FROM audit_logs WHERE action = 'REGISTER' "
               . "AND changes->>'new_username' = '${p}_boss'");
is_deeply($reg, ["${p}_mgr", 'Management'], 'audit REGISTER names who created it');

# ---- audit rows ---------------------------------------------------------------

$res = post('/api/v1/auth/login', { username => "${p}_op", password => $pw },
            { 'User-Agent' => 'login-test/1.0' });
my $rid = $res->{headers}{'x-request-id'} // '';
like($rid, qr/^[0-9a-f]{32}$/, 'a request id');
my ($row) = psql("SELECT action, username, status_code, ip_address, user_agent, resource, method "
               . "FROM audit_logs WHERE request_id = '$rid'");
is_deeply($row, ['LOGIN_SUCCESS', "${p}_op", 200, '127.0.0.1', 'login-test/1.0',
                 '/api/v1/auth/login', 'POST'], 'LOGIN_SUCCESS with request id, ip, user agent');
$res = post('/api/v1/auth/login', { username => "${p}_ghost", password => 'whatever-pass' });
$rid = $res->{headers}{'x-request-id'} // '';
($row) = psql("SELECT action, username, status_code, user_id IS NULL FROM audit_logs WHERE request_id = '$rid'");
is_deeply($row, ['LOGIN_FAILURE', "${p}_ghost", 401, 't'], 'LOGIN_FAILURE for an unknown user');
my ($n429) = psql("SELECT count(*) FROM audit_logs WHERE action = 'LOGIN_FAILURE' "
                . "AND username = '${p}_lock' AND status_code = 429");
ok($n429->[0] >= 1, 'the refused logins during the lockout are audited');

# ---- a slow login does not delay other requests -------------------------------

sub start_login {
    my $body = $json->encode({ username => "${p}_op", password => $pw });
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port, Timeout => 5) or die $!;
    print $s "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
    return $s;
}
my @logins = map { start_login() } 1 .. 4;
sleep 0.02;
my $slowest = 0;
for (1 .. 20) {
    my $s0 = time;
    my $r = http(GET => $t->url('/ret'));
    my $d = time - $s0;
    $slowest = $d if $d > $slowest;
}
my $done = 0;
for my $s (@logins) {
    local $/;
    my $resp = <$s> // '';
    $done++ if $resp =~ m{^HTTP/1\.1 200};
}
is($done, 4, 'four concurrent logins succeed');
ok($slowest < 0.1 * $S, sprintf('return 200 meanwhile: slowest %.1f ms', $slowest * 1000));

$t->stop;

# ---- registration off -------------------------------------------------------

my $off = Gonsters::Test->new->write_config($off_conf);
$off->run;
$res = http(POST => $off->url('/api/v1/auth/register'), {
    headers => { 'Content-Type' => 'application/json' },
    content => $json->encode({ %new, username => "${p}_off", email => "${p}_off\@test.example" }) });
is($res->{status}, 403, 'gonsters_registration off: self-registration 403');
is((json_body($res) || {})->{message}, 'Registration is disabled', 'says disabled');
$res = http(POST => $off->url('/api/v1/auth/register'), {
    headers => { 'Content-Type' => 'application/json', Authorization => "Bearer $mgr_access" },
    content => $json->encode({ %new, username => "${p}_off", email => "${p}_off\@test.example" }) });
is($res->{status}, 201, 'a write:users token still creates accounts');
$off->stop;

done_testing;
