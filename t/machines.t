#!/usr/bin/perl
# The machine registry's endpoints on the real stack: create (validation
# errors, duplicates, the seed's body), list (filters and their
# combinations, newest first, pagination edges and bounds, the seed's shape),
# update and delete (partial update, 404, 409, malformed ids), SQL injection
# strings in every body field and filter (stored and returned as data), the
# NOTIFY payloads, and nginx -t on per-method permissions.  The cache is
# in machines_cache.t.

use strict;
use warnings;
use lib 't/lib';

use JSON::PP;
use Test::More;
use Gonsters::Test qw(env_or_bail hs256_token http json_body psql);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $pg_port = env_or_bail('GONSTERS_PG_PORT');
my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $p = "tm$$";
my $secret = 'm4ch' x 12;

sub cleanup {
    eval { psql("DELETE FROM machine_metadata WHERE name LIKE '${p}%' OR location LIKE '${p}%'") };
}
END { cleanup() }
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
    gonsters_postgres "$dsn application_name=machines";
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_jwt_key $keyfile;

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
            gonsters_require_permission methods=GET,HEAD read:sensor_data;
            gonsters_require_permission methods=PATCH write:machines;
            gonsters_require_permission methods=DELETE delete:machines;
            gonsters_endpoint machine;
        }
    }
}
CONF

my $json = JSON::PP->new->canonical->utf8;
my $now = time;
my $token = hs256_token($secret, {
    sub => '00000000-0000-4000-8000-000000000001', username => 'tm', role => 'Management',
    permissions => [qw(read:machines write:machines delete:machines read:sensor_data)],
    iat => $now, exp => $now + 3600, iss => 'gonsters-backend-api',
    aud => 'gonsters-dashboard', jti => "tm$$", type => 'access' });

sub api {
    my ($method, $path, $body, %h) = @_;
    $h{Authorization} = "Bearer $token";
    my %o = (headers => \%h);
    if (defined $body) {
        $h{'Content-Type'} = 'application/json';
        $o{content} = ref $body ? $json->encode($body) : $body;
    }
    return http($method => $t->url($path), \%o);
}

sub enc {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub list {
    my (%q) = @_;
    my $qs = join '&', map { "$_=" . enc($q{$_}) } sort keys %q;
    my $res = api(GET => "/api/v1/data/machines" . ($qs ? "?$qs" : ''));
    return ($res, json_body($res) || {});
}

sub create {
    my ($body) = @_;
    my $res = api(POST => '/api/v1/data/machine', $body);
    return ($res, json_body($res) || {});
}

my $uuid_re = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my @object_keys = sort qw(machine_id name location sensor_type status factory_id last_seen created_at updated_at);


# ---- create: the seed's body ----------------------------------------------

my ($res, $j) = create({ name => "$p-Machine-01", location => "$p-Factory Floor 1",
                         sensor_type => 'Temperature', status => 'active' });
is($res->{status}, 201, 'create: 201');
is_deeply([sort keys %$j], [qw(machine_id message status)], 'create: the seed\'s members');
is($j->{status}, 'success', 'create: status success');
is($j->{message}, 'Machine created successfully', 'create: the seed\'s message');
like($j->{machine_id}, $uuid_re, 'create: machine_id is a UUID');
my $first = $j->{machine_id};
my ($row) = psql("SELECT name, location, sensor_type, status, factory_id FROM machine_metadata WHERE id = '$first'");
is_deeply($row, ["$p-Machine-01", "$p-Factory Floor 1", 'Temperature', 'active', 'default'],
          'create: the row, factory_id defaulted');

($res, $j) = create({ name => "$p-Machine-01", location => 'elsewhere', sensor_type => 'Pressure' });
is($res->{status}, 409, 'duplicate name: 409');
is_deeply($j, { status => 'error', message => 'Machine name already exists',
                errors => [{ field => 'name', error => 'already exists' }] },
          'duplicate name: the body');

($res, $j) = create({ name => "$p-minimal", location => "$p-min", sensor_type => 'Speed',
                      factory_id => 'plant-7' });
is($res->{status}, 201, 'create without status: 201');
($row) = psql("SELECT status, factory_id FROM machine_metadata WHERE id = '$j->{machine_id}'");
is_deeply($row, ['active', 'plant-7'], 'status defaults to active; factory_id as given');

# lengths count characters, as PostgreSQL's VARCHAR(n) does
($res, $j) = create({ name => "$p-" . ("\x{e9}" x (255 - length "$p-")),
                      location => "$p-" . ("\x{4e2d}" x (500 - length "$p-")),
                      sensor_type => 'x' x 100, factory_id => 'f' x 50 });
is($res->{status}, 201, 'the longest values (in characters, multi-byte): 201') or diag $res->{content};


# ---- create: validation errors -----------------------------------------------

sub is_400_fields {
    my ($body, $errors, $name) = @_;
    my ($res, $j) = create($body);
    is($res->{status}, 400, "$name: 400");
    is_deeply($j, { status => 'error', message => 'Validation failed', errors => $errors },
              "$name: the field errors") or diag $res->{content};
}

my %ok = (name => "$p-v", location => "$p-v", sensor_type => 'T');

is_400_fields({}, [map { { field => $_, error => 'is required' } } qw(name location sensor_type)],
              'empty object');
is_400_fields({ %ok, name => '' }, [{ field => 'name', error => 'must be 1 to 255 characters' }], 'empty name');
is_400_fields({ %ok, name => 'n' x 256 }, [{ field => 'name', error => 'must be 1 to 255 characters' }], '256-character name');
is_400_fields({ %ok, name => "\x{e9}" x 256 }, [{ field => 'name', error => 'must be 1 to 255 characters' }], '256 two-byte characters');
is_400_fields({ %ok, location => 'l' x 501 }, [{ field => 'location', error => 'must be 1 to 500 characters' }], '501-character location');
is_400_fields({ %ok, sensor_type => 's' x 101 }, [{ field => 'sensor_type', error => 'must be 1 to 100 characters' }], '101-character sensor_type');
is_400_fields({ %ok, factory_id => 'f' x 51 }, [{ field => 'factory_id', error => 'must be 1 to 50 characters' }], '51-character factory_id');
is_400_fields({ %ok, factory_id => '' }, [{ field => 'factory_id', error => 'must be 1 to 50 characters' }], 'empty factory_id');
is_400_fields({ %ok, status => 'exploded' },
              [{ field => 'status', error => 'must be one of: active, inactive, maintenance, error' }], 'unknown status');
is_400_fields({ %ok, status => 'ACTIVE' },
              [{ field => 'status', error => 'must be one of: active, inactive, maintenance, error' }], 'status is case-sensitive');
is_400_fields({ %ok, status => 1 }, [{ field => 'status', error => 'must be a string' }], 'status a number');
is_400_fields({ %ok, name => undef }, [{ field => 'name', error => 'is required' }], 'name null');
is_400_fields({ %ok, name => ['a'] }, [{ field => 'name', error => 'must be a string' }], 'name an array');
is_400_fields({ %ok, location => { a => 1 } }, [{ field => 'location', error => 'must be a string' }], 'location an object');
is_400_fields({ %ok, name => "a\nb" }, [{ field => 'name', error => 'must not contain line breaks' }], 'a line break');
is_400_fields({ %ok, machine_id => $first }, [{ field => 'machine_id', error => 'is not a field of a machine' }],
              'an id in the body');
is_400_fields({ location => 'x' x 501, status => 'bad', colour => 'red' },
              [{ field => 'name', error => 'is required' },
               { field => 'location', error => 'must be 1 to 500 characters' },
               { field => 'sensor_type', error => 'is required' },
               { field => 'status', error => 'must be one of: active, inactive, maintenance, error' },
               { field => 'colour', error => 'is not a field of a machine' }],
              'every error at once');

for my $bad ('not json', '[1,2]', '"name"', '', '{"name":"a"', '{"name":"a\u0000b"}') {
    ($res, $j) = create($bad);
    is($res->{status}, 400, "body '$bad': 400");
    is($j->{status}, 'error', "body '$bad': a JSON error");
}
($res) = create(qq({"name":"$p-bytes","location":"\xff\xfe","sensor_type":"T"}));
is($res->{status}, 400, 'invalid UTF-8: 400');

$res = api(GET => '/api/v1/data/machine');
is($res->{status}, 405, 'GET /api/v1/data/machine: 405');
is($res->{headers}{allow}, 'POST', '... Allow: POST');


# ---- list: shape, order, filters ----------------------------------------------

# a set of our own, isolated by location
my @made;
for my $i (1 .. 6) {
    my ($r, $b) = create({ name => "$p-L$i", location => ($i <= 4 ? "$p-A" : "$p-B"),
                           sensor_type => ($i % 2 ? 'Temperature' : 'Pressure'),
                           status => ($i == 2 || $i == 5 ? 'maintenance' : 'active') });
    push @made, $b->{machine_id};
}

($res, $j) = list(location => "$p-A");
is($res->{status}, 200, 'list: 200');
is_deeply([sort keys %$j], [qw(count machines pagination status)], 'list: the seed\'s members and pagination');
is($j->{status}, 'success', 'list: status success');
is($j->{count}, 4, 'list: count');
is_deeply([map { $_->{machine_id} } @{ $j->{machines} }], [reverse @made[0 .. 3]], 'list: newest first');
is_deeply([sort keys %{ $j->{machines}[0] }], \@object_keys, 'list: the machine object\'s members');
is_deeply($j->{pagination}, { has_more => JSON::PP::false, limit => 100, offset => 0,
                              returned_records => 4, total_records => 4 }, 'list: pagination');
my $m0 = $j->{machines}[-1];
is_deeply([@$m0{qw(name location sensor_type status factory_id)}],
          ["$p-L1", "$p-A", 'Temperature', 'active', 'default'], 'list: the values');
ok(!defined $m0->{last_seen}, 'list: last_seen null before any reading');
like($m0->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/, 'list: created_at ISO 8601 UTC');

my %combos = (
    'location' => [{ location => "$p-B" }, [5, 6]],
    'location+status' => [{ location => "$p-A", status => 'active' }, [1, 3, 4]],
    'location+sensor_type' => [{ location => "$p-A", sensor_type => 'Pressure' }, [2, 4]],
    'all three' => [{ location => "$p-A", status => 'active', sensor_type => 'Pressure' }, [4]],
    'all three, none' => [{ location => "$p-B", status => 'error', sensor_type => 'Pressure' }, []],
    'sensor_type+status' => [{ sensor_type => 'Temperature', status => 'maintenance', location => "$p-B" }, [5]],
);
for my $name (sort keys %combos) {
    my ($q, $want) = @{ $combos{$name} };
    ($res, $j) = list(%$q);
    is_deeply([map { $_->{name} } @{ $j->{machines} }], [map { "$p-L$_" } reverse @$want],
              "filter $name");
    is($j->{pagination}{total_records}, scalar @$want, "filter $name: total");
}
($res, $j) = list(status => 'maintenance', limit => 1000);
ok((grep { $_->{machine_id} eq $made[1] } @{ $j->{machines} }), 'status alone: across locations');
ok(!(grep { $_->{status} ne 'maintenance' } @{ $j->{machines} }), 'status alone: only that status');
($res, $j) = list(location => "$p-a");
is($j->{count}, 0, 'filters match exactly (case included)');


# ---- pagination edges and bounds ---------------------------------------------

my @page = ([2, 0, [4, 3], 1], [2, 2, [2, 1], 0], [3, 3, [1], 0], [2, 4, [], 0],
            [1, 100, [], 0], [1, 3, [1], 0], [4, 0, [4, 3, 2, 1], 0]);
for my $c (@page) {
    my ($limit, $offset, $want, $more) = @$c;
    ($res, $j) = list(location => "$p-A", limit => $limit, offset => $offset);
    is($res->{status}, 200, "limit=$limit offset=$offset: 200");
    is_deeply([map { $_->{name} } @{ $j->{machines} }], [map { "$p-L$_" } @$want],
              "limit=$limit offset=$offset: the page");
    is_deeply($j->{pagination}, { has_more => $more ? JSON::PP::true : JSON::PP::false,
                                  limit => $limit, offset => $offset,
                                  returned_records => scalar @$want, total_records => 4 },
              "limit=$limit offset=$offset: pagination");
    is($j->{count}, scalar @$want, "limit=$limit offset=$offset: count");
}
($res, $j) = list(location => "$p-A", limit => 1000, offset => 1000000000);
is($res->{status}, 200, 'the largest limit and offset: 200');

sub is_400_param {
    my ($q, $param, $error, $value, $name) = @_;
    my $res = api(GET => "/api/v1/data/machines?$q");
    is($res->{status}, 400, "$name: 400");
    is_deeply(json_body($res), { status => 'error', message => 'Invalid query parameters',
                                 errors => [{ parameter => $param, error => $error, value => $value }] },
              "$name: the parameter error") or diag $res->{content};
}

my $lim = 'Invalid limit. Must be an integer from 1 to 1000';
my $off = 'Invalid offset. Must be an integer from 0 to 1000000000';
is_400_param('limit=0', 'limit', $lim, '0', 'limit 0');
is_400_param('limit=1001', 'limit', $lim, '1001', 'limit too large');
is_400_param('limit=99999999999999999999999', 'limit', $lim, '99999999999999999999999', 'limit huge');
is_400_param('limit=abc', 'limit', $lim, 'abc', 'limit not a number');
is_400_param('limit=-1', 'limit', $lim, '-1', 'limit negative');
is_400_param('limit=1.5', 'limit', $lim, '1.5', 'limit a fraction');
is_400_param('limit=', 'limit', $lim, '', 'limit empty');
is_400_param('limit=+5', 'limit', $lim, ' 5', 'limit with a plus (a space)');
is_400_param('offset=-1', 'offset', $off, '-1', 'negative offset');
is_400_param('offset=x', 'offset', $off, 'x', 'offset not a number');
is_400_param('offset=1000000001', 'offset', $off, '1000000001', 'offset too large');
is_400_param('limit=5&limit=6', 'limit', 'is given more than once', '6', 'limit twice');
is_400_param('status=running', 'status',
             'Invalid status value. Must be one of: active, inactive, maintenance, error', 'running',
             'unknown status');
is_400_param('location=', 'location', 'must be 1 to 500 characters', '', 'empty location');
is_400_param('location=' . ('x' x 501), 'location', 'must be 1 to 500 characters', 'x' x 501, 'location too long');
is_400_param('sensor_type=%FF', 'sensor_type', 'must be valid UTF-8', "\x{fffd}", 'invalid UTF-8 (reported as U+FFFD)');
is_400_param('location=a%00b', 'location', 'must not contain NUL characters', "a\x{0}b", 'a NUL in a filter');
is_400_param('colour=red', 'query', 'Unknown parameter. Known: location, status, sensor_type, limit, offset',
             'colour', 'unknown parameter');
$res = api(GET => '/api/v1/data/machines?limit=0&offset=-2&status=x');
is(scalar @{ (json_body($res) || {})->{errors} || [] }, 3, 'several bad parameters: every error');

$res = api(POST => '/api/v1/data/machines', {});
is($res->{status}, 405, 'POST /api/v1/data/machines: 405');
is($res->{headers}{allow}, 'GET, HEAD', '... Allow');
$res = api(HEAD => "/api/v1/data/machines?location=$p-A");
is($res->{status}, 200, 'HEAD: 200');


# ---- SQL injection: data, never code -------------------------------------------

my @evil = ("'; DROP TABLE machine_metadata; --", "' OR '1'='1", "Robert'); DELETE FROM machine_metadata;--",
            "%' OR 1=1 --", "\\'; SELECT pg_sleep(10); --", '$1::text', "1; UPDATE users SET role='Management'",
            "\" OR \"\"=\"", "' UNION SELECT id, password_hash FROM users --");
my ($before_count) = psql('SELECT count(*) FROM machine_metadata');
for my $i (0 .. $#evil) {
    my $e = $evil[$i];
    my %body = (name => "$p-inj$i $e", location => "$p-inj $e", sensor_type => substr("S $e", 0, 100),
                factory_id => substr("F$i $e", 0, 50));
    ($res, $j) = create(\%body);
    is($res->{status}, 201, "injection $i in every body field: 201") or diag $res->{content};
    my $id = $j->{machine_id};
    ($res, $j) = list(location => $body{location}, sensor_type => $body{sensor_type});
    is($j->{count}, 1, "injection $i as filters: exactly the one machine");
    is_deeply([@{ $j->{machines}[0] || {} }{qw(machine_id name location sensor_type factory_id)}],
              [$id, @body{qw(name location sensor_type factory_id)}], "injection $i: stored and returned as data");
    $res = api(PATCH => "/api/v1/data/machine/$id", { name => "$p-injp$i $e", location => "$p-injp $e" });
    is($res->{status}, 200, "injection $i in a PATCH: 200");
    is((json_body($res) || {})->{machine}{name}, "$p-injp$i $e", "injection $i: the patched name");
}
($res, $j) = list(location => "$p-A' OR '1'='1");
is($j->{count}, 0, 'a filter that would be true as SQL matches nothing');
is_400_param('status=' . enc("active' OR '1'='1"), 'status',
             'Invalid status value. Must be one of: active, inactive, maintenance, error',
             "active' OR '1'='1", 'an injection in status is an invalid status');
my ($after_count) = psql('SELECT count(*) FROM machine_metadata');
is($after_count->[0], $before_count->[0] + @evil, 'the table is still there, with exactly the new rows');
my ($mgmt) = psql("SELECT count(*) FROM users WHERE role = 'Management' AND username LIKE '${p}%'");
is($mgmt->[0], 0, 'no statement ran from a value');


# ---- PATCH ----------------------------------------------------------------------

my $target = $made[0];
my ($before_row) = psql("SELECT updated_at FROM machine_metadata WHERE id = '$target'");
psql('SELECT pg_sleep(0.01)');
$res = api(PATCH => "/api/v1/data/machine/$target", { status => 'error' });
is($res->{status}, 200, 'PATCH status only: 200');
$j = json_body($res) || {};
is($j->{status}, 'success', 'PATCH: success');
is($j->{message}, 'Machine updated successfully', 'PATCH: message');
is_deeply([sort keys %{ $j->{machine} || {} }], \@object_keys, 'PATCH: the machine object');
is_deeply([@{ $j->{machine} }{qw(machine_id name location sensor_type status factory_id)}],
          [$target, "$p-L1", "$p-A", 'Temperature', 'error', 'default'], 'PATCH: only status changed');
isnt($j->{machine}{updated_at}, $j->{machine}{created_at}, 'PATCH: updated_at moved');

$res = api(PATCH => "/api/v1/data/machine/" . uc $target, { factory_id => 'plant-9', sensor_type => 'Speed' });
is($res->{status}, 200, 'PATCH with an upper-case id: 200');
is((json_body($res) || {})->{machine}{machine_id}, $target, '... the same machine');

$res = api(PATCH => "/api/v1/data/machine/$target", { name => "$p-L2" });
is($res->{status}, 409, 'PATCH to a taken name: 409');
is_deeply(json_body($res), { status => 'error', message => 'Machine name already exists',
                             errors => [{ field => 'name', error => 'already exists' }] }, '... the body');

my $ghost = '00000000-0000-4000-8000-00000000dead';
$res = api(PATCH => "/api/v1/data/machine/$ghost", { status => 'active' });
is($res->{status}, 404, 'PATCH an unknown id: 404');
is_deeply(json_body($res), { status => 'error', message => 'Machine not found', machine_id => $ghost },
          '... the seed\'s 404 body');

$res = api(PATCH => "/api/v1/data/machine/$target", {});
is($res->{status}, 400, 'PATCH with no field: 400');
is_deeply(json_body($res), { status => 'error', message => 'Validation failed',
          errors => [{ field => 'body', error => 'must have at least one of: name, location, sensor_type, status, factory_id' }] },
          '... the error');
$res = api(PATCH => "/api/v1/data/machine/$target", { status => 'gone', name => '' });
is($res->{status}, 400, 'PATCH with bad values: 400');
is(scalar @{ (json_body($res) || {})->{errors} || [] }, 2, '... both errors');
$res = api(PATCH => "/api/v1/data/machine/$target", { name => undef });
is($res->{status}, 400, 'PATCH name null: 400 (not nullable)');

for my $bad ('not-a-uuid', "$target-x", substr($target, 1), "$target/x", "x/$target", '%27%20OR%201%3D1') {
    $res = api(PATCH => "/api/v1/data/machine/$bad", { status => 'active' });
    is($res->{status}, 400, "PATCH malformed id '$bad': 400");
    my $b = json_body($res) || {};
    is($b->{message}, 'Invalid machine id', '... the message');
    is($b->{errors}[0]{parameter}, 'machine_id', '... the parameter');
}
$res = api(PUT => "/api/v1/data/machine/$target", { status => 'active' });
is($res->{status}, 405, 'PUT: 405');
is($res->{headers}{allow}, 'GET, HEAD, PATCH, DELETE', '... Allow');


# ---- DELETE -------------------------------------------------------------------

my $victim = $made[5];
$res = api(DELETE => "/api/v1/data/machine/$victim");
is($res->{status}, 204, 'DELETE: 204');
is($res->{content} // '', '', '... no body');
my ($gone) = psql("SELECT count(*) FROM machine_metadata WHERE id = '$victim'");
is($gone->[0], 0, 'DELETE: the row is gone');
$res = api(DELETE => "/api/v1/data/machine/$victim");
is($res->{status}, 404, 'DELETE again: 404');
is_deeply(json_body($res), { status => 'error', message => 'Machine not found', machine_id => $victim },
          '... the body');
$res = api(DELETE => '/api/v1/data/machine/nope');
is($res->{status}, 400, 'DELETE a malformed id: 400');
$res = api(DELETE => '/api/v1/data/machine/');
is($res->{status}, 400, 'DELETE without an id: 400');


# ---- NOTIFY gonsters_machines ----------------------------------------------------

sub notifications {
    my @sql = @_;
    my $out = qx{psql -X -qAt -h 127.0.0.1 -p $pg_port -U gonsters -d gonsters -c 'LISTEN gonsters_machines' @{[ map { "-c " . quotemeta($_) } @sql ]} 2>&1};
    return map { /payload "(.*)" received/ ? decode_json($1) : () } split /\n/, $out;
}

my @n = notifications("INSERT INTO machine_metadata (name, location, sensor_type) VALUES ('$p-n', '$p-n', 'T')");
is(scalar @n, 1, 'insert: one notification');
is($n[0]{op}, 'insert', '... op insert');
my ($nid) = psql("SELECT id FROM machine_metadata WHERE name = '$p-n'");
is($n[0]{machine_id}, $nid->[0], '... the machine_id');
@n = notifications("UPDATE machine_metadata SET last_seen = now() WHERE name = '$p-n'");
is(scalar @n, 0, 'last_seen alone: no notification');
@n = notifications("UPDATE machine_metadata SET status = 'error' WHERE name = '$p-n'");
is_deeply(\@n, [{ op => 'update', machine_id => $nid->[0] }], 'update: op update');
@n = notifications("DELETE FROM machine_metadata WHERE name = '$p-n'");
is_deeply(\@n, [{ op => 'delete', machine_id => $nid->[0] }], 'delete: op delete');


# ---- nginx -t: per-method permissions --------------------------------------------

sub conf_error {
    my ($directives, $name) = @_;
    my $c = Gonsters::Test->new;
    Gonsters::Test::write_file($c->prefix . '/jwt', $secret);
    $c->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_jwt_key ${\ $c->prefix}/jwt;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { $directives gonsters_endpoint health; }
    }
}
CONF
    return $c->test_config;
}

my ($rc, $out) = conf_error('gonsters_require_permission methods=GET,FETCH read:machines;');
isnt($rc, 0, 'nginx -t refuses an unknown method');
like($out, qr/invalid method "FETCH" in "gonsters_require_permission"/, '... naming it');
($rc, $out) = conf_error('gonsters_require_permission methods=GET read:a; gonsters_require_permission methods=HEAD,GET read:b;');
isnt($rc, 0, 'nginx -t refuses a method in two rules');
like($out, qr/method "GET" is given twice/, '... naming it');
($rc, $out) = conf_error('gonsters_require_permission methods=GET;');
isnt($rc, 0, 'nginx -t refuses a rule without permission');
like($out, qr/needs at least one permission/, '... saying so');
($rc, $out) = conf_error('gonsters_require_permission methods= read:a;');
isnt($rc, 0, 'nginx -t refuses an empty method list');
($rc, $out) = conf_error('gonsters_require_permission methods=get read:a;');
isnt($rc, 0, 'methods are upper case, as HTTP writes them');
($rc, $out) = conf_error('gonsters_require_permission methods=GET "read a";');
isnt($rc, 0, 'nginx -t refuses an invalid permission in a rule');
($rc, $out) = conf_error('gonsters_require_permission methods=GET,HEAD read:a; gonsters_require_permission methods=PATCH write:a; gonsters_require_permission read:x;');
is($rc, 0, 'rules and a plain list together pass nginx -t') or diag $out;

$t->stop;

done_testing();
