#!/usr/bin/perl
# GET /health and /health/<store>: real checks of PostgreSQL, Redis and
# InfluxDB, cached briefly, shared by concurrent requests, and prompt when a
# store is stalled.

use strict;
use warnings;
use lib 't/lib';

use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(env_or_bail finish_requests http json_body resume stall
                      start_request time_scale wait_until);

my $S = time_scale();
my $pg = env_or_bail('GONSTERS_PG_PORT');
my $redis = env_or_bail('GONSTERS_REDIS_PORT');
my $influx = env_or_bail('GONSTERS_INFLUX_PORT');

# the stores' timeouts (longer under valgrind, where nginx is slow)
my $timeout = 500 * $S . 'ms';

my $t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 1024; }
http {
    %%TEST_GLOBALS_HTTP%%

    gonsters_postgres "host=127.0.0.1 port=$pg dbname=gonsters user=gonsters";
    gonsters_postgres_connect_timeout $timeout;
    gonsters_postgres_query_timeout $timeout;
    gonsters_redis 127.0.0.1:$redis;
    gonsters_redis_timeout $timeout;
    gonsters_influxdb_location /_influxdb;
    gonsters_health_cache_time 300ms;
    gonsters_retry_after 7s;

    upstream influxdb {
        server 127.0.0.1:$influx;
        keepalive 4;
    }

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /health          { gonsters_endpoint health; }
        location = /health/postgres { gonsters_endpoint health_postgres; }
        location = /health/redis    { gonsters_endpoint health_redis; }
        location = /health/influxdb { gonsters_endpoint health_influxdb; }
        location = /metrics         { gonsters_endpoint metrics; }
        location = /other           { return 204; }

        location /_influxdb/ {
            internal;
            proxy_pass http://influxdb/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_headers off;
            proxy_max_temp_file_size 0;
            proxy_connect_timeout $timeout;
            proxy_read_timeout $timeout;
            proxy_send_timeout $timeout;
        }
    }
}
CONF
$t->run;

sub get {
    my ($path) = @_;
    my $start = time;
    my $res = http(GET => $t->url($path));
    $res->{elapsed} = time - $start;
    $res->{json} = json_body($res);
    return $res;
}

# results are cached for 300ms: wait them out between scenes
sub fresh { sleep 0.35; }

sub metric {
    my ($series) = @_;
    my $text = http(GET => $t->url('/metrics'))->{content};
    return $text =~ /^\Q$series\E (\S+)$/m ? $1 : 0;
}

# --- everything up ----------------------------------------------------------

my $res = get('/health');
is($res->{status}, 200, 'GET /health is 200');
like($res->{headers}{'content-type'}, qr{^application/json}, 'JSON content type');
is($res->{json}{status}, 'healthy', 'healthy');
for my $dep (qw(postgres redis influxdb)) {
    my $d = $res->{json}{dependencies}{$dep} || {};
    is($d->{status}, 'healthy', "$dep is healthy");
    like($d->{latency_ms} // '', qr/^\d+$/, "$dep latency in ms");
}

for my $dep (qw(postgres redis influxdb)) {
    $res = get("/health/$dep");
    is($res->{status}, 200, "GET /health/$dep is 200");
    is($res->{json}{status}, 'healthy', "/health/$dep is healthy");
}

$res = http(HEAD => $t->url('/health'));
is($res->{status}, 200, 'HEAD /health is 200');
is($res->{content} // '', '', 'HEAD has no body');

$res = http(POST => $t->url('/health'), { content => '{}' });
is($res->{status}, 405, 'POST /health is 405');
is($res->{headers}{allow}, 'GET, HEAD', '405 names the allowed methods');
is((json_body($res) || {})->{status}, 'error', '405 is a JSON error');

# --- the cache: a flood does not reach the stores ----------------------------

fresh();
my $calls = metric('gonsters_backend_calls_total{backend="postgres",result="ok"}');
my $ua = HTTP::Tiny->new(keep_alive => 1);
my $ok = grep { $ua->get($t->url('/health'))->{status} == 200 } 1 .. 100;
is($ok, 100, '100 health checks answered');
my $spent = metric('gonsters_backend_calls_total{backend="postgres",result="ok"}') - $calls;
ok($spent >= 1 && $spent <= 5, "100 checks cost $spent PostgreSQL calls");
ok(metric('gonsters_cache_requests_total{cache="health",result="hit"}') >= 90,
   'cache hits counted');

# --- a stalled store: answers within its timeout, others stay prompt ----------

# concurrent requests on raw sockets, then the statuses of their answers
sub fire {
    my ($path, $n) = @_;
    return map { start_request($t->port, GET => $path) } 1 .. $n;
}

sub collect {
    return map { $_->{status} } finish_requests(10 * $S, @_);
}

for my $case (['postgres', 503, 'unhealthy'], ['influxdb', 503, 'unhealthy'],
              ['redis', 200, 'degraded'])
{
    my ($dep, $code, $overall) = @$case;
    my $service = $dep eq 'influxdb' ? 'influxdb' : $dep;

    fresh();
    stall($service);

    my $start = time;
    my @reqs = fire('/health', 30);

    # requests that do not need the store answer at once
    my $other = get('/other');
    is($other->{status}, 204, "$dep stalled: a plain location answers");
    ok($other->{elapsed} < 0.25 * $S, "$dep stalled: ... promptly ("
       . sprintf('%.3fs', $other->{elapsed}) . ')');
    for my $up (grep { $_ ne $dep } qw(postgres redis influxdb)) {
        my $r = get("/health/$up");
        is($r->{status}, 200, "$dep stalled: /health/$up still 200");
    }

    my @statuses = collect(@reqs);
    my $elapsed = time - $start;
    is(scalar(grep { $_ == $code } @statuses), 30,
       "$dep stalled: 30 concurrent /health answered $code");
    ok($elapsed < 1.5 * $S, "$dep stalled: all within the timeout ("
       . sprintf('%.2fs', $elapsed) . ')');

    $res = get('/health');
    is($res->{status}, $code, "$dep stalled: /health is $code");
    is($res->{json}{status}, $overall, "$dep stalled: /health is $overall");
    is($res->{json}{dependencies}{$dep}{status}, 'unhealthy', "$dep reported unhealthy");
    if ($code == 503) {
        is($res->{headers}{'retry-after'}, '7', "$dep stalled: Retry-After");
    }

    $res = get("/health/$dep");
    is($res->{status}, 503, "$dep stalled: /health/$dep is 503");
    is($res->{headers}{'retry-after'}, '7', "$dep stalled: /health/$dep has Retry-After");
    like($res->{json}{error} // '', qr/timed out|unavailable/, "$dep stalled: the error is named");

    resume($service);
    ok(wait_until(5 * $S, sub { get('/health')->{json}{status} eq 'healthy' }),
       "$dep resumed: healthy again without a reload");
}

# the client whose request runs the InfluxDB check goes away: the requests
# waiting for that check are answered all the same
fresh();
stall('influxdb');
my ($runner) = fire('/health', 1);
sleep 0.1;
my @waiting = fire('/health', 5);
sleep 0.1;
close $runner->{sock};
my $start = time;
my @statuses = collect(@waiting);
is(scalar(grep { $_ == 503 || $_ == 200 } @statuses), 5,
   'waiters answered after the runner went away');
ok(time - $start < 1.5 * $S, 'within the timeout');
resume('influxdb');
ok(wait_until(5 * $S, sub { get('/health')->{json}{status} eq 'healthy' }),
   'and health checks go on');

$t->stop;

# the stack started by make test serves /health as well
my $port = env_or_bail('GONSTERS_NGINX_PORT');
$res = http(GET => "http://127.0.0.1:$port/health");
is($res->{status}, 200, 'stack nginx answers /health');
is((json_body($res) || {})->{status}, 'healthy', 'stack nginx is healthy');

done_testing;
