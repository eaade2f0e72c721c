#!/usr/bin/perl
# InfluxDB through a subrequest to an internal proxy location
# (ngx_http_gonsters_influxdb_module), driven by the test module's locations
# the way REST handlers do: writes and queries of the test stack's InfluxDB,
# the form encoder, hostile values, a response of several MB (buffered and
# unbuffered proxying) and one over gonsters_influxdb_max_response, many
# concurrent calls through one worker, InfluxDB stalled (SIGSTOP), killed and
# restarted, clients that go away, HUP and QUIT under load; then, against a
# small fake InfluxDB that records what it receives: no client header
# reaches it, 5xx and cut responses, and the location checks.

use strict;
use warnings;
use lib 't/lib';

use Digest::SHA qw(sha1_hex);
use File::Temp;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(child_pids env_or_bail finish_requests free_port http json_body
                     start_request time_scale wait_until);

my $ts = time_scale();
my $run = env_or_bail('GONSTERS_RUN_DIR');
my $influx_port = env_or_bail('GONSTERS_INFLUX_PORT');
my $db = "gonsters_t_influx_$$";
my $influx_url = "http://127.0.0.1:$influx_port";
my $pidfile = "$run/pids/influxdb.pid";

# ---- helpers -------------------------------------------------------------------

# every byte but unreserved ones as %XX (NUL included)
sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub influxd_pid {
    open my $fh, '<', $pidfile or return 0;
    my $pid = <$fh> // 0;
    chomp $pid;
    return $pid;
}

sub alive {     # a zombie is not alive
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    return $stat =~ /^\d+ \(.*\) ([A-Za-z])/ && $1 ne 'Z';
}

# the same command as scripts/stack.sh start_influxdb
sub start_influxd {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$run/influx/influxd.log";
        open STDERR, '>&', \*STDOUT;
        { exec 'influxd', '-config', "$run/influx/influxdb.conf" }
        POSIX::_exit(127);
    }
    open my $fh, '>', $pidfile or die "$pidfile: $!";
    print $fh "$pid\n";
    close $fh;
    return wait_until(30, sub {
        (HTTP::Tiny->new(timeout => 1)->get("$influx_url/ping")->{status} // 0) == 204
    });
}

sub influx_direct {     # a query straight to InfluxDB: the raw response
    my ($q) = @_;
    return HTTP::Tiny->new(timeout => 30)->post_form("$influx_url/query",
        { q => $q, db => $db, epoch => 'ns' });
}

my ($stopped, $killed);

END {
    my $pid = influxd_pid();
    kill 'CONT', $pid if $stopped && $pid;
    start_influxd() if $killed && !alive($pid);
    HTTP::Tiny->new(timeout => 5)->post_form("$influx_url/query",
        { q => "DROP DATABASE $db" });
}

sub stop_influxd { $stopped = 1; Gonsters::Test::stall('influxdb'); }
sub cont_influxd { Gonsters::Test::resume('influxdb'); $stopped = 0; }

# the result of a query location: (outer JSON, InfluxDB's JSON)
sub result {
    my ($res) = @_;
    my $outer = json_body($res) || {};
    my $inner = eval { JSON::PP->new->decode($outer->{body} // '') };
    return ($outer, $inner);
}

sub values_of {
    my ($inner) = @_;
    return ((($inner || {})->{results} || [])->[0] || {})->{series}[0]{values} || [];
}

# ---- nginx: one worker, three servers -------------------------------------------
# %%PORT%%   main: 5 s read timeout, buffered proxying
# %%PORT2%%  the same with proxy_buffering off
# %%PORT3%%  short timeouts, for the stalls

my ($port2, $port3) = (free_port(), free_port());
my $short = int(500 * ($ts > 4 ? 4 : $ts));   # below HTTP::Tiny's 10 s

my $internal = <<'LOC';
        location /_influxdb/ {
            internal;
            proxy_pass http://influxdb/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_headers off;
            proxy_set_header Content-Type application/x-www-form-urlencoded;
            proxy_max_temp_file_size 0;
            proxy_next_upstream error non_idempotent;
            proxy_connect_timeout %%CONNECT%%ms;
            proxy_send_timeout %%READ%%ms;
            proxy_read_timeout %%READ%%ms;
            %%EXTRA%%
        }
        location = /write  { gonsters_test_influxdb_write; }
        location = /query  { gonsters_test_influxdb_query $arg_q $arg_params; }
        location = /raw    { gonsters_test_influxdb_query_raw $arg_q; }
        location = /small  {
            gonsters_influxdb_max_response 64k;
            gonsters_test_influxdb_query $arg_q;
        }
        location = /ping   { gonsters_test_influxdb_ping; }
        location = /chain  { gonsters_test_influxdb_chain $arg_q; }
        location = /escape { gonsters_test_influxdb_escape $arg_s; }
        location = /ret    { return 200 "ok\n"; }
        location = /status { stub_status; }
LOC

sub server_block {
    my ($port, $connect, $read, $extra) = @_;
    (my $loc = $internal) =~ s/%%CONNECT%%/$connect/g;
    $loc =~ s/%%READ%%/$read/g;
    $loc =~ s/%%EXTRA%%/$extra/g;
    return "    server {\n        listen 127.0.0.1:$port;\n$loc    }\n";
}

my $servers = server_block('%%PORT%%', $short, 5000 * $ts, '')
            . server_block($port2, $short, 5000 * $ts, 'proxy_buffering off;')
            . server_block($port3, $short, $short, '');

my $t = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 1024; }
http {
    %%TEST_GLOBALS_HTTP%%
    client_body_buffer_size 16m;
    client_max_body_size 16m;

    gonsters_influxdb_location /_influxdb;
    gonsters_influxdb_database $db;

    upstream influxdb {
        server 127.0.0.1:$influx_port;
        keepalive 8;
    }

$servers
}
CONF
$t->run;

my $P = $t->port;
sub url  { "http://127.0.0.1:$_[0]$_[1]" }
sub get  { http(GET => url(@_)) }
sub qry  { my ($port, $q, $params) = @_;
           get($port, '/query?q=' . enc($q) . (defined $params ? '&params=' . enc($params) : '')) }
sub post { my ($port, $path, $body) = @_;
           http(POST => url($port, $path), { content => $body }) }

# ---- ping, create, write, query back -------------------------------------------------

my $res = get($P, '/ping');
is($res->{status}, 200, 'ping through the internal location');
is((json_body($res) || {})->{http_status}, 204, 'InfluxDB answered 204');

$res = qry($P, "CREATE DATABASE $db");
is($res->{status}, 200, 'CREATE DATABASE through a query call');

$res = post($P, '/write', join '', map { "m,machine_id=m$_ temperature=$_.5 " . (1700000000000000000 + $_) . "\n" } 1 .. 3);
is($res->{status}, 200, 'write of 3 points');
is((json_body($res) || {})->{http_status}, 204, 'InfluxDB answered 204');

my ($outer, $inner) = result(qry($P, 'SELECT temperature, machine_id FROM m'));
is_deeply(values_of($inner),
          [ map { [1700000000000000000 + $_, $_ + 0.5, "m$_"] } 1 .. 3 ],
          'the points come back, times in ns');

($outer, $inner) = result(post($P, '/chain?q=' . enc('SELECT count(temperature) FROM m'),
                               "m,machine_id=m4 temperature=4.5 1700000000000000004\n"));
is(values_of($inner)->[0][1], 4, 'a query started from the handler of a write (chained calls)');

# ---- errors InfluxDB reports ----------------------------------------------------------

$res = post($P, '/write', "not line protocol\n");
is($res->{status}, 502, 'a bad line is an ERROR');
($outer) = result($res);
is($outer->{http_status}, 400, 'InfluxDB said 400');
like($outer->{body}, qr/unable to parse/, "with InfluxDB's message in the body");

$res = qry($P, 'SELEC nothing');
($outer) = result($res);
is($res->{status} . ' ' . ($outer->{http_status} // ''), '502 400', 'a bad query is an ERROR (400)');
like($outer->{body}, qr/error parsing query/, "with InfluxDB's message");
like($t->read_log, qr/\[info\].*gonsters: influxdb query answered 400: "\{"error":"error parsing query/,
     'logged at info');

# ---- the form encoder ---------------------------------------------------------------------

my %escapes = (
    'a&b=c'                    => 'a%26b%3Dc',
    q{it's "x"}                => 'it%27s%20%22x%22',
    "line1\nline2\r"           => 'line1%0Aline2%0D',
    "\xc3\xa9\xe2\x82\xac"     => '%C3%A9%E2%82%AC',
    '+%;#?/[]'                 => '%2B%25%3B%23%3F%2F%5B%5D',
    'AZaz09-._~'               => 'AZaz09-._~',
    "\0x\xff\x80"              => '%00x%FF%80',
    ''                         => '',
);
for my $in (sort keys %escapes) {
    (my $name = $in) =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    is((json_body(get($P, '/escape?s=' . enc($in))) || {})->{escaped}, $escapes{$in},
       "escape '$name'");
}

# hostile values reach InfluxDB as they are
my $tag = "a&b=c+d%20\xc3\xa9 'q'";
(my $tag_lp = $tag) =~ s/([ ,=])/\\$1/g;
$res = post($P, '/write', qq{hostile,t=$tag_lp s="say \\"hi\\" \\\\ there",v=1i 1700000000000000000\n});
is($res->{status}, 200, 'a point with a hostile tag and string field is written');

(my $tag_ql = $tag) =~ s/'/\\'/g;
($outer, $inner) = result(qry($P, "SELECT *\nFROM hostile\nWHERE t = '$tag_ql'"));
my $row = values_of($inner)->[0] || [];
my $got_tag = $row->[2] // '';     # json_body() keeps bytes as they are
is($got_tag, $tag, 'a query with quotes, &, =, +, %, newlines and UTF-8 finds it');
is($row->[1], 'say "hi" \\ there', 'the string field is intact');

($outer, $inner) = result(qry($P, 'SELECT * FROM hostile WHERE t = $t',
                              qq({"t":"a&b=c+d%20\xc3\xa9 'q'"})));
is(scalar @{ values_of($inner) }, 1, 'the same through a bound parameter');

# ---- a response of several MB -------------------------------------------------------------

my $points = 100_000;
my $written = 0;
for my $batch (0 .. 3) {
    my $body = '';
    for my $i ($batch * 25_000 + 1 .. ($batch + 1) * 25_000) {
        $body .= sprintf "big,machine_id=m%03d,sensor_type=temperature temperature=%d.5,pressure=%d.25,speed=%di %d\n",
                         $i % 100, $i, $i % 1000, $i % 5000, 1700000000000000000 + $i * 1000;
    }
    $res = post($P, '/write', $body);
    $written += 25_000 if $res->{status} == 200;
}
is($written, $points, 'four writes of 25000 points (2.5 MB bodies)');

my $direct = influx_direct('SELECT * FROM big');
is($direct->{status}, 200, 'the same query straight to InfluxDB');

for my $port ($P, $port2) {
    my $mode = $port == $P ? 'buffered' : 'unbuffered';
    $res = get($port, '/raw?q=' . enc('SELECT * FROM big'));
    my $body = $res->{content} // '';
    is($res->{status}, 200, "$mode: SELECT * of $points points");
    cmp_ok(length $body, '>', 5_000_000, "$mode: a response of " . length($body) . ' bytes');
    is(scalar(() = $body =~ /\[17\d{17},/g), $points, "$mode: every point arrived");
    is(sha1_hex($body), sha1_hex($direct->{content}), "$mode: byte for byte what InfluxDB sent");

    $res = get($port, '/small?q=' . enc('SELECT * FROM big'));
    ($outer) = result($res);
    is($res->{status} . ' ' . ($outer->{status} // ''), '502 error',
       "$mode: over gonsters_influxdb_max_response 64k it fails as ERROR");
    is($outer->{length}, 0, "$mode: and hands over no partial body");
}
my @over = $t->read_log =~ /gonsters: influxdb query: the response exceeds gonsters_influxdb_max_response 65536/g;
is(scalar @over, 2, 'both overflows are logged with the limit');

my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my @seq = map { $ua->get(url($P, $_))->{status} } '/small?q=' . enc('SELECT * FROM big'), '/ret',
                                                  '/query?q=' . enc('SELECT count(speed) FROM big');
is("@seq", '502 200 200', 'the client connection goes on after an overflow');
undef $ua;

# ---- many concurrent calls through one worker ---------------------------------------------

my @reqs = map { start_request($P, 'GET', '/query?q=' . enc("SELECT count(temperature) FROM big WHERE machine_id = 'm0$_'")) } 10 .. 59;
@reqs = finish_requests(30 * $ts, @reqs);
my $good = grep {
    $_->{status} == 200 && (values_of(eval { JSON::PP->new->decode($_->{json}{body}) })->[0][1] // 0) == $points / 100
} @reqs;
is($good, 50, '50 concurrent queries through one worker all complete with the right count');

# ---- InfluxDB stalled: SIGSTOP ---------------------------------------------------------------

stop_influxd();
@reqs = map { start_request($port3, 'GET', '/query?q=' . enc('SHOW DATABASES')) } 1 .. 20;
my ($slowest, $ok) = (0, 0);
for (1 .. 20) {
    my $s = time;
    $ok++ if get($P, '/ret')->{status} == 200;
    $slowest = time - $s if time - $s > $slowest;
}
is($ok, 20, 'while 20 queries wait for a stopped InfluxDB, return 200 answers');
cmp_ok($slowest, '<', 0.1 * $ts, sprintf('promptly (slowest %.4f s)', $slowest));
@reqs = finish_requests(10 * $ts, @reqs);
my @odd = grep { $_->{status} != 503 || $_->{buf} !~ /\r\nRetry-After: \d+\r\n/i } @reqs;
is(scalar @odd, 0, 'the 20 queries fail with 503 and Retry-After')
    or diag(map({ sprintf("after %.3f s: %s\n", $_->{elapsed} // -1, substr($_->{buf}, 0, 300)) } @odd),
            grep { /gonsters|upstream|alert|crit/ } split /\n/, $t->read_log);
my @timed_out = grep { $_->{buf} =~ /influxdb timed out/ } @reqs;
is(scalar @timed_out, 20, '"influxdb timed out"')
    or diag(map { sprintf("after %.3f s: %s\n", $_->{elapsed} // -1, $_->{body} // '') } @reqs);
my ($longest) = sort { $b <=> $a } map { $_->{elapsed} // 99 } @reqs;
my ($shortest) = sort { $a <=> $b } map { $_->{elapsed} // 99 } @timed_out;
ok(($shortest // 0) >= 0.9 * $short / 1000 && $longest < $short / 1000 + 1 * $ts,
   sprintf('at proxy_read_timeout, all together (%.3f .. %.3f s)', $shortest // -1, $longest));
$res = get($port3, '/ping');
is($res->{status}, 503, 'ping fails too');

cont_influxd();
ok(wait_until(5 * $ts, sub { qry($port3, 'SHOW DATABASES')->{status} == 200 }),
   'after SIGCONT the same nginx queries again');

# ---- clients that go away while their call is pending ------------------------------------------

stop_influxd();
@reqs = map { start_request($port3, 'GET', '/query?q=' . enc('SHOW DATABASES')) } 1 .. 5;
push @reqs, map { start_request($port3, 'POST', '/write', body => "gone v=1i $_\n") } 1 .. 5;
sleep 0.1;
close $_->{sock} for @reqs;
sleep 0.1;
cont_influxd();
ok(wait_until(5 * $ts, sub { (get($P, '/status')->{content} // '') =~ /Active connections: 1\b/ }),
   'requests of clients that went away are released');
is(qry($P, 'SELECT count(temperature) FROM big')->{status}, 200, 'and queries go on');

# ---- InfluxDB killed and restarted -------------------------------------------------------------

my $old = influxd_pid();
$killed = 1;
kill 'KILL', $old;
ok(wait_until(5, sub { !alive($old) }), 'influxd killed');
my $t0 = time;
$res = qry($port3, 'SHOW DATABASES');
my $took = time - $t0;
is($res->{status}, 503, 'a query while InfluxDB is down: 503');
like($res->{content}, qr/influxdb is unavailable/, 'unavailable, not timed out');
cmp_ok($took, '<', 0.3 * $ts, sprintf('at once (%.3f s)', $took));
$res = post($P, '/write', "down v=1i 1\n");
is($res->{status}, 503, 'a write too');

ok(start_influxd(), 'influxd restarted (the command of stack.sh)');
$killed = 0;
($outer, $inner) = result(qry($P, 'SELECT count(temperature) FROM big'));
is(values_of($inner)->[0][1], $points, 'the same nginx, not reloaded, queries the restarted InfluxDB');
is(post($P, '/write', "up v=1i 1\n")->{status}, 200, 'and writes to it');

# ---- HUP and QUIT under load ----------------------------------------------------------------------

my ($old_worker) = child_pids($t->{pid});
stop_influxd();
@reqs = map { start_request($P, 'GET', '/query?q=' . enc('SELECT count(speed) FROM big')) } 1 .. 10;
push @reqs, map { start_request($P, 'POST', '/write', body => "hup v=${_}i $_\n") } 1 .. 5;
sleep 0.1;
$t->signal('HUP');
sleep 0.2;
cont_influxd();
@reqs = finish_requests(10 * $ts, @reqs);
is(scalar(grep { $_->{status} == 200 } @reqs), 15, 'calls in flight during a reload complete');
ok(wait_until(10 * $ts, sub { !alive($old_worker) }), 'the old worker exits');
is(qry($P, 'SHOW DATABASES')->{status}, 200, 'the new worker queries');

stop_influxd();
@reqs = map { start_request($P, 'GET', '/query?q=' . enc('SELECT count(speed) FROM big')) } 1 .. 10;
sleep 0.1;
$t->signal('QUIT');
sleep 0.2;
cont_influxd();
@reqs = finish_requests(10 * $ts, @reqs);
is(scalar(grep { $_->{status} == 200 } @reqs), 10, 'calls in flight during a graceful stop complete');
ok(wait_until(10 * $ts, sub { !alive($t->{pid}) }), 'nginx exits on QUIT');
$t->stop;

# ---- a fake InfluxDB that records what it gets ---------------------------------------------------

my $record = File::Temp->new;
my ($fake_pid, $fake_port) = fake_influxdb("$record");
END { kill 'TERM', $fake_pid if $fake_pid }

sub fake_influxdb {
    my ($file) = @_;
    my $l = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        my $port = $l->sockport;
        close $l;
        return ($pid, $port);
    }
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (my $c = $l->accept) {
        my $head = '';
        while ($head !~ /\r\n\r\n/) {
            my $n = sysread($c, $head, 4096, length $head) or last;
        }
        my ($hpart, $body) = split /\r\n\r\n/, $head, 2;
        my ($line, @lines) = split /\r\n/, $hpart;
        $body //= '';
        my %h;
        for (@lines) { my ($k, $v) = /^([^:]+):\s*(.*)$/ or next; push @{ $h{lc $k} }, $v }
        my $len = $h{'content-length'} ? $h{'content-length'}[0] : 0;
        while (length $body < $len) { sysread($c, $body, $len - length $body, length $body) or last }
        open my $fh, '>>', $file or POSIX::_exit(1);
        print $fh JSON::PP->new->canonical->encode({ line => $line, headers => \%h, body => $body }), "\n";
        close $fh;
        my $rsp;
        if ($body =~ /FAIL500/) {
            $rsp = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 16\r\n\r\n{\"error\":\"boom\"}";
        } elsif ($body =~ /CUTSHORT/) {
            $rsp = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"results\":";
        } elsif ($body =~ /BIGLEN/) {
            $rsp = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" . ('x' x 100000);
        } elsif ($line =~ m{^POST /query}) {
            $rsp = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"results\":[]}";
        } else {
            $rsp = "HTTP/1.1 204 No Content\r\n\r\n";
        }
        $rsp =~ s/\r\n/\r\nConnection: close\r\n/;
        print $c $rsp;
        close $c;
    }
    POSIX::_exit(0);
}

sub records {
    open my $fh, '<', "$record" or return ();
    return map { JSON::PP->new->decode($_) } <$fh>;
}

my @fports = map { free_port() } 1 .. 5;
my $fake_loc = <<"LOC";
            proxy_pass http://127.0.0.1:$fake_port/;
            proxy_http_version 1.1;
            proxy_read_timeout ${short}ms;
LOC
my $fake_tests = <<'LOC';
        location = /write  { gonsters_test_influxdb_write; }
        location = /query  { gonsters_test_influxdb_query $arg_q; }
        location = /ping   { gonsters_test_influxdb_ping; }
LOC
my $f = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_influxdb_location /_influxdb/;
    gonsters_influxdb_database "$db&x";
    gonsters_influxdb_max_response 64k;

    server {    # as documented
        listen 127.0.0.1:%%PORT%%;
        location /_influxdb/ {
            internal;
$fake_loc
            proxy_pass_request_headers off;
            proxy_set_header Content-Type application/x-www-form-urlencoded;
            proxy_max_temp_file_size 0;
        }
$fake_tests
    }
    server {    # the request's headers are passed: only ours exist
        listen 127.0.0.1:$fports[0];
        location /_influxdb/ {
            internal;
$fake_loc
            proxy_max_temp_file_size 0;
        }
$fake_tests
    }
    server {    # not internal
        listen 127.0.0.1:$fports[1];
        location /_influxdb/ {
$fake_loc
            proxy_max_temp_file_size 0;
        }
$fake_tests
    }
    server {    # may buffer to a temporary file
        listen 127.0.0.1:$fports[2];
        location /_influxdb/ {
            internal;
$fake_loc
        }
$fake_tests
    }
    server {    # no proxy at all
        listen 127.0.0.1:$fports[3];
        location /_influxdb/ {
            internal;
            return 200 "not influxdb";
        }
$fake_tests
    }
    server {    # no such location
        listen 127.0.0.1:$fports[4];
        root html;
$fake_tests
    }
}
CONF
$f->run;

my @client_headers = (
    [Authorization => 'Bearer s3cret.token.value'],
    [Cookie => 'session=abcdef'],
    ['Content-Type' => 'application/json'],
    ['X-Forwarded-For' => '203.0.113.9'],
    ['X-Secret' => 'do-not-forward'],
);
my $dbq = enc("$db&x");

for my $port ($f->port, $fports[0]) {
    my $which = $port == $f->port ? 'proxy_pass_request_headers off' : 'proxy_pass_request_headers on';
    truncate "$record", 0;
    my $body = "m,t=a v=1i 1\n";
    my @r = finish_requests(5 * $ts, start_request($port, 'POST', '/write', body => $body,
                                                   headers => \@client_headers));
    is($r[0]{status}, 200, "$which: write through the fake InfluxDB");
    @r = finish_requests(5 * $ts, start_request($port, 'GET', '/query?q=' . enc('SHOW "x" & y'),
                                                headers => \@client_headers));
    is($r[0]{status}, 200, "$which: query");
    @r = finish_requests(5 * $ts, start_request($port, 'GET', '/ping', headers => \@client_headers));
    is($r[0]{status}, 200, "$which: ping");

    my ($w, $q, $p) = records();
    is($w->{line}, "POST /write?db=$dbq&precision=ns HTTP/1.1", "$which: the write's request line");
    is($w->{body}, $body, "$which: the write's body");
    is($w->{headers}{'content-length'}[0], length $body, "$which: its Content-Length");
    is($w->{headers}{'content-type'}[0], 'application/x-www-form-urlencoded', "$which: our Content-Type");
    is($q->{line}, 'POST /query HTTP/1.1', "$which: the query's request line");
    is($q->{body}, 'q=SHOW%20%22x%22%20%26%20y&db=' . $dbq . '&epoch=ns', "$which: the query's form");
    is($p->{line}, 'GET /ping HTTP/1.1', "$which: the ping's request line");
    ok(!exists $p->{headers}{'content-length'}, "$which: the ping has no body");

    for my $rec ($w, $q, $p) {
        my @leaked = grep { exists $rec->{headers}{$_} }
                     qw(authorization cookie x-forwarded-for x-secret user-agent);
        is("@leaked", '', "$which: no client header reaches InfluxDB ("
                          . ($rec->{line} =~ s/ .*//r) . ')');
        isnt($rec->{headers}{host}[0], 'localhost', "$which: Host is the upstream's");
        my @ct = @{ $rec->{headers}{'content-type'} || [] };
        ok(!grep({ $_ eq 'application/json' } @ct), "$which: not the client's Content-Type");
    }
}

# what the fake answers
$res = http(POST => $f->url('/write'), { content => "FAIL500\n" });
is($res->{status}, 503, 'an InfluxDB 500 is UNAVAILABLE: 503');
like($res->{content}, qr/influxdb is unavailable/, 'unavailable');
like($f->read_log, qr/\[error\].*gonsters: influxdb write answered 500: "\{"error":"boom"\}"/,
     'logged at error with its message');

$res = http(POST => $f->url('/write'), { content => "CUTSHORT\n" });
is($res->{status}, 503, 'a response cut short is UNAVAILABLE, not a short body');
like($f->read_log, qr/the response was cut short after 11 bytes/, 'logged');

$res = http(POST => $f->url('/write'), { content => "BIGLEN\n" });
($outer) = result($res);
is($res->{status} . ' ' . ($outer->{status} // ''), '502 error', 'a Content-Length over the maximum is an ERROR');
like($f->read_log, qr/the response of 100000 bytes exceeds gonsters_influxdb_max_response 65536/,
     'logged, before reading the body');

# locations that must not be used
$res = http(GET => url($fports[1], '/ping'));
is($res->{status}, 502, 'an internal location that is not "internal" is refused');
like($f->read_log, qr{the location of "/_influxdb/ping" must be "internal"}, 'with a clear message');

$res = http(GET => url($fports[2], '/ping'));
is($res->{status}, 502, 'a location that may buffer to a temporary file is refused');
like($f->read_log, qr{needs "proxy_max_temp_file_size 0" \(or "proxy_buffering off"\)}, 'with a clear message');

$res = http(GET => url($fports[3], '/ping'));
is($res->{status}, 502, 'a location that does not proxy is refused');
like($f->read_log, qr{"/_influxdb/ping" is not served by a proxy_pass location}, 'with a clear message');

$res = http(GET => url($fports[4], '/ping'));
is($res->{status}, 502, 'a URI that finds no location is refused');
like($f->read_log, qr{"/_influxdb/ping" is not served by a proxy_pass location \(status 404\)},
     'with a clear message');

is(http(GET => $f->url('/ping'))->{status}, 200, 'the documented location still works');
$f->stop;

# ---- configuration ------------------------------------------------------------------------------

sub config_error {
    my ($http) = @_;
    my $c = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
events { worker_connections 16; }
http {
    %%TEST_GLOBALS_HTTP%%
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /ping { gonsters_test_influxdb_ping; }
    }
}
CONF
    my ($rc, $out) = $c->test_config;
    return $rc ? $out : '';
}

for my $bad ('relative', '/', '/x?y', '/$var', '//') {
    like(config_error("gonsters_influxdb_location $bad;"),
         qr/invalid parameter "\Q$bad\E" in "gonsters_influxdb_location": the URI prefix of an internal location is expected/,
         "gonsters_influxdb_location $bad is refused");
}
like(config_error("gonsters_influxdb_location /a;\n    gonsters_influxdb_location /b;"),
     qr/"gonsters_influxdb_location" directive is duplicate/, 'a second location is refused');
like(config_error('gonsters_influxdb_database "";'), qr/a database name is expected/,
     'an empty database name is refused');
like(config_error('gonsters_influxdb_max_response 0;'), qr/"gonsters_influxdb_max_response" directive must be at least 1/,
     'a maximum response of 0 is refused');
like(config_error('gonsters_influxdb_max_response lots;'), qr/"gonsters_influxdb_max_response" directive invalid value/,
     'a maximum response that is no size is refused');
is(config_error('gonsters_influxdb_location /_influxdb; gonsters_influxdb_max_response 1m;'), '',
   'a valid configuration passes');

# a call without gonsters_influxdb_location fails, it does not hang
my $n = Gonsters::Test->new->write_config(<<'CONF');
%%TEST_GLOBALS%%
events { worker_connections 16; }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /ping { gonsters_test_influxdb_ping; }
    }
}
CONF
$n->run;
is(http(GET => $n->url('/ping'))->{status}, 500, 'without gonsters_influxdb_location a call fails at once');
like($n->read_log, qr/"gonsters_influxdb_location" is not configured/, 'and says why');
$n->stop;

done_testing;
