#!/usr/bin/perl
# Password hashing in nginx's thread pool (ngx_http_gonsters_password_module),
# driven by the test module's locations the way login and register do:
# the seed's bcrypt hash, malformed hashes and hostile passwords, new
# bcrypt and yescrypt hashes, other requests served while hashes run on a
# single worker, clients that go away mid-hash, HUP and QUIT while hashing,
# and the directives' checks.

use strict;
use warnings;
use lib 't/lib';

use IO::Select;
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(child_pids finish_requests http json_body start_request
                     time_scale wait_until);

my $SEED_HASH = '$2b$12$n9HvhqwuSB6MGz3PycRaQuCemlw8/L7XqTc0KouXIlkCozucsHfGa';
my $ts = time_scale();

# every byte but unreserved ones as %XX (NUL included)
sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub vpath { '/verify?password=' . enc($_[0]) . '&hash=' . enc($_[1]) }

sub active_connections {
    my ($t) = @_;
    my $res = http(GET => $t->url('/status'));
    return $res->{content} =~ /Active connections: (\d+)/ ? $1 : -1;
}

# ---- nginx with one worker and four hashing threads ------------------------

my $conf = <<'CONF';
%%TEST_GLOBALS%%
worker_processes 1;
thread_pool default threads=4;
events { worker_connections 256; }
http {
    %%TEST_GLOBALS_HTTP%%
    %%HASH%%
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /verify { gonsters_test_password_verify $arg_password $arg_hash; }
        location = /hash   { gonsters_test_password_hash $arg_password; }
        location = /ret    { return 200 "ok\n"; }
        location = /status { stub_status; }
    }
}
CONF

(my $main_conf = $conf) =~ s/%%HASH%%//;
my $t = Gonsters::Test->new->write_config($main_conf);
$t->run;

# ---- the seed's hash --------------------------------------------------------

my $t0 = time;
my $res = http(GET => $t->url(vpath('Password123!', $SEED_HASH)));
my $one = time - $t0;
is($res->{status}, 200, 'verify answers 200');
is((json_body($res) || {})->{match}, 1, "the seed's hash verifies Password123!");
diag(sprintf 'one bcrypt-12 verification: %.3f s', $one);

$res = http(GET => $t->url(vpath('password123!', $SEED_HASH)));
is((json_body($res) || {})->{match}, 0, 'and refuses password123!');

$res = http(GET => $t->url(vpath('Password123!', '$2y$' . substr($SEED_HASH, 4))));
is((json_body($res) || {})->{match}, 1, 'the $2y$ spelling of the same hash verifies');

# ---- malformed hashes and hostile passwords ----------------------------------

my @malformed = ('', 'garbage', '*', '!', '*0', '$2b$12$short',
                 '$2b$99$' . substr($SEED_HASH, 7), '$2b$12$' . ('.' x 60),
                 '$y$', '$y$j9T$', '$1$', '$6$$', '$2b$', substr($SEED_HASH, 0, 59),
                 $SEED_HASH . 'x', "\$2b\$12\$n9Hv\0" . substr($SEED_HASH, 12),
                 'x' x 1000);
for my $hash (@malformed) {
    $res = http(GET => $t->url(vpath('Password123!', $hash)));
    my $name = length $hash > 40 ? substr($hash, 0, 40) . '...' : $hash;
    $name =~ s/\0/\\0/g;
    is($res->{status} . ' ' . ((json_body($res) || {})->{match} // 'none'), '200 0',
       "malformed hash '$name' is refused");
}

$res = http(GET => $t->url(vpath("Password123!\0tail", $SEED_HASH)));
is((json_body($res) || {})->{match}, 0, 'a password with a NUL byte is refused, not cut at the NUL');
$res = http(GET => $t->url(vpath('Password123!' . ('x' x 5000), $SEED_HASH)));
is((json_body($res) || {})->{match}, 0, 'a 5000-byte password is refused');
like($t->read_log, qr/password refused: too long/, 'logged at info');

# ---- new hashes ----------------------------------------------------------------

my $hostile = qq{p\x{27}a"ss &=+%\\ w\xc3\xa9rd\x01\n};
$res = http(GET => $t->url('/hash?password=' . enc($hostile)));
is($res->{status}, 200, 'hash answers 200');
my $hash = (json_body($res) || {})->{hash} // '';
like($hash, qr{^\$2b\$12\$[./A-Za-z0-9]{53}$}, 'a new bcrypt-12 hash');
$res = http(GET => $t->url(vpath($hostile, $hash)));
is((json_body($res) || {})->{match}, 1, 'it verifies its (hostile) password');
$res = http(GET => $t->url(vpath(substr($hostile, 0, -1), $hash)));
is((json_body($res) || {})->{match}, 0, 'and not the password one byte shorter');
$res = http(GET => $t->url('/hash?password=' . enc($hostile)));
isnt((json_body($res) || {})->{hash}, $hash, 'hashing twice gives another salt');

(my $yes_conf = $conf) =~ s/%%HASH%%/gonsters_password_hash yescrypt 5;/;
my $y = Gonsters::Test->new->write_config($yes_conf);
$y->run;
$res = http(GET => $y->url('/hash?password=' . enc('Password123!')));
my $yhash = (json_body($res) || {})->{hash} // '';
like($yhash, qr{^\$y\$j9T\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$}, 'a new yescrypt hash (cost 5)');
$res = http(GET => $t->url(vpath('Password123!', $yhash)));
is((json_body($res) || {})->{match}, 1, 'it verifies (on the bcrypt-configured nginx too)');
$res = http(GET => $t->url(vpath('Password123?', $yhash)));
is((json_body($res) || {})->{match}, 0, 'a wrong password does not');
$y->stop;

# ---- hashing never blocks the worker -------------------------------------------

my @verifies = map { start_request($t->port, GET => vpath('Password123!', $SEED_HASH)) } 1 .. 4;
sleep 0.02;
my ($slowest, $ok) = (0, 0);
for (1 .. 50) {
    my $s = time;
    my $r = http(GET => $t->url('/ret'));
    my $d = time - $s;
    $slowest = $d if $d > $slowest;
    $ok++ if $r->{status} == 200;
}
my $answered = () = IO::Select->new(map { $_->{sock} } @verifies)->can_read(0);
is($ok, 50, '50 requests answered while 4 bcrypt-12 verifications run');
SKIP: {
    # valgrind runs one thread at a time: a hashing thread holds up the
    # event loop there, whatever the code does
    skip 'timing under valgrind', 1 if $ENV{GONSTERS_VALGRIND};
    cmp_ok($slowest, '<', 0.1, sprintf('each within 0.1 s (slowest %.4f s; one hash takes %.3f s)',
                                       $slowest, $one));
}
SKIP: {
    # valgrind runs one thread at a time: the hashes are over by now
    skip 'timing under valgrind', 1 if $ENV{GONSTERS_VALGRIND};
    cmp_ok($answered, '<', 4, 'the verifications were still running meanwhile');
}
@verifies = finish_requests(10 * $ts, @verifies);
is(scalar(grep { $_->{status} == 200 && ($_->{json} || {})->{match} } @verifies), 4,
   'the 4 verifications match');
# CPU-bound: on a small shared machine their total time says little
my ($longest) = sort { $b <=> $a } map { $_->{elapsed} // 99 } @verifies;
diag(sprintf '4 concurrent verifications took %.3f s', $longest);

# ---- clients that go away while their hash is computed -------------------------

my @gone = map { start_request($t->port, GET => vpath('Password123!', $SEED_HASH)) } 1 .. 3;
sleep 0.05;
close $_->{sock} for @gone;
ok(wait_until(5 * $ts, sub { active_connections($t) == 1 }),
   'the requests of clients that went away mid-hash are released');
$res = http(GET => $t->url(vpath('Password123!', $SEED_HASH)));
is((json_body($res) || {})->{match}, 1, 'and the worker goes on verifying');

# ---- HUP and QUIT while hashing ---------------------------------------------------

my ($old_worker) = child_pids($t->{pid});
@verifies = map { start_request($t->port, GET => vpath('Password123!', $SEED_HASH)) } 1 .. 4;
sleep 0.05;
$t->signal('HUP');
@verifies = finish_requests(10 * $ts, @verifies);
is(scalar(grep { $_->{status} == 200 && ($_->{json} || {})->{match} } @verifies), 4,
   'verifications in flight during a reload complete');
ok(wait_until(10 * $ts, sub { !kill 0, $old_worker }), 'the old worker exits after its hashes');
$res = http(GET => $t->url(vpath('Password123!', $SEED_HASH)));
is((json_body($res) || {})->{match}, 1, 'the new worker verifies');

@verifies = map { start_request($t->port, GET => vpath('Password123!', $SEED_HASH)) } 1 .. 2;
sleep 0.05;
$t0 = time;
$t->signal('QUIT');
@verifies = finish_requests(10 * $ts, @verifies);
is(scalar(grep { $_->{status} == 200 && ($_->{json} || {})->{match} } @verifies), 2,
   'verifications in flight during a graceful stop complete');
ok(wait_until(10 * $ts, sub { !kill 0, $t->{pid} }), 'nginx exits on QUIT');
diag(sprintf 'QUIT took %.3f s', time - $t0);
$t->stop;

# ---- the deadline: a backlog in the pool's queue ------------------------------------

# one thread, four hashes of at least 0.18 s each on this kind of CPU, a
# deadline of 0.4 s: the last ones in the queue miss it, whatever the load
my $deadline_ms = $ENV{GONSTERS_VALGRIND} ? 300 : 400;
(my $slow_conf = $conf) =~ s/%%HASH%%/gonsters_password_timeout ${deadline_ms}ms;/;
$slow_conf =~ s/threads=4/threads=1/;
my $s = Gonsters::Test->new->write_config($slow_conf);
$s->run;
@verifies = map { start_request($s->port, GET => vpath('Password123!', $SEED_HASH)) } 1 .. 4;
@verifies = finish_requests(10 * $ts, @verifies);
my @late = grep { $_->{status} == 503 } @verifies;
my @done = grep { $_->{status} == 200 && ($_->{json} || {})->{match} } @verifies;
is(@late + @done, 4, 'four verifications on one thread: each matches or fails with 503');
ok(@late >= 1, scalar(@late) . " of them waited past gonsters_password_timeout ${deadline_ms}ms");
ok(!grep({ $_->{buf} !~ /\r\nRetry-After: \d+\r\n/i } @late), 'the 503s carry Retry-After');
ok(!grep({ $_->{elapsed} > $deadline_ms / 1000 + 0.25 * $ts } @late), 'and came at the deadline');
like($s->read_log, qr/password hashing timed out after \d+ ms/, 'the timeout is logged');
# the abandoned tasks finish and free themselves
SKIP: {
    skip 'under valgrind a hash takes longer than the deadline', 1 if $ENV{GONSTERS_VALGRIND};
    ok(wait_until(10 * $ts, sub {
        (json_body(http(GET => $s->url(vpath('Password123!', $SEED_HASH)))) || {})->{match}
    }), 'then the pool verifies again');
}

# a stop right after the deadlines: the worker waits for the abandoned tasks
@verifies = map { start_request($s->port, GET => vpath('Password123!', $SEED_HASH)) } 1 .. 3;
@verifies = finish_requests(10 * $ts, @verifies);
ok(!grep({ $_->{status} != 503 && $_->{status} != 200 } @verifies), 'three more, answered');
$s->stop;       # no alert (open sockets, a task in a pool of an exited worker), no leak

# ---- configuration -----------------------------------------------------------------

sub config_error {
    my ($http, $main) = @_;
    $main //= '';
    my $c = Gonsters::Test->new->write_config(<<"CONF");
%%TEST_GLOBALS%%
$main
events { worker_connections 16; }
http {
    %%TEST_GLOBALS_HTTP%%
    $http
    server { listen 127.0.0.1:%%PORT%%; }
}
CONF
    my ($rc, $out) = $c->test_config;
    return $rc ? $out : '';
}

like(config_error('gonsters_password_hash md5;'),
     qr/invalid parameter "md5" in "gonsters_password_hash": the method is bcrypt or yescrypt/,
     'an unknown method is refused');
like(config_error('gonsters_password_hash bcrypt 3;'),
     qr/invalid parameter "3" in "gonsters_password_hash": the cost of bcrypt is 4\.\.31/,
     'bcrypt cost 3 is refused');
like(config_error('gonsters_password_hash bcrypt 32;'), qr/the cost of bcrypt is 4\.\.31/,
     'bcrypt cost 32 is refused');
like(config_error('gonsters_password_hash bcrypt x12;'), qr/invalid parameter "x12"/,
     'a cost that is no number is refused');
like(config_error('gonsters_password_hash yescrypt 12;'), qr/the cost of yescrypt is 1\.\.11/,
     'yescrypt cost 12 is refused');
like(config_error('gonsters_password_hash yescrypt 0;'), qr/the cost of yescrypt is 1\.\.11/,
     'yescrypt cost 0 is refused');
like(config_error("gonsters_password_hash bcrypt 10;\n    gonsters_password_hash yescrypt;"),
     qr/"gonsters_password_hash" directive is duplicate/, 'a second method is refused');
like(config_error('gonsters_password_thread_pool nosuchpool;'),
     qr/unknown thread pool "nosuchpool"/, 'an undeclared thread pool is refused');
is(config_error('gonsters_password_thread_pool hashing;', 'thread_pool hashing threads=2;'), '',
   'a declared thread pool is accepted');
is(config_error('gonsters_password_hash bcrypt 4;'), '', 'bcrypt 4 is accepted');
is(config_error('gonsters_password_hash yescrypt 11;'), '', 'yescrypt 11 is accepted');
like(config_error('gonsters_password_timeout soon;'), qr/"gonsters_password_timeout" directive invalid value/,
     'a timeout that is no time is refused');
is(config_error(''), '', 'no directive at all is fine (bcrypt 12, pool "default")');

done_testing;
