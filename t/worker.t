#!/usr/bin/perl

# gonsters-worker against a real mosquitto: retained online/offline status,
# last will, persistent session, `-t`, retries without a broker, clean exit
# on SIGTERM, and JSON on every stderr line.
#
# Needs (set by `make test`):
#   GONSTERS_MQTT_PORT   a running mosquitto on 127.0.0.1
#   GONSTERS_WORKER_BIN  the built gonsters-worker
# Core Perl only.

use strict;
use warnings;

use lib 't/lib';

use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG WIFEXITED WEXITSTATUS WIFSIGNALED WTERMSIG);
use Test::More;
use Time::HiRes qw(sleep time);
use Gonsters::Test qw(read_file wait_until write_file);

my $port = $ENV{GONSTERS_MQTT_PORT};
my $bin  = $ENV{GONSTERS_WORKER_BIN};

BAIL_OUT('GONSTERS_MQTT_PORT is not set: run the tests with `make test`')
    unless defined $port && $port =~ /^\d+$/;
BAIL_OUT('GONSTERS_WORKER_BIN is not set: run the tests with `make test`')
    unless defined $bin && length $bin;
BAIL_OUT("GONSTERS_WORKER_BIN=$bin is not an executable") unless -x $bin;
BAIL_OUT("no mosquitto listening on 127.0.0.1:$port")
    unless IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Timeout => 2);

# a GONSTERS_WORKER_<KEY> variable in the caller's environment would
# override the configuration of every worker started here
delete $ENV{$_} for grep { /^GONSTERS_WORKER_/ && $_ ne 'GONSTERS_WORKER_BIN' }
                    keys %ENV;

my $dir = tempdir('gonsters-worker-t-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{GONSTERS_TEST_KEEP});
my $id = "t-worker-$$-" . int(time * 1000);
my (%running, @logs, @topics, @ids);




sub write_conf {
    my ($name, %kv) = @_;
    my $path = "$dir/$name.conf";
    # a private spool and share group: these workers must not take
    # telemetry meant for the stack's worker
    $kv{spool_dir}   //= "$dir/spool-$name";
    $kv{share_group} //= "t-worker-$$";
    $kv{session_expiry} //= 60;
    push @ids, $kv{client_id} if $kv{client_id};
    $kv{pg_dsn}      //= "host=127.0.0.1 port=$ENV{GONSTERS_PG_PORT} "
                         . 'dbname=gonsters user=gonsters'
        if $ENV{GONSTERS_PG_PORT};
    $kv{influx_url}  //= "http://127.0.0.1:$ENV{GONSTERS_INFLUX_PORT}"
        if $ENV{GONSTERS_INFLUX_PORT};
    write_file($path, "# written by t/worker.t\n"
               . join('', map { "$_ = $kv{$_}\n" } sort keys %kv));
    return $path;
}

# fork/exec with stderr to a file; returns the pid
sub spawn {
    my ($errfile, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $errfile or POSIX::_exit(126);
        exec @cmd or POSIX::_exit(127);
    }
    return $pid;
}

# waits up to $timeout s; returns the wait status, or undef if still running
sub wait_exit {
    my ($pid, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            delete $running{$pid};
            return $?;
        }
        sleep 0.02;
    }
    return undef;
}

sub describe_status {
    my ($st) = @_;
    return 'still running' unless defined $st;
    return 'exit ' . WEXITSTATUS($st) if WIFEXITED($st);
    return 'signal ' . WTERMSIG($st) if WIFSIGNALED($st);
    return "status $st";
}

# run a command to completion: (wait status, stderr text)
sub run {
    my ($name, @cmd) = @_;
    my $errfile = "$dir/$name.err";
    my $pid = spawn($errfile, @cmd);
    my $st = wait_exit($pid, 10);
    kill 'KILL', $pid unless defined $st;
    push @logs, [$name, $errfile];
    return ($st, read_file($errfile));
}

sub start_worker {
    my ($name, $conf) = @_;
    my $errfile = "$dir/$name.err";
    my $pid = spawn($errfile, $bin, '-c', $conf);
    $running{$pid} = 1;
    push @logs, [$name, $errfile];
    return ($pid, $errfile);
}

# first message on the topic (the retained one if any), as a hash
sub status_of {
    my ($topic) = @_;
    open my $fh, '-|', 'mosquitto_sub', '-V', 'mqttv5', '-h', '127.0.0.1',
        '-p', $port, '-t', $topic, '-C', '1', '-W', '10'
        or die "mosquitto_sub: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    return undef unless defined $out && length $out;
    my $msg = eval { decode_json($out) };
    diag("not JSON on $topic: $out") unless $msg;
    return $msg;
}

# polls until the status is $want (a retained older one may come first)
sub wait_status {
    my ($topic, $want, $timeout) = @_;
    my $got;
    wait_until($timeout, sub {
        $got = status_of($topic);
        return $got && $got->{status} eq $want;
    });
    return $got;
}

sub count_messages {
    my ($errfile, $message) = @_;
    my $n = 0;
    for (split /\n/, read_file($errfile)) {
        $n++ if index($_, "\"message\":\"$message\"") >= 0;
    }
    return $n;
}

sub log_entries {
    my ($errfile, $message) = @_;
    my @e;
    for (split /\n/, read_file($errfile)) {
        my $j = eval { decode_json($_) } or next;
        push @e, $j if $j->{message} eq $message;
    }
    return @e;
}

sub sigterm_ok {
    my ($pid, $name) = @_;
    kill 'TERM', $pid;
    my $t0 = time;
    my $st = wait_exit($pid, 5);
    ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
       "$name: exit 0 within 5 s of SIGTERM")
        or diag('got ' . describe_status($st));
    note(sprintf "$name: exited %.2f s after SIGTERM", time - $t0);
}


# ---- -t ------------------------------------------------------------------

{
    my $bad = "$dir/bad.conf";
    write_file($bad, "# broken on purpose\nmqtt_uri = tcp://127.0.0.1:1\n"
                     . "keepalive = abc\n");
    my ($st, $err) = run('t-bad', $bin, '-t', '-c', $bad);
    ok(WIFEXITED($st) && WEXITSTATUS($st) != 0, '-t on a broken config fails')
        or diag(describe_status($st));
    like($err, qr/\Q$bad\E:3: invalid value \\"abc\\" for key \\"keepalive\\"/,
         '-t names file:line and the key');
    like($err, qr/configuration test failed/, '-t says the test failed');

    write_file("$dir/unknown.conf", "\nfoo = 1\n");
    ($st, $err) = run('t-unknown', $bin, '-t', '-c', "$dir/unknown.conf");
    ok(WIFEXITED($st) && WEXITSTATUS($st) == 1, '-t on an unknown key: 1');
    like($err, qr/unknown\.conf:2: unknown key \\"foo\\"/, 'unknown key named');

    ($st, $err) = run('t-missing', $bin, '-t', '-c', "$dir/nonexistent.conf");
    ok(WIFEXITED($st) && WEXITSTATUS($st) == 1, '-t on a missing -c file: 1');
    like($err, qr/nonexistent\.conf: cannot open/, 'missing file named');

    my $example = "$FindBin::Bin/../worker/worker.conf.example";
    ($st, $err) = run('t-example', $bin, '-t', '-c', $example);
    ok(WIFEXITED($st) && WEXITSTATUS($st) == 0,
       '-t accepts worker/worker.conf.example') or diag($err);
    like($err, qr/configuration test is successful/, '-t says so');

    local $ENV{GONSTERS_WORKER_KEEPALIVE} = '-1';
    ($st, $err) = run('t-env', $bin, '-t', '-c', $example);
    ok(WIFEXITED($st) && WEXITSTATUS($st) == 1, '-t fails on a bad env value');
    like($err, qr/GONSTERS_WORKER_KEEPALIVE/, 'the variable is named');
}


# ---- online, shutdown, persistent session ----------------------------------

my $topic = "gonsters/worker/$id/status";
push @topics, $topic;

my $conf = write_conf('main',
    mqtt_uri          => "tcp://127.0.0.1:$port",
    client_id         => $id,
    session_expiry    => 60,
    keepalive         => 10,
    log_level         => 'debug',
    connect_retry_max => 2,
);

for my $round (1, 2) {
    my $name = "run$round";
    my ($pid, $errfile) = start_worker($name, $conf);

    my $st = wait_status($topic, 'online', 10);
    is($st && $st->{status}, 'online', "$name: retained status online");
    is($st && $st->{client_id}, $id, "$name: status carries the client_id");
    like($st && $st->{timestamp}, qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/,
         "$name: status has an ISO-8601 timestamp");

    my ($ack) = log_entries($errfile, 'connect succeeded');
    is($ack && $ack->{context}{session_present}, $round == 1 ? 0 : 1,
       "$name: session_present " . ($round == 1 ? 0 : 1)
       . ' (cleanstart 0 + session expiry)');

    sigterm_ok($pid, $name);

    $st = status_of($topic);
    is($st && $st->{status}, 'offline', "$name: retained status offline");
    is($st && $st->{reason}, 'shutdown', "$name: reason shutdown");
    is(count_messages($errfile, 'stopped'), 1, "$name: logged stopped");
    is(count_messages($errfile, 'disconnected'), 1,
       "$name: clean DISCONNECT");
}


# ---- last will -------------------------------------------------------------

{
    my $wid = "$id-will";
    my $wtopic = "gonsters/worker/$wid/status";
    push @topics, $wtopic;
    my $wconf = write_conf('will',
        mqtt_uri  => "tcp://127.0.0.1:$port",
        client_id => $wid,
    );
    my ($pid) = start_worker('will', $wconf);

    my $st = wait_status($wtopic, 'online', 10);
    is($st && $st->{status}, 'online', 'will: online first');

    kill 'KILL', $pid;
    wait_exit($pid, 5);

    my $got = wait_status($wtopic, 'offline', 5);
    is($got && $got->{status}, 'offline', 'kill -9: the will says offline');
    is($got && $got->{reason}, 'connection lost', 'will reason');
    is($got && $got->{client_id}, $wid, 'will client_id');
}


# ---- no broker ---------------------------------------------------------------

{
    my $sock = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                     LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    my $free = $sock->sockport;
    close $sock;

    my $nconf = write_conf('nobroker',
        mqtt_uri          => "tcp://127.0.0.1:$free",
        client_id         => "$id-nobroker",
        connect_retry_max => 1,
    );
    my ($pid, $errfile) = start_worker('nobroker', $nconf);

    ok(wait_until(8, sub { count_messages($errfile, 'connect failed') >= 3 }),
       'no broker: keeps retrying (3 failures logged)')
        or diag(read_file($errfile));
    cmp_ok(count_messages($errfile, 'connect retry scheduled'), '>=', 2,
           'no broker: retries scheduled');
    ok(kill(0, $pid), 'no broker: still running');

    sigterm_ok($pid, 'no broker');
    is(count_messages($errfile, 'stopped'), 1, 'no broker: logged stopped');
}


# ---- every stderr line is a JSON log record ---------------------------------

for my $log (@logs) {
    my ($name, $file) = @$log;
    my @lines = split /\n/, read_file($file), -1;
    my $last = pop @lines;
    is($last, '', "$name: stderr ends with a newline");

    my $stamp = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
    my @bad;
    for my $line (@lines) {
        my $j = eval { JSON::PP->new->utf8->decode($line) };
        push @bad, $line
            unless ref $j eq 'HASH'
                && ($j->{timestamp} // '') =~ $stamp
                && ($j->{level} // '') =~ /^(DEBUG|INFO|WARNING|ERROR)$/
                && ($j->{logger} // '') =~ /^worker\./
                && defined $j->{message} && !ref $j->{message}
                && ref $j->{context} eq 'HASH';
    }
    ok(@lines > 0 && !@bad, "$name: " . scalar(@lines)
       . ' stderr lines, all JSON log records')
        or diag(join "\n", 'not a log record:',
                @bad[0 .. ($#bad < 4 ? $#bad : 4)]);
}


# ---- cleanup ---------------------------------------------------------------

END {
    local $?;       # keep the test's exit status
    for my $pid (keys %running) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    # drop the sessions (the broker would queue later tests' messages for
    # their share group) and the retained messages of this run
    for my $cid (@ids) {
        system('mosquitto_sub', '-h', '127.0.0.1', '-p', $port, '-i', $cid,
               '-t', 'gonsters/test/none', '-E', '-W', '5')
            if defined $port;
    }
    for my $t (@topics) {
        system('mosquitto_pub', '-h', '127.0.0.1', '-p', $port, '-r', '-n',
               '-t', $t) if defined $port;
    }
}

done_testing();
