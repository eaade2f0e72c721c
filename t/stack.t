#!/usr/bin/perl
# The test stack itself: migrations, InfluxDB tiers, the broker's queueing,
# nginx's own answers as JSON (a URL no endpoint serves, a body over
# client_max_body_size), the generated secret.

use strict;
use warnings;
use lib 't/lib';

use File::Basename qw(basename);
use JSON::PP;
use Test::More;
use Gonsters::Test qw(env_or_bail http psql);

my $run = env_or_bail('GONSTERS_RUN_DIR');
my $influx = env_or_bail('GONSTERS_INFLUX_PORT');
my $mqtt = env_or_bail('GONSTERS_MQTT_PORT');

# --- PostgreSQL migrations ------------------------------------------------

my @files = map { basename($_, '.sql') } sort glob 'sql/[0-9][0-9][0-9]_*.sql';
ok(@files >= 4, 'sql/ holds the migrations');
my @applied = map { $_->[0] } psql('SELECT version FROM schema_migrations ORDER BY version');
is_deeply(\@applied, \@files, 'every migration applied once, in order');

my %tables = map { $_->[0] => 1 }
    psql(q{SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'});
ok($tables{$_}, "table $_ exists") for qw(machine_metadata users system_config audit_logs);

my @cols = map { $_->[0] } psql(q{SELECT column_name FROM information_schema.columns
    WHERE table_name = 'machine_metadata' ORDER BY ordinal_position});
is_deeply(\@cols, [qw(id name location sensor_type status created_at updated_at
                        factory_id last_seen)],
          'machine_metadata has the seed columns, and the registry\'s (007)');

my ($id) = map { $_->[0] } psql(q{INSERT INTO machine_metadata (name, location, sensor_type)
    VALUES ('t-stack-1', 'Test Floor', 'Temperature') RETURNING id});
like($id, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
     'machine ids are random UUIDs');
my ($status) = map { $_->[0] } psql("SELECT status FROM machine_metadata WHERE id = '$id'");
is($status, 'active', 'status defaults to active');
ok(!eval { psql(q{INSERT INTO machine_metadata (name, location, sensor_type, status)
    VALUES ('t-stack-2', 'x', 'y', 'exploded')}); 1 }, 'status CHECK refuses unknown values');
ok(!eval { psql(q{INSERT INTO machine_metadata (name, location, sensor_type)
    VALUES ('t-stack-1', 'x', 'y')}); 1 }, 'machine names are unique');
psql(q{SELECT pg_sleep(0.01)});
psql("UPDATE machine_metadata SET status = 'maintenance' WHERE id = '$id'");
my ($newer) = map { $_->[0] } psql("SELECT updated_at > created_at FROM machine_metadata WHERE id = '$id'");
is($newer, 't', 'updated_at trigger moves on update');

my %config = map { $_->[0] => $_->[1] } psql('SELECT setting_name, setting_value FROM system_config');
is($config{max_temperature_threshold}, '80.0', 'default max temperature');
is($config{min_temperature_threshold}, '50.0', 'default min temperature');
is($config{max_pressure_threshold}, '150.0', 'default max pressure');
ok(exists $config{$_}, "default $_") for qw(inactivity_timeout alert_email data_retention_days);

ok(!eval { psql(q{INSERT INTO users (username, email, password_hash, role)
    VALUES ('x', 'x@x', 'h', 'Root')}); 1 }, 'users role CHECK refuses unknown roles');

# Applying again changes nothing and succeeds.
my $out = qx{scripts/stack.sh migrate '$run' 2>&1};
is($?, 0, 'migrate again succeeds') or diag($out);
unlike($out, qr/postgresql: applied/, 'no migration applied twice');
my ($count) = map { $_->[0] } psql('SELECT count(*) FROM schema_migrations');
is($count, scalar @files, 'schema_migrations unchanged');

# --- InfluxDB tiers -----------------------------------------------------------

sub influx {
    my ($q) = @_;
    my $res = http(POST => "http://127.0.0.1:$influx/query?db=gonsters",
        { headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
          content => "q=" . join '', map { sprintf '%%%02X', ord } split //, $q });
    return decode_json($res->{content});
}

my $rps = influx('SHOW RETENTION POLICIES ON gonsters')->{results}[0]{series}[0];
my %rp = map { $_->[0] => { duration => $_->[1], replicas => $_->[3], default => $_->[4] } }
         @{ $rps->{values} };
is($rp{sensor_data_raw}{duration}, '8736h0m0s', 'raw tier keeps 52 weeks');
is($rp{sensor_data_hourly}{duration}, '17472h0m0s', 'hourly tier keeps 104 weeks');
is($rp{sensor_data_daily}{duration}, '43680h0m0s', 'daily tier keeps 260 weeks');
ok($rp{sensor_data_raw}{default}, 'raw tier is the default policy');
is($rp{$_}{replicas}, 1, "$_ has replication 1") for keys %rp;

my $cqs = influx('SHOW CONTINUOUS QUERIES')->{results}[0]{series};
my ($mine) = grep { $_->{name} eq 'gonsters' } @$cqs;
my %cq = map { $_->[0] => $_->[1] } @{ $mine->{values} || [] };
like($cq{cq_sensor_readings_hourly} // '', qr/INTO gonsters\.sensor_data_hourly\.sensor_readings .*GROUP BY time\(1h\), \*/,
     'hourly continuous query');
like($cq{cq_sensor_readings_daily} // '', qr/INTO gonsters\.sensor_data_daily\.sensor_readings .*GROUP BY time\(1d\), \*/,
     'daily continuous query');

# A point written without a policy lands in the raw tier.
my $ts = (time - 60) * 1_000_000_000;
my $w = http(POST => "http://127.0.0.1:$influx/write?db=gonsters",
    { content => "sensor_readings,machine_id=t-stack,sensor_type=T,location=L temperature=1.5 $ts" });
is($w->{status}, 204, 'write accepted');
my $r = influx("SELECT temperature FROM gonsters.sensor_data_raw.sensor_readings WHERE machine_id = 't-stack'");
is($r->{results}[0]{series}[0]{values}[0][1], 1.5, 'written point is in sensor_data_raw');

# --- mosquitto: persistent sessions are not cut at 1000 queued messages ------

my $client = "t-stack-$$";
my @sub = ('mosquitto_sub', '-h', '127.0.0.1', '-p', $mqtt, '-V', 'mqttv5',
           '-i', $client, '-c', '-x', '300', '-q', '1', '-t', "t/stack/$$");
qx{@{[ join ' ', @sub ]} -C 1 -W 1 2>&1};     # registers the session, then goes away
my $n = 3000;
open my $pub, '|-', 'mosquitto_pub', '-h', '127.0.0.1', '-p', $mqtt, '-q', '1',
    '-t', "t/stack/$$", '-l' or die $!;
print $pub "$_\n" for 1 .. $n;
close $pub;
is($?, 0, "published $n messages while the subscriber was away");
my @got = qx{@{[ join ' ', @sub ]} -C $n -W 30};
is(scalar @got, $n, "all $n queued messages delivered when it came back");

# --- nginx's own answers: a URL no endpoint serves, a body over its limit -----

my $nginx = env_or_bail('GONSTERS_NGINX_PORT');
for my $path ('/api/v1/nope', '/api/v1/data/machinesx', '/') {
    my $res = http(GET => "http://127.0.0.1:$nginx$path");
    is($res->{status}, 404, "GET $path: 404");
    like($res->{headers}{'content-type'} // '', qr{^application/json}, "GET $path: JSON");
    is_deeply(eval { decode_json($res->{content}) },
              { status => 'error', message => 'Not found' }, "GET $path: the error body");
}

# nginx's own limit (client_max_body_size), before the module's handlers
for my $case (['/api/v1/data/ingest', 5 << 20], ['/api/v1/auth/login', 2 << 20]) {
    my ($path, $size) = @$case;
    my $res = http(POST => "http://127.0.0.1:$nginx$path",
                   { headers => { 'Content-Type' => 'application/json' },
                     content => '[' . ('0,' x ($size / 2)) . '0]' });
    is($res->{status}, 413, "POST $path, $size bytes: 413");
    like($res->{headers}{'content-type'} // '', qr{^application/json}, "POST $path: JSON");
    is_deeply(eval { decode_json($res->{content}) },
              { status => 'error', message => 'Request body too large' },
              "POST $path: the error body");
}

# --- secrets -------------------------------------------------------------------

my $secret = "$run/secrets/jwt_secret";
ok(-s $secret, 'a JWT secret was generated');
is((stat $secret)[2] & 07777, 0600, 'it is readable by its owner only');
my $tracked = qx{git ls-files 2>/dev/null};
unlike($tracked, qr/jwt_secret|\.pem$|\.key$/m, 'no secret is tracked by git');

done_testing;
