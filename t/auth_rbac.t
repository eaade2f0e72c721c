#!/usr/bin/perl
# The RBAC matrix: every endpoint that exists (login, refresh, me, register,
# logout, health, metrics, config, config/update, config/reset, the machine
# registry's create, list, update and delete, ingest, history, and one
# location per permission of the seed's mapping behind
# gonsters_require_permission) x Operator, Supervisor,
# Management (test users with the seed's bcrypt hashes, logged in through
# the real login endpoint) x no token.  Each cell is asserted exactly: the
# status, the JSON body, and the WWW-Authenticate challenge of 401 and 403.

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64url);
use Test::More;
use Gonsters::Test qw(env_or_bail http json_body psql);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $influx_port = env_or_bail('GONSTERS_INFLUX_PORT');

# the seed's mapping (Question 2.2), in the seed's order
my @roles = qw(Operator Supervisor Management);
my %perms = (
    Operator   => [qw(read:machines read:sensor_data write:sensor_data)],
    Supervisor => [qw(read:machines write:machines read:sensor_data
                      write:sensor_data read:reports write:reports)],
    Management => [qw(read:machines write:machines delete:machines
                      read:sensor_data write:sensor_data delete:sensor_data
                      read:config write:config read:users write:users
                      delete:users read:reports write:reports)],
);
my @all = @{ $perms{Management} };

# the seed's hashes of Password123! (sql/demo/010_users.sql)
my $pw = 'Password123!';
my %hash = (
    Operator   => '$2b$12$m9iA60jeR5AuatBCV9UPUel/MwmdXhsfzddLdaA54QcaTtXKtj3fu',
    Supervisor => '$2b$12$iXhekJ34xVDaOmni8GvDC.8eBu49RG9atJqZbtUHnvVVKa0ImAtrK',
    Management => '$2b$12$n9HvhqwuSB6MGz3PycRaQuCemlw8/L7XqTc0KouXIlkCozucsHfGa',
);

my $p = "trb$$";

sub cleanup {
    eval {
        psql("DELETE FROM audit_logs WHERE username LIKE '${p}%'");
        psql("DELETE FROM refresh_tokens WHERE user_id IN "
           . "(SELECT id FROM users WHERE username LIKE '${p}%')");
        psql("DELETE FROM users WHERE username LIKE '${p}%'");
        psql("DELETE FROM machine_metadata WHERE name LIKE '${p}%'");
    };
}
END { cleanup() }
cleanup();

for my $role (@roles) {
    my $name = "${p}_" . lc $role;
    psql("INSERT INTO users (username, email, password_hash, role, factory_id, department) "
       . "VALUES ('$name', '$name\@test.example', '$hash{$role}', '$role', 'factory-A', 'Production')");
}

# the database holds the seed's mapping
for my $role (@roles) {
    my @rows = psql("SELECT permission FROM role_permissions WHERE role = '$role' ORDER BY position");
    is_deeply([map { $_->[0] } @rows], $perms{$role}, "role_permissions of $role is the seed's");
}

my $keys = tempdir('gonsters-rbac-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $fh, '>', "$keys/jwt" or die $!;
print $fh 'rb4c' x 12;
close $fh;

my $perm_locations = join "\n", map {
    "        location = /perm/$_ { gonsters_auth jwt; gonsters_require_permission $_; gonsters_endpoint me; }"
} @all;

my $run = "rb$$" . time;

my $conf = <<"CONF";
%%TEST_GLOBALS%%
worker_processes 1;
thread_pool default threads=4;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=auth_rbac";
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_influxdb_location /_influxdb;
    gonsters_jwt_key $keys/jwt;
    gonsters_password_hash bcrypt 4;
    gonsters_revocation_zone 1m;
    gonsters_revocation_channel "gonsters:revocations:$run";

    upstream influxdb {
        server 127.0.0.1:$influx_port;
        keepalive 4;
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /api/v1/auth/login    { gonsters_endpoint login; }
        location = /api/v1/auth/refresh  { gonsters_endpoint refresh; }
        location = /api/v1/auth/register { gonsters_endpoint register; }
        location = /api/v1/auth/me       { gonsters_auth jwt; gonsters_endpoint me; }
        location = /api/v1/auth/logout   { gonsters_auth jwt; gonsters_endpoint logout; }
        location = /health               { gonsters_endpoint health; }
        location = /metrics              { gonsters_endpoint metrics; }
        location = /api/v1/config        { gonsters_auth jwt; gonsters_require_permission read:config; gonsters_endpoint config; }
        location = /api/v1/config/update { gonsters_auth jwt; gonsters_require_permission write:config; gonsters_endpoint config_update; }
        location = /api/v1/config/reset  { gonsters_auth jwt; gonsters_require_permission write:config; gonsters_endpoint config_reset; }
$perm_locations
        location = /api/v1/data/ingest {
            gonsters_auth jwt;
            gonsters_require_permission write:sensor_data;
            gonsters_endpoint ingest;
        }
        location = /api/v1/data/machine {
            gonsters_auth jwt;
            gonsters_require_permission write:machines;
            gonsters_endpoint machine_create;
        }
        location = /api/v1/data/machines {
            gonsters_auth jwt;
            gonsters_require_permission read:machines;
            gonsters_endpoint machines;
        }
        location /api/v1/data/machine/ {
            gonsters_auth jwt;
            gonsters_require_permission methods=GET,HEAD read:sensor_data;
            gonsters_require_permission methods=PATCH write:machines;
            gonsters_require_permission methods=DELETE delete:machines;
            gonsters_endpoint machine;
        }
        location /_influxdb/ {
            internal;
            proxy_pass http://influxdb/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_headers off;
            proxy_set_header Content-Type application/x-www-form-urlencoded;
            proxy_max_temp_file_size 0;
        }
    }
}
CONF

my $t = Gonsters::Test->new->write_config($conf)->run;
my $json = JSON::PP->new->canonical->utf8;

sub req {
    my ($method, $path, $token, $body) = @_;
    my %h;
    $h{Authorization} = "Bearer $token" if defined $token;
    $h{'Content-Type'} = 'application/json' if defined $body;
    return http($method => $t->url($path),
                { headers => \%h, defined $body ? (content => $json->encode($body)) : () });
}

sub claims {
    my (undef, $c) = split /\./, $_[0] // '';
    return eval { $json->decode(decode_base64url($c // '')) } || {};
}

# 401 without a token: the seed's body and a challenge without an error code
sub is_401_no_token {
    my ($res, $name) = @_;
    is($res->{status}, 401, "$name: 401");
    is_deeply(json_body($res), { status => 'error', message => 'Missing authorization header' },
              "$name: the JSON body");
    is($res->{headers}{'www-authenticate'}, 'Bearer realm="gonsters"',
       "$name: WWW-Authenticate");
}

sub is_403 {
    my ($res, $perm, $name) = @_;
    is($res->{status}, 403, "$name: 403");
    is_deeply(json_body($res),
              { status => 'error', message => "Insufficient permissions. Required: $perm" },
              "$name: the JSON body names $perm");
    is($res->{headers}{'www-authenticate'},
       qq{Bearer realm="gonsters", error="insufficient_scope", scope="$perm"},
       "$name: WWW-Authenticate insufficient_scope");
}


# ---- login: each role gets its own permissions, as the seed says ------------

my (%access, %refresh, %id);

for my $role (@roles) {
    my $name = "${p}_" . lc $role;
    my $res = req(POST => '/api/v1/auth/login', undef, { username => $name, password => $pw });
    is($res->{status}, 200, "login $role: 200") or diag $res->{content};
    my $b = json_body($res) || {};
    is($b->{user}{role}, $role, "login $role: user.role");
    is_deeply($b->{user}{permissions}, $perms{$role}, "login $role: user.permissions");
    is_deeply(claims($b->{access_token})->{permissions}, $perms{$role},
              "login $role: the token's permissions");
    ($access{$role}, $refresh{$role}, $id{$role}) =
        ($b->{access_token}, $b->{refresh_token}, $b->{user}{id});
}

{
    my $res = req(POST => '/api/v1/auth/login', undef, { username => "${p}_operator", password => 'wrong-password' });
    is($res->{status}, 401, 'login with a wrong password: 401');
    is_deeply(json_body($res), { status => 'error', message => 'Invalid username or password' },
              'login with a wrong password: the body');
}


# the revocation set is loaded (503 until then)
ok(Gonsters::Test::wait_until(10, sub { req(GET => '/api/v1/auth/me', $access{Operator})->{status} != 503 }),
   'the revocation set is loaded');


# ---- the permission locations: 200 exactly where the mapping grants -----------

for my $perm (@all) {
    for my $role (@roles) {
        my $res = req(GET => "/perm/$perm", $access{$role});
        my $name = "/perm/$perm as $role";
        if (grep { $_ eq $perm } @{ $perms{$role} }) {
            is($res->{status}, 200, "$name: 200");
            is((json_body($res) || {})->{user}{role}, $role, "$name: the user");
            ok(!exists $res->{headers}{'www-authenticate'}, "$name: no challenge");
        } else {
            is_403($res, $perm, $name);
        }
    }
    is_401_no_token(req(GET => "/perm/$perm"), "/perm/$perm without a token");
}


# ---- the machine registry: each endpoint x role, as the mapping grants -----------

sub grants { my ($role, $perm) = @_; return scalar grep { $_ eq $perm } @{ $perms{$role} } }

my %machine;    # role => a machine of that role's own, for PATCH and DELETE
for my $role (@roles) {
    my $res = req(POST => '/api/v1/data/machine', $access{$role},
                  { name => "${p}_m_$role", location => "${p}_floor", sensor_type => 'Temperature' });
    if (grants($role, 'write:machines')) {
        is($res->{status}, 201, "create a machine as $role: 201") or diag $res->{content};
        $machine{$role} = (json_body($res) || {})->{machine_id};
    } else {
        is_403($res, 'write:machines', "create a machine as $role");
        ($machine{$role}) = map { $_->[0] } psql("INSERT INTO machine_metadata (name, location, sensor_type) "
                                               . "VALUES ('${p}_m_$role', '${p}_floor', 'T') RETURNING id");
    }
}
is_401_no_token(req(POST => '/api/v1/data/machine', undef, { name => "${p}_m_none", location => 'x', sensor_type => 'y' }),
                'create a machine without a token');

for my $role (@roles) {
    my $res = req(GET => "/api/v1/data/machines?location=${p}_floor", $access{$role});
    is($res->{status}, 200, "list machines as $role: 200");
    is((json_body($res) || {})->{count}, 3, "list machines as $role: the machines");
}
is_401_no_token(req(GET => '/api/v1/data/machines'), 'list machines without a token');

for my $role (@roles) {
    my $res = req(PATCH => "/api/v1/data/machine/$machine{$role}", $access{$role}, { status => 'maintenance' });
    if (grants($role, 'write:machines')) {
        is($res->{status}, 200, "update a machine as $role: 200") or diag $res->{content};
    } else {
        is_403($res, 'write:machines', "update a machine as $role");
    }
    # (GET is the history, by role below)
    # a method no rule names needs only a valid token
    $res = req(PUT => "/api/v1/data/machine/$machine{$role}", $access{$role}, { status => 'active' });
    is($res->{status}, 405, "PUT a machine as $role: 405 (no rule, a valid token)");
}
for my $role (@roles) {
    my $res = req(DELETE => "/api/v1/data/machine/$machine{$role}", $access{$role});
    if (grants($role, 'delete:machines')) {
        is($res->{status}, 204, "delete a machine as $role: 204");
    } else {
        is_403($res, 'delete:machines', "delete a machine as $role");
    }
}
for my $method (qw(PATCH DELETE PUT)) {
    is_401_no_token(req($method => "/api/v1/data/machine/$machine{Operator}", undef,
                        $method eq 'PATCH' || $method eq 'PUT' ? { status => 'active' } : undef),
                    "$method a machine without a token");
}


# ---- me ------------------------------------------------------------------------

for my $role (@roles) {
    my $res = req(GET => '/api/v1/auth/me', $access{$role});
    is($res->{status}, 200, "me as $role: 200");
    my $u = (json_body($res) || {})->{user} || {};
    is($u->{id}, $id{$role}, "me as $role: the user");
    is_deeply($u->{permissions}, $perms{$role}, "me as $role: permissions");
}
is_401_no_token(req(GET => '/api/v1/auth/me'), 'me without a token');


# ---- register: Operator accounts by anyone, others need write:users ------------

for my $role (@roles) {
    my $new = "${p}_s" . lc substr($role, 0, 3);
    my $res = req(POST => '/api/v1/auth/register', $access{$role},
                  { username => $new, email => "$new\@test.example",
                    password => 'Register-Pass-1', role => 'Supervisor' });
    if (grep { $_ eq 'write:users' } @{ $perms{$role} }) {
        is($res->{status}, 201, "register a Supervisor as $role: 201") or diag $res->{content};
        is((json_body($res) || {})->{user}{role}, 'Supervisor', "... the new user's role");
    } else {
        is_403($res, 'write:users', "register a Supervisor as $role");
    }
}
{
    my $res = req(POST => '/api/v1/auth/register', undef,
                  { username => "${p}_snone", email => "${p}_snone\@test.example",
                    password => 'Register-Pass-1', role => 'Supervisor' });
    is($res->{status}, 403, 'register a Supervisor without a token: 403');
    is_deeply(json_body($res),
              { status => 'error', message => 'Insufficient permissions. Required: write:users',
                errors => [{ field => 'role', error => 'only Operator accounts can self-register' }] },
              '... the field error');

    for my $role (@roles, undef) {
        my $who = $role // 'none';
        my $new = "${p}_o" . lc substr($who, 0, 3);
        $res = req(POST => '/api/v1/auth/register', defined $role ? $access{$role} : undef,
                   { username => $new, email => "$new\@test.example",
                     password => 'Register-Pass-1' });
        is($res->{status}, 201, "register an Operator as $who: 201") or diag $res->{content};
        is((json_body($res) || {})->{user}{role}, 'Operator', "... an Operator");
    }
}


# ---- configuration: read:config and write:config (Management only) -------------

{
    # the same value again and a reset to the default: nothing changes for
    # the other tests sharing the stack
    my %calls = (
        'GET /api/v1/config'         => ['read:config', undef],
        'POST /api/v1/config/update' => ['write:config', { setting_name => 'data_retention_days', setting_value => 365 }],
        'POST /api/v1/config/reset'  => ['write:config', { setting_name => 'data_retention_days' }],
    );
    for my $call (sort keys %calls) {
        my ($method, $path) = split / /, $call;
        my ($perm, $body) = @{ $calls{$call} };
        for my $role (@roles) {
            my $res = req($method => $path, $access{$role}, $body);
            if (grep { $_ eq $perm } @{ $perms{$role} }) {
                is($res->{status}, 200, "$call as $role: 200") or diag $res->{content};
                is((json_body($res) || {})->{status}, 'success', "$call as $role: success");
            } else {
                is_403($res, $perm, "$call as $role");
            }
        }
        is_401_no_token(req($method => $path, undef, $body), "$call without a token");
    }
}


# ---- health and metrics: public ------------------------------------------------

for my $role (@roles, undef) {
    my $who = $role // 'no token';
    my $tok = defined $role ? $access{$role} : undef;
    my $res = req(GET => '/health', $tok);
    is($res->{status}, 200, "health as $who: 200") or diag $res->{content};
    is((json_body($res) || {})->{status}, 'healthy', "health as $who: healthy");
    $res = req(GET => '/metrics', $tok);
    is($res->{status}, 200, "metrics as $who: 200");
    like($res->{content}, qr/^gonsters_/m, "metrics as $who: the exposition");
}


# ---- telemetry: ingest needs write:sensor_data, history read:sensor_data -------

my ($machine) = map { $_->[0] } psql("INSERT INTO machine_metadata (name, location, sensor_type) "
                                   . "VALUES ('${p}_machine', 'RBAC Floor', 'Temperature') RETURNING id");
END {
    eval { psql("DELETE FROM machine_metadata WHERE name = '${p}_machine'") };
    HTTP::Tiny->new->post_form("http://127.0.0.1:$influx_port/query",
        { db => 'gonsters', q => "DROP SERIES FROM sensor_readings WHERE machine_id = '$machine'" })
        if $machine;
}
my @t = gmtime(time - 60);
my $ts = sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);

for my $role (@roles, undef) {
    my $who = $role // 'no token';
    my $tok = defined $role ? $access{$role} : undef;
    my $res = req(POST => '/api/v1/data/ingest', $tok,
                  { gateway_id => 'GW-RBAC', timestamp => $ts,
                    batch => [ { machine_id => $machine, sensor_type => 'Temperature',
                                 location => 'RBAC Floor',
                                 readings => [ { timestamp => $ts, temperature => 1.5 } ] } ] });
    if (!defined $role) {
        is_401_no_token($res, 'ingest without a token');
    } elsif (grep { $_ eq 'write:sensor_data' } @{ $perms{$role} }) {
        is($res->{status}, 201, "ingest as $role: 201") or diag $res->{content};
    } else {
        is_403($res, 'write:sensor_data', "ingest as $role");
    }

    $res = req(GET => "/api/v1/data/machine/$machine?start_time=2000-01-01T00:00:00Z", $tok);
    if (!defined $role) {
        is_401_no_token($res, 'history without a token');
    } elsif (grep { $_ eq 'read:sensor_data' } @{ $perms{$role} }) {
        is($res->{status}, 200, "history as $role: 200") or diag $res->{content};
        is((json_body($res) || {})->{pagination}{total_records}, 1, "history as $role: the reading");
    } else {
        is_403($res, 'read:sensor_data', "history as $role");
    }
}


# ---- refresh: each role's session; no token: 400 -------------------------------

for my $role (@roles) {
    my $res = req(POST => '/api/v1/auth/refresh', undef, { refresh_token => $refresh{$role} });
    is($res->{status}, 200, "refresh as $role: 200") or diag $res->{content};
    my $b = json_body($res) || {};
    is_deeply($b->{user}{permissions}, $perms{$role}, "refresh as $role: permissions");
    is_deeply(claims($b->{access_token})->{permissions}, $perms{$role},
              "refresh as $role: the new token's permissions");
    $access{$role} = $b->{access_token};
}
{
    my $res = req(POST => '/api/v1/auth/refresh', undef, {});
    is($res->{status}, 400, 'refresh without a token: 400');
    is_deeply(json_body($res),
              { status => 'error', message => 'Validation failed',
                errors => [{ field => 'refresh_token', error => 'is required' }] },
              '... the field error');
}


# ---- logout: every role may log out; no token: 401 (last: it revokes) ---------

is_401_no_token(req(POST => '/api/v1/auth/logout'), 'logout without a token');

for my $role (@roles) {
    my $res = req(POST => '/api/v1/auth/logout', $access{$role});
    is($res->{status}, 200, "logout as $role: 200") or diag $res->{content};
    is_deeply(json_body($res), { status => 'success', message => 'Logged out' },
              "logout as $role: the body");
    $res = req(GET => '/api/v1/auth/me', $access{$role});
    is($res->{status}, 401, "after logout as $role: me 401");
    is($res->{headers}{'www-authenticate'},
       'Bearer realm="gonsters", error="invalid_token", error_description="token revoked"',
       "after logout as $role: WWW-Authenticate invalid_token");
}

$t->stop;

done_testing();
