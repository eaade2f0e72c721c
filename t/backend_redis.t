#!/usr/bin/perl
# Redis through the module's API (ngx_http_gonsters_redis_module), driven by
# the locations of the test-only module (t/modules/ngx_http_gonsters_test_redis.c)
# against the test stack's Redis: round trips of any bytes, reply types and
# error replies, pub/sub, a stalled Redis (SIGSTOP), a killed and restarted
# Redis, 200 calls in flight through one worker, clients that go away while
# their call is pending, HUP and QUIT under load, a unix socket, and nginx -t
# on bad addresses.

use strict;
use warnings;
use lib 't/lib';

use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(env_or_bail finish_requests http json_body start_request
                     time_scale wait_until);
use Gonsters::Redis qw(resp redis_kill redis_start);

my $redis_port = env_or_bail('GONSTERS_REDIS_PORT');
my $scale = time_scale();
my $key = "gntest:$$:";
my $channel = "gn-test-$$";

# Redis directly: Gonsters::Redis (which restarts a killed Redis at the end,
# and the harness resumes a stalled one)

sub redis_stop { Gonsters::Test::stall('redis') }
sub redis_cont { Gonsters::Test::resume('redis') }

sub subscribers {
    my $r = resp('PUBSUB', 'NUMSUB', $channel);
    return ref $r ? $r->[1] : 0;
}

# ---- HTTP --------------------------------------------------------------

sub escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub get_json {
    my ($t, $path) = @_;
    my $res = http(GET => $t->url($path));
    return ($res, json_body($res));
}

sub state {
    my ($t) = @_;
    return (get_json($t, '/state'))[1] || {};
}

# children that request PATH in a loop for SECONDS, new connection each time;
# returns a closure that waits for them and returns every status seen
sub load {
    my ($t, $n, $seconds, $path) = @_;
    my (@pids, @files);
    for my $i (1 .. $n) {
        my $file = $t->prefix . "/load.$i";
        push @files, $file;
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open my $out, '>', $file or POSIX::_exit(1);
            my $ua = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
            my $end = time + $seconds;
            while (time < $end) {
                print $out $ua->get($t->url($path))->{status}, "\n";
            }
            close $out;
            POSIX::_exit(0);     # no END blocks in the children
        }
        push @pids, $pid;
    }
    return sub {
        waitpid $_, 0 for @pids;
        my @statuses;
        for my $file (@files) {
            open my $fh, '<', $file or next;
            push @statuses, map { chomp; $_ } <$fh>;
        }
        return @statuses;
    };
}

my $locations = <<'LOCATIONS';
        location = /set    { gonsters_test_redis SET $arg_k $arg_v; }
        location = /get    { gonsters_test_redis GET $arg_k; }
        location = /incr   { gonsters_test_redis INCR $arg_k; }
        location = /lpush  { gonsters_test_redis LPUSH $arg_k $arg_v; }
        location = /lrange { gonsters_test_redis LRANGE $arg_k 0 -1; }
        location = /cmd    { gonsters_test_redis $arg_c; }
        location = /messages { gonsters_test_redis_messages; }
        location = /state  { gonsters_test_redis_state; }
        location = /ok     { return 200 'ok'; }
LOCATIONS

sub config {
    my (%o) = @_;
    my $timeout = $o{timeout} * $scale;
    return <<"CONF";
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 1024; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_redis $o{address};
    gonsters_redis_timeout ${timeout}ms;
    gonsters_redis_reconnect 50ms;
    gonsters_test_redis_subscribe $channel;
    large_client_header_buffers 4 512k;
    server {
        listen 127.0.0.1:%%PORT%%;
$locations
    }
}
CONF
}

# ---- one worker, 500 ms deadline ---------------------------------------

my $t = Gonsters::Test->new->write_config(
    config(address => "127.0.0.1:$redis_port", timeout => 500));
$t->run;

ok(wait_until(5 * $scale, sub { state($t)->{connected} }),
   'the worker connects to Redis') or diag explain state($t);
my $worker = state($t)->{pid};

# round trips: whatever bytes go in come back (and are stored as such)
my @values = (
    'plain',
    'spaces and "double" and \'single\' quotes',
    "crlf\r\nsecond line\r\n",
    "tab\there, back\\slash, percent %41, plus +, amp &, hash #",
    "*3\r\n\$3\r\nDEL\r\n\$1\r\nx\r\n",                  # RESP, as data
    "\x{c3}\x{a9}t\x{c3}\x{a9} \x{e2}\x{82}\x{ac}",       # UTF-8 bytes
    join('', map { chr } 1 .. 255),                      # every byte but NUL
    join('', map { chr(1 + int rand 255) } 1 .. 100_000), # 100 KB
);
for my $i (0 .. $#values) {
    my $v = $values[$i];
    my $k = "${key}v$i";
    my (undef, $set) = get_json($t, '/set?k=' . escape($k) . '&v=' . escape($v));
    is($set && $set->{reply}{value}, 'OK', "SET value $i (" . length($v) . ' bytes)');
    my ($res, $get) = get_json($t, '/get?k=' . escape($k));
    is($res->{status}, 200, "GET value $i answers 200");
    ok($get && $get->{reply}{type} eq 'string' && $get->{reply}{value} eq $v,
       "value $i comes back byte for byte");
    ok((resp('GET', $k) // '') eq $v, "value $i is stored byte for byte");
}

# reply types
my $j;
(undef, $j) = get_json($t, "/incr?k=${key}n");
is_deeply($j, { status => 'OK', reply => { type => 'integer', value => 1 } },
          'INCR: integer reply');
(undef, $j) = get_json($t, "/get?k=${key}missing");
is_deeply($j, { status => 'OK', reply => { type => 'nil' } }, 'GET missing: nil');
get_json($t, "/lpush?k=${key}list&v=$_") for qw(a b);
(undef, $j) = get_json($t, "/lrange?k=${key}list");
is_deeply($j->{reply}, { type => 'array', value => [
    { type => 'string', value => 'b' }, { type => 'string', value => 'a' } ] },
    'LRANGE: array reply');
(undef, $j) = get_json($t, '/cmd?c=PING');
is_deeply($j->{reply}, { type => 'status', value => 'PONG' }, 'PING: status reply');

# error replies are ERROR, not failures
my $res;
($res, $j) = get_json($t, "/lpush?k=${key}v0&v=x");
is($res->{status}, 200, 'an error reply answers 200 in the test location');
is($j->{status}, 'ERROR', 'WRONGTYPE is an ERROR outcome');
is($j->{reply}{type}, 'error', 'with the error reply');
like($j->{reply}{value}, qr/^WRONGTYPE/, 'carrying Redis\' message');
(undef, $j) = get_json($t, '/cmd?c=NOSUCHCOMMAND');
is($j->{status}, 'ERROR', 'an unknown command is an ERROR outcome');
(undef, $j) = get_json($t, "/get?k=${key}v0");
is($j->{reply}{value}, 'plain', 'the connection is still in step after errors');

# pub/sub
ok(wait_until(5 * $scale, sub { subscribers() >= 1 }),
   'the worker subscribed from init_process');
my @msgs = ('hello', "with spaces\r\nand CRLF", join('', map { chr } 1 .. 255));
resp('PUBLISH', $channel, $_) for @msgs;
my $box = sub { ((get_json($t, '/messages'))[1] || {})->{channels}{$channel} || {} };
ok(wait_until(3 * $scale, sub { ($box->()->{count} // 0) == 3 }),
   'three messages delivered');
is_deeply($box->()->{last}, \@msgs, 'messages arrive intact and in order');

# a burst of 100 KB in one write: with edge-triggered epoll the adapter must
# read until the socket is empty, not 16 KB per event
my @burst = map { sprintf('%04d', $_) . ('x' x 996) } 1 .. 100;
resp(map { ['PUBLISH', $channel, $_] } @burst);
ok(wait_until(3 * $scale, sub { ($box->()->{count} // 0) == 103 }),
   'a burst of 100 messages is delivered completely')
    or diag 'received ' . ($box->()->{count} // 0);
is_deeply($box->()->{last}, [@burst[36 .. 99]], 'the last of the burst intact');

# ---- Redis stalled (SIGSTOP) --------------------------------------------

redis_stop();
my @stalled = map { start_request($t->port, GET => "/get?k=${key}v0") } 1 .. 10;
ok(wait_until(2 * $scale, sub { state($t)->{pending} == 10 }),
   'ten calls pending on the stalled Redis');
my $slowest = 0;
for (1 .. 5) {
    my $start = time;
    my $r = http(GET => $t->url('/ok'));
    $slowest = time - $start if time - $start > $slowest;
    $r->{status} == 200 or fail('return 200 answers while Redis is stalled');
}
cmp_ok($slowest, '<', 0.25 * $scale, 'return 200 stays prompt meanwhile');
my @answers = finish_requests(5 * $scale, @stalled);
is(scalar(grep { $_->{status} == 503 } @answers), 10,
   'the stalled calls answer 503');
is(scalar(grep { defined $_->{headers}{'retry-after'} } @answers), 10,
   'with Retry-After');
is(scalar(grep { (eval { decode_json($_->{body}) } || {})->{status} eq 'error' }
          @answers), 10, 'and a JSON error');
my @times = sort { $a <=> $b } map { $_->{elapsed} } @answers;
cmp_ok($times[0], '>=', 0.4, 'not before the 500ms deadline');
cmp_ok($times[-1], '<', 1.2 * $scale, 'and soon after it');

# no queueing behind the dead connection: later calls fail within the timeout
my $late = 0;
for (1 .. 5) {
    my $start = time;
    $res = http(GET => $t->url("/get?k=${key}v0"));
    $late++ if $res->{status} != 503 || time - $start > 0.7 * $scale;
    sleep 0.1;
}
is($late, 0, 'calls while Redis stays stalled fail with 503 within the timeout');

redis_cont();
ok(wait_until(4 * $scale, sub {
    http(GET => $t->url("/get?k=${key}v0"))->{status} == 200 }),
   'SIGCONT: Redis is used again, without reload');
my $count = $box->()->{count};
resp('PUBLISH', $channel, 'after the stall');
ok(wait_until(3 * $scale, sub { ($box->()->{count} // 0) == $count + 1 }),
   'the subscription survived the stall');

# ---- clients that go away while their call is pending ---------------------

redis_stop();
my @gone = map { start_request($t->port, GET => "/get?k=${key}v0") } 1 .. 20;
ok(wait_until(2 * $scale, sub { state($t)->{pending} == 20 }),
   'twenty calls pending');
close $_->{sock} for @gone;
my $aborted = sub {
    open my $fh, '<', $t->prefix . '/logs/access.log' or return 0;
    return scalar grep { m{"GET /get\S* HTTP/1\.0" 499 } } <$fh>;
};
ok(wait_until(2 * $scale, sub { $aborted->() == 20 }),
   'their requests end (499) while the calls are still pending');
redis_cont();
ok(wait_until(2 * $scale, sub { state($t)->{pending} == 0 }),
   'the replies of the detached calls are consumed');
is(http(GET => $t->url("/get?k=${key}v0"))->{status}, 200,
   'and the connection serves the next call');

# again, but the deadline of the detached calls expires
redis_stop();
@gone = map { start_request($t->port, GET => "/get?k=${key}v0") } 1 .. 20;
ok(wait_until(2 * $scale, sub { state($t)->{pending} == 20 }),
   'twenty calls pending again');
close $_->{sock} for @gone;
ok(wait_until(2 * $scale, sub { $aborted->() == 40 }), 'their requests end');
sleep 0.8 * $scale;
is(state($t)->{pending}, 0, 'the deadline dropped the detached calls');
redis_cont();
ok(wait_until(4 * $scale, sub {
    http(GET => $t->url("/get?k=${key}v0"))->{status} == 200 }),
   'then Redis is used again');
is(state($t)->{pid}, $worker, 'the same worker all along');

# ---- Redis killed and restarted --------------------------------------------

redis_kill();
my $start = time;
$res = http(GET => $t->url("/get?k=${key}v0"));
is($res->{status}, 503, 'Redis down: 503');
ok($res->{headers}{'retry-after'}, 'with Retry-After');
ok(wait_until(2 * $scale, sub {
    my $s = time;
    http(GET => $t->url("/get?k=${key}v0"))->{status} == 503
        && time - $s < 0.1 * $scale
}), 'calls fail at once while Redis is down');
like(state($t)->{error}, qr/refused|closed/i, 'the state names the failure');

redis_start();
ok(wait_until(4 * $scale, sub {
    http(GET => $t->url("/set?k=${key}r&v=back"))->{status} == 200 }),
   'Redis restarted: calls succeed again, without reload');
(undef, $j) = get_json($t, "/get?k=${key}r");
is($j->{reply}{value}, 'back', 'on the new server');
ok(wait_until(4 * $scale, sub { subscribers() >= 1 }),
   'the subscription is restored');
$count = $box->()->{count};
resp('PUBLISH', $channel, 'after the restart');
ok(wait_until(3 * $scale, sub { ($box->()->{count} // 0) == $count + 1 }),
   'a message published after the restart is received');
is(state($t)->{pid}, $worker, 'no new worker');
like($t->read_log, qr/\[warn\].*redis command connection to 127\.0\.0\.1:\d+: reconnecting in \d+ms \(attempt \d+\)/,
     'reconnects are logged at warn with delay and attempt');

$t->stop;

# ---- 200 calls in flight through one worker; HUP and QUIT under load -------

my $t2 = Gonsters::Test->new->write_config(
    config(address => "127.0.0.1:$redis_port", timeout => 3000));
$t2->run;
ok(wait_until(5 * $scale, sub { state($t2)->{connected} }), 'second nginx connected');

redis_stop();
$start = time;
my @many = map { start_request($t2->port, GET => "/incr?k=${key}many") } 1 .. 200;
ok(wait_until(2 * $scale, sub { state($t2)->{pending} == 200 }),
   '200 calls in flight at once on one worker')
    or diag explain state($t2);
my $ok_start = time;
is(http(GET => $t2->url('/ok'))->{status}, 200, 'return 200 meanwhile');
cmp_ok(time - $ok_start, '<', 0.25 * $scale, 'promptly');
my $cont = time;
redis_cont();
@answers = finish_requests(10 * $scale, @many);
is(scalar(grep { $_->{status} == 200 } @answers), 200, 'all 200 answer 200');
my @n = sort { $a <=> $b }
        map { (eval { decode_json($_->{body}) } || {})->{reply}{value} // 0 }
        @answers;
is_deeply(\@n, [1 .. 200], 'each call got its own reply');
my ($last) = sort { $b <=> $a } map { $_->{done} // 1e10 } @answers;
cmp_ok($last - $cont, '<', 1 * $scale, 'all within a second of SIGCONT');
my $clients = resp('CLIENT', 'LIST') // '';
# the 200 INCRs came over one connection (other clients of the stack's
# Redis, such as the stack's own nginx, run other commands)
my $incr_clients = () = $clients =~ /cmd=incr\b/g;
cmp_ok($incr_clients, '<=', 1, 'over one command connection (pipelined)');

my $old = state($t2)->{pid};
my $wait = load($t2, 4, 1.5 * $scale, "/incr?k=${key}load");
sleep 0.4 * $scale;
$t2->signal('HUP');
my @statuses = $wait->();
cmp_ok(scalar(@statuses), '>', 20, scalar(@statuses) . ' requests during HUP');
is(scalar(grep { $_ != 200 } @statuses), 0, 'all answered 200 across HUP')
    or diag join ' ', grep { $_ != 200 } @statuses;
ok(wait_until(3 * $scale, sub { !kill 0, $old }),
   'the old worker exits promptly (idle Redis connections do not hold it)');
my $new = state($t2);
isnt($new->{pid}, $old, 'a new worker answers');
ok(wait_until(3 * $scale, sub { state($t2)->{connected} && state($t2)->{subscribed} }),
   'it connected and subscribed');
resp('PUBLISH', $channel, 'to the new worker');
ok(wait_until(3 * $scale, sub {
    my $b = ((get_json($t2, '/messages'))[1] || {})->{channels}{$channel} || {};
    ($b->{last} || [])->[-1] && $b->{last}[-1] eq 'to the new worker' }),
   'the new worker receives messages');

$wait = load($t2, 4, 1 * $scale, "/incr?k=${key}load");
sleep 0.4 * $scale;
$start = time;
$t2->stop;      # QUIT, then the log check
cmp_ok(time - $start, '<', 5 * $scale, 'QUIT under load finishes promptly');
@statuses = $wait->();
is(scalar(grep { $_ != 200 && $_ != 599 } @statuses), 0,
   'answers during QUIT are 200 (or refused once nginx closed its socket)')
    or diag join ' ', grep { $_ != 200 } @statuses;

# ---- a unix socket --------------------------------------------------------

my $dir = $t2->prefix;
my $sock = "$dir/redis.sock";
my $upid = fork // die "fork: $!";
if ($upid == 0) {
    open STDOUT, '>', "$dir/redis-unix.log";
    open STDERR, '>&', \*STDOUT;
    exec 'redis-server', '--port', '0', '--unixsocket', $sock,
         '--unixsocketperm', '700', '--dir', $dir, '--save', '',
         '--appendonly', 'no', '--daemonize', 'no'
        or POSIX::_exit(127);
}
ok(wait_until(5, sub { -S $sock }), 'a private Redis on a unix socket');
my $t3 = Gonsters::Test->new->write_config(
    config(address => "unix:$sock", timeout => 500));
$t3->run;
ok(wait_until(5 * $scale, sub {
    http(GET => $t3->url('/set?k=u&v=over%20unix'))->{status} == 200 }),
   'SET over a unix socket');
(undef, $j) = get_json($t3, '/get?k=u');
is($j->{reply}{value}, 'over unix', 'GET over a unix socket');
$t3->stop;
kill 'TERM', $upid;
waitpid $upid, 0;

# ---- not configured: calls fail at once ------------------------------------

my $t4 = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
$locations
    }
}
CONF
$t4->run;
$start = time;
$res = http(GET => $t4->url('/get?k=x'));
is($res->{status}, 503, 'without gonsters_redis calls answer 503');
cmp_ok(time - $start, '<', 0.25 * $scale, 'at once');
is_deeply(state($t4), { pid => state($t4)->{pid}, connected => 0, attempt => 0,
                        delay => 0, pending => 0, subscribed => 0, error => '' },
          'and nothing is connected');
$t4->stop;

# ---- nginx -t --------------------------------------------------------------

my $tc = Gonsters::Test->new;
my $check = sub {
    my ($http) = @_;
    $tc->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
$http
    server { listen 127.0.0.1:%%PORT%%; }
}
CONF
    return $tc->test_config;
};

for my $good ('127.0.0.1:6379', '[::1]:6379', 'unix:/run/redis/redis.sock') {
    my ($rc, $out) = $check->("gonsters_redis $good;");
    is($rc, 0, "nginx -t accepts gonsters_redis $good") or diag $out;
}

my @bad = (
    ['localhost:6379', qr/is not an IP address: host names are not accepted/],
    ['redis.example.com:6379', qr/host names are not accepted/],
    ['127.0.0.1:99999', qr/invalid port in Redis address/],
    ['127.0.0.1:0', qr/invalid port in Redis address/],
    ['127.0.0.1:http', qr/invalid port in Redis address/],
    ['127.0.0.1', qr/no port in Redis address/],
    ['""', qr/empty Redis address/],
    ['unix:', qr/invalid unix socket path/],
    ['unix:/' . ('x' x 120), qr/too long|invalid unix socket path/],
    ['[::1', qr/invalid Redis address/],
    ['[::1]', qr/invalid Redis address/],
    ['[::zz]:6379', qr/invalid Redis address/],
    ['::1:6379', qr/IPv6 addresses need brackets/],
);
for my $case (@bad) {
    my ($value, $message) = @$case;
    my ($rc, $out) = $check->("gonsters_redis $value;");
    isnt($rc, 0, "nginx -t refuses gonsters_redis $value");
    like($out, $message, '  with a clear message') or diag $out;
}

my @bad_directives = (
    ["gonsters_redis 127.0.0.1:1; gonsters_redis 127.0.0.1:2;", qr/is duplicate/],
    ["gonsters_redis_timeout 0;", qr/must be greater than 0/],
    ["gonsters_redis_timeout soon;", qr/invalid value/],
    ["gonsters_redis_reconnect 0;", qr/must be greater than 0/],
);
for my $case (@bad_directives) {
    my ($text, $message) = @$case;
    my ($rc, $out) = $check->($text);
    isnt($rc, 0, "nginx -t refuses: $text");
    like($out, $message, '  with a clear message') or diag $out;
}

done_testing;
