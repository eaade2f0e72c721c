#!/usr/bin/perl
# The configuration endpoints (seed Part 2 B) against the test stack's
# PostgreSQL: GET /api/v1/config, POST /api/v1/config/update and
# /api/v1/config/reset with the seed's bodies; every type (numbers as JSON
# numbers and as strings), bad values with the rule's message, unknown
# names answered with the known ones; the audit row of each change (user,
# role, old and new value, IP, User-Agent, and the access log's
# $request_id); NOTIFY gonsters_config received by a LISTEN session, for
# changes through the API and through psql; RBAC of each endpoint by role;
# SQL-injection strings stored and returned as data; concurrent updates
# whose audit rows form one chain (the old value is read under FOR UPDATE);
# an update whose connection is terminated is tried again and applied once;
# nginx -t refusing configuration locations without token and permission.

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use IO::Select;
use IPC::Open2;
use JSON::PP;
use Test::More;
use Gonsters::Test qw(env_or_bail finish_requests hs256_token http json_body
                     psql read_file start_request wait_until write_file);

my $dsn = env_or_bail('GONSTERS_PG_DSN');
my $pg_port = env_or_bail('GONSTERS_PG_PORT');

my $json = JSON::PP->new->canonical->utf8;
my $p = "tcfg$$";

my %defaults = (
    max_temperature_threshold => ['number', 80.0],
    min_temperature_threshold => ['number', 50.0],
    max_pressure_threshold    => ['number', 150.0],
    inactivity_timeout        => ['positive_integer', 300],
    alert_email               => ['email', 'alerts@factory.com'],
    data_retention_days       => ['positive_integer', 365],
);
my @known = sort keys %defaults;
my $note = "${p}_note";             # a setting of type string, for this file

sub restore {
    return unless defined $p && length $p;    # END runs after a compile error too
    eval {
        psql("UPDATE system_config SET setting_value = default_value, updated_by = 'system' "
           . "WHERE default_value IS NOT NULL AND setting_value IS DISTINCT FROM default_value");
        psql("DELETE FROM system_config WHERE setting_name LIKE '${p}%'");
        psql("DELETE FROM audit_logs WHERE username LIKE '${p}%'");
        psql("DELETE FROM users WHERE username LIKE '${p}%'");
    };
}
END { restore() }
restore();

psql("INSERT INTO system_config (setting_name, setting_value, description, value_type) "
   . "VALUES ('$note', 'first', 'test note', 'string')");

# users of each role (ids for the audit rows) and their tokens
my %perms = (
    Operator   => [qw(read:machines read:sensor_data write:sensor_data)],
    Supervisor => [qw(read:machines write:machines read:sensor_data write:sensor_data
                      read:reports write:reports)],
    Management => [qw(read:machines write:machines delete:machines read:sensor_data
                      write:sensor_data delete:sensor_data read:config write:config
                      read:users write:users delete:users read:reports write:reports)],
    Reader     => [qw(read:config)],
);
my $keys = tempdir('gonsters-cfg-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $secret = 'c0nf' x 12;
write_file("$keys/jwt", $secret);

my (%token, %uid);
for my $role (qw(Operator Supervisor Management Reader)) {
    my $name = "${p}_" . lc $role;
    my $db_role = $role eq 'Reader' ? 'Operator' : $role;
    my ($row) = psql("INSERT INTO users (username, email, password_hash, role) "
                   . "VALUES ('$name', '$name\@test.example', 'x', '$db_role') RETURNING id");
    $uid{$role} = $row->[0];
    $token{$role} = hs256_token($secret, {
        sub => $uid{$role}, username => $name, role => $db_role,
        permissions => $perms{$role}, iss => 'gonsters-backend-api',
        aud => 'gonsters-dashboard', iat => time, exp => time + 3600,
        jti => "$p$role", type => 'access' });
}

my $locations = <<'LOC';
        location = /api/v1/config {
            gonsters_auth jwt;
            gonsters_require_permission read:config;
            gonsters_endpoint config;
        }
        location = /api/v1/config/update {
            gonsters_auth jwt;
            gonsters_require_permission write:config;
            gonsters_endpoint config_update;
        }
        location = /api/v1/config/reset {
            gonsters_auth jwt;
            gonsters_require_permission write:config;
            gonsters_endpoint config_reset;
        }
LOC

my $t = Gonsters::Test->new->write_config(<<"CONF")->run;
%%TEST_GLOBALS%%
worker_processes 2;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    log_format ids '\$request_id \$request_uri \$status "\$http_user_agent"';
    access_log logs/ids.log ids;
    gonsters_postgres "$dsn application_name=config_api";
    gonsters_jwt_key $keys/jwt;
    server {
        listen 127.0.0.1:%%PORT%%;
$locations
    }
}
CONF

sub req {
    my ($method, $path, $role, $body, %h) = @_;
    $h{Authorization} = "Bearer $token{$role}" if defined $role;
    if (defined $body) {
        $h{'Content-Type'} = 'application/json';
    }
    my $content = !defined $body ? undef : ref $body ? $json->encode($body) : $body;
    return http($method => $t->url($path),
                { headers => \%h, defined $content ? (content => $content) : () });
}

sub update { req(POST => '/api/v1/config/update', 'Management', @_) }
sub reset_config { req(POST => '/api/v1/config/reset', 'Management', @_) }

sub current {
    my ($name) = @_;
    my ($row) = psql("SELECT setting_value FROM system_config WHERE setting_name = '$name'");
    return $row ? $row->[0] : undef;
}

sub audit_rows {
    my ($rid) = @_;
    return map {
        my %r; @r{qw(user_id username role action resource method status_code ip_address
                    user_agent request_id changes)} = @$_;
        $r{changes} = $json->decode($r{changes});
        \%r
    } psql("SELECT COALESCE(user_id::text, ''), username, role, action, resource, method, "
         . "status_code, ip_address, COALESCE(user_agent, ''), request_id, changes::text "
         . "FROM audit_logs WHERE request_id = '$rid' ORDER BY changes->>'setting_name'");
}

# the access log's request id of the last request with this User-Agent
sub access_id {
    my ($ua) = @_;
    my $id;
    wait_until(5, sub {
        for (reverse split /\n/, read_file($t->prefix . '/logs/ids.log')) {
            return $id = $1 if /^(\S+) .*"\Q$ua\E"$/;
        }
        0;
    });
    return $id;
}


# ---- GET ------------------------------------------------------------------

{
    my $res = req(GET => '/api/v1/config', 'Management');
    is($res->{status}, 200, 'GET config: 200');
    my $b = json_body($res) || {};
    is($b->{status}, 'success', 'GET config: status');
    my %by = map { $_->{name} => $_ } @{ $b->{settings} || [] };
    for my $name (@known) {
        my ($type, $default) = @{ $defaults{$name} };
        is($by{$name}{type}, $type, "GET: $name has type $type");
        is($by{$name}{value}, $default, "GET: $name has its default");
        is($by{$name}{default_value}, $default, "GET: default_value of $name");
        is($b->{config}{$name}, $default, "GET: config.$name");
        ok(exists $by{$name}{$_}, "GET: $name has $_") for qw(description updated_by updated_at);
    }
    like($res->{content}, qr/"max_temperature_threshold"\s*:\s*80\.0\b/,
         'numbers are JSON numbers');
    like($res->{content}, qr/"inactivity_timeout"\s*:\s*300\b/, 'integers are JSON numbers');
    is_deeply([map { $_->{name} } @{ $b->{settings} }], [sort map { $_->{name} } @{ $b->{settings} }],
              'settings in name order');
    is(req(POST => '/api/v1/config', 'Management')->{status}, 405, 'POST to GET config: 405');
}


# ---- update: each type, in both forms --------------------------------------

my @good = (
    [ max_temperature_threshold => 85.5,      85.5,   'a JSON number' ],
    [ max_temperature_threshold => '86.25',   86.25,  'a number in a string' ],
    [ min_temperature_threshold => -5,        -5,     'a negative number' ],
    [ max_pressure_threshold    => '1.5e2',   150,    'exponent notation in a string' ],
    [ max_pressure_threshold    => 151,       151,    'an integral number' ],
    [ inactivity_timeout        => 600,       600,    'a positive integer' ],
    [ inactivity_timeout        => '900',     900,    'a positive integer in a string' ],
    [ data_retention_days       => 2147483647, 2147483647, 'the largest positive integer' ],
    [ alert_email               => 'ops@factory.example', 'ops@factory.example', 'an email address' ],
    [ $note                     => 'any text', 'any text', 'a string setting' ],
);

for my $g (@good) {
    my ($name, $value, $want, $what) = @$g;
    my $old = current($name);
    my $ua = "cfg-test/$p/" . rand;
    my $res = update({ setting_name => $name, setting_value => $value }, 'User-Agent' => $ua);
    is($res->{status}, 200, "update $name with $what: 200") or diag($res->{content});
    my $b = json_body($res) || {};
    is($b->{status}, 'success', '... status');
    is($b->{message}, 'Configuration updated successfully', '... the seed\'s message');
    my $s = $b->{updated_setting} || {};
    is($s->{name}, $name, '... updated_setting.name');
    is($s->{value}, $want, '... updated_setting.value');
    is($s->{updated_by}, "${p}_management", '... updated_by is the token\'s username');
    like($s->{updated_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, '... updated_at');
    is(current($name), "$value", '... stored as sent');

    # the audit row: who, what, from where, with the access log's request id
    my $rid = access_id($ua);
    ok($rid, '... the access log has the request');
    my @a = audit_rows($rid // '-');
    is(scalar @a, 1, '... one audit row with the access log\'s request id');
    my $a = $a[0] || {};
    is($a->{user_id}, $uid{Management}, '... audit user_id');
    is($a->{username}, "${p}_management", '... audit username');
    is($a->{role}, 'Management', '... audit role');
    is($a->{action}, 'UPDATE_CONFIG', '... audit action');
    is($a->{resource}, '/api/v1/config/update', '... audit resource');
    is($a->{method}, 'POST', '... audit method');
    is($a->{status_code}, 200, '... audit status');
    is($a->{ip_address}, '127.0.0.1', '... audit IP');
    is($a->{user_agent}, $ua, '... audit user agent');
    is($a->{changes}{setting_name}, $name, '... changes.setting_name');
    is($a->{changes}{new_value}, $want, '... changes.new_value');
    my $old_json = $defaults{$name} && $defaults{$name}[0] ne 'email' ? 0 + $old : $old;
    is($a->{changes}{old_value}, $old_json, '... changes.old_value');
}


# ---- bad values: the rule's message, nothing stored, no audit row ----------

my @bad = (
    [ max_temperature_threshold => 'abc',      'must be a number' ],
    [ max_temperature_threshold => '',         'must be a number' ],
    [ max_temperature_threshold => ' 85',      'must be a number' ],
    [ max_temperature_threshold => '85 ',      'must be a number' ],
    [ max_temperature_threshold => '0x10',     'must be a number' ],
    [ max_temperature_threshold => 'NaN',      'must be a number' ],
    [ max_temperature_threshold => 'Infinity', 'must be a number' ],
    [ max_temperature_threshold => '+5',       'must be a number' ],
    [ max_temperature_threshold => '1e10',     'must be between -1e9 and 1e9' ],
    [ max_temperature_threshold => 1e300,      'must be between -1e9 and 1e9' ],
    [ inactivity_timeout        => 0,          'must be a positive integer (1 to 2147483647)' ],
    [ inactivity_timeout        => -1,         'must be a positive integer (1 to 2147483647)' ],
    [ inactivity_timeout        => 1.5,        'must be a positive integer (1 to 2147483647)' ],
    [ inactivity_timeout        => '300.0',    'must be a positive integer (1 to 2147483647)' ],
    [ inactivity_timeout        => '2147483648', 'must be a positive integer (1 to 2147483647)' ],
    [ inactivity_timeout        => '99999999999999999999', 'must be a positive integer (1 to 2147483647)' ],
    [ data_retention_days       => 'forever',  'must be a positive integer (1 to 2147483647)' ],
    [ alert_email               => 'not-an-email', 'must be an email address' ],
    [ alert_email               => 'a@b',      'must be an email address' ],
    [ alert_email               => '@factory.com', 'must be an email address' ],
    [ alert_email               => 'a b@factory.com', 'must be an email address' ],
    [ alert_email               => 5,          'must be an email address' ],
    [ $note                     => 'x' x 1001, 'must be at most 1000 bytes' ],
);

for my $case (@bad) {
    my ($name, $value, $error) = @$case;
    my $before = current($name);
    my $ua = "cfg-bad/$p/" . rand;
    my $res = update({ setting_name => $name, setting_value => $value }, 'User-Agent' => $ua);
    my $shown = length $value > 20 ? substr($value, 0, 20) . '...' : $value;
    is($res->{status}, 400, "update $name to '$shown': 400");
    is_deeply(json_body($res),
              { status => 'error', message => 'Validation failed',
                errors => [{ field => 'setting_value', error => $error }] },
              "... error: $error");
    is(current($name), $before, '... nothing stored');
    is(scalar(audit_rows(access_id($ua) // '-')), 0, '... no audit row');
}

# settings that only make sense together: min below max (checked at COMMIT)
{
    my ($lo, $hi) = (current('min_temperature_threshold'), current('max_temperature_threshold'));
    my $res = update({ setting_name => 'min_temperature_threshold', setting_value => $hi + 1 });
    is($res->{status}, 400, 'min_temperature_threshold above the maximum: 400');
    like((json_body($res) || {})->{errors}[0]{error} // '',
         qr/^min_temperature_threshold \(\S+\) must be below max_temperature_threshold \(\S+\)$/,
         '... the rule\'s message');
    $res = update({ setting_name => 'max_temperature_threshold', setting_value => $lo });
    is($res->{status}, 400, 'max_temperature_threshold equal to the minimum: 400');
    is(current('min_temperature_threshold'), $lo, '... nothing stored');
    is(current('max_temperature_threshold'), $hi, '... nothing stored');
    eval { psql("UPDATE system_config SET setting_value = '1000' WHERE setting_name = 'min_temperature_threshold'") };
    like($@, qr/must be below max_temperature_threshold/, '... and psql is refused the same way');
}

# JSON types that are neither number nor string; shapes of the body
for my $v (['true', JSON::PP::true], ['null', undef], ['an array', [1]], ['an object', { a => 1 }]) {
    my $res = update({ setting_name => 'max_temperature_threshold', setting_value => $v->[1] });
    is($res->{status}, 400, "setting_value $v->[0]: 400");
    is_deeply(json_body($res)->{errors},
              [{ field => 'setting_value', error => 'must be a number or a string' }],
              "... must be a number or a string");
}
{
    my $res = update({});
    is_deeply(json_body($res),
              { status => 'error', message => 'Validation failed',
                errors => [{ field => 'setting_name', error => 'is required' },
                           { field => 'setting_value', error => 'is required' }] },
              'empty body: both fields required');
    $res = update({ setting_name => 7, setting_value => 1 });
    is_deeply(json_body($res)->{errors}, [{ field => 'setting_name', error => 'must be a string' }],
              'setting_name must be a string');
    $res = update({ setting_name => '', setting_value => 1 });
    is_deeply(json_body($res)->{errors}, [{ field => 'setting_name', error => 'must not be empty' }],
              'setting_name must not be empty');
    $res = update('{"setting_name": "max_temperature_threshold", ');
    is($res->{status}, 400, 'invalid JSON: 400');
    is((json_body($res) || {})->{message}, 'Invalid JSON body', '... Invalid JSON body');
    $res = update('[1,2]');
    is($res->{status}, 400, 'a JSON array body: 400');
    $res = update({ setting_name => "max_temperature_threshold", setting_value => "8\x{0}5" });
    is($res->{status}, 400, 'a NUL in a value: 400');
    is(req(GET => '/api/v1/config/update', 'Management')->{status}, 405, 'GET update: 405');
}

# unknown names: refused with the known ones
my @names = map { $_->[0] } psql("SELECT setting_name FROM system_config ORDER BY setting_name");
my ($count) = psql("SELECT count(*) FROM system_config");
ok((grep { $_ eq $note } @names) && @names >= @known + 1, 'the known settings include the seed\'s and the test\'s');
for my $name ('max_temp', 'MAX_TEMPERATURE_THRESHOLD', "x'; DROP TABLE system_config; --") {
    my $res = update({ setting_name => $name, setting_value => 1 });
    is($res->{status}, 400, "unknown setting '$name': 400");
    my $b = json_body($res) || {};
    is($b->{message}, 'Unknown setting', '... Unknown setting');
    is_deeply($b->{known_settings}, \@names, '... known_settings lists them');
    is($b->{errors}[0]{field}, 'setting_name', '... the field');
    is($b->{errors}[0]{error}, 'unknown setting; known settings: ' . join(', ', @names),
       '... and the error names them');
}
is((psql("SELECT count(*) FROM system_config"))[0][0], $count->[0], 'system_config is intact');


# ---- SQL-injection strings are data ----------------------------------------

for my $evil ("'; DROP TABLE users; --", "Robert'); DROP TABLE system_config;--",
              "1' OR '1'='1", "\$1 \\x00 \\' \" ; --", "\x{2028}\x{e9}") {
    my $ua = "evil'); DELETE FROM audit_logs; -- $p " . rand;
    my $res = update({ setting_name => $note, setting_value => $evil }, 'User-Agent' => $ua);
    is($res->{status}, 200, 'an injection string as a value: 200');
    is((eval { $json->decode($res->{content}) } || {})->{updated_setting}{value}, $evil,
       '... returned as data');
    my $get = eval { $json->decode(req(GET => '/api/v1/config', 'Management')->{content}) } || {};
    is($get->{config}{$note}, $evil, '... and read back as data');
    my @a = audit_rows(access_id($ua) // '-');
    is($a[0] && $a[0]{user_agent}, $ua, '... the User-Agent stored as data');
    is($a[0] && $a[0]{changes}{new_value}, $evil, '... the audit row\'s new_value');
}
is(scalar(psql("SELECT 1 FROM users WHERE username LIKE '${p}%'")), 4, 'users is intact');
{
    my $res = update({ setting_name => 'alert_email', setting_value => "o'brien+alerts\@factory.com" });
    is($res->{status}, 200, "an email with a quote: 200");
    is(current('alert_email'), "o'brien+alerts\@factory.com", '... stored as data');
}


# ---- NOTIFY gonsters_config --------------------------------------------------

{
    my $pid = open2(my $out, my $in, 'psql', '-X', '-qAt', '-h', '127.0.0.1', '-p', $pg_port,
                    '-U', 'gonsters', '-d', 'gonsters');
    print $in "LISTEN gonsters_config;\n\\echo listening\n";
    $in->flush;
    my $sel = IO::Select->new($out);
    my $buf = '';
    my $read = sub {
        while ($sel->can_read(0.05)) {
            my $n = sysread $out, my $chunk, 65536;
            last unless $n;
            $buf .= $chunk;
        }
    };
    ok(wait_until(10, sub { $read->(); $buf =~ /listening/ }), 'a psql session listens');

    my $res = update({ setting_name => 'max_pressure_threshold', setting_value => '160.5' });
    is($res->{status}, 200, 'update through the API');
    psql("UPDATE system_config SET setting_value = '42' WHERE setting_name = 'inactivity_timeout'");

    my @got;
    wait_until(10, sub {
        print $in "SELECT 1;\n";
        $in->flush;
        $read->();
        @got = map { eval { $json->decode($_) } // () }
               map { my $s = $_; $s =~ s/\\"/"/g; $s }
               $buf =~ /Asynchronous notification "gonsters_config" with payload "(.*?)" received/g;
        @got >= 2;
    });
    is_deeply($got[0], { setting => 'max_pressure_threshold', value => '160.5' },
              'NOTIFY of the API change: {"setting","value"}');
    is_deeply($got[1], { setting => 'inactivity_timeout', value => '42' },
              'NOTIFY of a change made with psql');
    print $in "\\q\n";
    close $in;
    waitpid $pid, 0;

    # psql cannot store what the API refuses: the rule is the trigger's
    eval { psql("UPDATE system_config SET setting_value = 'hot' WHERE setting_name = 'max_temperature_threshold'") };
    like($@, qr/must be a number/, 'psql: a non-number threshold is refused with the same message');
}


# ---- reset -----------------------------------------------------------------

{
    update({ setting_name => 'max_temperature_threshold', setting_value => 99 });
    my $ua = "cfg-reset/$p/" . rand;
    my $res = reset_config({ setting_name => 'max_temperature_threshold' }, 'User-Agent' => $ua);
    is($res->{status}, 200, 'reset one: 200');
    my $b = json_body($res) || {};
    is($b->{updated_setting}{name}, 'max_temperature_threshold', '... updated_setting.name');
    is($b->{updated_setting}{value}, 80.0, '... back to the default');
    is($b->{updated_setting}{old_value}, 99, '... old_value');
    is(current('max_temperature_threshold'), '80.0', '... stored');
    my @a = audit_rows(access_id($ua) // '-');
    is(scalar @a, 1, '... one audit row');
    is($a[0] && $a[0]{action}, 'RESET_CONFIG', '... RESET_CONFIG');
    is_deeply($a[0] && $a[0]{changes},
              { setting_name => 'max_temperature_threshold', old_value => 99, new_value => 80.0 },
              '... with old and new value');

    update({ setting_name => 'inactivity_timeout', setting_value => 77 });
    update({ setting_name => 'alert_email', setting_value => 'x@factory.example' });
    $ua = "cfg-reset-all/$p/" . rand;
    $res = reset_config({ all => JSON::PP::true }, 'User-Agent' => $ua);
    is($res->{status}, 200, 'reset all: 200');
    $b = json_body($res) || {};
    is($b->{message}, 'Configuration reset to defaults', '... message');
    is_deeply([map { $_->{name} } @{ $b->{updated_settings} || [] }], \@known,
              '... every setting with a default, in name order (not the one without)');
    my %v = map { $_->{name} => $_->{value} } @{ $b->{updated_settings} || [] };
    is($v{$_}, $defaults{$_}[1], "... $_ is its default") for @known;
    @a = audit_rows(access_id($ua) // '-');
    is(scalar @a, scalar @known, '... one audit row per setting');
    my %ch = map { $_->{changes}{setting_name} => $_->{changes} } @a;
    is_deeply($ch{inactivity_timeout}, { setting_name => 'inactivity_timeout', old_value => 77, new_value => 300 },
              '... the row of inactivity_timeout');

    my @resets = (
        [ {},                                             'setting_name', 'give either setting_name or "all": true' ],
        [ { all => JSON::PP::false },                     'setting_name', 'give either setting_name or "all": true' ],
        [ { all => JSON::PP::true, setting_name => 'alert_email' }, 'setting_name', 'give either setting_name or "all": true' ],
        [ { all => 'yes' },                               'all', 'must be true or false' ],
        [ { setting_name => 3 },                          'setting_name', 'must be a string' ],
        [ { setting_name => $note },                      'setting_name', 'has no default value' ],
    );
    for my $r (@resets) {
        $res = reset_config($r->[0]);
        is($res->{status}, 400, 'reset ' . $json->encode($r->[0]) . ': 400');
        is_deeply(json_body($res)->{errors}, [{ field => $r->[1], error => $r->[2] }], "... $r->[2]");
    }
    $res = reset_config({ setting_name => 'nope' });
    is($res->{status}, 400, 'reset of an unknown setting: 400');
    is((json_body($res) || {})->{message}, 'Unknown setting', '... Unknown setting');
}


# ---- concurrent updates: the audit rows form one chain -----------------------

{
    my $n = 16;
    my $start = current('max_pressure_threshold');
    my @reqs = map {
        my $body = $json->encode({ setting_name => 'max_pressure_threshold', setting_value => 1000 + $_ });
        start_request($t->port, 'POST', '/api/v1/config/update',
                      headers => [[ Authorization => "Bearer $token{Management}" ],
                                  [ 'Content-Type' => 'application/json' ],
                                  [ 'User-Agent' => "cfg-race/$p" ]],
                      body => $body)
    } 1 .. $n;
    @reqs = finish_requests(20, @reqs);
    is(join(',', map { $_->{status} } @reqs), join(',', (200) x $n), "$n concurrent updates: all 200");
    my @rows = psql("SELECT changes->>'old_value', changes->>'new_value' FROM audit_logs "
                  . "WHERE user_agent = 'cfg-race/$p' ORDER BY created_at");
    is(scalar @rows, $n, "... $n audit rows");
    my %next = map { $_->[0] => $_->[1] } @rows;
    my ($v, $steps) = ($start, 0);
    $v = $next{$v}, $steps++ while defined $next{$v} && $steps <= $n;
    is($steps, $n, '... each old value is the new value of the one before: one chain from the start');
    is($v, current('max_pressure_threshold'), '... ending at the stored value');
}


# ---- a connection lost under the update is repeated, once applied ------------

{
    # a psql session holds the row, so the update waits on its lock; its
    # connection is then terminated by the server (FATAL 57P01)
    my $pid = open2(my $out, my $in, 'psql', '-X', '-qAt', '-h', '127.0.0.1', '-p', $pg_port,
                    '-U', 'gonsters', '-d', 'gonsters');
    my $sel = IO::Select->new($out);
    my $buf = '';
    my $read = sub {
        while ($sel->can_read(0.05)) {
            my $n = sysread $out, my $chunk, 65536;
            last unless $n;
            $buf .= $chunk;
        }
    };
    print $in "BEGIN;\nSELECT 1 FROM system_config WHERE setting_name = 'min_temperature_threshold' FOR UPDATE;\n\\echo locked\n";
    $in->flush;
    ok(wait_until(10, sub { $read->(); $buf =~ /locked/ }), 'a psql session locks the row');

    my $waiting = sub {
        my ($row) = psql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                       . "WHERE application_name = 'config_api' AND wait_event_type = 'Lock'");
        return $row->[0];
    };
    my $ua = "cfg-lost/$p";
    my ($r) = start_request($t->port, 'POST', '/api/v1/config/update',
                            headers => [[ Authorization => "Bearer $token{Management}" ],
                                        [ 'Content-Type' => 'application/json' ],
                                        [ 'User-Agent' => $ua ]],
                            body => $json->encode({ setting_name => 'min_temperature_threshold',
                                                    setting_value => 42.5 }));
    my $first;
    ok(wait_until(10, sub { $first = $waiting->() }), 'the update waits for the lock');
    psql("SELECT pg_terminate_backend($first)");
    my $second;
    ok(wait_until(10, sub { my $w = $waiting->(); $second = $w if $w && $w ne $first; $second }),
       '... its connection terminated, the update is tried again and waits again');
    print $in "COMMIT;\n\\q\n";
    close $in;
    waitpid $pid, 0;

    ($r) = finish_requests(20, $r);
    is($r->{status}, 200, '... the lock released: 200') or diag($r->{body});
    is(($r->{json} || {})->{updated_setting}{value}, 42.5, '... with the new value');
    is(current('min_temperature_threshold'), '42.5', '... stored');
    my @a = audit_rows(access_id($ua) // '-');
    is(scalar @a, 1, '... one audit row');
    like($t->read_log, qr/gonsters: update_config attempt 1 failed/, '... error.log names the failed attempt');
}


# ---- RBAC: each endpoint by role ---------------------------------------------

my %allowed = (
    'GET /api/v1/config'         => { perm => 'read:config',  roles => [qw(Management Reader)] },
    'POST /api/v1/config/update' => { perm => 'write:config', roles => [qw(Management)] },
    'POST /api/v1/config/reset'  => { perm => 'write:config', roles => [qw(Management)] },
);
for my $ep (sort keys %allowed) {
    my ($method, $path) = split / /, $ep;
    my $body = $method eq 'POST'
        ? ($path =~ /reset/ ? { setting_name => 'data_retention_days' }
                            : { setting_name => 'data_retention_days', setting_value => 400 })
        : undef;
    for my $role (qw(Operator Supervisor Management Reader)) {
        my $before = current('data_retention_days');
        my $res = req($method, $path, $role, $body);
        if (grep { $_ eq $role } @{ $allowed{$ep}{roles} }) {
            is($res->{status}, 200, "$ep as $role: 200") or diag($res->{content});
        } else {
            is($res->{status}, 403, "$ep as $role: 403");
            is(current('data_retention_days'), $before, '... nothing stored');
            is_deeply(json_body($res),
                      { status => 'error', message => "Insufficient permissions. Required: $allowed{$ep}{perm}" },
                      "... names $allowed{$ep}{perm}");
        }
    }
    my $res = req($method, $path, undef, $body);
    is($res->{status}, 401, "$ep without a token: 401");
}

$t->stop;


# ---- nginx -t: configuration locations need a token and the permission -------

for my $case (
    [ 'config',        '',                                                     'read:config' ],
    [ 'config_update', 'gonsters_auth jwt;',                                   'write:config' ],
    [ 'config_update', 'gonsters_auth jwt; gonsters_require_permission read:config;', 'write:config' ],
    [ 'config_reset',  'gonsters_auth jwt; gonsters_require_permission read:machines;', 'write:config' ],
    [ 'config',        'gonsters_auth off; gonsters_require_permission read:config;', 'read:config' ],
) {
    my ($ep, $dirs, $need) = @$case;
    my $n = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_jwt_key $keys/jwt;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /c { $dirs gonsters_endpoint $ep; }
    }
}
CONF
    my ($rc, $out) = $n->test_config;
    isnt($rc, 0, "nginx -t refuses $ep with '$dirs'");
    like($out, qr/needs "gonsters_auth jwt" and "gonsters_require_permission \Q$need\E"/,
         "... naming $need");
}
{
    my $n = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_jwt_key $keys/jwt;
    server {
        listen 127.0.0.1:%%PORT%%;
        gonsters_auth jwt;
        gonsters_require_permission write:config read:config;
        location /c { gonsters_endpoint config_update; }
        location /r { gonsters_endpoint config; }
        # required permissions alone verify tokens (fail closed)
        location /s { gonsters_require_permission read:config; gonsters_endpoint config; }
    }
}
CONF
    my ($rc, $out) = $n->test_config;
    is($rc, 0, 'nginx -t accepts token and permissions inherited from the server') or diag($out);
}

done_testing;
