#!/usr/bin/perl
# scripts/stack.sh as an operator meets it: a service that does not start is
# named with its log and nothing is left running; a full start followed by
# stop leaves no process and no listening port behind.

use strict;
use warnings;
use lib 't/lib';

use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;
use Gonsters::Test qw(env_or_bail wait_until);

env_or_bail('GONSTERS_MODULE');

# the ports of the test stack are in the environment; this file's stacks
# take theirs from the base alone
delete $ENV{$_} for grep { /^GONSTERS_\w+_PORT$/ } keys %ENV;

my $base = $ENV{GONSTERS_LIFECYCLE_PORT_BASE} || 13000;
my @ports = map { $base + $_ } 80, 432, 379, 86, 88, 883;

sub listening {
    my ($port) = @_;
    return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1) ? 1 : 0;
}

sub pids_of {
    my ($run) = @_;
    my @pids;
    for my $f (glob("$run/pids/*.pid"), "$run/pg/data/postmaster.pid") {
        open my $fh, '<', $f or next;
        my $pid = <$fh>;
        chomp $pid if defined $pid;
        push @pids, $pid if $pid;
    }
    return @pids;
}

sub alive {     # a zombie is not alive: its cmdline is empty
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    local $/;
    my $cmd = <$fh>;
    return defined $cmd && length $cmd;
}

# --- a service that fails to start -------------------------------------------

my $fake = tempdir(CLEANUP => 1);
open my $fh, '>', "$fake/redis-server" or die $!;
print $fh "#!/bin/sh\necho 'FATAL: cannot bind (simulated)'\nexit 1\n";
close $fh;
chmod 0755, "$fake/redis-server";

my $run = tempdir(CLEANUP => 1);
my $out = qx{PATH='$fake:$ENV{PATH}' GONSTERS_PORT_BASE=$base scripts/stack.sh start '$run' 2>&1};
isnt($?, 0, 'start fails when a service does not start');
like($out, qr/redis did not start/, 'the message names the service');
like($out, qr{see \Q$run\E/redis/redis\.log}, 'and points at its log');
like($out, qr/simulated/, 'and shows the end of the log');
ok(!grep({ alive($_) } pids_of($run)), 'what was started is stopped again');
ok(!grep({ listening($_) } @ports), 'no port left listening');
qx{scripts/stack.sh clean '$run'};

# --- start and stop --------------------------------------------------------------

$run = tempdir(CLEANUP => 1);
$out = qx{GONSTERS_PORT_BASE=$base scripts/stack.sh start '$run' 2>&1};
is($?, 0, 'a second stack starts beside the test stack') or diag($out);
my @pids = pids_of($run);
is(scalar @pids, 6, 'six services recorded (postgres, redis, influxdb, mosquitto, nginx, worker)');
is(scalar(grep { listening($_) } @ports), scalar @ports, 'all ports listen');

$out = qx{GONSTERS_PORT_BASE=$base scripts/stack.sh start '$run' 2>&1};
isnt($?, 0, 'starting twice in one run directory is refused');
like($out, qr/already runs/, 'with a clear message');

$out = qx{scripts/stack.sh stop '$run' 2>&1};
is($?, 0, 'stop succeeds') or diag($out);
ok(wait_until(5, sub { !grep { alive($_) } @pids }), 'no process left behind');
ok(!grep({ listening($_) } @ports), 'no port left listening');

$out = qx{scripts/stack.sh stop '$run' 2>&1};
is($?, 0, 'stopping a stopped stack is harmless');

$out = qx{scripts/stack.sh clean '$run' 2>&1};
is($?, 0, 'clean succeeds') or diag($out);
ok(!-e $run, 'clean removes the run directory');

done_testing;
