#!/usr/bin/perl

# gonsters-worker, nothing lost: N QoS 1 messages published while the
# worker is killed with SIGKILL several times and InfluxDB is stalled
# (SIGSTOP) for a while; afterwards InfluxDB holds exactly N points.  Then
# two workers in one shared-subscription group: every message stored once.
# Real mosquitto, InfluxDB and PostgreSQL of the test stack.

use strict;
use warnings;

use lib 't/lib';

use POSIX qw(WIFEXITED WEXITSTATUS);
use Test::More;
use Time::HiRes qw(sleep time);

use Gonsters::Test qw(env_or_bail psql read_file resume stall wait_until);
use Gonsters::Worker qw(new_machine influx_count iso_ms publish_lines);

env_or_bail('GONSTERS_RUN_DIR');
delete $ENV{$_} for grep { /^GONSTERS_WORKER_/ && $_ ne 'GONSTERS_WORKER_BIN' }
                    keys %ENV;

my $tag = "$$-" . int(time * 1000) % 1000000;
my $factory = "tf-$$";
my @machines = map { new_machine("t-ingest-$tag-$_", $factory) } 1 .. 10;

# one payload per line; distinct timestamps: every message is one point
sub payloads {
    my ($base_ms, $n, $seq) = @_;
    return [ map {
        sprintf('{"timestamp":"%s","sensor_type":"temperature",'
                . '"temperature":%.2f,"pressure":101.5,"speed":%d,'
                . '"seq":%d,"pad":"%s"}',
                iso_ms($base_ms + $_), 60 + ($_ % 10), 1000 + $_, $seq + $_,
                'x' x 60)
    } 0 .. $n - 1 ];
}

sub topic { "factory/$factory/machine/$_[0]/telemetry" }


# ---- killed worker, stalled InfluxDB ------------------------------------------

{
    my $w = Gonsters::Worker->new(group => "t-ingest-$$");
    ok($w->start, 'worker subscribed');

    # four waves of 1000: while the worker runs (then SIGKILL), while it is
    # dead (the broker queues for the persistent session), while InfluxDB
    # is stalled (SIGKILL with unwritten records in the spool), and a
    # last one right before a SIGKILL
    my $per = 100;
    my $n = 4 * $per * @machines;
    my $base = int(time * 1000) - 3_600_000;
    my $wave = 0;
    my $publish = sub {
        my @pubs;
        for my $i (0 .. $#machines) {
            push @pubs, publish_lines(topic($machines[$i]),
                payloads($base + $i * 100_000 + $wave * $per, $per, 0),
                "$w->{dir}/pub$wave-$i.txt");
        }
        $wave++;
        my $ok = 1;
        for (@pubs) { waitpid($_, 0); $ok &&= $? == 0; }
        return $ok;
    };

    ok($publish->(), 'wave 1 published');
    $w->kill9;

    ok($publish->(), 'wave 2 published while the worker is dead');
    ok($w->start, 'restarted');

    stall('influxdb');
    ok($publish->(), 'wave 3 published while InfluxDB is stalled');
    sleep 3;        # longer than influx_timeout_ms: a request times out
    $w->kill9;
    ok($w->start, 'restarted with InfluxDB stalled');
    sleep 1;
    resume('influxdb');

    ok($publish->(), 'wave 4 published');
    $w->kill9;
    ok($w->start, 'restarted after the last kill');

    my $got = 0;
    wait_until(120, sub { ($got = influx_count($w->db)) >= $n });
    is($got, $n, "InfluxDB holds exactly $n points after 3 kills and "
                 . 'a stall');

    my $retries = () = read_file($w->logfile)
                       =~ /"message":"InfluxDB write failed, retrying"/g;
    cmp_ok($retries, '>', 0,
           'the writer retried while InfluxDB was stalled')
        or diag(read_file($w->logfile));

    my ($ok, $bad) = $w->log_records;
    is(scalar @$bad, 0, 'every log line is a JSON record')
        or diag(join "\n", @$bad[0 .. ($#$bad < 4 ? $#$bad : 4)]);
    ok((grep { $_->{message} eq 'opened' && $_->{context}{spool} eq 'telemetry'
               && $_->{context}{unfinished_bytes} > 0 } @$ok),
       'a restart found unfinished records in the spool (and replayed them)');

    my ($dl) = map { $_->[0] } psql("SELECT count(*) FROM ingest_dead_letters "
                                    . "WHERE worker_id = '" . $w->id . "'");
    is($dl, 0, 'no dead letters');

    # clean stop: exit 0, nothing left
    my $st = $w->stop;
    ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
       'SIGTERM: exit 0');
    like(read_file($w->logfile), qr/"message":"spool drained"/,
         'SIGTERM: spool drained before exit');

    # a restart after everything was stored (the spool's segments are
    # gone, its checkpoint is not): new messages are not skipped
    ok($w->start, 'started again on the drained spool');
    ok($publish->(), 'wave 5 published');
    $n += $per * @machines;
    ok(wait_until(60, sub { ($got = influx_count($w->db)) >= $n }),
       "then $n points");
    is($got, $n, 'exactly');
    $w->stop;
}


# ---- SIGTERM while InfluxDB and PostgreSQL are stalled -------------------------

{
    my $w = Gonsters::Worker->new(group => "t-term-$$",
                                  influx_db => "t_worker_term_$$");
    ok($w->start, 'worker subscribed');
    my $base = int(time * 1000) - 1_200_000;
    ok(publish_lines(topic($machines[0]), payloads($base, 50, 0),
                     "$w->{dir}/term.txt", 1), '50 messages published');
    stall('influxdb');
    stall('postgres');
    ok(publish_lines(topic($machines[1]), payloads($base, 50, 0),
                     "$w->{dir}/term2.txt", 1),
       '50 more while InfluxDB and PostgreSQL are stalled');
    my $st = $w->stop;
    resume('influxdb');
    resume('postgres');
    ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
       'SIGTERM with both stalled: exit 0 (no hang on a stopped backend)');
    like(read_file($w->logfile), qr/records left in the spool/,
         'and says what it left in the spool');
    ok($w->start, 'started again');
    my $got = 0;
    wait_until(60, sub { ($got = influx_count($w->db)) >= 100 });
    is($got, 100, 'all 100 points stored after the restart');
    $w->stop;
}


# ---- a full spool: the worker stops taking messages, the broker keeps them ----

{
    my $w = Gonsters::Worker->new(group => "t-full-$$",
                                  influx_db => "t_worker_full_$$",
                                  conf => { spool_max_bytes => 1048576,
                                            spool_segment_bytes => 65536 });
    ok($w->start, 'worker with a 1 MiB spool subscribed');
    my $base = int(time * 1000) - 900_000;
    stall('influxdb');
    # 6000 messages of ~280 bytes: well over 1 MiB
    my @pubs = map {
        publish_lines(topic($machines[$_]), payloads($base, 1500, 0),
                      "$w->{dir}/full$_.txt")
    } 0 .. 3;
    my $full = wait_until(30, sub {
        read_file($w->logfile) =~ /"message":"spool full: not taking messages/
    });
    ok($full, 'the spool filled up while InfluxDB was stalled');
    cmp_ok(-s "$w->{dir}/spool/metrics.prom" ? $w->metric('spool_bytes') : 0,
           '<=', 1048576, 'and stayed within spool_max_bytes');
    resume('influxdb');
    waitpid($_, 0) for @pubs;
    my $got = 0;
    wait_until(120, sub { ($got = influx_count($w->db)) >= 6000 });
    is($got, 6000, 'every message arrived once InfluxDB was back: none '
                   . 'dropped');
    like(read_file($w->logfile), qr/"message":"spool has space again"/,
         'the worker took messages again');
    $w->stop;
}


# ---- two workers, one group ---------------------------------------------------

{
    my $group = "t-pair-$$";
    my $db = "t_worker_pair_$$";
    my @w = map { Gonsters::Worker->new(group => $group, influx_db => $db) }
            1 .. 2;
    ok($_->start, 'worker ' . $_->id . ' subscribed') for @w;

    my $per = 200;
    my $n = $per * @machines;
    my $base = int(time * 1000) - 1_800_000;
    my @pubs;
    for my $i (0 .. $#machines) {
        push @pubs, publish_lines(topic($machines[$i]),
                                  payloads($base + $i * 100_000, $per, 0),
                                  "$w[0]{dir}/pair$i.txt");
    }
    waitpid($_, 0) for @pubs;

    my $got = 0;
    wait_until(60, sub { ($got = influx_count($db)) >= $n });
    is($got, $n, "two workers: InfluxDB holds $n points");

    my @written;
    wait_until(10, sub {
        @written = map { $_->metric('written_total') // 0 } @w;
        return $written[0] + $written[1] >= $n;
    });
    cmp_ok($_, '>', 0, 'both workers took a share') for @written;
    is($written[0] + $written[1], $n,
       'every message was written once: the shares add up to N');

    my @received = map { $_->metric('received_total') // 0 } @w;
    is($received[0] + $received[1], $n, 'and received once');

    # the time of the last accepted write: after publishing began, and
    # not in the future
    for (@w) {
        my $last = $_->metric('last_write_timestamp_seconds') // 0;
        ok($last * 1000 >= $base + 1_800_000 - 5000 && $last <= time + 1,
           $_->id . ": last_write_timestamp_seconds $last is when it wrote");
    }

    for (@w) {
        my $st = $_->stop;
        ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
           $_->id . ': exit 0');
    }
}

done_testing();
