#!/usr/bin/perl

# gonsters-worker: a corpus of bad messages becomes dead-letter rows with
# reasons and the worker keeps running; status messages update
# machine_metadata.status; readings beyond the thresholds become alerts
# (table and factory/{f}/alerts); a threshold change through the config
# API (POST /api/v1/config/update of the stack's nginx) applies without a
# restart; the registry follows NOTIFY gonsters_machines; PostgreSQL down
# does not stop telemetry, and the queued writes arrive afterwards.
# Real mosquitto, InfluxDB and PostgreSQL of the test stack.

use strict;
use warnings;

use lib 't/lib';

use JSON::PP;
use POSIX qw(WIFEXITED WEXITSTATUS);
use Test::More;
use Time::HiRes qw(sleep time);

use Gonsters::Test qw(env_or_bail hs256_token http psql read_file resume stall
                      wait_until);
use Gonsters::Worker qw(new_machine influx_count influx_query iso_ms
                        publish_one);

env_or_bail('GONSTERS_RUN_DIR');
delete $ENV{$_} for grep { /^GONSTERS_WORKER_/ && $_ ne 'GONSTERS_WORKER_BIN' }
                    keys %ENV;

my $mqtt_port = env_or_bail('GONSTERS_MQTT_PORT');
my $tag = "$$-" . int(time * 1000) % 1000000;
my $factory = "tv-$$";
my $m1 = new_machine("t-val-$tag-1", $factory, location => 'Hall 7');
my $m2 = new_machine("t-val-$tag-2", $factory);

# (the stack's own worker takes these messages too, in its own share
# group, with the same settings and thresholds: what it stores is the same
# rows, deduplicated by their keys; dead letters are counted per worker)
my $w = Gonsters::Worker->new(group => "t-val-$$");
my $wid = $w->id;
ok($w->start, 'worker subscribed');

sub one { my @r = psql($_[0]); return @r ? $r[0][0] : undef }

sub topic { "factory/$factory/machine/$_[0]/telemetry" }

my $ts_ms = int(time * 1000) - 600_000;
sub reading {
    my (%v) = @_;
    $ts_ms += 1000;
    return encode_json({ timestamp => iso_ms($ts_ms),
                         sensor_type => 'temperature', %v });
}

sub dead_letters {
    my %by;
    for (psql("SELECT reason, topic, convert_from(payload, 'SQL_ASCII'), "
              . "payload_size, detail FROM ingest_dead_letters "
              . "WHERE worker_id = '$wid' ORDER BY id"))
    {
        push @{ $by{$_->[0]} }, $_;
    }
    return \%by;
}


# ---- a valid reading is written, tagged from the registry --------------------

ok(publish_one(topic($m1), reading(temperature => 55.5, pressure => 120,
                                   speed => 1500)), 'published a reading');
ok(wait_until(20, sub { influx_count($w->db) == 1 }), 'one point stored');
{
    my $j = influx_query($w->db, 'SELECT * FROM sensor_readings');
    my $s = $j->{results}[0]{series}[0];
    my %row;
    @row{ @{ $s->{columns} } } = @{ $s->{values}[0] };
    is($row{machine_id}, $m1, 'tag machine_id');
    is($row{location}, 'Hall 7', 'tag location from the registry');
    is($row{sensor_type}, 'temperature', 'tag sensor_type from the registry');
    is($row{temperature}, 55.5, 'temperature');
    is($row{pressure}, 120, 'pressure');
    is($row{time}, $ts_ms, 'timestamp of the payload');
}


# ---- the corpus of bad messages ----------------------------------------------

my $unknown = '0b0e8a1c-1d0f-4f5e-9c77-6d2f6a2f0001';
my @corpus = (
    # [ topic, payload, expected reason, description ]
    [ topic($m1), 'not json at all', 'invalid_json', 'not JSON' ],
    [ topic($m1), '{"timestamp":', 'invalid_json', 'truncated JSON' ],
    [ topic($m1), '{"timestamp":"2025-01-01T00:00:00Z","sensor_type":"t",'
                  . '"temperature":NaN}', 'invalid_json', 'NaN' ],
    [ topic($m1), '[1,2,3]', 'invalid_payload', 'an array' ],
    [ topic($m1), '{"timestamp":"2025-01-01T00:00:00Z","sensor_type":"t",'
                  . '"temperature":"hot"}', 'invalid_payload',
      'wrong type (string temperature)' ],
    [ topic($m1), '{"timestamp":"2025-01-01T00:00:00Z","sensor_type":"t"}',
      'invalid_payload', 'no value' ],
    [ topic($m1), '{"sensor_type":"t","temperature":20}', 'invalid_payload',
      'missing timestamp' ],
    [ topic($m1), '{"timestamp":"yesterday","sensor_type":"t",'
                  . '"temperature":20}', 'invalid_payload', 'bad timestamp' ],
    [ topic($m1), '{"timestamp":"2025-02-30T00:00:00Z","sensor_type":"t",'
                  . '"temperature":20}', 'invalid_payload',
      'impossible date' ],
    [ topic($m1), '{"timestamp":"2025-01-01T00:00:00Z","sensor_type":"t",'
                  . '"temperature":1e999}', 'invalid_payload',
      'infinite number' ],
    [ topic($m1), '{"timestamp":"2025-01-01T00:00:00Z","sensor_type":"t",'
                  . '"pad":"' . ('x' x 5000) . '","temperature":1}',
      'payload_too_large', 'oversized payload' ],
    [ topic($unknown), reading(temperature => 20), 'unknown_machine',
      'unknown machine' ],
    [ "factory/$factory/machine/not-a-uuid/telemetry",
      reading(temperature => 20), 'invalid_topic', 'machine id not a UUID' ],
    [ "factory//machine/$m1/telemetry", reading(temperature => 20),
      'invalid_topic', 'empty factory id' ],
    [ "factory/$factory/machine/$m1/status", '{"status":"exploded"}',
      'invalid_status', 'unknown status' ],
    [ "factory/other-$factory/machine/$m1/telemetry",
      reading(temperature => 20), 'factory_mismatch',
      "another factory's topic" ],
);

for my $c (@corpus) {
    ok(publish_one($c->[0], $c->[1]), "published: $c->[3]");
}

my %want;
$want{ $_->[2] }++ for @corpus;
my $total = @corpus;
my $rows;
wait_until(20, sub {
    $rows = dead_letters();
    my $n = 0;
    $n += @$_ for values %$rows;
    return $n >= $total;
});
for my $reason (sort keys %want) {
    is(scalar @{ $rows->{$reason} || [] }, $want{$reason},
       "dead letters with reason $reason");
}
{
    my ($big) = @{ $rows->{payload_too_large} || [] };
    is($big && $big->[3], length($corpus[10][1]),
       'payload_too_large keeps the size as received');
    my ($nj) = @{ $rows->{invalid_json} || [] };
    is($nj && $nj->[2], 'not json at all', 'the payload is kept as sent');
    is($nj && $nj->[1], topic($m1), 'and the topic');
    my ($wt) = grep { $_->[2] =~ /"hot"/ } @{ $rows->{invalid_payload} || [] };
    like($wt && $wt->[4], qr/temperature/, 'the detail names the field');
}
ok($w->alive, 'the worker keeps running after the corpus');
ok(wait_until(10, sub {
       ($w->metric('dead_letters_total', 'reason="invalid_json"') // 0)
           == $want{invalid_json} }),
   'metrics count dead letters by reason');

ok(publish_one(topic($m2), reading(temperature => 60)),
   'a valid reading after the corpus');
ok(wait_until(20, sub { influx_count($w->db) == 2 }),
   'is stored: the worker kept going');


# ---- status messages -----------------------------------------------------------

ok(publish_one("factory/$factory/machine/$m2/status",
               '{"status":"maintenance"}'), 'status message published');
ok(wait_until(20, sub {
       one("SELECT status FROM machine_metadata WHERE id = '$m2'")
           eq 'maintenance' }), 'machine_metadata.status updated');
ok(publish_one("factory/$factory/machine/$m2/status", 'active'),
   'bare status word published');
ok(wait_until(20, sub {
       one("SELECT status FROM machine_metadata WHERE id = '$m2'")
           eq 'active' }), 'status back to active');


# ---- registry by NOTIFY ----------------------------------------------------------

{
    psql("UPDATE machine_metadata SET location = 'Hall 9' WHERE id = '$m2'");
    psql("SELECT pg_notify('gonsters_machines', json_build_object('op', "
         . "'update', 'machine_id', '$m2'::uuid)::text)");
    # the next reading carries the new tag
    my $ok = wait_until(20, sub {
        publish_one(topic($m2), reading(temperature => 61));
        my $j = influx_query($w->db, "SELECT count(temperature) FROM "
                             . "sensor_readings WHERE location = 'Hall 9'");
        return $j && $j->{results}[0]{series};
    });
    ok($ok, 'a location change reaches the tags without a restart');
}


# ---- alerts ----------------------------------------------------------------------

# thresholds change through the config API of the stack's nginx (POST
# /api/v1/config/update: the row, and sql/008's trigger notifies
# gonsters_config), as a Management user with a token of the stack's key
my $api_token;

sub set_threshold {
    my ($name, $value) = @_;
    unless ($api_token) {
        my $user = "t_val_mgmt_$$";
        my ($row) = psql("INSERT INTO users (username, email, password_hash, "
                         . "role) VALUES ('$user', '$user\@test.example', "
                         . "'x', 'Management') RETURNING id");
        $api_token = hs256_token(read_file(env_or_bail(
            'GONSTERS_JWT_SECRET_FILE')), {
            sub => $row->[0], username => $user, role => 'Management',
            permissions => [qw(read:config write:config)],
            iss => 'gonsters-backend-api', aud => 'gonsters-dashboard',
            iat => time, exp => time + 3600, jti => "t-val-$$",
            type => 'access' });
    }
    my $port = env_or_bail('GONSTERS_NGINX_PORT');
    my $res = http(POST => "http://127.0.0.1:$port/api/v1/config/update", {
        headers => { Authorization => "Bearer $api_token",
                     'Content-Type' => 'application/json' },
        content => encode_json({ setting_name => $name,
                                 setting_value => $value }) });
    is($res->{status}, 200, "config API: $name = $value")
        or diag($res->{content});
}

sub alerts {
    my ($type) = @_;
    return [ psql("SELECT value, threshold FROM alerts WHERE machine_id = "
                  . "'$m1' AND alert_type = '$type' ORDER BY reading_time") ];
}

{
    set_threshold('max_temperature_threshold', '80');
    set_threshold('max_pressure_threshold', '150');
    my $n = 0;
    wait_until(10, sub {
        $n = () = read_file($w->logfile)
                  =~ /"message":"threshold changed"/g;
        return $n >= 2;
    });

    # a subscriber on the alert topic
    open my $sub, '-|', 'mosquitto_sub', '-h', '127.0.0.1', '-p',
        $mqtt_port, '-t', "factory/$factory/alerts", '-C', '2', '-W', '20'
        or die "mosquitto_sub: $!";
    sleep 0.5;

    ok(publish_one(topic($m1), reading(temperature => 95.5, pressure => 151)),
       'a reading beyond max temperature and max pressure');
    ok(wait_until(20, sub { @{ alerts('max_pressure') } == 1 }),
       'max_pressure alert stored');
    my $a = alerts('max_temperature');
    is(scalar @$a, 1, 'max_temperature alert stored');
    is_deeply($a->[0], [ '95.5', '80' ], 'with value and threshold');

    my @msgs = map { decode_json($_) } grep { /\S/ } <$sub>;
    close $sub;
    is(scalar @msgs, 2, 'two alerts published on factory/{f}/alerts');
    my ($t) = grep { $_->{alert_type} eq 'max_temperature' } @msgs;
    is($t && $t->{machine_id}, $m1, 'published alert names the machine');
    is($t && $t->{threshold}, 80, 'and the threshold');

    # a threshold change applies without a restart
    set_threshold('max_temperature_threshold', '100');
    wait_until(10, sub {
        my $k = () = read_file($w->logfile)
                     =~ /"message":"threshold changed"/g;
        return $k >= 3;
    });
    ok(publish_one(topic($m1), reading(temperature => 95.5)),
       '95.5 again, under the new threshold 100');
    ok(publish_one(topic($m1), reading(temperature => 101)),
       '101, over it');
    ok(wait_until(20, sub { @{ alerts('max_temperature') } == 2 }),
       'one more alert');
    $a = alerts('max_temperature');
    is_deeply($a->[1], [ '101', '100' ], 'the new threshold was used');
    is(scalar @$a, 2, '95.5 raised nothing under 100');

    set_threshold('min_temperature_threshold', '50');
    wait_until(10, sub {
        my $k = () = read_file($w->logfile)
                     =~ /"message":"threshold changed"/g;
        return $k >= 4;
    });
    ok(publish_one(topic($m1), reading(temperature => 40)), 'a cold reading');
    ok(wait_until(20, sub { @{ alerts('min_temperature') } == 1 }),
       'min_temperature alert stored');

    set_threshold('max_temperature_threshold', '80');
}


# ---- PostgreSQL down: telemetry goes on, the queue waits -------------------------

{
    stall('postgres');
    ok(publish_one(topic($m2), reading(temperature => 62)),
       'reading while PostgreSQL is stalled');
    my $at = $ts_ms;
    ok(publish_one(topic($m2), 'broken'), 'bad message while it is stalled');
    my $ok = wait_until(20, sub {
        influx_count($w->db, "machine_id = '$m2' AND time = ${at}ms") == 1 });
    resume('postgres');
    ok($ok, 'the reading reached InfluxDB while PostgreSQL was stalled');
    ok(wait_until(30, sub {
           my $r = dead_letters();
           grep { $_->[2] eq 'broken' } @{ $r->{invalid_json} || [] } }),
       'the dead letter arrived once PostgreSQL was back');
}


# ---- last_seen and inactivity ---------------------------

{
    ok(wait_until(20, sub {
           one("SELECT last_seen IS NOT NULL FROM machine_metadata "
               . "WHERE id = '$m1'") eq 't' }), 'last_seen written');

    set_threshold('inactivity_timeout', '2');
    ok(wait_until(30, sub {
           one("SELECT count(*) FROM alerts WHERE machine_id = '$m1' "
               . "AND alert_type = 'inactive'") == 1 }),
       'a silent machine raises one inactive alert');
    sleep 2;
    is(one("SELECT count(*) FROM alerts WHERE machine_id = '$m1' "
           . "AND alert_type = 'inactive'"), 1,
       'and only one for the same silence');
    set_threshold('inactivity_timeout', '300');
    ok(1, 'inactivity_timeout restored');
}


# ---- late readings re-aggregate their closed tier windows ------------------------

{
    # two readings of an hour that closed long ago, one at a time: the
    # second must update the hourly aggregate the first one made
    my $hour = int(time / 3600) * 3600 - 3 * 3600;
    my $late = sub {
        my ($min, $t) = @_;
        publish_one(topic($m2), encode_json({
            timestamp => iso_ms(($hour + $min * 60) * 1000),
            sensor_type => 'temperature', temperature => $t }));
    };
    my $tier = sub {
        my $j = influx_query($w->db, 'SELECT temperature, temperature_count '
                             . 'FROM "sensor_data_hourly"."sensor_readings" '
                             . "WHERE machine_id = '$m2' AND time = "
                             . $hour * 1000 . 'ms');
        my $s = $j && $j->{results}[0]{series};
        return $s ? [ @{ $s->[0]{values}[0] }[1, 2] ] : undef;
    };

    ok($late->(10, 40), 'a reading 3 hours late');
    my $got;
    ok(wait_until(20, sub { ($got = $tier->()) && $got->[1] == 1 }),
       'its hourly window was aggregated');
    ok($late->(20, 50), 'another one in the same hour');
    ok(wait_until(20, sub { ($got = $tier->()) && $got->[1] == 2 }),
       'the hourly window was aggregated again');
    is_deeply($got, [ 45, 2 ], 'mean and count over both readings');
    ok(wait_until(10, sub { ($w->metric('reaggregations_total') // 0) >= 2 }),
       'counted as re-aggregations');
}


# ---- a missing database is created ------------------------------------------------

{
    my $db = "t_worker_new_$$";
    my $w2 = Gonsters::Worker->new(group => "t-val2-$$", influx_db => $db,
                                   no_db_setup => 1,
                                   conf => { reaggregate => 0 });
    ok($w2->start, 'worker with a database that does not exist');
    ok(publish_one(topic($m1), reading(temperature => 33)), 'a reading');
    ok(wait_until(20, sub { influx_count($db) == 1 }),
       'stored: the database was created (404 -> CREATE DATABASE)');
    like(read_file($w2->logfile), qr/"message":"database created"/,
         'logged');
    $w2->stop;
    influx_query($db, "DROP DATABASE \"$db\"");
}


# ---- --check --------------------------------------------------------------------------

{
    my $out = `$w->{bin} --check -c $w->{conf} 2>/dev/null`;
    is($? >> 8, 0, '--check: healthy while running') or diag($out);
    like($out, qr/^healthy$/m, '--check says so');
}


# ---- clean stop ---------------------------------------------------------------------

{
    my $st = $w->stop;
    ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
       'SIGTERM: exit 0');
    my ($ok, $bad) = $w->log_records;
    is(scalar @$bad, 0, 'every log line is a JSON record')
        or diag(join "\n", @$bad[0 .. ($#$bad < 4 ? $#$bad : 4)]);

    # the last metrics file says "not connected" (written at exit), and it
    # grows old
    my $out = `$w->{bin} --check -c $w->{conf} 2>/dev/null`;
    is($? >> 8, 1, '--check: unhealthy once stopped') or diag($out);
    like($out, qr/not connected to the MQTT broker/, '--check says why');
}

done_testing();
