package Gonsters::Telemetry;

# Shared by t/ingest.t and t/history.t: an nginx configuration serving
# the ingest and history endpoints against the test stack, tokens, machines
# in the registry (removed at exit, with their InfluxDB series), and
# queries straight to InfluxDB.

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(floor);
use Gonsters::Test qw(env_or_bail hs256_token http psql write_file);

our @EXPORT_OK = qw(telemetry_conf token machine influx_query influx_rows
                    ingest_body iso ns_now post_ingest);

my $json = JSON::PP->new->canonical->utf8;
my $keys = tempdir('gonsters-telemetry-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $secret = 'tele' x 12;
write_file("$keys/jwt", $secret);

my @machines;

# the http{} of a test nginx; $extra goes into the server{}, $http into
# http{}
sub telemetry_conf {
    my (%o) = @_;
    my $dsn = env_or_bail('GONSTERS_PG_DSN');
    my $redis = env_or_bail('GONSTERS_REDIS_PORT');
    my $influx = env_or_bail('GONSTERS_INFLUX_PORT');
    my $timeout = $o{influx_timeout} // '5s';
    my $extra = $o{server} // '';
    my $http = $o{http} // '';

    return <<"CONF";
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_postgres "$dsn application_name=telemetry_t";
    gonsters_redis 127.0.0.1:$redis;
    gonsters_influxdb_location /_influxdb;
    gonsters_influxdb_database gonsters;
    gonsters_jwt_key $keys/jwt;
$http
    upstream influxdb {
        server 127.0.0.1:$influx;
        keepalive 4;
    }

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /api/v1/data/ingest {
            gonsters_auth jwt;
            gonsters_require_permission write:sensor_data;
            gonsters_endpoint ingest;
        }
        location /api/v1/data/machine/ {
            gonsters_auth jwt;
            gonsters_require_permission methods=GET,HEAD read:sensor_data;
            gonsters_require_permission methods=PATCH write:machines;
            gonsters_require_permission methods=DELETE delete:machines;
            gonsters_endpoint machine;
        }
        location = /api/v1/data/machines {
            gonsters_auth jwt;
            gonsters_require_permission read:machines;
            gonsters_endpoint machines;
        }
        location = /health/postgres { gonsters_endpoint health_postgres; }
$extra
        location /_influxdb/ {
            internal;
            proxy_pass http://influxdb/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_headers off;
            proxy_set_header Content-Type application/x-www-form-urlencoded;
            proxy_max_temp_file_size 0;
            proxy_connect_timeout 1s;
            proxy_send_timeout $timeout;
            proxy_read_timeout $timeout;
        }
    }
}
CONF
}

sub token {
    my (@perms) = @_;
    @perms = qw(read:sensor_data write:sensor_data) unless @perms;
    my $now = time;
    return hs256_token($secret, {
        sub => '5b0d9d39-8d7c-4c56-9d3e-6a3f8a0f7e11', username => 'telemetry',
        email => 'telemetry@test.example', role => 'Operator',
        permissions => [@perms], factory_id => 'factory-A',
        department => 'Production', iat => $now, exp => $now + 3600,
        iss => 'gonsters-backend-api', aud => 'gonsters-dashboard',
        jti => sprintf('%032x', int(rand(2**31))), type => 'access',
    });
}

sub sql_quote {
    my ($s) = @_;
    $s =~ s/'/''/g;
    return "'$s'";
}

# a machine in the registry: returns its id
sub machine {
    my (%m) = @_;
    my $name = $m{name} // sprintf('t-%d-%d', $$, scalar @machines);
    my ($row) = psql('INSERT INTO machine_metadata (name, location, sensor_type) VALUES ('
                     . join(', ', map { sql_quote($_) } $name, $m{location} // 'Test Floor',
                                                        $m{sensor_type} // 'Temperature')
                     . ') RETURNING id');
    push @machines, $row->[0];
    return $row->[0];
}

sub influx_query {
    my ($q) = @_;
    my $port = env_or_bail('GONSTERS_INFLUX_PORT');
    my $res = HTTP::Tiny->new(timeout => 30)->post_form("http://127.0.0.1:$port/query",
        { q => $q, db => 'gonsters', epoch => 'ns' });
    return eval { $json->decode($res->{content}) } || { error => $res->{content} };
}

# the rows of the first series of statement $i: [ {column => value} ]
sub influx_rows {
    my ($q, $i) = @_;
    my $r = influx_query($q);
    my $s = $r->{results}[$i // 0]{series}[0] or return [];
    my @cols = @{ $s->{columns} };
    return [ map { my $v = $_; +{ map { ($cols[$_] => $v->[$_]) } 0 .. $#cols } } @{ $s->{values} } ];
}

sub ns_now {
    require Time::HiRes;
    my ($s, $us) = Time::HiRes::gettimeofday();
    return $s * 1_000_000_000 + $us * 1000;
}

# ns -> ISO 8601 with 9 fraction digits
sub iso {
    my ($ns) = @_;
    my $s = floor($ns / 1_000_000_000);
    my $f = $ns - $s * 1_000_000_000;
    my @t = gmtime($s);
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%09dZ', $t[5] + 1900, $t[4] + 1,
                   @t[3, 2, 1, 0], $f);
}

# {machine_id => [readings]} in the seed's body
sub ingest_body {
    my (@entries) = @_;
    return $json->encode({
        gateway_id => 'GW-TEST-01', timestamp => iso(ns_now()),
        batch => [ map { +{ machine_id => $_->[0], sensor_type => 'Vibration',
                            location => 'Payload Floor', readings => $_->[1] } } @entries ],
    });
}

sub post_ingest {
    my ($url, $body, $tok, %h) = @_;
    return http(POST => $url, { headers => { 'Content-Type' => 'application/json',
                                             Authorization => 'Bearer ' . ($tok // token()), %h },
                                content => $body });
}

END {
    for my $id (@machines) {
        eval { psql("DELETE FROM machine_metadata WHERE id = '$id'") };
        influx_query("DROP SERIES FROM sensor_readings WHERE machine_id = '$id'");
    }
}

1;
