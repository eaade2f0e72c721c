#!/usr/bin/perl
# POST /api/v1/data/ingest on the test stack: the seed's body and answers
# (201, 207, 400), every validation rule with its field path, value and
# message in one answer, the limits (413, 400 naming the limit), 415, bodies
# spooled to a temporary file, malformed JSON with its position, tags from
# the registry (hostile locations round-trip exactly or are refused, never
# break a line), nanosecond timestamps, idempotent resends, and InfluxDB
# stalled or killed (503 with Retry-After, then the retry succeeds) while
# other endpoints keep answering.

use strict;
use warnings;
use lib 't/lib';

use HTTP::Tiny;
use IO::Socket::INET;
use Encode ();
use JSON::PP;
use POSIX ();
use Test::More;
use Gonsters::Test qw(env_or_bail finish_requests http json_body psql start_request
                      wait_until);
use Gonsters::Telemetry qw(telemetry_conf token machine influx_query influx_rows
                           ingest_body iso ns_now post_ingest);

my $json = JSON::PP->new->canonical->utf8;

my $t = Gonsters::Test->new->write_config(telemetry_conf(influx_timeout => '2s',
    http => 'gonsters_event_log logs/events.log debug;', server => <<'S'))->run;
        location = /small {
            gonsters_auth jwt;
            gonsters_require_permission write:sensor_data;
            gonsters_ingest_max_body_size 1000;
            gonsters_ingest_max_machines 2;
            gonsters_ingest_max_readings 3;
            gonsters_ingest_max_depth 5;
            gonsters_ingest_max_errors 4;
            gonsters_ingest_max_age 1d;
            gonsters_endpoint ingest;
        }
        location = /spool {
            gonsters_auth jwt;
            client_body_buffer_size 1k;
            gonsters_endpoint ingest;
        }
S

my $url = $t->url('/api/v1/data/ingest');
my $now = ns_now();
my $hour = 3600 * 1_000_000_000;

sub points {    # the raw points of a machine, oldest first
    my ($id, $extra) = @_;
    return influx_rows("SELECT * FROM sensor_data_raw.sensor_readings WHERE machine_id = '$id'"
                       . ($extra // ''));
}


# ---- a valid batch: 201, the seed's answer, the points as sent -----------------

my $m1 = machine(location => 'Factory Floor 1 - Zone A', sensor_type => 'Temperature');
my $m2 = machine(location => 'Factory Floor 2', sensor_type => 'Pressure');

my $ts1 = $now - 10 * 1_000_000_000 + 123456789;     # nanoseconds survive
my $ts2 = $ts1 + 1_000_000_001;
my $body = ingest_body([uc $m1, [ { timestamp => iso($ts1), temperature => 60.5, pressure => 102.0, speed => 1400 },
                                  { timestamp => iso($ts2), temperature => -0.25 } ]],
                       [$m2, [ { timestamp => iso($ts1), pressure => 1e-7 } ]]);

my $res = post_ingest($url, $body);
is($res->{status}, 201, 'valid batch: 201') or diag $res->{content};
my $b = json_body($res) || {};
is($b->{status}, 'success', 'status success');
is($b->{message}, 'Batch ingestion completed', 'message');
is_deeply($b->{details}, [ { machine_id => $m1, readings_count => 2, status => 'success' },
                           { machine_id => $m2, readings_count => 1, status => 'success' } ],
          'details per machine (ids in lower case)');
is($b->{summary}{gateway_id}, 'GW-TEST-01', 'summary.gateway_id');
is($b->{summary}{total_machines}, 2, 'summary.total_machines');
is($b->{summary}{total_readings}, 3, 'summary.total_readings');
like($b->{summary}{processed_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'summary.processed_at');

my $p = points($m1);
is(scalar @$p, 2, 'two points of the first machine');
is($p->[0]{time}, $ts1, 'the reading\'s own timestamp, to the nanosecond');
is($p->[1]{time}, $ts2, 'the second timestamp');
is_deeply([ @{ $p->[0] }{qw(temperature pressure speed)} ], [60.5, 102, 1400], 'the values');
is_deeply([ @{ $p->[1] }{qw(temperature pressure speed)} ], [-0.25, undef, undef],
          'only the values sent');
is($p->[0]{location}, 'Factory Floor 1 - Zone A', 'location tag from the registry, not the payload');
is($p->[0]{sensor_type}, 'Temperature', 'sensor_type tag from the registry');
is(points($m2)->[0]{pressure}, 1e-7, 'a small value exactly');

# the event log: DEBUG "payload validation success" with the time it took
my ($ev) = grep { ($_->{message} // '') eq 'payload validation success' }
           map { eval { $json->decode($_) } || () }
           split /\n/, Gonsters::Test::read_file($t->prefix . '/logs/events.log');
ok($ev, 'event "payload validation success"') or diag Gonsters::Test::read_file($t->prefix . '/logs/events.log');
is($ev->{level}, 'DEBUG', '... at DEBUG');
like($ev->{context}{validation_ms} // '', qr/^[0-9.e-]+$/, '... with the validation time');
is($ev->{context}{readings}, 3, '... and the number of readings');

# last_seen, written in batches by the registry
ok(wait_until(10, sub { (psql("SELECT last_seen IS NOT NULL FROM machine_metadata WHERE id = '$m1'"))[0][0] eq 't' }),
   'last_seen of the machine is set');

# resending the same body is safe: same points
$res = post_ingest($url, $body);
is($res->{status}, 201, 'the same body again: 201');
is(scalar @{ points($m1) }, 2, 'still two points (idempotent)');


# ---- every validation rule in one answer -------------------------------------------

my $long = 'x' x 501;
my $bad = $json->encode({
    timestamp => '2025-12-13T10:00:00',
    gateway_id => 'g' x 256,
    batch => [
        { machine_id => 'not-a-uuid', sensor_type => 'a', location => 'b',
          readings => [ { timestamp => '2025-13-45', temperature => 1 } ] },
        { machine_id => $m1, sensor_type => 'a', location => $long,
          readings => [ { timestamp => '2025-12-13T10:00:00Z' },
                        { timestamp => '2025-12-13T10:00:00Z', temperature => '12' },
                        { temperature => 1 },
                        { timestamp => '2025-12-13T10:00:00+07:00', speed => JSON::PP::true } ] },
        { sensor_type => 'a', location => 'b', readings => [] },
        { machine_id => $m1, location => 'b', readings => 'none' },
        7,
    ],
});
$res = post_ingest($url, $bad);
is($res->{status}, 400, 'invalid body: 400');
$b = json_body($res) || {};
is($b->{status}, 'error', 'status error');
is($b->{message}, 'Validation failed', 'message');
my %err = map { ($_->{field} => $_) } @{ $b->{errors} || [] };
my @expect = (
    [ 'timestamp', '2025-12-13T10:00:00', qr/zone/i ],
    [ 'gateway_id', 'g' x 256, qr/255/ ],
    [ 'batch[0].machine_id', 'not-a-uuid', qr/UUID/ ],
    [ 'batch[0].readings[0].timestamp', '2025-13-45', qr/ISO 8601/ ],
    [ 'batch[1].location', $long, qr/500/ ],
    [ 'batch[1].readings[0]', undef, qr/temperature|at least one/i ],
    [ 'batch[1].readings[1].temperature', '12', qr/number/i ],
    [ 'batch[1].readings[2].timestamp', undef, qr/required|missing/i ],
    [ 'batch[1].readings[3].speed', undef, qr/number/i ],
    [ 'batch[2].machine_id', undef, qr/required|missing/i ],
    [ 'batch[2].readings', undef, qr/at least one/i ],
    [ 'batch[3].sensor_type', undef, qr/required|missing/i ],
    [ 'batch[3].readings', 'none', qr/array/i ],
    [ 'batch[4]', 7, qr/object/i ],
);
for my $e (@expect) {
    my ($field, $value, $re) = @$e;
    my $got = $err{$field};
    ok($got, "error for $field") or next;
    like($got->{error}, $re, "$field: the error text");
    is($got->{value}, $value, "$field: the offending value") if defined $value;
    ok(exists $got->{value}, "$field: a value member");
}
is(scalar @{ $b->{errors} }, scalar @expect, 'every error, and only those') or diag explain $b->{errors};

# numbers that are not finite: 1e999 overflows to infinity; NaN is not JSON
$res = post_ingest($url, '{"gateway_id":"g","timestamp":"2025-12-13T10:00:00Z","batch":[{"machine_id":"'
                   . $m1 . '","sensor_type":"a","location":"b","readings":[{"timestamp":"2025-12-13T10:00:00Z","temperature":1e999}]}]}');
is($res->{status}, 400, 'temperature 1e999: 400');
is((json_body($res) || {})->{errors}[0]{field}, 'batch[0].readings[0].temperature', '... named');

for my $v ('NaN', 'Infinity', '-Infinity') {
    $res = post_ingest($url, '{"gateway_id":"g","timestamp":"2025-12-13T10:00:00Z","batch":[{"machine_id":"'
                       . $m1 . '","sensor_type":"a","location":"b","readings":[{"timestamp":"2025-12-13T10:00:00Z","temperature":' . $v . '}]}]}');
    is($res->{status}, 400, "temperature $v: 400");
    like((json_body($res) || {})->{errors}[0]{error}, qr/JSON/, "... not JSON");
}


# ---- malformed JSON, content type, method ------------------------------------------

$res = post_ingest($url, '{"gateway_id": "x", "batch": [1,');
is($res->{status}, 400, 'malformed JSON: 400');
$b = json_body($res) || {};
is($b->{message}, 'Malformed JSON', '... message');
is($b->{errors}[0]{field}, 'body', '... field body');
is($b->{errors}[0]{position}, 31, '... the position where parsing stopped');
like($b->{errors}[0]{error}, qr/31/, '... named in the text');

$res = post_ingest($url, "{\"a\":\"\xff\"}");
is($res->{status}, 400, 'invalid UTF-8: 400');

$res = post_ingest($url, $body, undef, 'Content-Type' => 'text/plain');
is($res->{status}, 415, 'text/plain: 415');
is((json_body($res) || {})->{message}, 'Unsupported media type', '... JSON answer');
$res = post_ingest($url, $body, undef, 'Content-Type' => 'application/jsonx');
is($res->{status}, 415, 'application/jsonx: 415');
$res = post_ingest($url, $body, undef, 'Content-Type' => 'Application/JSON; charset=utf-8');
is($res->{status}, 201, 'application/json with a charset: 201');

$res = http(GET => $url, { headers => { Authorization => 'Bearer ' . token() } });
is($res->{status}, 405, 'GET: 405');
is($res->{headers}{allow}, 'POST', '... Allow: POST');


# ---- limits ---------------------------------------------------------------------

my $small = $t->url('/small');
$res = post_ingest($small, 'x' x 1001);
is($res->{status}, 413, 'body over gonsters_ingest_max_body_size: 413');
like((json_body($res) || {})->{errors}[0]{error}, qr/1000 bytes/, '... naming the limit');

{   # chunked: no Content-Length to refuse it early
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port, Timeout => 5) or die $!;
    print $s "POST /small HTTP/1.1\r\nConnection: close\r\nHost: x\r\nAuthorization: Bearer " . token()
           . "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           . sprintf("%x\r\n%s\r\n0\r\n\r\n", 1200, 'y' x 1200);
    my $answer = do { local $/; <$s> } // '';
    like($answer, qr{^HTTP/1\.[01] 413}, 'chunked body over the limit: 413');
    like($answer, qr/gonsters_ingest_max_body_size/, '... the JSON answer');
}

my $r1 = { timestamp => iso($now), temperature => 1 };
$res = post_ingest($small, ingest_body(map { [$m1, [$r1]] } 1 .. 3));
is($res->{status}, 400, 'three machines over a limit of two: 400');
like((json_body($res) || {})->{errors}[0]{error}, qr/2 machines/, '... naming the limit');
is((json_body($res) || {})->{errors}[0]{field}, 'batch', '... on batch');

$res = post_ingest($small, ingest_body([$m1, [($r1) x 4]]));
is($res->{status}, 400, 'four readings over a limit of three: 400');
like((json_body($res) || {})->{errors}[0]{error}, qr/3 readings/, '... naming the limit');

$res = post_ingest($small, '{"a":[[[[[[1]]]]]]}');
is($res->{status}, 400, 'nesting deeper than 5: 400');
like((json_body($res) || {})->{errors}[0]{error}, qr/deep|depth|nest/i, '... says so');

$res = post_ingest($small, $json->encode({ batch => [ map { +{ readings => [] } } 1 .. 2 ] }));
$b = json_body($res) || {};
is(scalar @{ $b->{errors} }, 4, 'at most gonsters_ingest_max_errors errors listed');
ok($b->{errors_omitted} > 0, '... the others counted') or diag $res->{content};

$res = post_ingest($small, ingest_body([$m1, [ { timestamp => iso($now - 2 * 86400 * 1_000_000_000), speed => 1 } ]]));
is($res->{status}, 400, 'a reading older than gonsters_ingest_max_age: 400');
is((json_body($res) || {})->{errors}[0]{field}, 'batch[0].readings[0].timestamp', '... named');


# ---- a body in a temporary file -------------------------------------------------

my $m3 = machine();
my @many = map { { timestamp => iso($now - $_ * 1_000_000_000), temperature => $_ + 0.5 } } 1 .. 40;
my $big = ingest_body([$m3, \@many]);
ok(length($big) > 2048, 'a body larger than client_body_buffer_size');
$res = post_ingest($t->url('/spool'), $big);
is($res->{status}, 201, 'read from the temporary file: 201') or diag $res->{content};
is(scalar @{ points($m3) }, 40, 'all 40 readings written');


# ---- 207: unknown machines reported, the rest written ---------------------------------

my $unknown = '00000000-0000-4000-8000-' . sprintf('%012d', $$);
my $m4 = machine();
$res = post_ingest($url, ingest_body([$m4, [$r1]], [$unknown, [$r1]],
                                     ['nope', [$r1]]));
is($res->{status}, 207, 'valid, unknown and invalid machines: 207') or diag $res->{content};
$b = json_body($res) || {};
is($b->{status}, 'partial_success', 'status partial_success');
is($b->{message}, 'Batch ingestion completed with errors', 'message');
is_deeply([ map { $_->{status} } @{ $b->{details} } ], [qw(success failed failed)], 'details');
is($b->{summary}{total_readings}, 1, 'one reading written');
is($b->{summary}{total_machines}, 3, 'three machines in the batch');
%err = map { ($_->{field} => $_) } @{ $b->{errors} };
is($err{'batch[1].machine_id'}{error}, 'Machine ID not found in database', 'unknown machine: the seed\'s error');
is($err{'batch[1].machine_id'}{value}, $unknown, '... its id');
like($err{'batch[2].machine_id'}{error}, qr/UUID/, 'invalid id reported');
is(scalar @{ points($m4) }, 1, 'the known machine\'s reading is written');
is(scalar @{ points($unknown) }, 0, 'nothing for the unknown one');

$res = post_ingest($url, ingest_body([$unknown, [$r1]]));
is($res->{status}, 400, 'only unknown machines: 400');
is((json_body($res) || {})->{message}, 'Batch ingestion failed', '... message');


# ---- hostile locations: stored exactly, or refused without breaking a line --------------

my @hostile = ('Hall 1, Bay=3 "north"', 'back\\slash \\, and \\= and \\\\ twice',
               "tab\tinside", 'quote\'s "and" commas,,,', ' leading and trailing ',
               "Zone \x{e9}t\x{e9} \x{2603}, =", "new\nline sensor_readings,machine_id=injected temperature=1 1");
for my $loc (@hostile) {
    my $ok = $loc !~ /[\t\n]/;
    my $id = machine(location => Encode::encode_utf8($loc), sensor_type => 'Type, "x"=y');
    $res = post_ingest($url, ingest_body([$id, [$r1]], [$m4, [$r1]]));
    (my $shown = $loc) =~ s/([^\x20-\x7e])/sprintf('\\x{%x}', ord $1)/ge;
    if ($ok) {
        is($res->{status}, 201, "location '$shown': 201") or diag $res->{content};
        my $pt = points($id)->[0] || {};
        is($pt->{location}, $loc, "location '$shown' reads back exactly");
        is($pt->{sensor_type}, 'Type, "x"=y', '... and the sensor_type');
    } else {
        is($res->{status}, 207, "location '$shown': refused for that machine (207)");
        like((json_body($res) || {})->{errors}[0]{error}, qr/cannot be stored as an InfluxDB tag/,
             '... why');
        is(scalar @{ points($id) }, 0, '... nothing written for it');
    }
}
is(scalar @{ influx_rows("SELECT * FROM sensor_data_raw.sensor_readings WHERE machine_id = 'injected'") }, 0,
   'no line was injected');
is(scalar @{ influx_rows('SHOW MEASUREMENTS') }, 1, 'one measurement only');


# ---- InfluxDB stalled: 503 with Retry-After, other endpoints answer; then the retry -------

my $m5 = machine();
my $late = ingest_body([$m5, [ { timestamp => iso($now - 5 * $hour), temperature => 3 } ]]);
my $tok = token();

Gonsters::Test::stall('influxdb');
my @pending = map { start_request($t->port, 'POST', '/api/v1/data/ingest',
                                  headers => [['Authorization', "Bearer $tok"],
                                              ['Content-Type', 'application/json']],
                                  body => $late) } 1 .. 3;
my ($pg, $list) = finish_requests(10, start_request($t->port, 'GET', '/health/postgres'),
    start_request($t->port, 'GET', '/api/v1/data/machines?limit=5',
                  headers => [['Authorization', 'Bearer ' . token('read:machines')]]));
is($pg->{status}, 200, 'InfluxDB stalled: /health/postgres answers 200');
is($list->{status}, 200, 'InfluxDB stalled: the machine list answers 200');
($pg) = finish_requests(0.2, $pending[0]);
push @pending, $pg;
is($pg->{status}, 0, '... while the ingest requests are still waiting');
@pending = finish_requests(20, @pending[1, 2]);
is_deeply([ map { $_->{status} } @pending ], [503, 503], 'the ingest requests: 503 after the timeout');
ok($pending[0]{headers}{'retry-after'}, '... with Retry-After');
is(($pending[0]{json} || {})->{message}, 'Service unavailable: influxdb timed out', '... the message');
Gonsters::Test::resume('influxdb');

ok(wait_until(10, sub { post_ingest($url, $late)->{status} == 201 }), 'InfluxDB back: the retry succeeds');
is(scalar @{ points($m5) }, 1, 'the reading is there once');
is(influx_rows("SELECT temperature FROM sensor_data_hourly.sensor_readings WHERE machine_id = '$m5'")
   ->[0]{temperature}, 3, 'and its closed hour is re-aggregated');


# ---- InfluxDB killed: 503 (refused), restarted: the retry succeeds ----------------------

my $run = env_or_bail('GONSTERS_RUN_DIR');
my $pidfile = "$run/pids/influxdb.pid";
my $influx_port = env_or_bail('GONSTERS_INFLUX_PORT');
chomp(my $ipid = Gonsters::Test::read_file($pidfile));
my $killed = kill 'KILL', $ipid;
ok($killed, 'influxd killed');
wait_until(10, sub { !-e "/proc/$ipid" || Gonsters::Test::read_file("/proc/$ipid/stat") =~ /\) Z/ });

$res = post_ingest($url, $late);
is($res->{status}, 503, 'InfluxDB down: 503');
ok($res->{headers}{'retry-after'}, '... with Retry-After');

sub start_influxd {     # the command of scripts/stack.sh start_influxdb
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$run/influx/influxd.log";
        open STDERR, '>&', \*STDOUT;
        { exec 'influxd', '-config', "$run/influx/influxdb.conf" }
        POSIX::_exit(127);
    }
    Gonsters::Test::write_file($pidfile, "$pid\n");
    return wait_until(30, sub {
        (HTTP::Tiny->new(timeout => 1)->get("http://127.0.0.1:$influx_port/ping")->{status} // 0) == 204
    });
}
END { start_influxd() if $killed && (HTTP::Tiny->new(timeout => 1)->get("http://127.0.0.1:$influx_port/ping")->{status} // 0) != 204 }

ok(start_influxd(), 'influxd restarted');
ok(wait_until(10, sub { post_ingest($url, $late)->{status} == 201 }), 'the retry succeeds');
is(scalar @{ points($m5) }, 1, 'still one point');


# ---- RBAC: the permission and the token are checked before the body ------------------

$res = post_ingest($url, $body, token('read:sensor_data'));
is($res->{status}, 403, 'without write:sensor_data: 403');
$res = http(POST => $url, { headers => { 'Content-Type' => 'application/json' }, content => $body });
is($res->{status}, 401, 'without a token: 401');

$t->stop;

done_testing();
