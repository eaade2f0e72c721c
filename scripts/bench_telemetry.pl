#!/usr/bin/perl
# Helpers of `make bench` for the telemetry endpoints (core Perl only):
#
#   bench_telemetry.pl machines N PREFIX          registers N machines
#       (psql; GONSTERS_PG_PORT), prints their ids
#   bench_telemetry.pl bodies DIR IDS N           writes N ingest bodies
#       DIR/k.json (every machine of IDS x 10 readings, recent times) and
#       the same points as line protocol DIR/k.lp
#   bench_telemetry.pl seed IDS DAYS STEP         raw points every STEP
#       seconds for DAYS days straight to InfluxDB, then the hourly and
#       daily tiers with the continuous queries' statement
#   bench_telemetry.pl latency N TOKEN URL Q...   N sequential rounds of
#       "GET URL through nginx" and "the same InfluxQL statements Q
#       straight to InfluxDB", interleaved; prints p50 and p99 of each

use strict;
use warnings;

use HTTP::Tiny;
use Time::HiRes qw(time);
use POSIX qw(floor);

my $influx = 'http://127.0.0.1:' . ($ENV{GONSTERS_INFLUX_PORT} // die "GONSTERS_INFLUX_PORT\n");
my $cmd = shift // die "usage\n";

sub ids { my ($f) = @_; open my $fh, '<', $f or die "$f: $!"; return map { chomp; $_ } <$fh> }
sub location { my ($i) = @_; return 'Bench Floor ' . ($i % 10) }
sub lp_tag { my ($s) = @_; $s =~ s/([ ,=])/\\$1/g; return $s }

sub iso {
    my ($ns) = @_;
    my $s = floor($ns / 1e9);
    my @t = gmtime($s);
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%09dZ', $t[5] + 1900, $t[4] + 1,
                   @t[3, 2, 1, 0], $ns - $s * 1_000_000_000);
}

sub now_ns { my ($s, $us) = Time::HiRes::gettimeofday(); return $s * 1_000_000_000 + $us * 1000 }

if ($cmd eq 'machines') {
    my ($n, $prefix) = @ARGV;
    my $values = join ', ', map { "('$prefix-$_', '" . location($_) . "', 'Temperature')" } 1 .. $n;
    system('psql', '-X', '-qAt', '-h', '127.0.0.1', '-p', $ENV{GONSTERS_PG_PORT}, '-U', 'gonsters',
           '-d', 'gonsters', '-c', "INSERT INTO machine_metadata (name, location, sensor_type) "
                                   . "VALUES $values RETURNING id") == 0 or die "psql failed\n";
    exit 0;
}

if ($cmd eq 'bodies') {
    my ($dir, $idsf, $n) = @ARGV;
    my @ids = ids($idsf);
    my $t0 = now_ns() - 30 * 1_000_000_000;
    for my $k (1 .. $n) {
        my (@entries, @lines);
        for my $m (0 .. $#ids) {
            my @r;
            for my $j (0 .. 9) {
                my $ts = $t0 - ($k * 10 + $j) * 1_000_000 - $m;     # distinct points
                my ($te, $pr, $sp) = (20 + ($k + $j) % 17 + 0.25, 100 + $m % 7 + 0.5, 1000 + $j);
                push @r, sprintf('{"timestamp":"%s","temperature":%s,"pressure":%s,"speed":%s}',
                                 iso($ts), $te, $pr, $sp);
                push @lines, sprintf('sensor_readings,location=%s,machine_id=%s,sensor_type=Temperature '
                                     . 'temperature=%s,pressure=%s,speed=%s %d',
                                     lp_tag(location($m + 1)), $ids[$m], $te, $pr, $sp, $ts);
            }
            push @entries, sprintf('{"machine_id":"%s","sensor_type":"Temperature","location":"%s",'
                                   . '"readings":[%s]}', $ids[$m], location($m + 1), join(',', @r));
        }
        open my $j, '>', "$dir/$k.json" or die $!;
        printf $j '{"gateway_id":"GW-BENCH","timestamp":"%s","batch":[%s]}', iso(now_ns()),
               join(',', @entries);
        close $j;
        open my $l, '>', "$dir/$k.lp" or die $!;
        print $l join("\n", @lines), "\n";
        close $l;
    }
    exit 0;
}

if ($cmd eq 'seed') {
    my ($idsf, $days, $step) = @ARGV;
    my @ids = ids($idsf);
    my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 120);
    my $end = floor(now_ns() / 1e9) * 1_000_000_000;
    my $start = $end - $days * 86400 * 1_000_000_000;
    my ($buf, $n, $total) = ('', 0, 0);
    for (my $ts = $start; $ts < $end; $ts += $step * 1_000_000_000) {
        for my $m (0 .. $#ids) {
            $buf .= sprintf("sensor_readings,location=%s,machine_id=%s,sensor_type=Temperature "
                            . "temperature=%.2f,pressure=%.2f,speed=%d %d\n",
                            lp_tag(location($m + 1)), $ids[$m], 20 + rand(10), 100 + rand(2),
                            1000 + int(rand(500)), $ts + $m);
            if (++$n == 10000) {
                my $r = $http->post("$influx/write?db=gonsters&precision=ns", { content => $buf });
                die "write: $r->{status} $r->{content}\n" unless $r->{status} == 204;
                ($buf, $total, $n) = ('', $total + $n, 0);
            }
        }
    }
    if ($n) {
        my $r = $http->post("$influx/write?db=gonsters&precision=ns", { content => $buf });
        die "write: $r->{status} $r->{content}\n" unless $r->{status} == 204;
        $total += $n;
    }
    for my $tier (['sensor_data_hourly', '1h'], ['sensor_data_daily', '1d']) {
        my $q = "SELECT mean(temperature) AS temperature, mean(pressure) AS pressure, "
              . "mean(speed) AS speed, count(temperature) AS temperature_count, "
              . "count(pressure) AS pressure_count, count(speed) AS speed_count "
              . "INTO \"$tier->[0]\".\"sensor_readings\" FROM \"sensor_data_raw\".\"sensor_readings\" "
              . "WHERE time >= $start AND time < $end GROUP BY time($tier->[1]), * fill(none)";
        my $r = $http->post_form("$influx/query", { db => 'gonsters', q => $q });
        die "tier $tier->[0]: $r->{content}\n" unless $r->{status} == 200 && $r->{content} !~ /"error"/;
    }
    print "$total\n";
    exit 0;
}

if ($cmd eq 'latency') {
    my ($n, $token, $url, @q) = @ARGV;
    my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 30);
    my (@a, @b);
    for my $i (1 .. $n) {
        my $t = time;
        my $r = $http->get($url, { headers => { Authorization => "Bearer $token" } });
        die "nginx: $r->{status} $r->{content}\n" unless $r->{status} == 200;
        push @a, time - $t;
        $t = time;
        for my $s (@q) {
            # GET: one segment per request (a POST's body in a second
            # segment would meet Nagle and delayed ACKs and cost 40 ms)
            $r = $http->get("$influx/query?" . $http->www_form_urlencode(
                                { db => 'gonsters', q => $s, epoch => 'ns' }));
            die "influxdb: $r->{status} $r->{content}\n" unless $r->{status} == 200 && $r->{content} !~ /"error"/;
        }
        push @b, time - $t;
    }
    my $pct = sub { my ($p, @s) = @_; @s = sort { $a <=> $b } @s; return 1000 * $s[floor($p * $#s + 0.5)] };
    printf "%.2f %.2f %.2f %.2f\n", $pct->(0.5, @a), $pct->(0.99, @a), $pct->(0.5, @b), $pct->(0.99, @b);
    exit 0;
}

die "unknown command $cmd\n";
