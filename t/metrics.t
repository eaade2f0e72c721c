#!/usr/bin/perl
# GET /metrics: Prometheus text of all workers, from shared memory.

use strict;
use warnings;
use lib 't/lib';

use Test::More;
use Gonsters::Test qw(http json_body time_scale wait_until);

my $t = Gonsters::Test->new->write_config(<<'CONF');
%%TEST_GLOBALS%%
worker_processes 2;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /health { gonsters_endpoint health; }
        location = /metrics {
            allow 127.0.0.1;
            deny all;
            gonsters_endpoint metrics;
        }
        location = /metrics-closed {
            deny all;
            gonsters_endpoint metrics;
        }
    }
}
CONF
$t->run;

sub metrics {
    my $res = http(GET => $t->url('/metrics'));
    is($res->{status}, 200, 'GET /metrics is 200');
    return $res->{content};
}

sub value {
    my ($text, $series) = @_;
    return $text =~ /^\Q$series\E (\S+)$/m ? $1 : undef;
}

my $res = http(GET => $t->url('/metrics'));
like($res->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'Prometheus content type');

# every line is a comment or "name{labels} value"
my @bad = grep { !/^# (HELP|TYPE) \w+ .+$/ && !/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.]+$/ }
          split /\n/, $res->{content};
is_deeply(\@bad, [], 'every line is valid exposition format');

my $before = value(metrics(), 'gonsters_http_requests_total{endpoint="health",status="200"}') // 0;

# requests are spread over both workers; all of them are counted
http(GET => $t->url('/health')) for 1 .. 20;
http(POST => $t->url('/health')) for 1 .. 3;

my $text = metrics();
is(value($text, 'gonsters_http_requests_total{endpoint="health",status="200"}'),
   $before + 20, 'requests counted by endpoint and status, across workers');
is(value($text, 'gonsters_http_requests_total{endpoint="health",status="405"}'),
   3, 'errors counted by status');
my $count = value($text, 'gonsters_http_request_duration_seconds_count{endpoint="health"}');
ok($count >= 23, 'duration histogram counts the requests');
is(value($text, 'gonsters_http_request_duration_seconds_bucket{endpoint="health",le="+Inf"}'),
   $count, 'the +Inf bucket equals the count');

my @buckets = $text =~ /^gonsters_http_request_duration_seconds_bucket\{endpoint="health",le="[^"]+"\} (\d+)$/mg;
is_deeply(\@buckets, [sort { $a <=> $b } @buckets], 'buckets are cumulative');

for my $b (qw(postgres redis influxdb password)) {
    ok(defined value($text, "gonsters_backend_calls_total{backend=\"$b\",result=\"ok\"}"),
       "backend calls reported for $b");
    ok(defined value($text, "gonsters_backend_connections{backend=\"$b\",state=\"open\"}"),
       "connections reported for $b");
}

$res = http(GET => $t->url('/metrics-closed'));
is($res->{status}, 403, 'access to /metrics is the location\'s business');

$res = http(POST => $t->url('/metrics'));
is($res->{status}, 405, 'POST /metrics is 405');

# counters survive a reload: Prometheus counters never go back
my $old = value(metrics(), 'gonsters_http_requests_total{endpoint="health",status="200"}');
$t->signal('HUP');
ok(wait_until(5 * time_scale(), sub {
    my $r = http(GET => $t->url('/metrics'));
    my $v = value($r->{content} // '', 'gonsters_http_requests_total{endpoint="metrics",status="200"}');
    # the new workers answer and the counters are still there
    defined $v && $t->read_log =~ /reconfiguring/;
}), 'reloaded');
is(value(metrics(), 'gonsters_http_requests_total{endpoint="health",status="200"}'),
   $old, 'counters kept across a reload');

$t->stop;
done_testing;
