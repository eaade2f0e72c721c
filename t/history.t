#!/usr/bin/perl
# GET /api/v1/data/machine/{id} on the test stack: readings over three days
# are ingested through the endpoint (so every closed window is a late one,
# re-aggregated by the writer), then every interval is compared with an
# expectation computed here from the readings themselves; pagination edges,
# field selection, CSV, the tier really being read (a forged tier point
# shows, a resend repairs it), a late reading reaching the tiers, parameter
# errors, 404, injection attempts, RBAC.

use strict;
use warnings;
use lib 't/lib';

use JSON::PP;
use POSIX qw(floor);
use Test::More;
use Time::Local qw(timegm);
use Gonsters::Test qw(http json_body);
use Gonsters::Telemetry qw(telemetry_conf token machine influx_query influx_rows
                           ingest_body iso ns_now post_ingest);

my $json = JSON::PP->new->canonical->utf8;
my $t = Gonsters::Test->new->write_config(telemetry_conf(influx_timeout => '2s'))->run;

my $S = 1_000_000_000;
my $H = 3600 * $S;
my $D = 86400 * $S;
my %iv = (raw => 0, '1m' => 60 * $S, '5m' => 300 * $S, '1h' => $H, '1d' => $D);
my @F = qw(temperature pressure speed);

my $now = ns_now();
my $m = machine(location => 'History Hall, Bay=2', sensor_type => 'Temperature');

# readings every ~7 minutes for 74 hours, the newest a minute ago, with
# overlapping field sets (so that counting rows is not counting a field):
# a temperature but in every fifth reading, a pressure in every second, a
# speed in every third and in those without temperature
srand(42);
my @readings;
for (my ($i, $ts) = (0, $now - 74 * $H); $ts < $now - 60 * $S; $i++, $ts += 7 * 60 * $S + int(rand(1000)) * 1_000_003) {
    my %r = (ts => $ts);
    $r{temperature} = sprintf('%.3f', 20 + 10 * rand()) + 0 unless $i % 5 == 4;
    $r{pressure} = sprintf('%.2f', 100 + rand()) + 0 if $i % 2 == 0;
    $r{speed} = 1000 + int(rand(500)) if $i % 3 == 0 || $i % 5 == 4;
    push @readings, \%r;
}

sub send_readings {
    my (@rs) = @_;
    my $res = post_ingest($t->url('/api/v1/data/ingest'), ingest_body([$m,
        [ map { my $r = $_; +{ timestamp => iso($r->{ts}), map { exists $r->{$_} ? ($_ => $r->{$_}) : () } @F } } @rs ]]));
    return $res;
}

my $res = send_readings(@readings);
is($res->{status}, 201, scalar(@readings) . ' readings over 74 hours ingested') or diag $res->{content};


# ---- the expectation ---------------------------------------------------------------

sub parse_iso {     # our answers: YYYY-MM-DDTHH:MM:SS[.fff[fff[fff]]]Z -> ns
    my ($s) = @_;
    my ($y, $mo, $d, $h, $mi, $se, $f) = $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$/
        or return undef;
    $f = substr(($f // '') . '000000000', 0, 9);
    return timegm($se, $mi, $h, $d, $mo - 1, $y) * $S + $f;
}

sub fl { my ($x, $i) = @_; return floor($x / $i) * $i }

# rows newest first: [ts, {field => value}]
sub expect {
    my ($start, $end, $interval, @fields) = @_;
    my @in = grep { $_->{ts} >= $start && $_->{ts} <= $end } @readings;
    if (!$iv{$interval}) {
        return [ map { my $r = $_; [ $r->{ts}, { map { ($_ => $r->{$_}) } @fields } ] }
                 sort { $b->{ts} <=> $a->{ts} }
                 grep { my $r = $_; grep { exists $r->{$_} } @fields } @in ];
    }
    my %b;
    for my $r (sort { $a->{ts} <=> $b->{ts} } @in) {     # summed in time order, as InfluxDB
        my $k = fl($r->{ts}, $iv{$interval});
        for my $f (@fields) {
            next unless exists $r->{$f};
            $b{$k}{$f}{sum} += $r->{$f};
            $b{$k}{$f}{n}++;
        }
    }
    return [ map { my $k = $_; [ $k, { map { ($_ => $b{$k}{$_} ? $b{$k}{$_}{sum} / $b{$k}{$_}{n} : undef) } @fields } ] }
             sort { $b <=> $a } keys %b ];
}

sub close_enough {
    my ($a, $b) = @_;
    return !defined $a && !defined $b if !defined $a || !defined $b;
    return abs($a - $b) <= 1e-9 * (abs($b) > 1 ? abs($b) : 1);
}

# compares answer rows with expected rows; returns the first difference
sub differ {
    my ($got, $want, @fields) = @_;
    return 'count ' . scalar(@$got) . ' != ' . scalar(@$want) if @$got != @$want;
    for my $i (0 .. $#$want) {
        my ($g, $w) = ($got->[$i], $want->[$i]);
        my $gts = parse_iso($g->{timestamp} // '');
        return "row $i: time $g->{timestamp} != " . iso($w->[0]) unless defined $gts && $gts == $w->[0];
        for my $f (@fields) {
            return "row $i ($g->{timestamp}): $f " . ($g->{$f} // 'null') . ' != ' . ($w->[1]{$f} // 'null')
                unless close_enough($g->{$f}, $w->[1]{$f});
        }
        return "row $i: fields " . join(',', sort keys %$g)
            unless join(',', sort keys %$g) eq join(',', sort('timestamp', @fields));
    }
    return '';
}

sub history {
    my ($q, %h) = @_;
    return http(GET => $t->url("/api/v1/data/machine/$m?$q"),
                { headers => { Authorization => 'Bearer ' . token(), %h } });
}

sub enc { my ($s) = @_; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; return $s }

my $start = $now - 72 * $H + 13 * 60 * $S + 123;
my $q0 = 'start_time=' . enc(iso($start)) . '&end_time=' . enc(iso($now));


# ---- every interval equals the aggregate of the readings --------------------------------

for my $interval (qw(raw 1m 5m 1h 1d)) {
    for my $fields ([@F], ['pressure', 'speed'], ['temperature', 'pressure'], ['speed']) {
        my $fq = join(',', @$fields);
        my $res = history("$q0&interval=$interval&limit=10000&fields=$fq");
        is($res->{status}, 200, "$interval $fq: 200") or diag $res->{content};
        my $b = json_body($res) || {};
        my $want = expect($start, $now, $interval, @$fields);
        is(differ($b->{data} || [], $want, @$fields), '', "$interval $fq: the rows equal the aggregate of the readings");
        is($b->{pagination}{total_records}, scalar @$want, "$interval $fq: total_records");
        is($b->{pagination}{returned_records}, scalar @$want, "$interval $fq: returned_records");
        ok(!$b->{pagination}{has_more}, "$interval $fq: has_more false");
    }
}

{
    my $b = json_body(history("$q0&interval=1h")) || {};
    is($b->{status}, 'success', 'status');
    is_deeply($b->{machine}, { machine_id => $m, name => (Gonsters::Test::psql("SELECT name FROM machine_metadata WHERE id = '$m'"))[0][0],
                               location => 'History Hall, Bay=2', sensor_type => 'Temperature' },
              'machine: from the registry');
    is_deeply($b->{query}, { start_time => iso($start), end_time => iso($now) =~ s/(\.\d{3})000000Z$/$1Z/r =~ s/(\.\d{6})000Z$/$1Z/r,
                             interval => '1h', fields => [@F] }, 'query: as understood')
        or diag explain $b->{query};
    is($b->{pagination}{limit}, 1000, 'default limit 1000');
    is($b->{pagination}{offset}, 0, 'default offset 0');
}


# ---- pagination edges --------------------------------------------------------------

for my $interval (qw(raw 5m 1h 1d)) {
    my $want = expect($start, $now, $interval, @F);
    my $n = @$want;
    my @all;
    my $pages = 0;
    for (my $off = 0; ; $off += 7) {
        my $b = json_body(history("$q0&interval=$interval&limit=7&offset=$off")) || {};
        push @all, @{ $b->{data} || [] };
        $pages++;
        is($b->{pagination}{has_more} ? 1 : 0, $off + 7 < $n ? 1 : 0, "$interval page at $off: has_more")
            if $off == 0 || $off + 7 >= $n;
        last if !$b->{pagination}{has_more} || $pages > 200;
    }
    is(differ(\@all, $want, @F), '', "$interval: pages of 7 put together are the whole answer");

    my $b = json_body(history("$q0&interval=$interval&limit=1&offset=" . ($n - 1))) || {};
    is(differ($b->{data}, [ $want->[-1] ], @F), '', "$interval: offset total-1 is the oldest row");
    ok(!$b->{pagination}{has_more}, "$interval: ... and the last");
    $b = json_body(history("$q0&interval=$interval&offset=$n")) || {};
    is_deeply([ $b->{data}, $b->{pagination}{returned_records}, $b->{pagination}{total_records} ],
              [ [], 0, $n ], "$interval: offset total: no rows, the total");
    $b = json_body(history("$q0&interval=$interval&limit=1")) || {};
    is(differ($b->{data}, [ $want->[0] ], @F), '', "$interval: limit 1 is the newest row");
    ok($b->{pagination}{has_more}, "$interval: ... with more");
}


# an end_time far ahead: the tail could hold many windows, so the tier's
# page is a second query
{
    my $qf = 'start_time=' . enc(iso($start)) . '&end_time=' . enc(iso($now + 40 * $D));
    my $want = expect($start, $now, '1h', @F);
    my @all;
    for my $off (map { $_ * 20 } 0 .. 10) {
        my $b = json_body(history("$qf&interval=1h&limit=20&offset=$off")) || {};
        push @all, @{ $b->{data} || [] };
        last unless $b->{pagination}{has_more};
    }
    is(differ(\@all, $want, @F), '', '1h with end_time 40 days ahead: pages equal the aggregate');
}


# ---- CSV: the same rows -------------------------------------------------------------------

for my $interval (qw(raw 1h)) {
    my $res = history("$q0&interval=$interval&fields=temperature,speed&limit=50&offset=3", Accept => 'text/csv');
    is($res->{status}, 200, "CSV $interval: 200");
    like($res->{headers}{'content-type'}, qr{^text/csv}, "CSV $interval: text/csv");
    my @lines = split /\n/, $res->{content};
    is(shift @lines, 'timestamp,temperature,speed', "CSV $interval: the header");
    my @rows = map { my @c = split /,/, $_, -1; +{ timestamp => $c[0],
                     temperature => $c[1] eq '' ? undef : $c[1],
                     speed => $c[2] eq '' ? undef : $c[2] } } @lines;
    my $b = json_body(history("$q0&interval=$interval&fields=temperature,speed&limit=50&offset=3")) || {};
    is(differ(\@rows, [ map { [ parse_iso($_->{timestamp}), $_ ] } @{ $b->{data} } ], qw(temperature speed)), '',
       "CSV $interval: the rows of the JSON answer");
    is($res->{headers}{'x-total-count'}, $b->{pagination}{total_records}, "CSV $interval: X-Total-Count");
}


# ---- the tier is what 1h reads for whole windows; a resend repairs it ----------------------

my $want1h = expect($start, $now, '1h', @F);
my $victim = $want1h->[10][0];     # a whole window well in the past
my $influx = Gonsters::Test::env_or_bail('GONSTERS_INFLUX_PORT');
my $w = HTTP::Tiny->new->post("http://127.0.0.1:$influx/write?db=gonsters&rp=sensor_data_hourly&precision=ns",
    { content => "sensor_readings,location=History\\ Hall\\,\\ Bay\\=2,machine_id=$m,sensor_type=Temperature temperature=999 $victim\n" });
is($w->{status}, 204, 'a forged hourly point written straight to the tier');
my $b = json_body(history("$q0&interval=1h&limit=10000")) || {};
is($b->{data}[10]{temperature}, 999, '1h reads the tier for that window');
is(differ([ @{ $b->{data} }[0 .. 9] ], [ @$want1h[0 .. 9] ], @F), '', '... and nothing else changed');

$res = send_readings(@readings);
is($res->{status}, 201, 'the same readings sent again');
$b = json_body(history("$q0&interval=1h&limit=10000")) || {};
is(differ($b->{data}, $want1h, @F), '', 'the resend re-aggregated the window: 1h equals the readings again');


# ---- a late reading reaches the tiers --------------------------------------------------------

my $late = { ts => $now - 50 * $H + 17 * $S, temperature => 1000.5, pressure => 1, speed => 7 };
push @readings, $late;
$res = send_readings($late);
is($res->{status}, 201, 'a reading 50 hours late');
for my $interval (qw(1h 1d)) {
    my $b = json_body(history("$q0&interval=$interval&limit=10000")) || {};
    is(differ($b->{data}, expect($start, $now, $interval, @F), @F), '',
       "$interval includes the late reading (its windows re-aggregated)");
}
is_deeply(influx_rows("SELECT temperature_count FROM sensor_data_hourly.sensor_readings WHERE machine_id = '$m' AND time = " . fl($late->{ts}, $H))->[0]{temperature_count},
          scalar(grep { exists $_->{temperature} && fl($_->{ts}, $H) == fl($late->{ts}, $H) } @readings),
          'the hourly count includes it');


# ---- end_time defaults to now; time zones ---------------------------------------------------

$b = json_body(history('start_time=' . enc(iso($now - 2 * $H)))) || {};
is(parse_iso($b->{data}[0]{timestamp}), $readings[-2]{ts}, 'no end_time: up to now (the newest reading)');
{
    my @t = gmtime(floor($start / $S) + 7 * 3600);
    my $local = sprintf('%04d-%02d-%02dT%02d:%02d:%02d+07:00', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);
    my $utc = json_body(history('start_time=' . enc(iso(floor($start / $S) * $S)) . '&end_time=' . enc(iso($now)) . '&interval=1h')) || {};
    my $plus = json_body(history("start_time=$local&end_time=" . enc(iso($now)) . '&interval=1h')) || {};
    is_deeply($plus->{data}, $utc->{data}, 'a start_time with +07:00 (unescaped +) is the same instant');
}


# ---- parameter errors, all at once -------------------------------------------------------------

$res = history('interval=2h&fields=temperature,rpm&limit=0&offset=-1&end_time=2025-13-45');
is($res->{status}, 400, 'bad parameters: 400');
$b = json_body($res) || {};
is($b->{message}, 'Invalid query parameters', 'the seed\'s message');
my %e = map { ($_->{parameter} => $_) } @{ $b->{errors} || [] };
is_deeply([ sort keys %e ], [qw(end_time fields interval limit offset start_time)], 'every parameter named');
is($e{interval}{error}, 'Invalid interval value. Must be one of: raw, 1m, 5m, 1h, 1d', 'interval: the seed\'s error');
is($e{interval}{value}, '2h', 'interval: the value');
is($e{start_time}{value}, undef, 'start_time: missing');
is($e{limit}{value}, '0', 'limit: the value');

for my $case ([ 'limit=10001', 'limit' ], [ 'limit=1e3', 'limit' ], [ 'limit=', 'limit' ],
              [ 'offset=x', 'offset' ], [ 'fields=', 'fields' ],
              [ "fields=temperature%22%20FROM%20x", 'fields' ],
              [ 'interval=RAW', 'interval' ]) {
    my $r = history("$q0&$case->[0]");
    is($r->{status}, 400, "$case->[0]: 400");
    is((json_body($r) || {})->{errors}[0]{parameter}, $case->[1], "$case->[0]: names $case->[1]");
}
for my $bad ('2025-12-13T10:00:00', "2025-12-13T10:00:00Z' OR time > 0 --", '2025-12-13', 'now()') {
    my $r = history('start_time=' . enc($bad));
    is($r->{status}, 400, "start_time '$bad': 400");
    is((json_body($r) || {})->{errors}[0]{value}, $bad, '... echoed as given');
}
$res = history('start_time=' . enc(iso($now)) . '&end_time=' . enc(iso($now - $H)));
is($res->{status}, 400, 'start after end: 400');


# ---- 404, injection in the id, RBAC -----------------------------------------------------

for my $id ('00000000-0000-4000-8000-000000000000', 'not-a-uuid', "$m' OR '1'='1") {
    my $r = http(GET => $t->url('/api/v1/data/machine/' . enc($id) . "?$q0"),
                 { headers => { Authorization => 'Bearer ' . token() } });
    is($r->{status}, 404, "machine '$id': 404");
    is_deeply(json_body($r), { status => 'error', message => 'Machine not found', machine_id => $id },
              '... the seed\'s body');
}
is(http(GET => $t->url("/api/v1/data/machine/$m?$q0"),
        { headers => { Authorization => 'Bearer ' . token('write:sensor_data') } })->{status},
   403, 'without read:sensor_data: 403');
is(http(GET => $t->url("/api/v1/data/machine/$m?$q0"))->{status}, 401, 'without a token: 401');
is(http(POST => $t->url("/api/v1/data/machine/$m?$q0"),
        { headers => { Authorization => 'Bearer ' . token() } })->{status}, 405, 'POST: 405');


# ---- InfluxDB stalled: 503 with Retry-After; back: 200 -------------------------------------

Gonsters::Test::stall('influxdb');
$res = history("$q0&interval=1h");
Gonsters::Test::resume('influxdb');
is($res->{status}, 503, 'InfluxDB stalled: 503');
ok($res->{headers}{'retry-after'}, '... with Retry-After');
ok(Gonsters::Test::wait_until(10, sub { history("$q0&interval=1h")->{status} == 200 }),
   'InfluxDB back: 200');
is(differ((json_body(history("$q0&interval=1h&limit=10000")) || {})->{data}, expect($start, $now, '1h', @F), @F), '',
   '... the same answer');

$t->stop;

done_testing();
