#!/usr/bin/perl
# The structured event log (ngx_http_gonsters_event_module): one JSON line
# per event with timestamp, level, logger, message, context and request_id;
# hostile keys and values (quotes, control bytes, NUL, invalid UTF-8,
# U+2028) stay valid JSON; nesting the caller leaves unbalanced is
# balanced; numbers that JSON cannot hold become null; levels filter; the
# request id is the access log's $request_id; USR1 reopens the file;
# nginx -t refuses bad levels.  (The events of the stores and endpoints
# are checked in event_log_events.t.)

use strict;
use warnings;
use lib 't/lib';

use JSON::PP;
use Test::More;
use Gonsters::Test qw(finish_requests http read_file start_request wait_until);

my $json = JSON::PP->new->utf8;

my $t = Gonsters::Test->new;
$t->write_config(<<'EOF');
%%TEST_GLOBALS%%
daemon on;
worker_processes 2;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    large_client_header_buffers 4 64k;
    log_format ids '$request_id $uri';
    access_log logs/ids.log ids;
    gonsters_event_log logs/events.log debug;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /event { gonsters_test_event; }
    }
}
EOF
$t->run;

my $events = $t->prefix . '/logs/events.log';

sub lines {
    my ($file) = @_;
    return grep { length } split /\n/, read_file($file);
}

sub emit {
    my ($query, %h) = @_;
    my $name = length $query > 80 ? substr($query, 0, 80) . '...' : $query;
    my $before = () = lines($events);
    my $res = http('GET', $t->url("/event?$query"), { headers => \%h });
    is($res->{status}, 200, "event ?$name answered") or diag($res->{content});
    my @all = lines($events);
    return undef if @all == $before;
    is(scalar @all, $before + 1, "?$name: one line");
    my $line = $all[-1];
    my $ev = eval { $json->decode($line) };
    ok($ev, "?$query: the line is JSON") or diag("$@: $line");
    return $ev;
}

# ---- the shape of a line -------------------------------------------------

my $ev = emit('level=warning&logger=gonsters.redis&message=Redis%20connection%20lost&s=x&i=-42&d=0.25',
              'User-Agent' => 'ua/1');
is_deeply([sort keys %$ev], [qw(context level logger message request_id timestamp)],
          'a line has exactly the six fields');
like($ev->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 UTC with milliseconds');
is($ev->{level}, 'WARNING', 'level name');
is($ev->{logger}, 'gonsters.redis', 'logger');
is($ev->{message}, 'Redis connection lost', 'message');
is_deeply($ev->{context}, { s => 'x', i => -42, d => 0.25 }, 'typed context values');
like($ev->{request_id}, qr/^[0-9a-f]{32}$/, 'request id is nginx\'s $request_id');

my %levels = (debug => 'DEBUG', info => 'INFO', warning => 'WARNING', error => 'ERROR');
for my $l (sort keys %levels) {
    my $e = emit("level=$l");
    is($e && $e->{level}, $levels{$l}, "level $l is written as $levels{$l}");
}

# ---- the access log and the event line carry the same request id -------

$ev = emit('level=info&s=ids');
ok(wait_until(5, sub {
    grep { $_ eq "$ev->{request_id} /event" } lines($t->prefix . '/logs/ids.log')
}), 'the event\'s request_id is the access log\'s $request_id');

# ---- the request's fields ------------------------------------------------

$ev = emit('req=1', 'User-Agent' => "Agent \"quoted\"");
is($ev->{context}{endpoint}, '/event', 'request: endpoint');
is($ev->{context}{method}, 'GET', 'request: method');
is($ev->{context}{client_ip}, '127.0.0.1', 'request: client ip');
is($ev->{context}{user_agent}, 'Agent "quoted"', 'request: user agent');
my ($raw) = finish_requests(5, start_request($t->port, 'GET', '/event?req=1'));
is($raw->{status}, 200, 'a request without User-Agent');
$ev = $json->decode((lines($events))[-1]);
ok(exists $ev->{context}{user_agent} && !defined $ev->{context}{user_agent},
   'no User-Agent: null');

# ---- hostile strings -----------------------------------------------------

my @hostile = (
    [ 'quotes and backslashes', '%22%5C%22%5C%5C', "\"\\\"\\\\" ],
    [ 'newline, CR, tab', 'a%0Ab%0Dc%09d', "a\nb\rc\td" ],
    [ 'control bytes and DEL', '%01%02%1F%7F', "\x01\x02\x1f\x7f" ],
    [ 'NUL inside a value', 'a%00b', "a\x00b" ],
    [ 'invalid UTF-8', '%FF%FEab%C3', "\x{fffd}\x{fffd}ab\x{fffd}" ],
    [ 'overlong encoding', '%C0%AF', "\x{fffd}\x{fffd}" ],
    [ 'surrogate', '%ED%A0%80', "\x{fffd}\x{fffd}\x{fffd}" ],
    [ 'U+2028 and U+2029', '%E2%80%A8%E2%80%A9', "\x{2028}\x{2029}" ],
    [ 'valid UTF-8', '%C3%A9%E2%82%AC%F0%9F%98%80', "\x{e9}\x{20ac}\x{1f600}" ],
    [ 'a fake closing of the object', '%22%7D%2C%22level%22%3A%22ERROR', '"},"level":"ERROR' ],
);

for my $h (@hostile) {
    my ($name, $enc, $want) = @$h;
    my $raw_before = () = lines($events);
    $ev = emit("s=$enc&key=$enc&logger=$enc&message=$enc");
    my $want_key = $want;
    $want_key =~ s/\x00.*//s;     # keys and logger are C strings
    is($ev->{context}{$want_key}, $want, "$name: value round-trips");
    is($ev->{logger}, $want_key, "$name: logger round-trips");
    is($ev->{message}, $want_key, "$name: message round-trips");
    ok(exists $ev->{context}{$want_key}, "$name: key round-trips")
        or diag(explain $ev->{context});
    my @all = lines($events);
    unlike($all[-1], qr/[\x00-\x1f]/, "$name: no raw control byte on the line");
}

my $long = 'x' x 20000;
$ev = emit("s=$long");
is(length($ev->{context}{s} // ''), 20000, 'a 20000-byte value: one whole line');

# ---- numbers and nesting -------------------------------------------------

for my $d (qw(nan inf -inf 1e400)) {
    $ev = emit("d=$d");
    ok(exists $ev->{context}{d} && !defined $ev->{context}{d}, "number $d is null");
}
$ev = emit('d=-1.5e-7&i=9223372036854775807');
is($ev->{context}{d}, -1.5e-7, 'small negative number');
is($ev->{context}{i}, '9223372036854775807', 'int64 max');

$ev = emit('open=3&s=deep');
is($ev->{context}{o}{o}{o}{s}, 'deep', 'objects left open are closed');
$ev = emit('s=flat&close=5&i=1');
is_deeply($ev->{context}, { s => 'flat', i => 1 }, 'stray object ends are ignored');
$ev = emit('open=12&s=x');
ok($ev, 'nesting beyond the limit still gives valid JSON');

# ---- every line so far parses and has all fields -----------------------

my @all = lines($events);
my $bad = grep {
    my $e = eval { $json->decode($_) };
    !$e || grep { !exists $e->{$_} } qw(timestamp level logger message context request_id)
} @all;
is($bad, 0, scalar(@all) . ' lines, each JSON with all fields');

# ---- USR1 reopens the file ---------------------------------------------

rename $events, "$events.1" or die $!;
$t->signal('USR1');
ok(wait_until(5, sub { -e $events }), 'USR1: the file is created again');
emit('s=after-reopen');
like(read_file($events), qr/after-reopen/, 'USR1: events go to the new file');
unlike(read_file("$events.1"), qr/after-reopen/, 'USR1: not to the old one');

$t->stop;

# ---- levels filter; off writes nothing -----------------------------------

my $w = Gonsters::Test->new;
$w->write_config(<<'EOF');
%%TEST_GLOBALS%%
daemon on;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    gonsters_event_log logs/events.log warning;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /event { gonsters_test_event; }
    }
}
EOF
$w->run;
for my $l (qw(debug info warning error)) {
    my $res = http('GET', $w->url("/event?level=$l&s=$l"));
    is($res->{status}, 200, "warning threshold: $l answered");
}
my @got = map { $json->decode($_)->{level} } lines($w->prefix . '/logs/events.log');
is_deeply(\@got, [qw(WARNING ERROR)], 'threshold warning writes WARNING and ERROR only');
like(http('GET', $w->url('/event?level=info'))->{content}, qr/"enabled":false/,
     'enabled() says no below the threshold');
$w->stop;

my $o = Gonsters::Test->new;
$o->write_config(<<'EOF');
%%TEST_GLOBALS%%
daemon on;
events { worker_connections 64; }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location /event { gonsters_test_event; }
    }
}
EOF
$o->run;
like(http('GET', $o->url('/event?level=error'))->{content}, qr/"enabled":false/,
     'no gonsters_event_log: off');
$o->stop;

# ---- nginx -t ----------------------------------------------------------

for my $case (['gonsters_event_log logs/e.log loud;', qr/invalid level "loud".*debug, info, warning, error/],
              ['gonsters_event_log off debug;', qr/invalid parameter "debug" after "off"/],
              ["gonsters_event_log logs/e.log;\n    gonsters_event_log logs/f.log;", qr/is duplicate/])
{
    my ($directive, $re) = @$case;
    my $n = Gonsters::Test->new;
    $n->write_config(<<"EOF");
%%TEST_GLOBALS%%
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    $directive
    server { listen 127.0.0.1:%%PORT%%; }
}
EOF
    my ($rc, $out) = $n->test_config;
    isnt($rc, 0, "nginx -t refuses: $directive");
    like($out, $re, 'with a clear message');
}

done_testing;
